"""Search in a course through the api in process: owner-scoped, strict about `q`, in the document
with its statuses, and reading only (it queues nothing)."""

from __future__ import annotations

from urllib.parse import quote

from tests.api.conftest import InProcessApi
from tests.helpers import User, lesson_ids


def test_search_is_owner_scoped_strict_and_queues_nothing(api: InProcessApi) -> None:
    alice, bob = User(api, "alice"), User(api, "bob")
    course = alice.ready_course(size="short")
    ids = lesson_ids(course)
    written = alice.written_lesson(course["id"], ids[0])
    api.drain("LowPriorityLessons")
    lessons_before = {lesson.id: lesson.status for lesson in api.store.list_lessons(course["id"])}
    path = f"/courses/{course['id']}/search"

    found = alice.call("GET", path, query="q=" + quote(written["title"]))
    assert found.status == 200, found.body
    assert found.headers["cache-control"] == "no-store"
    assert ids[0] in [r["lessonId"] for r in found.json()["results"]]
    assert {lesson.id: lesson.status for lesson in api.store.list_lessons(course["id"])} == lessons_before
    assert api.queue_depth("LessonHighQueue") == 0  # a search opens nothing

    assert bob.call("GET", path, query="q=rust").status == 404
    assert alice.call("GET", "/courses/nope/search", query="q=rust").json()["error"]["code"] == "invalid_course_id"
    for query in ("", "q=", "q=%20%20", "q=" + "x" * 101):
        refused = alice.call("GET", path, query=query)
        assert refused.status == 400, (query, refused.body)
        assert refused.json()["error"]["details"][0]["field"] == "query.q"
    assert alice.call("GET", path, query="q=" + "x" * 100).status == 200


def test_the_route_is_in_the_openapi_document(api: InProcessApi) -> None:
    doc = User(api, "alice").call("GET", "/openapi.json").json()
    operation = doc["paths"]["/courses/{course_id}/search"]["get"]
    assert {"200", "400", "401", "403", "404", "429", "503"} <= set(operation["responses"])
    (q,) = [p for p in operation["parameters"] if p["name"] == "q"]
    assert q["required"] and q["schema"]["maxLength"] == 100
