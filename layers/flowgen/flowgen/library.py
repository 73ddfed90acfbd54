"""A learner's sources (issue 24): register an upload, list, show and delete them, and ingest one
(the worker's use case). Records, ports and the service; the adapters are
flowgen.adapters.mongo_sources (records and chunks) and flowgen.adapters.s3_objects (the files).

A source's life: `UPLOADING` (its record is written and a presigned POST handed out; it expires
after a day if no file comes) -> `INGESTING` (a worker holds a lease on it) -> `READY` (its chunks
are stored) or `FAILED` (with a reason its owner can read). The file's arrival is S3's event on
the ingest queue; a redelivered or concurrent event finds the lease held or the work done.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal, Protocol

from pydantic import Field

from flowgen.errors import Conflict, NotFound, PayloadTooLarge
from flowgen.ports import Claim
from flowgen.records import Lease
from flowgen.schema import Model, Request
from flowgen.sources import MB, Chunk, ExtractionLimits, UnreadableSource, extract

SOURCE_ID_PATTERN = r"^[0-9a-f]{32}$"
OBJECT_PREFIX = "sources/"
MAX_COURSE_SOURCES = 5  # sources a course may be grounded in (issue 24)


class SourceStatus(StrEnum):
    UPLOADING = "UPLOADING"
    INGESTING = "INGESTING"
    READY = "READY"
    FAILED = "FAILED"


class SourceError(Model):
    code: str
    reason: str


class Source(Model):
    id: str
    owner_id: str
    filename: str
    content_type: str
    size: int
    status: SourceStatus
    pages: int | None = None
    chunk_count: int | None = None
    error: SourceError | None = None
    lease: Lease | None = None
    attempts: int = 0
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None = None  # an UPLOADING record no file came for goes (TTL index)

    @property
    def object_key(self) -> str:
        return object_key(self.id)


class StoredChunk(Model):
    source_id: str
    owner_id: str
    id: str
    ordinal: int
    text: str
    page: int | None = None
    heading: str | None = None


def object_key(source_id: str) -> str:
    return f"{OBJECT_PREFIX}{source_id}"


def source_id_of(key: str) -> str | None:
    """The source an object key belongs to, or None for a key that is not one of ours."""
    if not key.startswith(OBJECT_PREFIX):
        return None
    rest = key[len(OBJECT_PREFIX) :]
    return rest if len(rest) == 32 and all(c in "0123456789abcdef" for c in rest) else None


# ---- requests and views --------------------------------------------------------------------


SourceType = Literal["application/pdf", "text/markdown", "text/plain"]  # sources.CONTENT_TYPES


class CreateSourceRequest(Request):
    filename: str = Field(min_length=1, max_length=200, description="shown to its owner; the type comes from the bytes")
    content_type: SourceType = Field(description="what the file is; checked again against its bytes")
    size: int = Field(ge=1, description="the file's exact size in bytes; the upload must match it")


# How soon a source's status is worth asking for again, while it changes: the browser is still
# sending the file (seconds for megabytes), or the worker is reading it (6-9 ms a page).
POLL_SECONDS = {SourceStatus.UPLOADING: 2, SourceStatus.INGESTING: 1}


class SourceView(Model):
    id: str
    filename: str
    content_type: str
    size: int
    status: SourceStatus
    pages: int | None = None
    chunk_count: int | None = None
    error: SourceError | None = None
    created_at: datetime
    retry_after: int | None = Field(
        default=None, description="Seconds to wait before asking again, while it is uploaded or read"
    )

    @classmethod
    def of(cls, source: Source) -> SourceView:
        return cls(
            id=source.id,
            filename=source.filename,
            content_type=source.content_type,
            size=source.size,
            status=source.status,
            pages=source.pages,
            chunk_count=source.chunk_count,
            error=source.error,
            created_at=source.created_at,
            retry_after=POLL_SECONDS.get(source.status),
        )


class UploadForm(Model):
    """A presigned S3 POST: send `fields` then the file as multipart/form-data to `url`."""

    url: str
    fields: dict[str, str]
    expires_at: datetime


class SourceUpload(SourceView):
    upload: UploadForm


class SourceList(Model):
    items: list[SourceView]
    stored_bytes: int
    quota_bytes: int


# ---- ports ---------------------------------------------------------------------------------


class SourceStore(Protocol):
    def insert_source(self, source: Source) -> None: ...
    def get_source(self, owner_id: str, source_id: str) -> Source | None: ...
    def find_source(self, source_id: str) -> Source | None: ...
    def list_sources(self, owner_id: str) -> list[Source]: ...
    def stored_bytes(self, owner_id: str) -> int: ...
    def claim_source(self, source_id: str, claim: Claim, now: datetime) -> Source | None:
        """UPLOADING, or INGESTING under an expired lease -> INGESTING under `claim`, attempts + 1."""
        ...

    def finish_source(self, source_id: str, claim: Claim, update: SourceOutcome, now: datetime) -> bool:
        """READY or FAILED, only while `claim` still holds the source."""
        ...

    def put_chunks(self, owner_id: str, source_id: str, chunks: Sequence[Chunk]) -> None:
        """The source's chunks become exactly these (idempotent: same ids, same text)."""
        ...

    def chunks(self, owner_id: str, source_ids: Sequence[str]) -> list[StoredChunk]: ...
    def delete_source(self, owner_id: str, source_id: str) -> Source | None:
        """The record and its chunks; the deleted record, or None if it was not the owner's."""
        ...

    def delete_chunks(self, source_id: str) -> None: ...


class FileTooLarge(Exception):
    pass


class SourceObjects(Protocol):
    def upload_form(self, key: str, content_type: str, size: int, expires_in: int) -> tuple[str, dict[str, str]]: ...
    def read(self, key: str, max_bytes: int) -> bytes | None:
        """The object's bytes; None if there is none; FileTooLarge past `max_bytes`."""
        ...

    def delete(self, key: str) -> None: ...


@dataclass(frozen=True)
class SourceOutcome:
    status: SourceStatus
    pages: int | None = None
    chunk_count: int | None = None
    error: SourceError | None = None


@dataclass(frozen=True)
class LibrarySettings:
    max_file_bytes: int = 20 * MB
    max_pages: int = 300
    storage_quota_bytes: int = 200 * MB
    upload_expires_seconds: int = 900
    unfinished_upload_ttl: timedelta = timedelta(days=1)
    lease_seconds: int = 300
    max_attempts: int = 3


# ---- the service ---------------------------------------------------------------------------


class SourceService:
    def __init__(self, store: SourceStore, objects: SourceObjects, settings: LibrarySettings) -> None:
        self.store = store
        self.objects = objects
        self.settings = settings

    def register(self, owner_id: str, request: CreateSourceRequest, now: datetime) -> SourceUpload:
        if request.size > self.settings.max_file_bytes:
            raise PayloadTooLarge(
                f"a source is at most {self.settings.max_file_bytes // MB} MB", code="source_too_large"
            )
        stored = self.store.stored_bytes(owner_id)
        if stored + request.size > self.settings.storage_quota_bytes:
            raise Conflict(
                f"your sources would take {stored + request.size:,} bytes of your "
                f"{self.settings.storage_quota_bytes:,}: delete one first",
                code="storage_quota_exceeded",
            )
        source = Source(
            id=uuid.uuid4().hex,
            owner_id=owner_id,
            filename=_clean_filename(request.filename),
            content_type=request.content_type,
            size=request.size,
            status=SourceStatus.UPLOADING,
            created_at=now,
            updated_at=now,
            expires_at=now + self.settings.unfinished_upload_ttl,
        )
        self.store.insert_source(source)
        expires = self.settings.upload_expires_seconds
        url, fields = self.objects.upload_form(source.object_key, source.content_type, source.size, expires)
        form = UploadForm(url=url, fields=fields, expires_at=now + timedelta(seconds=expires))
        return SourceUpload(**SourceView.of(source).model_dump(), upload=form)

    def get(self, owner_id: str, source_id: str) -> SourceView:
        source = self.store.get_source(owner_id, source_id)
        if source is None:
            raise NotFound("no such source", code="source_not_found")
        return SourceView.of(source)

    def list(self, owner_id: str) -> SourceList:
        sources = self.store.list_sources(owner_id)
        return SourceList(
            items=[SourceView.of(s) for s in sources],
            stored_bytes=sum(s.size for s in sources),
            quota_bytes=self.settings.storage_quota_bytes,
        )

    def delete(self, owner_id: str, source_id: str) -> None:
        """The record and chunks first (the owner sees it gone at once), then the file."""
        source = self.store.delete_source(owner_id, source_id)
        if source is None:
            raise NotFound("no such source", code="source_not_found")
        self.objects.delete(source.object_key)

    # ---- the ingestion worker's use case ----------------------------------------------------

    def ingest(self, source_id: str, now: datetime) -> SourceStatus | None:
        """Read, extract and store one source's chunks under a lease. None when there is nothing
        to do (done, held by another worker, deleted). A file that cannot be read ends FAILED
        with its reason; only a store or S3 outage raises (and the message comes back)."""
        claim = Claim(uuid.uuid4().hex, now + timedelta(seconds=self.settings.lease_seconds))
        source = self.store.claim_source(source_id, claim, now)
        if source is None:
            return None
        return self._commit(source, claim, self._outcome(source), now)

    def _outcome(self, source: Source) -> SourceOutcome | _Extracted:
        if source.attempts > self.settings.max_attempts:
            # earlier attempts died holding it (a timeout, out of memory): a poisoned file
            return _failed("unreadable", "the file could not be read within the limits of a worker")
        try:
            data = self.objects.read(source.object_key, self.settings.max_file_bytes)
        except FileTooLarge:
            return _failed("too_large", f"the file is over {self.settings.max_file_bytes // MB} MB")
        if data is None:
            return _failed("missing", "the upload never arrived: add the file again")
        limits = ExtractionLimits(max_bytes=self.settings.max_file_bytes, max_pages=self.settings.max_pages)
        try:
            extracted = extract(data, source.content_type, limits)
        except UnreadableSource as refused:
            return _failed(refused.code, refused.reason)
        except Exception:  # a reader's own defect on this file: a poisoned file, never a retry loop
            return _failed("unreadable", "the file could not be read")
        return _Extracted(extracted.pages, extracted.chunks)

    def _commit(
        self, source: Source, claim: Claim, outcome: SourceOutcome | _Extracted, now: datetime
    ) -> SourceStatus | None:
        if isinstance(outcome, SourceOutcome):
            return outcome.status if self.store.finish_source(source.id, claim, outcome, now) else None
        self.store.put_chunks(source.owner_id, source.id, outcome.chunks)
        ready = SourceOutcome(SourceStatus.READY, pages=outcome.pages, chunk_count=len(outcome.chunks))
        if self.store.finish_source(source.id, claim, ready, now):
            return SourceStatus.READY
        if self.store.find_source(source.id) is None:  # deleted while it was read: no orphan chunks
            self.store.delete_chunks(source.id)
        return None


@dataclass(frozen=True)
class _Extracted:
    pages: int | None
    chunks: tuple[Chunk, ...]


def _failed(code: str, reason: str) -> SourceOutcome:
    return SourceOutcome(SourceStatus.FAILED, error=SourceError(code=code, reason=reason))


def _clean_filename(name: str) -> str:
    """The last path segment, without control characters: a name is shown, never used as a path."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in base if c.isprintable()).strip()
    return cleaned[:200] or "untitled"
