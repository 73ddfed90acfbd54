"""The sources routes in process (issue 24): what each answers, limits as clear 4xx, and another
user's source a 404 on every route. The bucket and store are the in-memory fakes; the worker's
use case is called as the ingestion worker would on S3's event."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flowgen import wiring
from flowgen.clock import utcnow
from flowgen.library import LibrarySettings, SourceService, object_key
from flowgen_local.documents import handbook_pages, pdf_bytes
from tests.api.conftest import InProcessApi
from tests.fakes.sources import MemoryObjects, MemorySourceStore

MB = 1024 * 1024


class Library:
    def __init__(self) -> None:
        self.store, self.objects = MemorySourceStore(), MemoryObjects()
        self.service = SourceService(
            self.store, self.objects, LibrarySettings(max_file_bytes=2 * MB, storage_quota_bytes=3 * MB)
        )


@pytest.fixture
def library(api: InProcessApi) -> Library:
    made = Library()
    wiring.override(source_service=made.service)
    return made


def _create(api: InProcessApi, user: str, **body: object) -> tuple[int, dict[str, Any]]:
    payload = {"filename": "notes.pdf", "contentType": "application/pdf", "size": 1000, **body}
    answer = api.request(
        "POST",
        "/sources",
        headers={"authorization": f"Bearer {api.token(user)}", "content-type": "application/json"},
        body=json.dumps(payload),
    )
    return answer.status, json.loads(answer.body) if answer.body else {}


def _get(api: InProcessApi, user: str, path: str, method: str = "GET") -> tuple[int, dict[str, Any]]:
    answer = api.request(method, path, headers={"authorization": f"Bearer {api.token(user)}"})
    return answer.status, json.loads(answer.body) if answer.body else {}


def test_a_source_is_registered_uploaded_ingested_listed_and_deleted(api: InProcessApi, library: Library) -> None:
    status, created = _create(api, "alice")
    assert status == 201 and created["status"] == "UPLOADING"
    upload = created["upload"]
    assert isinstance(upload, dict) and upload["fields"]["key"] == object_key(str(created["id"]))
    source_id = str(created["id"])
    waiting = api.request("GET", f"/sources/{source_id}", headers={"authorization": f"Bearer {api.token('alice')}"})
    # the browser is still sending it: the API says when to ask again, as it does for lessons
    assert waiting.headers["retry-after"] == "2" and json.loads(waiting.body)["retryAfter"] == 2
    library.objects.put(object_key(source_id), pdf_bytes(handbook_pages(3)))  # the browser's POST
    library.service.ingest(source_id, utcnow())  # S3's event on the ingest queue
    ready = api.request("GET", f"/sources/{source_id}", headers={"authorization": f"Bearer {api.token('alice')}"})
    status, shown = ready.status, json.loads(ready.body)
    assert status == 200 and (shown["status"], shown["pages"], shown["chunkCount"]) == ("READY", 3, 3)
    assert "retry-after" not in ready.headers and shown.get("retryAfter") is None  # settled: nothing to wait for
    assert "upload" not in shown and "ownerId" not in shown
    status, listed = _get(api, "alice", "/sources")
    assert status == 200 and [s["id"] for s in listed["items"]] == [source_id]
    assert listed["storedBytes"] == 1000 and listed["quotaBytes"] == 3 * MB
    assert _get(api, "alice", f"/sources/{source_id}", "DELETE")[0] == 204
    assert _get(api, "alice", f"/sources/{source_id}")[0] == 404
    assert not library.objects.objects and not library.store.chunk_rows


def test_a_failed_source_says_why(api: InProcessApi, library: Library) -> None:
    _, created = _create(api, "alice")
    library.objects.put(object_key(str(created["id"])), pdf_bytes([[], []]))
    library.service.ingest(str(created["id"]), utcnow())
    _, shown = _get(api, "alice", f"/sources/{created['id']}")
    assert shown["status"] == "FAILED"
    assert shown["error"] == {"code": "no_text", "reason": "no text could be extracted: is it a scanned PDF?"}


def test_another_users_source_is_a_404_on_every_route(api: InProcessApi, library: Library) -> None:
    _, created = _create(api, "alice")
    path = f"/sources/{created['id']}"
    assert _get(api, "bob", path)[0] == 404
    assert _get(api, "bob", path, "DELETE")[0] == 404
    assert _get(api, "bob", "/sources")[1]["items"] == []
    assert _get(api, "alice", path)[0] == 200  # still there


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"contentType": "image/png"}, 400, "invalid_request"),  # the schema's enum
        ({"size": 2 * MB + 1}, 413, "source_too_large"),
        ({"size": 0}, 400, "invalid_request"),
        ({"filename": ""}, 400, "invalid_request"),
        ({"extra": 1}, 400, "invalid_request"),
    ],
)
def test_what_cannot_be_a_source_is_a_clear_4xx(
    api: InProcessApi, library: Library, body: dict[str, object], status: int, code: str
) -> None:
    answered, error = _create(api, "alice", **body)
    assert answered == status and error["error"]["code"] == code
    assert not library.store.sources


def test_the_storage_quota_is_a_409(api: InProcessApi, library: Library) -> None:
    assert _create(api, "alice", size=2 * MB)[0] == 201
    status, error = _create(api, "alice", size=MB + 1)
    assert status == 409 and error["error"]["code"] == "storage_quota_exceeded"


def test_a_malformed_source_id_is_a_400_not_a_lookup(api: InProcessApi, library: Library) -> None:
    assert _get(api, "alice", "/sources/not-an-id")[0] == 400
