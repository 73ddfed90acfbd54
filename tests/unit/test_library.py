"""A learner's sources (issue 24): the store contract (MongoSourceStore on mongomock and the
in-memory fake held to the same behaviour), and the service: register within limits, owner
scoping, and ingestion that is idempotent, lease-guarded and ends a poisoned file FAILED."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import get_args

import pytest

from flowgen.adapters.mongo_sources import MongoSourceStore
from flowgen.clock import utcnow
from flowgen.errors import Conflict, NotFound, PayloadTooLarge
from flowgen.library import (
    CreateSourceRequest,
    LibrarySettings,
    Source,
    SourceOutcome,
    SourceService,
    SourceStatus,
    SourceStore,
    SourceType,
    SourceView,
    object_key,
    source_id_of,
)
from flowgen.ports import Claim
from flowgen.sources import CONTENT_TYPES, Chunk
from flowgen_local.documents import GUIDE_MARKDOWN, handbook_pages, pdf_bytes
from tests.fakes.mongomock_db import mongomock_database
from tests.fakes.sources import MemoryObjects, MemorySourceStore

MB = 1024 * 1024


def _mongo() -> MongoSourceStore:
    store = MongoSourceStore(mongomock_database())
    store.ensure_indexes()
    return store


@pytest.fixture(params=["memory", "mongo"])
def store(request: pytest.FixtureRequest) -> SourceStore:
    return MemorySourceStore() if request.param == "memory" else _mongo()


def _source(owner: str = "alice", size: int = 100, status: SourceStatus = SourceStatus.UPLOADING) -> Source:
    now = utcnow()
    return Source(
        id=uuid.uuid4().hex,
        owner_id=owner,
        filename="notes.md",
        content_type="text/markdown",
        size=size,
        status=status,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(days=1),
    )


# ---- the store contract ----------------------------------------------------------------------


def test_sources_are_the_owners_only(store: SourceStore) -> None:
    mine, theirs = _source(), _source(owner="bob", size=7)
    store.insert_source(mine)
    store.insert_source(theirs)
    assert store.get_source("alice", mine.id) == mine
    assert store.get_source("alice", theirs.id) is None
    assert [s.id for s in store.list_sources("alice")] == [mine.id]
    assert store.stored_bytes("alice") == 100 and store.stored_bytes("bob") == 7 and store.stored_bytes("eve") == 0
    assert store.delete_source("alice", theirs.id) is None
    assert store.find_source(theirs.id) is not None


def test_a_claim_is_a_compare_and_set_and_only_its_holder_finishes(store: SourceStore) -> None:
    source = _source()
    store.insert_source(source)
    now = utcnow()
    first = Claim("one", now + timedelta(minutes=5))
    claimed = store.claim_source(source.id, first, now)
    assert claimed is not None and claimed.status is SourceStatus.INGESTING and claimed.attempts == 1
    assert claimed.expires_at is None  # a file came: the unfinished-upload TTL no longer applies
    assert store.claim_source(source.id, Claim("two", now + timedelta(minutes=5)), now) is None  # held
    ready = SourceOutcome(SourceStatus.READY, pages=3, chunk_count=4)
    assert not store.finish_source(source.id, Claim("two", now), ready, now)
    # the lease runs out: another worker takes it over and the first can no longer finish
    later = now + timedelta(minutes=6)
    second = Claim("two", later + timedelta(minutes=5))
    again = store.claim_source(source.id, second, later)
    assert again is not None and again.attempts == 2
    assert not store.finish_source(source.id, first, ready, later)
    assert store.finish_source(source.id, second, ready, later)
    done = store.get_source("alice", source.id)
    assert done is not None and (done.status, done.pages, done.chunk_count, done.lease) == (
        SourceStatus.READY,
        3,
        4,
        None,
    )
    assert store.claim_source(source.id, Claim("three", later), later + timedelta(hours=1)) is None  # done


def test_chunks_are_replaced_whole_and_read_back_in_order_for_their_owner(store: SourceStore) -> None:
    a, b = _source(), _source()
    store.insert_source(a)
    store.insert_source(b)
    store.put_chunks("alice", a.id, [Chunk(f"c{i}", i, f"text {i}", page=i + 1) for i in range(5)])
    store.put_chunks("alice", a.id, [Chunk(f"c{i}", i, f"new {i}", page=i + 1) for i in range(3)])  # re-ingest
    store.put_chunks("alice", b.id, [Chunk("c0", 0, "bee", heading="H > I")])
    rows = store.chunks("alice", [b.id, a.id])
    assert [(r.source_id, r.id, r.text) for r in rows] == [(b.id, "c0", "bee")] + [
        (a.id, f"c{i}", f"new {i}") for i in range(3)
    ]
    assert rows[0].heading == "H > I" and rows[1].page == 1
    assert store.chunks("bob", [a.id]) == []
    deleted = store.delete_source("alice", a.id)
    assert deleted is not None and deleted.id == a.id
    assert [r.source_id for r in store.chunks("alice", [a.id, b.id])] == [b.id]


def test_the_mongo_store_expires_unfinished_uploads_by_a_ttl_index() -> None:
    store = _mongo()
    indexes = store.sources.index_information()
    assert indexes["unfinished_upload_ttl"]["expireAfterSeconds"] == 0
    assert indexes["unfinished_upload_ttl"]["key"] == [("expiresAt", 1)]


@pytest.mark.parametrize(
    ("status", "wait"),
    [(SourceStatus.UPLOADING, 2), (SourceStatus.INGESTING, 1), (SourceStatus.READY, None), (SourceStatus.FAILED, None)],
)
def test_a_source_says_when_to_ask_again_only_while_it_changes(status: SourceStatus, wait: int | None) -> None:
    assert SourceView.of(_source(status=status)).retry_after == wait


# ---- the service -----------------------------------------------------------------------------

SETTINGS = LibrarySettings(max_file_bytes=2 * MB, storage_quota_bytes=3 * MB, max_attempts=3)


def _service(store: SourceStore | None = None) -> tuple[SourceService, MemorySourceStore, MemoryObjects]:
    memory = MemorySourceStore()
    objects = MemoryObjects()
    return SourceService(store or memory, objects, SETTINGS), memory, objects


def _request(
    size: int = 1000, content_type: SourceType = "application/pdf", name: str = "notes.pdf"
) -> CreateSourceRequest:
    return CreateSourceRequest(filename=name, content_type=content_type, size=size)


def test_registering_hands_out_a_form_for_exactly_this_file() -> None:
    service, store, objects = _service()
    upload = service.register("alice", _request(size=1234, name="../../etc/Lecture 3.pdf"), utcnow())
    assert upload.status is SourceStatus.UPLOADING and upload.filename == "Lecture 3.pdf"
    assert objects.forms == [(object_key(upload.id), "application/pdf", 1234, SETTINGS.upload_expires_seconds)]
    assert upload.upload.fields["key"] == object_key(upload.id) and source_id_of(object_key(upload.id)) == upload.id
    assert store.sources[upload.id].expires_at is not None


@pytest.mark.parametrize(
    ("request_", "error", "code"),
    [
        (_request(size=2 * MB + 1), PayloadTooLarge, "source_too_large"),
    ],
)
def test_what_cannot_be_a_source_is_refused_before_anything_is_written(
    request_: CreateSourceRequest, error: type[Exception], code: str
) -> None:
    service, store, objects = _service()
    with pytest.raises(error) as caught:
        service.register("alice", request_, utcnow())
    assert getattr(caught.value, "code", None) == code and not store.sources and not objects.forms


def test_the_request_admits_exactly_the_types_extraction_reads() -> None:
    assert set(get_args(SourceType)) == set(CONTENT_TYPES)


def test_the_storage_quota_counts_every_source_of_the_owner() -> None:
    service, store, _ = _service()
    service.register("alice", _request(size=2 * MB), utcnow())
    with pytest.raises(Conflict) as caught:
        service.register("alice", _request(size=MB + 1), utcnow())
    assert caught.value.code == "storage_quota_exceeded"
    service.register("alice", _request(size=MB), utcnow())  # exactly the quota
    service.register("bob", _request(size=2 * MB), utcnow())  # another owner's quota
    assert len(store.sources) == 3


def test_another_users_source_is_a_404_everywhere() -> None:
    service, _, objects = _service()
    upload = service.register("alice", _request(), utcnow())
    objects.put(object_key(upload.id), b"x")
    with pytest.raises(NotFound) as shown:
        service.get("bob", upload.id)
    with pytest.raises(NotFound) as deleted:
        service.delete("bob", upload.id)
    assert shown.value.code == deleted.value.code == "source_not_found"
    assert service.list("bob").items == []
    assert object_key(upload.id) in objects.objects
    assert service.get("alice", upload.id).id == upload.id


def test_ingesting_a_pdf_stores_its_chunks_and_says_ready_with_pages_and_chunks() -> None:
    service, store, objects = _service()
    upload = service.register("alice", _request(), utcnow())
    objects.put(object_key(upload.id), pdf_bytes(handbook_pages(4)))
    assert service.ingest(upload.id, utcnow()) is SourceStatus.READY
    view = service.get("alice", upload.id)
    assert (view.status, view.pages, view.chunk_count, view.error) == (SourceStatus.READY, 4, 4, None)
    chunks = store.chunks("alice", [upload.id])
    assert [c.page for c in chunks] == [1, 2, 3, 4] and "Birch unit" in chunks[1].text
    # a redelivered event finds the work done: nothing is read again
    reads = objects.reads
    assert service.ingest(upload.id, utcnow()) is None
    assert objects.reads == reads


def test_markdown_is_ingested_with_headings() -> None:
    service, store, objects = _service()
    upload = service.register("alice", _request(content_type="text/markdown", name="guide.md"), utcnow())
    objects.put(object_key(upload.id), GUIDE_MARKDOWN.encode())
    assert service.ingest(upload.id, utcnow()) is SourceStatus.READY
    assert service.get("alice", upload.id).pages is None
    assert store.chunks("alice", [upload.id])[0].heading == "Sourdough field guide > Starter"


@pytest.mark.parametrize(
    ("data", "code", "reason"),
    [
        (pdf_bytes([[], []]), "no_text", "no text could be extracted: is it a scanned PDF?"),
        (pdf_bytes([["x"]], password="pw"), "encrypted", "encrypted PDF: remove its password and upload it again"),
        (b"# a markdown file sent as a PDF", "type_mismatch", "the file was sent as a PDF but its contents are text"),
        (b"%PDF-1.7\n" + bytes(range(256)) * 4, "damaged", "the PDF could not be read: it may be damaged"),
        (b"x" * (2 * MB + 1), "too_large", "the file is over 2 MB"),
    ],
)
def test_a_file_that_cannot_be_read_ends_failed_with_its_reason(data: bytes, code: str, reason: str) -> None:
    service, store, objects = _service()
    upload = service.register("alice", _request(), utcnow())
    objects.put(object_key(upload.id), data)
    assert service.ingest(upload.id, utcnow()) is SourceStatus.FAILED
    view = service.get("alice", upload.id)
    assert view.error is not None and (view.error.code, view.error.reason) == (code, reason)
    assert store.chunks("alice", [upload.id]) == []
    assert service.ingest(upload.id, utcnow()) is None  # FAILED is final: no retry loop


def test_a_file_that_kills_its_workers_ends_failed_after_the_attempts() -> None:
    """Each attempt dies holding the lease (a timeout, out of memory): after max_attempts the next
    claim fails it without reading the file again."""
    service, store, objects = _service()
    upload = service.register("alice", _request(), utcnow())
    objects.put(object_key(upload.id), pdf_bytes([["fine"]]))
    now = utcnow()
    for attempt in range(SETTINGS.max_attempts):
        assert store.claim_source(upload.id, Claim(f"dead{attempt}", now + timedelta(seconds=1)), now) is not None
        now += timedelta(seconds=2)
    reads = objects.reads
    assert service.ingest(upload.id, now) is SourceStatus.FAILED
    assert objects.reads == reads
    error = service.get("alice", upload.id).error
    assert error is not None and error.code == "unreadable"


def test_a_reader_defect_on_one_file_is_failed_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    service, _, objects = _service()
    upload = service.register("alice", _request(), utcnow())
    objects.put(object_key(upload.id), pdf_bytes([["fine"]]))

    def broken(*args: object, **kwargs: object) -> None:
        raise RecursionError("deep")

    monkeypatch.setattr("flowgen.library.extract", broken)
    assert service.ingest(upload.id, utcnow()) is SourceStatus.FAILED
    assert service.get("alice", upload.id).error is not None


def test_a_missing_file_fails_and_a_store_outage_raises_for_a_retry() -> None:
    service, store, _ = _service()
    upload = service.register("alice", _request(), utcnow())
    assert service.ingest(upload.id, utcnow()) is SourceStatus.FAILED
    error = service.get("alice", upload.id).error
    assert error is not None and error.code == "missing"
    other = service.register("alice", _request(), utcnow())
    store.down = True
    with pytest.raises(Exception, match="mongo"):
        service.ingest(other.id, utcnow())


def test_deleting_removes_record_chunks_and_file_and_a_late_worker_leaves_no_chunks() -> None:
    service, store, objects = _service()
    upload = service.register("alice", _request(), utcnow())
    objects.put(object_key(upload.id), pdf_bytes(handbook_pages(2)))
    assert service.ingest(upload.id, utcnow()) is SourceStatus.READY
    service.delete("alice", upload.id)
    assert upload.id not in store.sources and not store.chunk_rows and not objects.objects
    with pytest.raises(NotFound):
        service.get("alice", upload.id)

    # deleted while a worker reads it: the worker's chunks do not outlive the source
    late = service.register("alice", _request(), utcnow())
    objects.put(object_key(late.id), pdf_bytes(handbook_pages(2)))
    real_read = objects.read

    def read_then_deleted(key: str, max_bytes: int) -> bytes | None:
        data = real_read(key, max_bytes)
        service.delete("alice", late.id)
        return data

    objects.read = read_then_deleted  # type: ignore[method-assign]
    assert service.ingest(late.id, utcnow()) is None
    assert late.id not in store.chunk_rows


def test_the_service_runs_the_same_on_the_mongo_store() -> None:
    mongo = _mongo()
    service, _, objects = _service(mongo)
    upload = service.register("alice", _request(), utcnow())
    objects.put(object_key(upload.id), pdf_bytes(handbook_pages(3)))
    assert service.ingest(upload.id, utcnow()) is SourceStatus.READY
    listed = service.list("alice")
    assert [s.status for s in listed.items] == [SourceStatus.READY] and listed.stored_bytes == 1000
    assert len(mongo.chunks("alice", [upload.id])) == 3
