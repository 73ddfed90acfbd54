"""What callers see: ownership, validation, idempotency, and outages as 503s."""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis as redis_lib

from flowgen.http_input import MAX_BODY_BYTES, MAX_JSON_DEPTH
from flowgen.text_rules import PROMPT_MAX_CHARS
from flowgen_local.events import match_route
from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.services import AwsServer
from flowgen_local.stack import ApiResponse, LocalStack
from tests.conftest import make_stack
from tests.helpers import User, lesson_ids

_OPENAPI: dict[str, Any] = {}  # the document the stack serves, fetched once


@pytest.fixture(autouse=True)
def _every_status_is_in_the_contract() -> Iterator[None]:
    """Wraps every stack this module makes: each answer's status must be one the OpenAPI document
    lists for its route (the $default route: 401, 403, 404 and 405)."""
    seen: list[tuple[str, str, int]] = []
    original = LocalStack.request

    def recording(self: LocalStack, method: str, path: str, **kwargs: Any) -> ApiResponse:
        if not _OPENAPI:
            _OPENAPI.update(original(self, "GET", "/openapi.json").json())
        response = original(self, method, path, **kwargs)
        matched = match_route(self.template.routes, method.upper(), path)
        seen.append((method.upper(), matched[0].path if matched else "", response.status))
        return response

    LocalStack.request = recording  # type: ignore[method-assign]
    try:
        yield
    finally:
        LocalStack.request = original  # type: ignore[method-assign]
    undocumented = [answer for answer in seen if answer[2] not in _documented(answer[0], answer[1])]
    assert not undocumented, f"statuses the OpenAPI document does not list: {undocumented}"


def _documented(method: str, template_path: str) -> set[int]:
    if template_path in ("$default", ""):
        return {401, 403, 404, 405}
    if template_path == "/swagger":  # the UI over the document, not in it
        return {200}
    doc_path = template_path.replace("{courseId}", "{course_id}").replace("{lessonId}", "{lesson_id}")
    return {int(status) for status in _OPENAPI["paths"][doc_path][method.lower()]["responses"]}


def _error(response: ApiResponse) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    assert "Traceback" not in response.body
    parsed: dict[str, Any] = body["error"]
    return parsed


def test_another_users_course_is_404_everywhere(stack: LocalStack) -> None:
    alice, bob = User(stack, "alice"), User(stack, "bob")
    course = alice.ready_course()
    lesson = lesson_ids(course)[0]
    attempts = [
        bob.call("GET", f"/courses/{course['id']}"),
        bob.open_lesson(course["id"], lesson),
        bob.call("POST", f"/courses/{course['id']}/lessons/{lesson}/retry"),
        bob.call("POST", f"/courses/{course['id']}/retry"),
        bob.call("DELETE", f"/courses/{course['id']}"),
        bob.call("GET", f"/courses/{course['id']}/export.md"),
        bob.call("POST", f"/courses/{course['id']}/lessons/{lesson}/questions", {"question": "why?"}),
        bob.call("GET", f"/courses/{course['id']}/lessons/{lesson}/questions"),
    ]
    assert [r.status for r in attempts] == [404] * len(attempts)
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
def test_invalid_course_bodies_are_400_with_the_field_named(
    stack: LocalStack, body: dict[str, Any], field: str
) -> None:
    response = User(stack, "alice").call("POST", "/courses", body)
    assert response.status == 400
    error = _error(response)
    assert error["code"] == "invalid_request"
    assert any(field in d["field"] for d in error["details"]), error


def test_malformed_json_is_400(stack: LocalStack) -> None:
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
def test_bad_ids_and_cursors_are_clear_4xx(stack: LocalStack, method: str, path: str, status: int, code: str) -> None:
    query = "cursor=bogus" if code == "invalid_cursor" else ""
    response = User(stack, "alice").call(method, path, query=query)
    assert response.status == status and _error(response)["code"] == code


def test_unknown_routes_and_methods_are_404_and_405_in_the_envelope(stack: LocalStack) -> None:
    """The $default route sends what no route matches to the function (API Gateway's own 404 had
    no envelope): 404 for an unknown path, 405 with Allow for a known path's other methods."""
    alice = User(stack, "alice")
    unknown = alice.call("GET", "/nope")
    assert unknown.status == 404 and _error(unknown)["code"] == "route_not_found"
    wrong_method = alice.call("PUT", "/courses")
    assert wrong_method.status == 405 and _error(wrong_method)["code"] == "method_not_allowed"
    assert wrong_method.headers["allow"] == "GET, POST"
    patch = alice.call("PATCH", "/courses/0123456789abcdef0123456789abcdef")
    assert patch.status == 405 and patch.headers["allow"] == "DELETE, GET"
    # the $default route sits behind the authorizer like every other one
    assert stack.request("GET", "/nope").status == 401


def test_limit_out_of_range_is_400(stack: LocalStack) -> None:
    assert User(stack, "alice").call("GET", "/courses", query="limit=1000").status == 400


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
    sqs_endpoint: AwsServer, mongo_uri: tuple[str, str], fake_model: FakeOpenAI, redis_url: str
) -> None:
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


def test_queue_down_keeps_the_course_for_the_reconciler(
    redis_url: str, sqs_endpoint: AwsServer, mongo_uri: tuple[str, str], fake_model: FakeOpenAI
) -> None:
    local = make_stack(redis_url, sqs_endpoint, mongo_uri, fake_model, SQS_ENDPOINT_URL="http://127.0.0.1:9")
    try:
        alice = User(local, "alice")
        response = alice.call("POST", "/courses", {"prompt": "Rust"})
        assert response.status == 202  # the intent is in MongoDB; nothing the user sent is lost
        assert alice.call("GET", f"/courses/{response.json()['id']}").json()["status"] == "PENDING"
    finally:
        local.stop()


# ---- issue 9: nothing a client sends is a 500 ---------------------------------------------


def _post_raw(stack: LocalStack, body: bytes | str, content_type: str | None) -> ApiResponse:
    headers = {"authorization": f"Bearer {stack.token('alice')}"}
    if content_type is not None:
        headers["content-type"] = content_type
    return stack.request("POST", "/courses", headers=headers, body=body)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "application/merge-patch+json",
        "multipart/form-data",
        "multipart/form-data; boundary=xyz",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
        None,
    ],
)
def test_a_body_that_is_not_json_is_415_and_stores_nothing(stack: LocalStack, content_type: str | None) -> None:
    body = '{"prompt": "Rust ownership"}'
    if content_type and "boundary" in content_type:
        body = '--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nRust ownership\r\n--xyz--\r\n'
    response = _post_raw(stack, body, content_type)
    assert response.status == 415, response.body
    assert _error(response)["code"] == "unsupported_media_type"
    assert User(stack, "alice").call("GET", "/courses").json()["items"] == []


def test_json_with_a_charset_is_accepted(stack: LocalStack) -> None:
    assert _post_raw(stack, '{"prompt": "Rust ownership"}', "application/json; charset=UTF-8").status == 202


def test_a_body_over_the_limit_is_413(stack: LocalStack) -> None:
    body = json.dumps({"prompt": "Rust " + "x" * MAX_BODY_BYTES})
    response = _post_raw(stack, body, "application/json")
    assert response.status == 413 and _error(response)["code"] == "payload_too_large"
    assert str(MAX_BODY_BYTES) in _error(response)["message"]


def test_invalid_utf8_is_400(stack: LocalStack) -> None:
    response = _post_raw(stack, b'{"prompt": "Rust \xff\xfe ownership"}', "application/json")
    assert response.status == 400 and _error(response)["code"] == "invalid_request"
    assert "UTF-8" in _error(response)["message"]


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1500, 30_000])  # 30,000: 60 KB, under 413
def test_json_nested_too_deep_is_400_not_a_recursion_error(stack: LocalStack, depth: int) -> None:
    body = '{"prompt": "Rust", "x": ' + "[" * depth + "]" * depth + "}"
    response = _post_raw(stack, body, "application/json")
    assert response.status == 400, response.body
    assert "nested deeper" in _error(response)["message"]


@pytest.mark.parametrize("prompt", ["\u200b\u200b\u200b", "a\u200b\u200bb", "\u2028\u00a0\u3000x", "\u202e\u2066ab"])
def test_a_prompt_needs_three_visible_characters(stack: LocalStack, prompt: str) -> None:
    response = User(stack, "alice").call("POST", "/courses", {"prompt": prompt})
    assert response.status == 400 and _error(response)["details"][0]["field"] == "prompt"
    assert User(stack, "alice").call("GET", "/courses").json()["items"] == []


def test_every_answer_varies_by_origin(stack: LocalStack) -> None:
    alice = User(stack, "alice")
    answers = [
        alice.call("GET", "/courses"),
        alice.call("POST", "/courses", {"prompt": "Rust"}),
        alice.call("GET", "/courses/not-an-id"),
        alice.call("GET", "/nope"),
        alice.call("PUT", "/courses"),
        _post_raw(stack, "x", "text/plain"),
        stack.request("GET", "/openapi.json"),
    ]
    assert all(answer.headers.get("vary") == "Origin" for answer in answers), [a.headers for a in answers]


# ---- the contract ---------------------------------------------------------------------------


def test_the_openapi_document_is_served_without_a_token_and_tells_the_truth(stack: LocalStack) -> None:
    response = stack.request("GET", "/openapi.json")
    assert response.status == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An Auth0 access token (RS256)",
    }
    create = doc["paths"]["/courses"]["post"]
    assert sorted(create["responses"]) == ["202", "400", "401", "403", "409", "413", "415", "422", "429", "503"]
    assert create["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CourseView"
    }
    assert create["responses"]["415"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse"
    }
    # API Gateway answers a 429 (stage throttle) or a 401 (no header) in its own shape
    assert create["responses"]["429"]["content"]["application/json"]["schema"] == {
        "anyOf": [{"$ref": "#/components/schemas/ErrorResponse"}, {"$ref": "#/components/schemas/GatewayError"}]
    }
    assert doc["components"]["schemas"]["CreateCourseRequest"]["properties"]["prompt"]["pattern"].startswith("^[")
    assert {"Retry-After", "RateLimit-Policy", "RateLimit"} <= set(create["responses"]["429"]["headers"])
    assert [p["name"] for p in create["parameters"]] == ["idempotency-key"]
    lesson = doc["paths"]["/courses/{course_id}/lessons/{lesson_id}"]["get"]
    patterns = {p["name"]: p["schema"]["pattern"] for p in lesson["parameters"]}
    assert patterns == {"course_id": "^[0-9a-f]{32}$", "lesson_id": r"^m\d{2}-l\d{2}$"}
    assert "Retry-After" in lesson["responses"]["202"]["headers"]
    questions = doc["paths"]["/courses/{course_id}/lessons/{lesson_id}/questions"]
    posted = ["202", "400", "401", "403", "404", "409", "413", "415", "429", "503"]
    assert sorted(questions["post"]["responses"]) == posted
    assert sorted(questions["get"]["responses"]) == ["200", "400", "401", "403", "404", "429", "503"]
    assert "Retry-After" in questions["post"]["responses"]["202"]["headers"]
    assert "Retry-After" in questions["get"]["responses"]["200"]["headers"]
    asked = doc["components"]["schemas"]["AskQuestionRequest"]["properties"]["question"]
    assert (asked["maxLength"], asked["minLength"], asked["pattern"][:2]) == (1000, 1, "^[")
    assert doc["paths"]["/openapi.json"]["get"]["security"] == []
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                # JSON everywhere but the Markdown export's 200 (text/markdown)
                media = "text/markdown" if path.endswith("/export.md") and status == "200" else "application/json"
                assert status == "204" or answer["content"][media]["schema"], (method, path, status)


def test_swagger_ui_is_served_from_the_package_without_a_cdn(stack: LocalStack) -> None:
    response = stack.request("GET", "/swagger")
    assert response.status == 200 and response.headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle" in response.body and "FlowGen API" in response.body
    assert not re.search(r"<script[^>]+src=\"https?://", response.body)


# ---- per-user limits ------------------------------------------------------------------------


def _limited_stack(
    redis_url: str, aws: AwsServer, mongo_uri: tuple[str, str], fake_model: FakeOpenAI, **parameters: int
) -> LocalStack:
    return make_stack(redis_url, aws, mongo_uri, fake_model, {k: str(v) for k, v in parameters.items()})


def test_requests_per_minute_per_user_answer_429_with_ratelimit_headers(
    redis_url: str, aws: AwsServer, mongo_uri: tuple[str, str], fake_model: FakeOpenAI
) -> None:
    local = _limited_stack(redis_url, aws, mongo_uri, fake_model, UserRequestsPerMinute=5)
    try:
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
    finally:
        local.stop()


def test_courses_per_hour_and_per_day_are_limited_and_nothing_is_stored(
    redis_url: str, aws: AwsServer, mongo_uri: tuple[str, str], fake_model: FakeOpenAI
) -> None:
    local = _limited_stack(redis_url, aws, mongo_uri, fake_model, UserCoursesPerHour=2, UserCoursesPerDay=3)
    try:
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
    finally:
        local.stop()


def test_a_spent_daily_budget_refuses_new_courses_until_it_resets(
    redis_url: str, aws: AwsServer, mongo_uri: tuple[str, str], fake_model: FakeOpenAI
) -> None:
    local = _limited_stack(redis_url, aws, mongo_uri, fake_model, UserDailyTokenBudget=5000)
    try:
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
    finally:
        local.stop()


def test_limits_fail_open_when_redis_is_down(
    redis_url: str, aws: AwsServer, mongo_uri: tuple[str, str], fake_model: FakeOpenAI
) -> None:
    local = make_stack(
        redis_url, aws, mongo_uri, fake_model, {"UserRequestsPerMinute": "1"}, REDIS_URL="redis://127.0.0.1:9/0"
    )
    try:
        alice = User(local, "alice")
        assert [alice.call("GET", "/courses").status for _ in range(3)] == [200, 200, 200]
        assert "ratelimit" not in alice.call("GET", "/courses").headers
    finally:
        local.stop()


def test_one_user_at_its_limits_does_not_slow_another(
    redis_url: str, aws: AwsServer, mongo_uri: tuple[str, str], fake_model: FakeOpenAI
) -> None:
    local = _limited_stack(redis_url, aws, mongo_uri, fake_model, UserRequestsPerMinute=20)
    try:
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
    finally:
        local.stop()


def test_a_create_replayed_after_its_course_was_deleted_is_a_409(stack: LocalStack) -> None:
    """Found by the fuzz suite's stateful phase: the Idempotency-Key record replayed a deleted course."""
    alice = User(stack, "alice")
    headers = {"Idempotency-Key": "gone-1"}
    first = alice.call("POST", "/courses", {"prompt": "Rust ownership"}, headers=headers)
    assert first.status == 202
    assert alice.call("DELETE", f"/courses/{first.json()['id']}").status == 204
    again = alice.call("POST", "/courses", {"prompt": "Rust ownership"}, headers=headers)
    assert again.status == 409 and again.json()["error"]["code"] == "course_gone"
