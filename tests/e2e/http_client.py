"""A signed-in HTTP client of the running local stack, and what the e2e tests ask of it."""

from __future__ import annotations

from typing import Any

import httpx

from flowgen_local.stack import LocalStack
from tests.helpers import wait_for


def client(stack: LocalStack, sub: str = "alice") -> httpx.Client:
    return httpx.Client(base_url=stack.api_url, timeout=10, headers={"authorization": f"Bearer {stack.token(sub)}"})


def ready_course(api: httpx.Client, prompt: str, **fields: Any) -> dict[str, Any]:
    created = api.post("/courses", json={"prompt": prompt, **fields})
    assert created.status_code == 202, created.text
    ready: dict[str, Any] = wait_for(
        lambda: api.get(f"/courses/{created.json()['id']}").json(), lambda c: c["status"] == "READY"
    )
    return ready


def lesson_status(api: httpx.Client, course_id: str, lesson_id: str) -> dict[str, Any]:
    """Opens the lesson: GET on a lesson promotes it to high priority."""
    lesson: dict[str, Any] = api.get(f"/courses/{course_id}/lessons/{lesson_id}").json()
    return lesson
