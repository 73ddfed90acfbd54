"""What callers see: ownership, validation, idempotency, and outages as 503s."""

from __future__ import annotations

import os
import re
import signal
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import redis as redis_lib

from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.services import AwsServer
from flowgen_local.stack import ApiResponse, LocalStack
from tests.conftest import SharedStack, make_stack
from tests.helpers import User, lesson_ids

pytestmark = pytest.mark.usefixtures("every_status_documented")  # tests/integration/conftest.py


def _error(response: ApiResponse) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    assert "Traceback" not in response.body
    parsed: dict[str, Any] = body["error"]
    return parsed


def test_idempotency_key_makes_a_retried_create_return_the_same_course(stack: LocalStack) -> None:
    alice = User(stack, "alice")
    headers = {"idempotency-key": "3f1c-create-1"}
    first = alice.call("POST", "/courses", {"prompt": "Category theory"}, headers=headers)
    second = alice.call("POST", "/courses", {"prompt": "Category theory"}, headers=headers)
    assert first.status == second.status == 202
    assert first.json()["id"] == second.json()["id"]
    assert len(alice.call("GET", "/courses").json()["items"]) == 1
    assert stack.queue_depth("CourseQueue") == 1

    # another user's identical key is their own
    bob = User(stack, "bob").call("POST", "/courses", {"prompt": "Category theory"}, headers=headers)
    assert bob.json()["id"] != first.json()["id"]
    # the same key with a different body is refused, not replayed
    other = alice.call("POST", "/courses", {"prompt": "Something else"}, headers=headers)
    assert other.status == 422 and _error(other)["code"] == "idempotency_key_reused"


def test_mongo_down_is_503_with_retry_after(redis_url: str, sqs_endpoint: AwsServer, fake_model: FakeOpenAI) -> None:
    local = make_stack(
        redis_url, sqs_endpoint, ("mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300", "x"), fake_model
    )
    try:
        response = User(local, "alice").call("POST", "/courses", {"prompt": "Rust"})
        assert response.status == 503
        assert response.headers["retry-after"] == "5"
        assert _error(response)["code"] == "mongo_unavailable"
    finally:
        local.stop()


def test_redis_down_still_accepts_courses_and_dedupe_falls_back(
    shared_stack: SharedStack, fake_model: FakeOpenAI
) -> None:
    local = shared_stack(REDIS_URL="redis://127.0.0.1:9/0")
    alice = User(local, "alice")
    response = alice.call("POST", "/courses", {"prompt": "Rust"})
    assert response.status == 202  # enqueued without dedupe (invariant 2)
    assert local.queue_depth("CourseQueue") == 1
    keyed = alice.call("POST", "/courses", {"prompt": "Rust"}, headers={"idempotency-key": "k1"})
    assert keyed.status == 503 and keyed.headers["retry-after"]  # idempotency cannot be promised


def test_queue_down_keeps_the_course_for_the_reconciler(shared_stack: SharedStack, fake_model: FakeOpenAI) -> None:
    local = shared_stack(SQS_ENDPOINT_URL="http://127.0.0.1:9")
    alice = User(local, "alice")
    response = alice.call("POST", "/courses", {"prompt": "Rust"})
    assert response.status == 202  # the intent is in MongoDB; nothing the user sent is lost
    assert alice.call("GET", f"/courses/{response.json()['id']}").json()["status"] == "PENDING"


def test_a_stalled_queue_is_a_202_within_the_deadline_not_a_500(stack: LocalStack, aws: AwsServer) -> None:
    """Issue 25: under load, a send that stalled outlived the api's 10 s timeout (its client
    allowed 2 attempts of 5 s reads) and API Gateway answered 500. The send is now given up in
    time, and the intent is kept for the reconciler."""
    alice = User(stack, "alice")
    course = alice.ready_course()
    lesson = lesson_ids(course)[5]
    os.kill(aws.process.pid, signal.SIGSTOP)  # SQS stops answering (and the queues with it)
    try:
        started = time.monotonic()
        created = alice.call("POST", "/courses", {"prompt": "Category theory"})
        create_took = time.monotonic() - started
        started = time.monotonic()
        opened = alice.open_lesson(course["id"], lesson)  # two sends: the lesson, and the next ones
        open_took = time.monotonic() - started
    finally:
        os.kill(aws.process.pid, signal.SIGCONT)
    assert (created.status, opened.status) == (202, 202), (created.body, opened.body)
    deadline = 10 - 2  # the api's timeout less what it keeps to answer
    assert create_took < deadline and open_took < deadline + 1, (create_took, open_took)
    assert alice.call("GET", f"/courses/{created.json()['id']}").json()["status"] == "PENDING"  # kept


# ---- issue 9: nothing a client sends is a 500 ---------------------------------------------


def _post_raw(stack: LocalStack, body: bytes | str, content_type: str | None) -> ApiResponse:
    headers = {"authorization": f"Bearer {stack.token('alice')}"}
    if content_type is not None:
        headers["content-type"] = content_type
    return stack.request("POST", "/courses", headers=headers, body=body)


# ---- per-user limits ------------------------------------------------------------------------


def _limited_stack(shared_stack: SharedStack, **parameters: int) -> LocalStack:
    return shared_stack({k: str(v) for k, v in parameters.items()})


def test_requests_per_minute_per_user_answer_429_with_ratelimit_headers(
    shared_stack: SharedStack, fake_model: FakeOpenAI
) -> None:
    local = _limited_stack(shared_stack, UserRequestsPerMinute=5)
    alice, bob = User(local, "alice"), User(local, "bob")
    answers = [alice.call("GET", "/courses") for _ in range(5)]
    assert [a.status for a in answers] == [200] * 5
    assert answers[0].headers["ratelimit-policy"] == '"requests";q=5;w=60'
    assert re.fullmatch(r'"requests";r=4;t=\d+', answers[0].headers["ratelimit"])
    refused = alice.call("GET", "/courses")
    assert refused.status == 429 and _error(refused)["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert re.fullmatch(r'"requests";r=0;t=\d+', refused.headers["ratelimit"])
    assert bob.call("GET", "/courses").status == 200  # another user's window is their own


def test_courses_per_hour_and_per_day_are_limited_and_nothing_is_stored(
    shared_stack: SharedStack, fake_model: FakeOpenAI, redis_url: str
) -> None:
    local = _limited_stack(shared_stack, UserCoursesPerHour=2, UserCoursesPerDay=3)
    alice = User(local, "alice")
    assert [alice.call("POST", "/courses", {"prompt": f"Topic {i}"}).status for i in range(2)] == [202, 202]
    refused = alice.call("POST", "/courses", {"prompt": "Topic 3"})
    assert refused.status == 429 and "courses-hour" in _error(refused)["message"]
    assert refused.headers["ratelimit-policy"] == (
        '"requests";q=120;w=60, "courses-hour";q=2;w=3600, "courses-day";q=3;w=86400'
    )
    assert int(refused.headers["retry-after"]) <= 3600
    assert len(alice.call("GET", "/courses").json()["items"]) == 2
    assert alice.call("GET", "/courses").headers["ratelimit-policy"] == '"requests";q=120;w=60'
    # the next hour: the day's limit (3) is what binds
    client = redis_lib.Redis.from_url(redis_url)
    for key in client.scan_iter("flowgen:userlimit:alice:courses-hour:*"):
        client.delete(key)
    assert alice.call("POST", "/courses", {"prompt": "Topic 4"}).status == 202
    client.delete(*client.scan_iter("flowgen:userlimit:alice:courses-hour:*"))
    day = alice.call("POST", "/courses", {"prompt": "Topic 5"})
    assert day.status == 429 and "courses-day" in _error(day)["message"]
    assert len(alice.call("GET", "/courses").json()["items"]) == 3


def test_a_spent_daily_budget_refuses_new_courses_until_it_resets(
    shared_stack: SharedStack, fake_model: FakeOpenAI, redis_url: str
) -> None:
    local = _limited_stack(shared_stack, UserDailyTokenBudget=5000)
    alice = User(local, "alice")
    day = datetime.now(UTC).strftime("%Y%m%d")
    redis_lib.Redis.from_url(redis_url).set(f"flowgen:budget:user:alice:{day}", 5000)  # the workers' key
    refused = alice.call("POST", "/courses", {"prompt": "Rust ownership"})
    assert refused.status == 429
    error = _error(refused)
    assert error["code"] == "daily_budget_exhausted"
    resets = datetime.fromisoformat(error["resetsAt"])
    assert resets.time().isoformat() == "00:00:00" and resets > datetime.now(UTC)
    assert abs((resets - datetime.now(UTC)).total_seconds() - int(refused.headers["retry-after"])) < 5
    assert alice.call("GET", "/courses").json()["items"] == []
    assert alice.call("GET", "/courses").status == 200  # reading is not spending
    assert User(local, "bob").call("POST", "/courses", {"prompt": "Rust ownership"}).status == 202


def test_limits_fail_open_when_redis_is_down(shared_stack: SharedStack, fake_model: FakeOpenAI) -> None:
    local = shared_stack({"UserRequestsPerMinute": "1"}, REDIS_URL="redis://127.0.0.1:9/0")
    alice = User(local, "alice")
    assert [alice.call("GET", "/courses").status for _ in range(3)] == [200, 200, 200]
    assert "ratelimit" not in alice.call("GET", "/courses").headers


def test_one_user_at_its_limits_does_not_slow_another(
    shared_stack: SharedStack, fake_model: FakeOpenAI, redis_url: str
) -> None:
    local = _limited_stack(shared_stack, UserRequestsPerMinute=20)
    alice, bob = User(local, "alice"), User(local, "bob")

    def bob_latency() -> float:
        started = time.perf_counter()
        assert bob.call("GET", "/courses").status == 200
        return time.perf_counter() - started

    bob.call("GET", "/courses")  # warm
    alone = statistics.median(bob_latency() for _ in range(5))
    assert [alice.call("GET", "/courses").status for _ in range(20)] == [200] * 20
    beside = []
    for _ in range(5):  # alice keeps knocking at her closed window; bob is served as before
        assert alice.call("GET", "/courses").status == 429
        beside.append(bob_latency())
    assert statistics.median(beside) < 2 * alone + 0.05, (alone, beside)
    client = redis_lib.Redis.from_url(redis_url)
    bob_counts = [int(client.get(key) or 0) for key in client.scan_iter("flowgen:userlimit:bob:*")]
    assert sum(bob_counts) == 11  # bob's own counter only: alice's refusals touched none of his keys


def test_a_create_replayed_after_its_course_was_deleted_is_a_409(stack: LocalStack) -> None:
    """Found by the fuzz suite's stateful phase: the Idempotency-Key record replayed a deleted course."""
    alice = User(stack, "alice")
    headers = {"Idempotency-Key": "gone-1"}
    first = alice.call("POST", "/courses", {"prompt": "Rust ownership"}, headers=headers)
    assert first.status == 202
    assert alice.call("DELETE", f"/courses/{first.json()['id']}").status == 204
    again = alice.call("POST", "/courses", {"prompt": "Rust ownership"}, headers=headers)
    assert again.status == 409 and again.json()["error"]["code"] == "course_gone"
