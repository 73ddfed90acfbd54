"""End to end over HTTP through the running local stack: the HTTP front with the template's CORS,
the real authorizer, SQS event sources polling with their template settings, and the workers.
(e2e: an opened lesson overtaking a backlog needs the pollers running at their concurrency; the
rest of what these used to check is in tests/integration, faster.)"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from flowgen import wiring
from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.stack import LocalStack
from tests.conftest import SharedStack
from tests.e2e.http_client import client, lesson_status, ready_course
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e


def test_create_outline_open_generated_over_http(running_stack: LocalStack, fake_model: FakeOpenAI) -> None:
    api = client(running_stack)
    course = ready_course(api, "Rust ownership for C++ programmers")
    lesson_id = course["modules"][-1]["lessons"][-1]["id"]
    opened = api.get(f"/courses/{course['id']}/lessons/{lesson_id}", headers={"origin": "http://localhost:5173"})
    assert opened.status_code == 202 and opened.headers["retry-after"] == "1"
    assert opened.headers["access-control-allow-origin"] == "http://localhost:5173"  # CORS from template.yaml
    lesson = wait_for(lambda: lesson_status(api, course["id"], lesson_id), lambda x: x["status"] == "GENERATED")
    assert {b["type"] for b in lesson["content"]["blocks"]} >= {"markdown", "code", "quiz"}
    preflight = httpx.options(
        f"{running_stack.api_url}/courses",
        headers={"origin": "http://localhost:5173", "access-control-request-method": "POST"},
    )
    assert preflight.status_code == 204 and "idempotency-key" in preflight.headers["access-control-allow-headers"]


@pytest.mark.system
def test_opened_lesson_overtakes_a_backlog_of_96(shared_stack: SharedStack, fake_model: FakeOpenAI) -> None:
    fake_model.faults.latency_seconds = 0.02
    # every outline queues all 24 of its lessons at low priority; the low pollers start paused
    # the provider's token limit (200,000 a minute) would pace the 96 at ~60 a minute: not the subject here
    unlimited = {"ModelTokensPerMinute": "0", "ModelRequestsPerMinute": "0"}
    stack = shared_stack({"InitialLessons": "24", **unlimited}, running=True, paused=("LowPriorityLessons",))
    try:
        api = client(stack)
        courses = [ready_course(api, f"Backlog topic {i}", size="long") for i in range(4)]
        backlog = 4 * 24
        # READY lands a moment before the outline's prefetch jobs are sent
        wait_for(lambda: stack.queue_depth("LessonLowQueue"), lambda depth: depth == backlog, timeout=10)

        stack.runners["LowPriorityLessons"].start()
        target = courses[2]["modules"][-1]["lessons"][-1]
        assert api.get(f"/courses/{courses[2]['id']}/lessons/{target['id']}").status_code == 202
        wait_for(lambda: lesson_status(api, courses[2]["id"], target["id"]), lambda x: x["status"] == "GENERATED")

        remaining = stack.queue_depth("LessonLowQueue")
        key = f"{courses[2]['title']} :: {target['title']}"
        position = fake_model.stats.lesson_keys.index(key)
        assert position < 20, f"the opened lesson waited behind {position} background lessons"
        assert remaining > backlog / 2, "the backlog had mostly drained: nothing was overtaken"

        # when the backlog drains, the opened lesson's own low job costs nothing: one call per lesson
        # (wait on the lessons, not the queue: a message is deleted a moment before its commit lands)
        def pending() -> list[tuple[Any, ...]]:
            return [
                (x.id, x.status, x.priority, x.attempts, x.error, x.lease)
                for c in courses
                for x in wiring.store().list_lessons(c["id"])
                if x.status != "GENERATED"
            ]

        wait_for(pending, lambda left: not left, timeout=120, every=0.5)
        assert fake_model.stats.calls["GeneratedLesson"] == backlog
        assert fake_model.stats.lesson_keys.count(key) == 1
    finally:
        stack.runners["LowPriorityLessons"].stop()  # paused again for the stack's next test
