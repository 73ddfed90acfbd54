"""A learner's progress through the api: quizzes graded and kept, ownership, validation, the document."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from tests.api.conftest import InProcessApi
from tests.helpers import User, lesson_ids


def _progress(user: User, course_id: str, lesson_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = user.call("PUT", f"/courses/{course_id}/lessons/{lesson_id}/progress", body)
    assert response.status == 200, response.body
    parsed: dict[str, Any] = response.json()
    return parsed


def test_a_quiz_is_graded_and_its_result_kept(api: InProcessApi) -> None:
    alice = User(api, "alice")
    course = alice.ready_course()
    lesson_id = lesson_ids(course)[0]
    lesson = alice.written_lesson(course["id"], lesson_id)
    questions = [q for b in lesson["content"]["blocks"] if b["type"] == "quiz" for q in b["questions"]]
    assert 3 <= len(questions) <= 5
    right = [q["answer_index"] for q in questions]

    taken = _progress(alice, course["id"], lesson_id, {"quiz": {"answers": right}})
    assert taken["quiz"]["score"] == taken["quiz"]["total"] == len(questions) and taken["quiz"]["passed"]
    taken_on = datetime.fromisoformat(taken["quiz"]["lessonVersion"])
    assert abs(taken_on - datetime.fromisoformat(lesson["generatedAt"])) < timedelta(milliseconds=1)
    assert taken["completedBy"] == "quiz"
    kept = alice.call("GET", f"/courses/{course['id']}/progress").json()["lessons"][0]
    assert kept["quiz"] == taken["quiz"]

    wrong_count = alice.call("PUT", f"/courses/{course['id']}/lessons/{lesson_id}/progress", {"quiz": {"answers": [0]}})
    assert wrong_count.status == 400 and wrong_count.json()["error"]["code"] == "wrong_answer_count"
    not_written = alice.call(
        "PUT", f"/courses/{course['id']}/lessons/{lesson_ids(course)[-1]}/progress", {"quiz": {"answers": [0, 0, 0]}}
    )
    assert not_written.status == 409 and not_written.json()["error"]["code"] == "no_quiz"


def test_progress_is_owner_scoped_and_validated(api: InProcessApi) -> None:
    alice, bob = User(api, "alice"), User(api, "bob")
    course = alice.ready_course()
    lesson_id = lesson_ids(course)[0]
    _progress(alice, course["id"], lesson_id, {"completed": True})

    attempts = [
        bob.call("PUT", f"/courses/{course['id']}/lessons/{lesson_id}/progress", {"opened": True}),
        bob.call("GET", f"/courses/{course['id']}/progress"),
    ]
    assert [r.status for r in attempts] == [404, 404]
    assert bob.call("GET", "/progress").json() == {"courses": []}

    invalid = alice.call("PUT", f"/courses/{course['id']}/lessons/{lesson_id}/progress", {"completed": "yes please"})
    assert invalid.status == 400
    error = invalid.json()["error"]
    assert error["code"] == "invalid_request" and any("completed" in d["field"] for d in error["details"])
    unknown = alice.call("PUT", f"/courses/{course['id']}/lessons/{lesson_id}/progress", {"score": 100})
    assert unknown.status == 400

    # deleting the course deletes its progress
    assert alice.call("DELETE", f"/courses/{course['id']}").status == 204
    assert alice.call("GET", "/progress").json() == {"courses": []}


def test_progress_routes_are_in_the_openapi_document(api: InProcessApi) -> None:
    document = User(api, "alice").call("GET", "/openapi.json").json()["paths"]
    paths = {re.sub(r"\{[^}]+\}", "{}", path): operations for path, operations in document.items()}
    assert {"put"} <= set(paths["/courses/{}/lessons/{}/progress"])
    assert {"get"} <= set(paths["/courses/{}/progress"]) and {"get"} <= set(paths["/progress"])
    put = paths["/courses/{}/lessons/{}/progress"]["put"]
    assert {"200", "400", "404", "409"} <= set(put["responses"])
    assert "requestBody" in put
