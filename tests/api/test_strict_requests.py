"""Requests are strict (issue 25): a boolean is `true` or `false`, a number is a number, an
index an integer, a level one of its names; `0`, `"1"`, `1.0` and `true` for a number are 400s
naming the field, never coerced."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import InProcessApi
from tests.helpers import User, lesson_ids


@pytest.fixture
def written(api: InProcessApi) -> tuple[User, str, str]:
    alice = User(api, "alice")
    course = alice.ready_course()
    lesson_id = lesson_ids(course)[0]
    alice.written_lesson(course["id"], lesson_id)
    return alice, course["id"], lesson_id


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"completed": 0}, "completed"),
        ({"completed": "true"}, "completed"),
        ({"opened": 1}, "opened"),
        ({"quiz": {"answers": ["0", 1, 2]}}, "quiz.answers.0"),
        ({"quiz": {"answers": [True, 1, 2]}}, "quiz.answers.0"),
        ({"quiz": {"answers": [1.0, 1, 2]}}, "quiz.answers.0"),
    ],
)
def test_progress_takes_booleans_and_integer_answers_only(
    api: InProcessApi, written: tuple[User, str, str], body: dict[str, Any], field: str
) -> None:
    alice, course_id, lesson_id = written
    answer = alice.call("PUT", f"/courses/{course_id}/lessons/{lesson_id}/progress", body)
    assert answer.status == 400, answer.body
    assert any(detail["field"].startswith(field) for detail in answer.json()["error"]["details"]), answer.body


@pytest.mark.parametrize("version", [True, "1", 1.0])
def test_versions_are_integers(api: InProcessApi, written: tuple[User, str, str], version: Any) -> None:
    alice, course_id, lesson_id = written
    switched = alice.call("PUT", f"/courses/{course_id}/lessons/{lesson_id}/version", {"version": version})
    rewrite = alice.call(
        "POST", f"/courses/{course_id}/lessons/{lesson_id}/regenerate", {"instruction": "simpler", "version": version}
    )
    edit = alice.call("PATCH", f"/courses/{course_id}/outline", {"version": version, "modules": []})
    assert [switched.status, rewrite.status, edit.status] == [400, 400, 400]
    assert all(a.json()["error"]["details"][0]["field"] == "version" for a in (switched, rewrite))


def test_strict_bodies_still_take_what_they_should(api: InProcessApi, written: tuple[User, str, str]) -> None:
    alice, course_id, lesson_id = written
    made = alice.call("POST", "/courses", {"prompt": "Rust ownership", "level": "beginner", "size": "short"})
    assert made.status == 202 and made.json()["level"] == "beginner"
    progress = alice.call("PUT", f"/courses/{course_id}/lessons/{lesson_id}/progress", {"completed": True})
    assert progress.status == 200 and progress.json()["completedBy"] == "learner"
    assert alice.call("POST", "/courses", {"prompt": "Rust", "level": "BEGINNER"}).status == 400
