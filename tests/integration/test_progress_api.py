"""Progress through the local stack's API (authorizer, api function, MongoDB stand-in): the
routes are owner-scoped, idempotent, graded on the server, in their own collection, and listed
in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from flowgen import wiring
from flowgen_local.stack import LocalStack
from tests.helpers import User, lesson_ids


def _progress(user: User, course_id: str, lesson_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = user.call("PUT", f"/courses/{course_id}/lessons/{lesson_id}/progress", body)
    assert response.status == 200, response.body
    parsed: dict[str, Any] = response.json()
    return parsed


def test_progress_is_recorded_beside_the_content_idempotently(stack: LocalStack) -> None:
    alice = User(stack, "alice")
    course = alice.ready_course()
    ids = lesson_ids(course)

    first = _progress(alice, course["id"], ids[0], {"opened": True, "completed": True})
    again = _progress(alice, course["id"], ids[0], {"opened": True, "completed": True})
    assert first == {**again, "updatedAt": first["updatedAt"]}  # the same request changes nothing else
    assert first["completedBy"] == "learner" and first["openedAt"]
    _progress(alice, course["id"], ids[1], {"opened": True})

    summary = alice.call("GET", f"/courses/{course['id']}/progress").json()
    assert summary["completed"] == 1 and summary["lessonCount"] == len(ids)
    assert summary["nextLessonId"] == ids[1] and summary["percent"] == 100 // len(ids)
    assert [p["lessonId"] for p in summary["lessons"]] == ids[:2]
    overview = alice.call("GET", "/progress").json()
    assert overview["courses"] == [
        {"courseId": course["id"], "completed": 1, "lastOpenedAt": overview["courses"][0]["lastOpenedAt"]}
    ]

    # its own collection, one document per lesson; the lessons themselves hold none of it
    db = wiring.store().courses.database
    assert db["progress"].count_documents({"ownerId": "alice", "courseId": course["id"]}) == 2
    assert db["lessons"].count_documents({"courseId": course["id"], "opened": {"$exists": True}}) == 0
    assert db["lessons"].count_documents({"courseId": course["id"], "completedAt": {"$exists": True}}) == 0


def test_the_reading_position_follows_the_learner_and_reading_time_is_served(stack: LocalStack) -> None:
    """Issue 26: the position is kept in MongoDB with progress (another device reads it back),
    Continue points at the lesson read last, and a written lesson says its reading time, in the
    lesson and in the outline (stored at commit: lists carry no content)."""
    alice = User(stack, "alice")
    course = alice.ready_course()
    ids = lesson_ids(course)
    lesson = alice.written_lesson(course["id"], ids[1])
    assert isinstance(lesson["readingMinutes"], int) and lesson["readingMinutes"] >= 1
    outline = alice.call("GET", f"/courses/{course['id']}").json()
    listed = {s["id"]: s for m in outline["modules"] for s in m["lessons"]}
    assert listed[ids[1]]["readingMinutes"] == lesson["readingMinutes"] and listed[ids[0]]["readingMinutes"] is None

    saved = _progress(alice, course["id"], ids[1], {"position": {"block": 3, "percent": 42}})
    assert saved["position"] == {"block": 3, "percent": 42} and saved["positionAt"]
    summary = alice.call("GET", f"/courses/{course['id']}/progress").json()
    assert summary["resumeLessonId"] == ids[1] and summary["nextLessonId"] == ids[0]
    assert [p["position"] for p in summary["lessons"] if p["lessonId"] == ids[1]] == [saved["position"]]

    path = f"/courses/{course['id']}/lessons/{ids[1]}/progress"
    refused = alice.call("PUT", path, {"position": {"block": "3", "percent": 42}})
    assert refused.status == 400 and refused.json()["error"]["code"] == "invalid_request"
    other = User(stack, "mallory").call("PUT", path, {"position": {"block": 0, "percent": 0}})
    assert other.status == 404
