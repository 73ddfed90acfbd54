"""Questions about a lesson through the api: another user's, an unwritten lesson and bad questions refused."""

from __future__ import annotations

from typing import Any

from flowgen.requests import QUESTION_MAX_CHARS
from flowgen_local.stack import ApiResponse
from tests.api.conftest import InProcessApi
from tests.helpers import User, lesson_ids


def _path(course_id: str, lesson_id: str) -> str:
    return f"/courses/{course_id}/lessons/{lesson_id}/questions"


def _written(api: InProcessApi, user: User) -> tuple[str, str]:
    """A course with its first lesson written: (course id, lesson id)."""
    course = user.ready_course()
    lesson_id = lesson_ids(course)[0]
    user.written_lesson(course["id"], lesson_id)
    return course["id"], lesson_id


def _ask(user: User, course_id: str, lesson_id: str, question: Any) -> ApiResponse:
    return user.call("POST", _path(course_id, lesson_id), {"question": question})


def test_other_users_unwritten_lessons_and_bad_questions_are_refused(api: InProcessApi) -> None:
    alice, bob = User(api, "alice"), User(api, "bob")
    cid, lid = _written(api, alice)
    for response in (_ask(bob, cid, lid, "why?"), bob.call("GET", _path(cid, lid))):
        assert response.status == 404 and response.json()["error"]["code"] == "lesson_not_found"
    not_written = lesson_ids(alice.call("GET", f"/courses/{cid}").json())[-1]
    refused = _ask(alice, cid, not_written, "why?")
    assert refused.status == 409 and refused.json()["error"]["code"] == "lesson_not_ready"
    for question in ("", "   ", "\u200b", "x" * (QUESTION_MAX_CHARS + 1), None, 42):
        invalid = _ask(alice, cid, lid, question)
        assert invalid.status == 400, (question, invalid.body)
        assert invalid.json()["error"]["details"][0]["field"] == "question"
    assert _ask(alice, cid, lid, "x" * QUESTION_MAX_CHARS).status == 202
    assert len(alice.call("GET", _path(cid, lid)).json()["items"]) == 1  # nothing refused was stored
    assert alice.call("GET", _path(cid, "m99-l99")).status == 404
    assert alice.call("GET", f"/courses/{cid}/lessons/lesson-1/questions").status == 400
