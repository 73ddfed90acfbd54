"""A caller of the local stack's API, as one signed-in user."""

from __future__ import annotations

import json
from typing import Any

from flowgen_local.stack import ApiResponse, LocalStack


class User:
    def __init__(self, stack: LocalStack, sub: str) -> None:
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


def lesson_ids(course: dict[str, Any]) -> list[str]:
    return [lesson["id"] for module in course["modules"] for lesson in module["lessons"]]
