"""Time to an opened lesson with and without a background backlog, and the round trips one
open costs. Ratios against a baseline measured in the same run (timings here are noisy).

    .venv/bin/python bench/priority.py [backlog_courses] [model_latency_seconds]

Runs entirely on loopback: the local stack with the fake OpenAI server.
"""

from __future__ import annotations

import sys
import time

import redis

from flowgen import wiring
from flowgen.settings import ApiSettings
from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.stack import NO_USER_LIMITS, LocalStack, StackConfig


def _wait(predicate, timeout: float = 120.0, every: float = 0.01):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("gave up waiting")
        time.sleep(every)


def _ready_course(stack: LocalStack, token: str, prompt: str) -> dict:
    import json

    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    created = stack.request("POST", "/courses", headers=headers, body=json.dumps({"prompt": prompt, "size": "long"}))
    course_id = created.json()["id"]
    _wait(lambda: stack.request("GET", f"/courses/{course_id}", headers=headers).json()["status"] == "READY")
    return stack.request("GET", f"/courses/{course_id}", headers=headers).json()


def time_to_lesson(fake: FakeOpenAI, backlog_courses: int) -> tuple[float, int, int]:
    """Seconds from opening the last lesson of a fresh course to GENERATED; background lessons
    generated before it; backlog size."""
    config = StackConfig(
        openai_api_key="bench",
        openai_base_url=fake.base_url,
        parameter_overrides={**NO_USER_LIMITS, "InitialLessons": "24" if backlog_courses else "0"},
    )
    stack = LocalStack(config).start(pollers=False)
    try:
        stack.start_pollers(paused=("LowPriorityLessons",))
        token = stack.token("bench")
        for i in range(backlog_courses):
            _ready_course(stack, token, f"Backlog topic {i}")
        target_course = _ready_course(stack, token, "The course being read")
        backlog = 24 * (backlog_courses + 1) if backlog_courses else 0  # the read course queues its own too
        _wait(lambda: stack.queue_depth("LessonLowQueue") == backlog, timeout=20)
        stack.runners["LowPriorityLessons"].start()

        lesson = target_course["modules"][-1]["lessons"][-1]
        path = f"/courses/{target_course['id']}/lessons/{lesson['id']}"
        headers = {"authorization": f"Bearer {token}"}
        calls_before = len(fake.stats.lesson_keys)
        opened = time.monotonic()
        stack.request("GET", path, headers=headers)
        store = wiring.store()
        _wait(lambda: store.get_lesson("bench", target_course["id"], lesson["id"]).status == "GENERATED")
        elapsed = time.monotonic() - opened
        key = f"{target_course['title']} :: {lesson['title']}"
        ahead = fake.stats.lesson_keys.index(key) - calls_before
        return elapsed, ahead, backlog
    finally:
        stack.stop()


def round_trips_of_one_open(fake: FakeOpenAI) -> dict[str, int]:
    """Redis commands and SQS requests of one promoting GET, in a stack whose workers are idle
    (so the Redis server's command count is the API's alone)."""
    stack = LocalStack(StackConfig(openai_api_key="bench", openai_base_url=fake.base_url)).start(pollers=False)
    try:
        token = stack.token("bench")
        import json

        headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        created = stack.request("POST", "/courses", headers=headers, body=json.dumps({"prompt": "Round trips"}))
        stack.drain("CourseJobs")
        course = stack.request("GET", f"/courses/{created.json()['id']}", headers=headers).json()
        middle = course["modules"][1]["lessons"][0]["id"]
        path = f"/courses/{course['id']}/lessons/{middle}"
        return _count_round_trips(stack, lambda: stack.request("GET", path, headers=headers))
    finally:
        stack.stop()


def _count_round_trips(stack: LocalStack, call) -> dict[str, int]:  # type: ignore[no-untyped-def]
    client = redis.Redis.from_url(stack.config.redis_url or wiring.settings(ApiSettings).redis_url)
    sqs = wiring.sqs_client()
    sent = []
    sqs.meta.events.register("before-send.sqs", lambda **kw: sent.append(kw["request"].url))
    before = int(client.info("stats")["total_commands_processed"])
    call()
    after = int(client.info("stats")["total_commands_processed"])
    return {"redis_commands": after - before - 1, "sqs_requests": len(sent)}  # -1: our own INFO


def main() -> None:
    courses = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    latency = float(sys.argv[2]) if len(sys.argv) > 2 else 0.05
    fake = FakeOpenAI().start()
    fake.faults.latency_seconds = latency
    try:
        base, _, _ = time_to_lesson(fake, 0)
        fake.reset()
        fake.faults.latency_seconds = latency
        loaded, ahead, backlog = time_to_lesson(fake, courses)
        trips = round_trips_of_one_open(fake)
    finally:
        fake.stop()
    print(f"model latency {latency * 1000:.0f} ms per call")
    print(f"empty queues:        opened lesson ready in {base:.2f}s (baseline)")
    print(
        f"backlog of {backlog:>3}:      opened lesson ready in {loaded:.2f}s = {loaded / base:.2f}x baseline; "
        f"{ahead} background lessons were generated before it"
    )
    print(
        f"one promoting GET:   {trips['redis_commands']} Redis commands, {trips['sqs_requests']} SQS requests "
        "(the lesson plus two lookahead lessons: one pipelined SET NX each, one batch per queue)"
    )


if __name__ == "__main__":
    main()
