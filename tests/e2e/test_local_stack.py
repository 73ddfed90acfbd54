"""End to end over HTTP through the running local stack: API Gateway emulation, the real
authorizer, SQS event sources polling with their template settings, and the workers."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from flowgen import wiring
from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.services import AwsServer
from flowgen_local.stack import LocalStack
from tests.e2e.conftest import start_running_stack
from tests.narrow import present

pytestmark = pytest.mark.e2e


def client(stack: LocalStack, sub: str = "alice") -> httpx.Client:
    return httpx.Client(base_url=stack.api_url, timeout=10, headers={"authorization": f"Bearer {stack.token(sub)}"})


def wait_for(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 30, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"gave up waiting; last value: {value}"
        time.sleep(every)


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


def summary(api: httpx.Client, course_id: str, lesson_id: str) -> dict[str, Any]:
    """Watches a lesson through the course view, without opening it."""
    course = api.get(f"/courses/{course_id}").json()
    return next(x for m in course["modules"] for x in m["lessons"] if x["id"] == lesson_id)


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


def test_opened_lesson_overtakes_a_backlog_of_200(
    redis_url: str, sqs_endpoint: AwsServer, mongo_uri: tuple[str, str], fake_model: FakeOpenAI
) -> None:
    fake_model.faults.latency_seconds = 0.02
    # every outline queues all 24 of its lessons at low priority; the low pollers start paused
    stack = start_running_stack(
        redis_url, sqs_endpoint, mongo_uri, fake_model, paused={"LowPriorityLessons"}, InitialLessons=24
    )
    try:
        api = client(stack)
        courses = [ready_course(api, f"Backlog topic {i}", size="long") for i in range(9)]
        backlog = 9 * 24
        # READY lands a moment before the outline's prefetch jobs are sent
        wait_for(lambda: stack.queue_depth("LessonLowQueue"), lambda depth: depth == backlog, timeout=10)

        stack.runners["LowPriorityLessons"].start()
        target = courses[4]["modules"][-1]["lessons"][-1]
        assert api.get(f"/courses/{courses[4]['id']}/lessons/{target['id']}").status_code == 202
        wait_for(lambda: lesson_status(api, courses[4]["id"], target["id"]), lambda x: x["status"] == "GENERATED")

        remaining = stack.queue_depth("LessonLowQueue")
        key = f"{courses[4]['title']} :: {target['title']}"
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
        stack.stop()


def test_a_failing_message_is_retried_alone_then_dead_lettered_and_retryable(
    running_stack: LocalStack, fake_model: FakeOpenAI
) -> None:
    api = client(running_stack)
    poison: str | None = None

    def poison_second_lesson(c: dict[str, Any]) -> bool:
        nonlocal poison
        poison = c["modules"][0]["lessons"][1]["title"] if c["status"] == "READY" else None
        return bool(poison)

    created = api.post("/courses", json={"prompt": "Category theory for programmers"}).json()
    # the two prefetched lessons are one low-priority batch; poison the second before it runs
    fake_model.faults.poison_lessons = ["Foundations: how it works"]
    course = wait_for(lambda: api.get(f"/courses/{created['id']}").json(), poison_second_lesson)
    first, second = (lesson["id"] for lesson in course["modules"][0]["lessons"][:2])

    failed = wait_for(lambda: summary(api, course["id"], second), lambda x: x["status"] == "FAILED", timeout=90)
    assert "500" in failed["error"]
    assert summary(api, course["id"], first)["status"] == "GENERATED"
    max_receives = running_stack.template.queues["LessonLowQueue"].max_receive_count
    assert fake_model.stats.lesson_titles.count(present(poison)) == max_receives  # retried alone...
    assert (
        fake_model.stats.lesson_titles.count(course["modules"][0]["lessons"][0]["title"]) == 1
    )  # ...not its neighbour
    wait_for(lambda: running_stack.queue_depth("LessonLowDLQ"), lambda depth: depth == 1, timeout=30)

    fake_model.faults.poison_lessons = []
    retried = api.post(f"/courses/{course['id']}/lessons/{second}/retry")
    assert retried.status_code == 202
    wait_for(lambda: lesson_status(api, course["id"], second), lambda x: x["status"] == "GENERATED")


def test_tokens_over_http(running_stack: LocalStack) -> None:
    url = f"{running_stack.api_url}/courses"
    assert httpx.get(url).status_code == 401  # no identity source: API Gateway answers without the authorizer
    expired = running_stack.token("alice", expires_in=-300)
    answer = httpx.get(url, headers={"authorization": f"Bearer {expired}"})
    assert answer.status_code == 401  # a well-signed token past its exp: the api says so, with a challenge
    assert answer.json()["error"]["code"] == "token_expired"

    from cryptography.hazmat.primitives.asymmetric import rsa

    from flowgen_local.idp import LocalIdentityProvider

    impostor = LocalIdentityProvider(rsa.generate_private_key(public_exponent=65537, key_size=2048), "x")
    other_key = impostor.mint("alice")
    impostor.server.server_close()
    assert httpx.get(url, headers={"authorization": f"Bearer {other_key}"}).status_code == 403
    assert client(running_stack).get("/courses").status_code == 200


def test_the_stack_refuses_a_visibility_timeout_an_invocation_could_outlive(
    redis_url: str, aws: AwsServer, mongo_uri: tuple[str, str]
) -> None:
    """As CreateEventSourceMapping refuses a queue whose visibility timeout is under the
    function's timeout: a message would reappear while its first invocation still runs."""
    from tests.conftest import make_stack

    stack = make_stack(redis_url, aws, mongo_uri, None)  # visibility 0 for draining; workers time out at 120 s
    try:
        with pytest.raises(ValueError, match="shorter than .*LessonWorkerFunction's timeout|shorter than"):
            stack.start_pollers()
        assert not any(runner._threads for runner in stack.runners.values())
    finally:
        stack.stop()
