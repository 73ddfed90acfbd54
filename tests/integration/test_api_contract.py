"""What callers see: ownership, validation, idempotency, and outages as 503s."""

from __future__ import annotations

import pytest

from flowgen.models import PROMPT_MAX_CHARS
from tests.conftest import make_stack
from tests.helpers import User, lesson_ids


def _error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    assert "Traceback" not in response.body
    return body["error"]


def test_another_users_course_is_404_everywhere(stack):
    alice, bob = User(stack, "alice"), User(stack, "bob")
    course = alice.ready_course()
    lesson = lesson_ids(course)[0]
    attempts = [
        bob.call("GET", f"/courses/{course['id']}"),
        bob.open_lesson(course["id"], lesson),
        bob.call("POST", f"/courses/{course['id']}/lessons/{lesson}/retry"),
        bob.call("POST", f"/courses/{course['id']}/retry"),
        bob.call("DELETE", f"/courses/{course['id']}"),
    ]
    assert [r.status for r in attempts] == [404] * 5
    assert all(_error(r)["code"] in {"course_not_found", "lesson_not_found"} for r in attempts)
    assert bob.call("GET", "/courses").json()["items"] == []
    assert alice.call("GET", f"/courses/{course['id']}").status == 200  # bob's delete did nothing


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": "x" * (PROMPT_MAX_CHARS + 1)}, "prompt"),
        ({}, "prompt"),
        ({"prompt": "Rust", "level": "wizard"}, "level"),
        ({"prompt": "Rust", "unexpected": 1}, "unexpected"),
        ({"prompt": 42}, "prompt"),
    ],
)
def test_invalid_course_bodies_are_400_with_the_field_named(stack, body, field):
    response = User(stack, "alice").call("POST", "/courses", body)
    assert response.status == 400
    error = _error(response)
    assert error["code"] == "invalid_request"
    assert any(field in d["field"] for d in error["details"]), error


def test_malformed_json_is_400(stack):
    response = User(stack, "alice").call("POST", "/courses", "{not json", headers={"content-type": "application/json"})
    assert response.status == 400 and _error(response)["code"] == "invalid_request"


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/courses/not-an-id", 400, "invalid_course_id"),
        ("GET", "/courses/0123456789abcdef0123456789abcdef/lessons/lesson-1", 400, "invalid_lesson_id"),
        ("GET", "/courses/0123456789abcdef0123456789abcdef", 404, "course_not_found"),
        ("GET", "/courses", 400, "invalid_cursor"),
    ],
)
def test_bad_ids_and_cursors_are_clear_4xx(stack, method, path, status, code):
    query = "cursor=bogus" if code == "invalid_cursor" else ""
    response = User(stack, "alice").call(method, path, query=query)
    assert response.status == status and _error(response)["code"] == code


def test_unknown_route_is_404_from_the_gateway(stack):
    assert User(stack, "alice").call("GET", "/nope").status == 404
    assert User(stack, "alice").call("PUT", "/courses").status == 404


def test_limit_out_of_range_is_400(stack):
    assert User(stack, "alice").call("GET", "/courses", query="limit=1000").status == 400


def test_idempotency_key_makes_a_retried_create_return_the_same_course(stack):
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


def test_mongo_down_is_503_with_retry_after(redis_url, sqs_endpoint, fake_model):
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


def test_redis_down_still_accepts_courses_and_dedupe_falls_back(sqs_endpoint, mongo_uri, fake_model, redis_url):
    local = make_stack(redis_url, sqs_endpoint, mongo_uri, fake_model, REDIS_URL="redis://127.0.0.1:9/0")
    try:
        alice = User(local, "alice")
        response = alice.call("POST", "/courses", {"prompt": "Rust"})
        assert response.status == 202  # enqueued without dedupe (invariant 2)
        assert local.queue_depth("CourseQueue") == 1
        keyed = alice.call("POST", "/courses", {"prompt": "Rust"}, headers={"idempotency-key": "k1"})
        assert keyed.status == 503 and keyed.headers["retry-after"]  # idempotency cannot be promised
    finally:
        local.stop()


def test_queue_down_keeps_the_course_for_the_reconciler(redis_url, sqs_endpoint, mongo_uri, fake_model):
    local = make_stack(redis_url, sqs_endpoint, mongo_uri, fake_model, SQS_ENDPOINT_URL="http://127.0.0.1:9")
    try:
        alice = User(local, "alice")
        response = alice.call("POST", "/courses", {"prompt": "Rust"})
        assert response.status == 202  # the intent is in MongoDB; nothing the user sent is lost
        assert alice.call("GET", f"/courses/{response.json()['id']}").json()["status"] == "PENDING"
    finally:
        local.stop()
