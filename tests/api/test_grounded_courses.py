"""Courses grounded in a learner's sources, in process (issue 24): POST /courses takes `sources`,
each the caller's and READY (another user's or an unknown one source_not_found, one not READY
source_not_ready, more than 5 a 400); the course records them, its outline is planned from them,
its lessons cite them (each kept citation's quote on its chunk, page from the chunk); deleting
the course leaves the sources. The workers are the offline model's, in process."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flowgen.citations import normalise
from flowgen.clock import utcnow
from flowgen.library import object_key
from flowgen_local.documents import handbook_pages, pdf_bytes
from tests.api.conftest import InProcessApi
from tests.helpers import User, lesson_ids


def _source(api: InProcessApi, user: str, pages: int = 6, *, ingest: bool = True) -> str:
    data = pdf_bytes(handbook_pages(pages))
    body = {"filename": "handbook.pdf", "contentType": "application/pdf", "size": len(data)}
    created = User(api, user).call("POST", "/sources", body)
    assert created.status == 201, created.body
    source_id = str(created.json()["id"])
    if ingest:
        api.objects.put(object_key(source_id), data)  # the browser's POST
        api.library.ingest(source_id, utcnow())  # S3's event on the ingest queue
    return source_id


def _citations(lesson: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for block in lesson["content"]["blocks"] for c in block.get("citations", [])]


def test_a_grounded_course_records_its_sources_and_its_lessons_cite_them(api: InProcessApi) -> None:
    alice = User(api, "alice")
    source_id = _source(api, "alice")
    created = alice.create_course("The plant handbook", sources=[source_id, source_id])
    assert created["sourceIds"] == [source_id]  # each once
    course = alice.ready_course("The plant handbook", sources=[source_id])
    assert course["sourceIds"] == [source_id]
    titles = [lesson["title"] for module in course["modules"] for lesson in module["lessons"]]
    assert any("Aster" in title for title in titles), titles  # planned from the document, not the topic alone

    chunks = {c.id: c for c in api.sources.chunks("alice", [source_id])}
    cited = 0
    for lesson_id in lesson_ids(course)[:3]:
        lesson = alice.written_lesson(course["id"], lesson_id)
        for citation in _citations(lesson):
            assert set(citation) == {"sourceId", "chunkId", "page", "quote"}
            chunk = chunks[citation["chunkId"]]
            assert citation["sourceId"] == source_id and citation["page"] == chunk.page
            assert normalise(citation["quote"]) in normalise(chunk.text)
            cited += 1
    assert cited >= 3


def test_an_ungrounded_course_has_no_citations(api: InProcessApi) -> None:
    alice = User(api, "alice")
    course = alice.ready_course("Rust ownership")
    assert course["sourceIds"] == []
    lesson = alice.written_lesson(course["id"], lesson_ids(course)[0])
    assert all("citations" not in block for block in lesson["content"]["blocks"])  # the shape lessons had


def test_another_users_or_an_unknown_source_is_source_not_found(api: InProcessApi) -> None:
    alices = _source(api, "alice")
    bob = User(api, "bob")
    for sources in ([alices], ["0" * 32], [_source(api, "bob"), alices]):
        answer = bob.call("POST", "/courses", {"prompt": "The plant handbook", "sources": sources})
        assert (answer.status, answer.json()["error"]["code"]) == (404, "source_not_found"), answer.body
    assert bob.call("GET", "/courses").json()["items"] == [] and not api.queue.course_jobs  # nothing made


def test_a_source_not_ready_is_a_409_that_says_so(api: InProcessApi) -> None:
    alice = User(api, "alice")
    uploading = _source(api, "alice", ingest=False)
    failed = _source(api, "alice", ingest=False)
    api.objects.put(object_key(failed), pdf_bytes([[], []]))  # a scanned PDF
    api.library.ingest(failed, utcnow())
    for source_id, status in ((uploading, "UPLOADING"), (failed, "FAILED")):
        answer = alice.call("POST", "/courses", {"prompt": "The plant handbook", "sources": [source_id]})
        assert answer.status == 409, answer.body
        error = answer.json()["error"]
        assert error["code"] == "source_not_ready" and status in error["message"]
    assert alice.call("GET", "/courses").json()["items"] == []


@pytest.mark.parametrize(
    "sources",
    [["0" * 32] * 6, ["not-an-id"], "0" * 32, [1]],
    ids=["six", "malformed", "not-a-list", "not-a-string"],
)
def test_more_than_five_or_malformed_sources_are_a_400(api: InProcessApi, sources: Any) -> None:
    answer = User(api, "alice").call("POST", "/courses", {"prompt": "Anything", "sources": sources})
    assert answer.status == 400, answer.body
    assert "sources" in json.dumps(answer.json()["error"])


def test_deleting_a_grounded_course_keeps_its_sources(api: InProcessApi) -> None:
    alice = User(api, "alice")
    source_id = _source(api, "alice")
    first = alice.ready_course("The plant handbook", sources=[source_id])
    second = alice.ready_course("Plant safety", sources=[source_id])
    assert alice.call("DELETE", f"/courses/{first['id']}").status == 204
    shown = alice.call("GET", f"/sources/{source_id}")
    assert shown.status == 200 and shown.json()["status"] == "READY"
    assert len(api.sources.chunks("alice", [source_id])) == 6 and api.objects.objects
    lesson = alice.written_lesson(second["id"], lesson_ids(second)[0])  # the other course still cites it
    assert _citations(lesson)


def test_a_question_on_a_grounded_lesson_is_answered_from_its_sources_with_checked_citations(
    api: InProcessApi,
) -> None:
    alice = User(api, "alice")
    source_id = _source(api, "alice")
    course = alice.ready_course("The plant handbook", sources=[source_id])
    lesson_id = lesson_ids(course)[0]
    alice.written_lesson(course["id"], lesson_id)
    path = f"/courses/{course['id']}/lessons/{lesson_id}/questions"
    assert alice.call("POST", path, {"question": "How often is the Birch unit inspected?"}).status == 202
    api.drain("HighPriorityLessons")
    answered = alice.call("GET", path).json()["items"][-1]
    assert answered["status"] == "ANSWERED"
    citations = answered["citations"]
    assert citations and all(f"[{n}]" in answered["answer"] for n in range(1, len(citations) + 1))
    chunks = {c.id: c for c in api.sources.chunks("alice", [source_id])}
    assert chunks[citations[0]["chunkId"]].page == 2  # the Birch unit's page, retrieved for the question
    for citation in citations:
        chunk = chunks[citation["chunkId"]]
        assert citation["page"] == chunk.page and normalise(citation["quote"]) in normalise(chunk.text)
