"""A learner's progress through the api: quizzes graded and kept, ownership, validation, the document."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from flowgen.progress import quiz_questions
from tests.api.conftest import InProcessApi
from tests.helpers import User, lesson_ids
from tests.narrow import present


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
    assert all(set(q) == {"question", "options"} for q in questions)  # the answers stay on the server
    right = [q.answer_index for q in quiz_questions(present(api.store.get_lesson("alice", course["id"], lesson_id)))]
    wrong = [(a + 1) % len(q["options"]) for a, q in zip(right, questions, strict=True)]

    failed = _progress(alice, course["id"], lesson_id, {"quiz": {"answers": wrong}})["quiz"]
    assert (failed["score"], failed["passed"], failed["solution"]) == (0, False, None)  # not given away
    assert len(failed["feedback"]) == len(questions) and failed["tries"] == []
    revealed = _progress(alice, course["id"], lesson_id, {"quiz": {"answers": wrong, "reveal": True}})["quiz"]
    assert [s["answerIndex"] for s in revealed["solution"]] == right
    assert [t["answers"] for t in revealed["tries"]] == [wrong]  # the earlier try is kept

    taken = _progress(alice, course["id"], lesson_id, {"quiz": {"answers": right}})
    assert taken["quiz"]["score"] == taken["quiz"]["total"] == len(questions) and taken["quiz"]["passed"]
    assert [s["answerIndex"] for s in taken["quiz"]["solution"]] == right and len(taken["quiz"]["tries"]) == 2
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
