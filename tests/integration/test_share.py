"""Share links through the local stack (issue 22): the real api function in its own process behind
the template's routes (the shared ones without an authorizer), the MongoDB stand-in, a real
redis-server for the per-address window and the course limits a fork counts against, the queues
(pollers off: what a viewer queued would wait there). Every answer's status must be in the
document the stack serves."""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pymongo
import pytest
import redis as redis_lib

from flowgen_local.events import match_route
from flowgen_local.openapi import api_document
from flowgen_local.stack import ApiResponse, LocalStack
from tests.conftest import SharedStack
from tests.helpers import User, lesson_ids

_DOCUMENT: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def _every_status_is_documented() -> Iterator[None]:
    seen: list[tuple[str, str, int]] = []
    stacks: list[LocalStack] = []
    original = LocalStack.request

    def recording(self: LocalStack, method: str, path: str, **kwargs: Any) -> ApiResponse:
        response = original(self, method, path, **kwargs)
        matched = match_route(self.template.routes, method.upper(), path)
        seen.append((method.upper(), matched[0].path if matched else "", response.status))
        stacks[:] = [self]
        return response

    LocalStack.request = recording  # type: ignore[method-assign]
    try:
        yield
    finally:
        LocalStack.request = original  # type: ignore[method-assign]
    if not _DOCUMENT and stacks:
        # the document the stack's api function serves, made from the same code in this process:
        # made in the function, it passes the function's 10 s on this shared machine
        _DOCUMENT.update(api_document())
    undocumented = [(m, p, s) for m, p, s in seen if p != "$default" and s not in _documented(m, p)]
    assert not undocumented, f"statuses the OpenAPI document does not list: {undocumented}"


def _documented(method: str, template_path: str) -> set[int]:
    doc_path = template_path.replace("{courseId}", "{course_id}").replace("{lessonId}", "{lesson_id}")
    responses = _DOCUMENT["paths"][doc_path][method.lower()]["responses"]
    return {int(status) for status in responses} | {401}  # API Gateway's own, without a token


def _anonymous(stack: LocalStack, method: str, path: str, body: Any = None) -> ApiResponse:
    """As a browser with no session: no Authorization header at all."""
    headers = {"content-type": "application/json"} if body is not None else {}
    return stack.request(method, path, headers=headers, body=None if body is None else json.dumps(body))


def _shared(stack: LocalStack, owner: str = "alice", written: int = 1) -> tuple[User, dict[str, Any], str]:
    user = User(stack, owner)
    course = user.ready_course()
    for lesson_id in lesson_ids(course)[:written]:
        user.written_lesson(course["id"], lesson_id)
    made = user.call("POST", f"/courses/{course['id']}/share")
    assert made.status == 201, made.body
    return user, course, made.json()["token"]


def _database(stack: LocalStack) -> Any:
    assert stack.endpoints
    return pymongo.MongoClient(stack.endpoints.mongo_uri)[stack.config.mongo_db]


def _without_window(response: ApiResponse) -> tuple[int, str, dict[str, str]]:
    """Status, body and headers, but the per-address window's count (it moves with each request)."""
    headers = {k: v for k, v in response.headers.items() if k not in ("ratelimit", "date")}
    return response.status, response.body, headers


def test_a_link_reads_the_course_without_a_token_and_stops_at_once(stack: LocalStack) -> None:
    alice, course, token = _shared(stack)
    again = alice.call("POST", f"/courses/{course['id']}/share").json()
    assert again["token"] == token and again["url"] == f"/#/shared/{token}"  # no web front here: relative
    shares = list(_database(stack)["shares"].find())
    assert len(shares) == 1 and token not in json.dumps(shares, default=str)  # its hash and nonce only
    shown = _anonymous(stack, "GET", f"/shared/{token}")
    assert shown.status == 200 and shown.headers["cache-control"] == "no-store"
    assert shown.json()["title"] == course["title"] and "alice" not in shown.body
    lesson = _anonymous(stack, "GET", f"/shared/{token}/lessons/{lesson_ids(course)[0]}")
    assert lesson.status == 200 and lesson.json()["status"] == "GENERATED"
    assert "answerIndex" not in lesson.body

    unknown = [
        _anonymous(stack, "GET", f"/shared/{secrets.token_urlsafe(32)}"),
        _anonymous(stack, "GET", f"/shared/{secrets.token_urlsafe(32)}/lessons/m01-l01"),
    ]
    assert alice.call("DELETE", f"/courses/{course['id']}/share").status == 204
    revoked = [
        _anonymous(stack, "GET", f"/shared/{token}"),
        _anonymous(stack, "GET", f"/shared/{token}/lessons/m01-l01"),
    ]
    assert [_without_window(r) for r in revoked] == [_without_window(r) for r in unknown]
    assert {r.status for r in revoked} == {404}
    assert list(_database(stack)["shares"].find()) == []


def test_a_viewer_queues_nothing_and_reads_lessons_as_their_owner_writes_them(stack: LocalStack) -> None:
    alice, course, token = _shared(stack, written=0)
    stack.drain("LowPriorityLessons")  # the outline's own prefetch, written meanwhile
    target = lesson_ids(course)[-1]
    for _ in range(3):
        answer = _anonymous(stack, "GET", f"/shared/{token}/lessons/{target}")
        assert answer.status == 200 and answer.json()["status"] == "PENDING" and answer.json()["content"] is None
    assert (stack.queue_depth("LessonHighQueue"), stack.queue_depth("LessonLowQueue")) == (0, 0)
    alice.written_lesson(course["id"], target)  # the owner's reading writes it
    assert _anonymous(stack, "GET", f"/shared/{token}/lessons/{target}").json()["status"] == "GENERATED"


def test_deleting_the_course_deletes_its_link(stack: LocalStack) -> None:
    alice, course, token = _shared(stack)
    assert alice.call("DELETE", f"/courses/{course['id']}").status == 204
    assert list(_database(stack)["shares"].find()) == []
    assert _anonymous(stack, "GET", f"/shared/{token}").status == 404


def test_a_fork_is_the_callers_written_lazily_at_their_budget(stack: LocalStack) -> None:
    alice, course, token = _shared(stack, written=1)
    owner_view = alice.call("GET", f"/courses/{course['id']}").json()
    bob = User(stack, "bob")
    forked = bob.call("POST", f"/shared/{token}/fork")
    assert forked.status == 202, forked.body
    fork = forked.json()
    assert fork["lessonsGenerated"] == 1 and fork["id"] != course["id"]
    progress = bob.call("GET", f"/courses/{fork['id']}/progress").json()
    assert (progress["completed"], progress["lessons"]) == (0, [])
    target = lesson_ids(course)[2]
    assert bob.open_lesson(fork["id"], target).status == 202
    stack.drain("HighPriorityLessons")
    assert bob.open_lesson(fork["id"], target).json()["status"] == "GENERATED"
    copy = _database(stack)["lessons"].find_one({"courseId": fork["id"], "id": target})
    assert copy["ownerId"] == "bob" and copy["usage"]["completionTokens"] > 0  # spent by bob's writing
    original = alice.call("GET", f"/courses/{course['id']}").json()
    assert original == owner_view  # alice sees nothing of it (her lesson is still unwritten)


def _fresh_minute() -> None:
    """Waits out the last seconds of a minute: a fixed window must not turn mid-test."""
    if datetime.now(UTC).second >= 55:
        time.sleep(61 - datetime.now(UTC).second)


def test_past_the_per_address_limit_the_shared_routes_answer_429(shared_stack: SharedStack, redis_url: str) -> None:
    stack = shared_stack({"SharedRequestsPerMinutePerAddress": "5"})
    alice, course, token = _shared(stack)
    _fresh_minute()
    answers = [_anonymous(stack, "GET", f"/shared/{token}") for _ in range(3)]
    answers += [_anonymous(stack, "GET", f"/shared/{secrets.token_urlsafe(32)}") for _ in range(2)]  # guesses count
    assert [a.status for a in answers] == [200, 200, 200, 404, 404]
    assert answers[0].headers["ratelimit-policy"] == '"address-requests";q=5;w=60'
    assert re.fullmatch(r'"address-requests";r=4;t=\d+', answers[0].headers["ratelimit"])
    refused = [
        _anonymous(stack, "GET", f"/shared/{token}"),
        _anonymous(stack, "GET", f"/shared/{token}/lessons/{lesson_ids(course)[0]}"),
        _anonymous(stack, "POST", f"/shared/{token}/lessons/{lesson_ids(course)[0]}/quiz", {"answers": [0]}),
    ]
    for answer in refused:
        assert answer.status == 429 and answer.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(answer.headers["retry-after"]) <= 60
    assert alice.call("GET", f"/courses/{course['id']}").status == 200  # signed-in routes: the user's own windows
    keys = [key.decode() for key in redis_lib.Redis.from_url(redis_url).scan_iter("flowgen:addresslimit:*")]
    assert keys and all(key.startswith("flowgen:addresslimit:127.0.0.1:address-requests:") for key in keys)


def test_a_fork_counts_against_the_forkers_course_limits(shared_stack: SharedStack, redis_url: str) -> None:
    stack = shared_stack({"UserCoursesPerHour": "1"})
    _, _, token = _shared(stack)
    bob, carol = User(stack, "bob"), User(stack, "carol")
    bob.create_course("Go channels")  # bob's one course this hour
    refused = bob.call("POST", f"/shared/{token}/fork")
    assert refused.status == 429 and "courses-hour" in refused.json()["error"]["message"]
    assert len(bob.call("GET", "/courses").json()["items"]) == 1
    dead = carol.call("POST", f"/shared/{secrets.token_urlsafe(32)}/fork")
    assert dead.status == 404  # refused: taken back from her course window
    assert carol.call("POST", f"/shared/{token}/fork").status == 202
    assert carol.call("POST", f"/shared/{token}/fork").status == 429  # the fork was her course this hour
    dave = User(stack, "dave")
    day = datetime.now(UTC).strftime("%Y%m%d")
    redis_lib.Redis.from_url(redis_url).set(f"flowgen:budget:user:dave:{day}", 10**9)  # his day's tokens spent
    spent = dave.call("POST", f"/shared/{token}/fork")
    assert spent.status == 429 and spent.json()["error"]["code"] == "daily_budget_exhausted"
