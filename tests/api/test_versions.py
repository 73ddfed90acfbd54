"""Reading one version of a lesson through the api (issue 26): GET
/courses/{courseId}/lessons/{lessonId}/versions/{version}. The current and the kept versions as
written, the same blocks the lesson served; a malformed number a 400, a dropped or unknown one
and another user's lesson a 404; a read that changes nothing. Every status it answers must be in
the OpenAPI document (conftest's check)."""

from __future__ import annotations

from typing import Any

import pytest

from flowgen.records import LESSON_VERSIONS_KEPT
from flowgen_local.stack import ApiResponse
from tests.api.conftest import InProcessApi
from tests.helpers import User, lesson_ids


def _version(user: User, course_id: str, lesson_id: str, number: object) -> ApiResponse:
    return user.call("GET", f"/courses/{course_id}/lessons/{lesson_id}/versions/{number}")


@pytest.fixture
def rewritten(api: InProcessApi) -> tuple[User, str, str, dict[str, Any], dict[str, Any]]:
    """Alice's first lesson written (version 1), then rewritten (version 2): both as served."""
    alice = User(api, "alice")
    course = alice.ready_course()
    course_id, lesson_id = course["id"], lesson_ids(course)[0]
    first = alice.written_lesson(course_id, lesson_id)
    body = {"instruction": "Explain it with an analogy", "version": 1}
    assert alice.call("POST", f"/courses/{course_id}/lessons/{lesson_id}/regenerate", body).status == 202
    api.drain("HighPriorityLessons")
    second = alice.open_lesson(course_id, lesson_id).json()
    assert second["version"] == 2 and second["status"] == "GENERATED", second
    return alice, course_id, lesson_id, first, second


def test_an_earlier_and_the_current_version_are_served_as_the_lesson_served_them(
    api: InProcessApi, rewritten: tuple[User, str, str, dict[str, Any], dict[str, Any]]
) -> None:
    alice, course_id, lesson_id, first, second = rewritten
    one = _version(alice, course_id, lesson_id, 1)
    assert one.status == 200, one.body
    assert one.json() == {
        "lessonId": lesson_id,
        "number": 1,
        "instruction": None,
        "generatedAt": first["generatedAt"],
        "content": first["content"],  # the same block shapes: a quiz without its answers
    }
    assert not any("answerIndex" in str(block) for block in one.json()["content"]["blocks"])
    assert one.headers["cache-control"] == "private, max-age=3600"  # a written version never changes
    two = _version(alice, course_id, lesson_id, 2)
    assert two.status == 200 and two.json()["content"] == second["content"]
    assert (two.json()["number"], two.json()["instruction"]) == (2, "Explain it with an analogy")

    # switching back changes which one is current, not what either version holds
    switched = alice.call("PUT", f"/courses/{course_id}/lessons/{lesson_id}/version", {"version": 1})
    assert switched.status == 200 and switched.json()["version"] == 1
    assert _version(alice, course_id, lesson_id, 1).json() == one.json()
    assert _version(alice, course_id, lesson_id, 2).json() == two.json()


def test_a_read_changes_nothing_and_queues_nothing(api: InProcessApi) -> None:
    """Opening a lesson not written asks for it (202, a job); reading a version of it does not."""
    alice = User(api, "alice")
    course = alice.ready_course()
    course_id, lesson_id = course["id"], lesson_ids(course)[-1]
    before = alice.call("GET", f"/courses/{course_id}").json()
    not_written = _version(alice, course_id, lesson_id, 1)
    assert not_written.status == 404 and not_written.json()["error"]["code"] == "version_not_found"
    assert api.drain("HighPriorityLessons") == 0  # nothing was sent to be written
    assert alice.call("GET", f"/courses/{course_id}").json() == before


def test_a_version_no_longer_kept_is_a_404_that_says_so(
    api: InProcessApi, rewritten: tuple[User, str, str, dict[str, Any], dict[str, Any]]
) -> None:
    alice, course_id, lesson_id, _, _ = rewritten
    for number in range(3, LESSON_VERSIONS_KEPT + 3):  # rewritten until version 1 is dropped
        body = {"instruction": f"Rewrite {number}", "version": number - 1}
        answer = alice.call("POST", f"/courses/{course_id}/lessons/{lesson_id}/regenerate", body)
        assert answer.status == 202, answer.body
        api.drain("HighPriorityLessons")
    versions = alice.open_lesson(course_id, lesson_id).json()["versions"]
    assert [v["number"] for v in versions] == list(range(2, LESSON_VERSIONS_KEPT + 3))
    dropped = _version(alice, course_id, lesson_id, 1)
    assert dropped.status == 404
    error = dropped.json()["error"]
    assert error["code"] == "version_not_kept" and "no longer kept" in error["message"]
    assert str(LESSON_VERSIONS_KEPT) in error["message"]
    assert _version(alice, course_id, lesson_id, 2).status == 200  # the oldest kept one
    unknown = _version(alice, course_id, lesson_id, LESSON_VERSIONS_KEPT + 3)
    assert unknown.status == 404 and unknown.json()["error"]["code"] == "version_not_found"


def test_another_users_version_is_a_404_like_an_unknown_lesson(
    api: InProcessApi, rewritten: tuple[User, str, str, dict[str, Any], dict[str, Any]]
) -> None:
    alice, course_id, lesson_id, _, _ = rewritten
    bob = User(api, "bob")
    for number in (1, 2):
        theirs = _version(bob, course_id, lesson_id, number)
        assert theirs.status == 404 and theirs.json()["error"]["code"] == "lesson_not_found", theirs.body
        assert "Analogy".lower() not in theirs.body.lower()
    unknown = _version(alice, course_id, "m09-l09", 1)
    assert unknown.status == 404 and unknown.json()["error"]["code"] == "lesson_not_found"
    nobodys = _version(alice, "0" * 32, lesson_id, 1)
    assert nobodys.status == 404 and nobodys.json()["error"]["code"] == "lesson_not_found"


@pytest.mark.parametrize("number", ["0", "-1", "1.0", "+1", "01", "1_000", "one", "1e3", "1234567890"])
def test_a_malformed_version_number_is_a_400_naming_it(
    api: InProcessApi, rewritten: tuple[User, str, str, dict[str, Any], dict[str, Any]], number: str
) -> None:
    alice, course_id, lesson_id, _, _ = rewritten
    answer = _version(alice, course_id, lesson_id, number)
    assert answer.status == 400, (number, answer.body)
    error = answer.json()["error"]
    assert error["code"] == "invalid_request"
    assert [detail["field"] for detail in error["details"]] == ["path.version"]


def test_bad_ids_are_the_usual_400s(api: InProcessApi) -> None:
    alice = User(api, "alice")
    bad_course = _version(alice, "not-an-id", "m01-l01", 1)
    assert bad_course.status == 400 and bad_course.json()["error"]["code"] == "invalid_course_id"
    bad_lesson = _version(alice, "0" * 32, "lesson-1", 1)
    assert bad_lesson.status == 400 and bad_lesson.json()["error"]["code"] == "invalid_lesson_id"


def test_the_document_lists_what_the_route_answers(api: InProcessApi) -> None:
    document = User(api, "alice").call("GET", "/openapi.json").json()
    operation = document["paths"]["/courses/{course_id}/lessons/{lesson_id}/versions/{version}"]["get"]
    assert sorted(operation["responses"]) == ["200", "400", "401", "403", "404", "429", "503"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/LessonVersionView"
    }
    version = next(p for p in operation["parameters"] if p["name"] == "version")
    assert version["in"] == "path" and version["schema"]["pattern"] == "^[1-9][0-9]{0,8}$"
    assert "answer_index" not in str(document["components"]["schemas"]["LessonVersionView"])
