"""A caller of the local stack's API, as one signed-in user."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Protocol

from flowgen_local.stack import ApiResponse


class Stack(Protocol):
    """A local stack (tests/integration) or the api in process (tests/api)."""

    def request(
        self, method: str, path: str, *, query: str = "", headers: dict[str, str] | None = None, body: Any = None
    ) -> ApiResponse: ...
    def token(self, sub: str) -> str: ...
    def drain(self, source: str) -> int: ...


class User:
    def __init__(self, stack: Stack, sub: str) -> None:
        self.stack = stack
        self.sub = sub
        self.token = stack.token(sub)

    def call(
        self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None, query: str = ""
    ) -> ApiResponse:
        all_headers = {"authorization": f"Bearer {self.token}", **(headers or {})}
        if body is not None and not isinstance(body, str | bytes):
            body = json.dumps(body)
            all_headers.setdefault("content-type", "application/json")
        return self.stack.request(method, path, query=query, headers=all_headers, body=body)

    def create_course(self, prompt: str = "Rust ownership for C++ programmers", **fields: Any) -> dict[str, Any]:
        response = self.call("POST", "/courses", {"prompt": prompt, **fields})
        assert response.status == 202, response.body
        created: dict[str, Any] = response.json()
        return created

    def ready_course(self, prompt: str = "Rust ownership for C++ programmers", **fields: Any) -> dict[str, Any]:
        """Creates a course and runs the course worker until its outline is written."""
        course = self.create_course(prompt, **fields)
        self.stack.drain("CourseJobs")
        detail: dict[str, Any] = self.call("GET", f"/courses/{course['id']}").json()
        assert detail["status"] == "READY", detail
        return detail

    def open_lesson(self, course_id: str, lesson_id: str) -> ApiResponse:
        return self.call("GET", f"/courses/{course_id}/lessons/{lesson_id}")

    def written_lesson(self, course_id: str, lesson_id: str) -> dict[str, Any]:
        """Opens the lesson, runs the high lane's worker until it is written, and reads it."""
        self.open_lesson(course_id, lesson_id)
        self.stack.drain("HighPriorityLessons")
        response = self.open_lesson(course_id, lesson_id)
        assert response.status == 200, response.body
        parsed: dict[str, Any] = response.json()
        return parsed


def lesson_ids(course: dict[str, Any]) -> list[str]:
    return [lesson["id"] for module in course["modules"] for lesson in module["lessons"]]


def wait_for(
    fetch: Callable[[], Any], done: Callable[[Any], bool] = bool, timeout: float = 30, every: float = 0.05
) -> Any:
    """Calls `fetch` until `done` holds for what it returns (by default: it is truthy); that value.
    Fails naming the last value after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"gave up waiting after {timeout}s; last value: {value!r}"
        time.sleep(every)


def answer_key(owner: str, course_id: str, lesson_id: str) -> list[int]:
    """The right option of each question of a lesson's quiz, from the store (the API serves a quiz
    without its answers): the stack's database, or the in-process tier's fake store."""
    from flowgen import wiring
    from flowgen.progress import quiz_questions

    lesson = wiring.store().get_lesson(owner, course_id, lesson_id)
    assert lesson is not None
    return [question.answer_index for question in quiz_questions(lesson)]
