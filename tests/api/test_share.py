"""Share links through the api handler in process (issue 22): the owner's routes, the routes that
need no sign-in (an allow-list, nothing queued, one 404 for every dead token, a thousand random
tokens), a viewer's quiz, forking and the limits a fork counts against, the per-address window's
answer, and the document. Redis' own windows are tested through the stack
(tests/integration/test_share.py)."""

from __future__ import annotations

import json
import secrets
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from flowgen import wiring
from flowgen.adapters.redis_user_limits import Decision
from flowgen.progress import quiz_questions
from flowgen.records import Priority
from flowgen_local.events import http_event, match_route
from flowgen_local.stack import ApiResponse
from tests.api.conftest import InProcessApi, _Context
from tests.helpers import User, lesson_ids
from tests.narrow import present


def _share(user: User, course_id: str) -> dict[str, Any]:
    response = user.call("POST", f"/courses/{course_id}/share")
    assert response.status == 201, response.body
    parsed: dict[str, Any] = response.json()
    return parsed


def _anonymous(api: InProcessApi, method: str, path: str, body: Any = None, address: str = "127.0.0.1") -> ApiResponse:
    """As a browser with no session, from `address` (API Gateway's requestContext.http.sourceIp)."""
    headers = {"content-type": "application/json"} if body is not None else {}
    if address == "127.0.0.1":
        return api.request(method, path, headers=headers, body=None if body is None else json.dumps(body))
    matched = present(match_route(api.template.routes, method, path))
    route, params = matched
    event = http_event(
        method, path, route=route, path_parameters=params, headers=headers, body=body and json.dumps(body)
    )
    event["requestContext"]["http"]["sourceIp"] = address
    result = api.handler(event, _Context())
    headers_out = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    answer = ApiResponse(int(result["statusCode"]), headers_out, result.get("body") or "")
    api.answered.append((method.upper(), route.path, answer.status))
    return answer


def _shared_course(api: InProcessApi, written: int = 1) -> tuple[User, dict[str, Any], str]:
    alice = User(api, "alice")
    course = alice.ready_course()
    for lesson_id in lesson_ids(course)[:written]:
        alice.written_lesson(course["id"], lesson_id)
    api.queue.lesson_jobs = {Priority.HIGH: [], Priority.LOW: []}
    return alice, course, _share(alice, course["id"])["token"]


def _fields(value: Any, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        return {p for k, v in value.items() for p in {f"{prefix}{k}"} | _fields(v, f"{prefix}{k}.")}
    if isinstance(value, list):
        return {p for item in value for p in _fields(item, f"{prefix}[].")}
    return set()


# ---- the owner's side ---------------------------------------------------------------------------


def test_the_owner_shares_and_gets_the_same_link_again(api: InProcessApi) -> None:
    alice = User(api, "alice")
    course = alice.ready_course()
    made = alice.call("POST", f"/courses/{course['id']}/share")
    again = alice.call("POST", f"/courses/{course['id']}/share")
    assert (made.status, again.status) == (201, 201) and made.json() == again.json()
    link = made.json()
    assert set(link) == {"token", "url", "createdAt"} and len(link["token"]) == 43
    assert link["url"].endswith(f"/#/shared/{link['token']}")
    assert alice.call("GET", f"/courses/{course['id']}").json()["share"] == link  # the course view says so
    assert link["token"] not in json.dumps([s.model_dump(mode="json") for s in api.shares.shares.values()])
    assert api.request("POST", f"/courses/{course['id']}/share").status == 401  # no token: the gateway's


def test_only_the_owner_shares_or_stops_sharing(api: InProcessApi) -> None:
    alice, bob = User(api, "alice"), User(api, "bob")
    course = alice.ready_course()
    token = _share(alice, course["id"])["token"]
    attempts = [
        bob.call("POST", f"/courses/{course['id']}/share"),
        bob.call("DELETE", f"/courses/{course['id']}/share"),
    ]
    assert [(r.status, r.json()["error"]["code"]) for r in attempts] == [(404, "course_not_found")] * 2
    assert _anonymous(api, "GET", f"/shared/{token}").status == 200  # bob's delete did nothing
    bad = alice.call("POST", "/courses/not-a-course/share")
    assert (bad.status, bad.json()["error"]["code"]) == (400, "invalid_course_id")
    pending = alice.create_course("Go channels")
    refused = alice.call("POST", f"/courses/{pending['id']}/share")
    assert (refused.status, refused.json()["error"]["code"]) == (409, "course_not_ready")


def test_stopping_works_at_once_and_deleting_the_course_removes_its_link(api: InProcessApi) -> None:
    alice, course, token = _shared_course(api)
    stopped = alice.call("DELETE", f"/courses/{course['id']}/share")
    assert (stopped.status, stopped.body) == (204, "")
    assert alice.call("DELETE", f"/courses/{course['id']}/share").status == 204  # nothing left to stop
    assert _anonymous(api, "GET", f"/shared/{token}").status == 404
    assert alice.call("GET", f"/courses/{course['id']}").json()["share"] is None
    again = _share(alice, course["id"])["token"]
    assert again != token and _anonymous(api, "GET", f"/shared/{again}").status == 200
    assert alice.call("DELETE", f"/courses/{course['id']}").status == 204
    assert api.shares.shares == {} and _anonymous(api, "GET", f"/shared/{again}").status == 404


# ---- without signing in -------------------------------------------------------------------------

COURSE_FIELDS = {
    "title", "description", "language", "level", "objectives", "lessonCount", "lessonsWritten", "modules",
    "modules.[].id", "modules.[].title", "modules.[].lessons",
    *(f"modules.[].lessons.[].{f}" for f in ("id", "title", "summary", "order", "status")),
}  # fmt: skip
LESSON_FIELDS = {"id", "moduleId", "order", "title", "summary", "status", "content", "previousLessonId", "nextLessonId"}
BLOCK_FIELDS = {
    "type", "markdown", "language", "code", "caption", "source", "points", "questions", "questions.[].question",
    "questions.[].options", "title", "url", "query",
}  # fmt: skip


def test_the_shared_view_is_an_allow_list_with_nothing_of_the_owner(api: InProcessApi) -> None:
    alice, course, token = _shared_course(api, written=1)
    alice.call("PUT", f"/courses/{course['id']}/lessons/{lesson_ids(course)[0]}/progress", {"completed": True})
    shared = _anonymous(api, "GET", f"/shared/{token}")
    assert shared.status == 200 and shared.headers["cache-control"] == "no-store"
    assert _fields(shared.json()) == COURSE_FIELDS
    first = _anonymous(api, "GET", f"/shared/{token}/lessons/{lesson_ids(course)[0]}")
    lesson = first.json()
    assert first.status == 200 and lesson["status"] == "GENERATED"
    assert set(lesson) == LESSON_FIELDS and set(lesson["content"]) == {"blocks", "generator"}
    for block in lesson["content"]["blocks"]:
        assert _fields(block) <= BLOCK_FIELDS, block["type"]
    for body in (shared.body, first.body):
        for private in ("alice", course["id"], "answerIndex", "explanation", "optionFeedback", "usage", "createdAt"):
            assert private not in body, private


def test_a_viewer_never_queues_a_lesson(api: InProcessApi) -> None:
    _, course, token = _shared_course(api, written=0)
    before = {key: lesson.model_dump_json() for key, lesson in api.store.lessons.items()}
    keys = set(api.dedupe.keys)  # the owner's own prefetch
    for lesson_id in lesson_ids(course):
        answer = _anonymous(api, "GET", f"/shared/{token}/lessons/{lesson_id}")
        assert answer.status == 200 and answer.json()["status"] == "PENDING" and answer.json()["content"] is None
        assert "retry-after" not in answer.headers  # nothing to wait for: the viewer started nothing
    assert (api.queue_depth("LessonHighQueue"), api.queue_depth("LessonLowQueue")) == (0, 0)
    assert api.dedupe.keys == keys
    assert {key: lesson.model_dump_json() for key, lesson in api.store.lessons.items()} == before


def _dead_answers(api: InProcessApi, token: str, lesson_id: str, bob: User) -> list[tuple[int, str, dict[str, str]]]:
    """What every shared route answers for `token` (the fork as a signed-in user)."""
    answers = [
        _anonymous(api, "GET", f"/shared/{token}"),
        _anonymous(api, "GET", f"/shared/{token}/lessons/{lesson_id}"),
        _anonymous(api, "POST", f"/shared/{token}/lessons/{lesson_id}/quiz", {"answers": [0, 0, 0]}),
        bob.call("POST", f"/shared/{token}/fork"),
    ]
    return [(a.status, a.body, {k: v for k, v in a.headers.items() if k != "ratelimit"}) for a in answers]


def test_revoked_unknown_and_deleted_links_are_one_404_on_every_shared_route(api: InProcessApi) -> None:
    alice, course, token = _shared_course(api)
    carol = User(api, "carol")
    other = carol.ready_course()
    other_token = _share(carol, other["id"])["token"]
    bob = User(api, "bob")
    lesson_id = lesson_ids(course)[0]
    unknown = _dead_answers(api, secrets.token_urlsafe(32), lesson_id, bob)
    assert {status for status, _, _ in unknown} == {404}
    assert {json.loads(body)["error"]["code"] for _, body, _ in unknown} == {"share_not_found"}
    alice.call("DELETE", f"/courses/{course['id']}/share")
    assert _dead_answers(api, token, lesson_id, bob) == unknown  # revoked: the same status, body and headers
    carol.call("DELETE", f"/courses/{other['id']}")
    assert _dead_answers(api, other_token, lesson_id, bob) == unknown  # its course deleted
    assert bob.call("GET", "/courses").json()["items"] == []  # no fork was made


def test_malformed_tokens_are_refused_before_any_lookup(api: InProcessApi) -> None:
    _, course, token = _shared_course(api)
    lesson_id = lesson_ids(course)[0]
    bob = User(api, "bob")
    for malformed in (token[:-1], token + "A", "x" * 43 + "!", "%2e%2e", "a" * 200):
        answers = [
            _anonymous(api, "GET", f"/shared/{malformed}"),
            _anonymous(api, "GET", f"/shared/{malformed}/lessons/{lesson_id}"),
            _anonymous(api, "POST", f"/shared/{malformed}/lessons/{lesson_id}/quiz", {"answers": [0]}),
            bob.call("POST", f"/shared/{malformed}/fork"),
        ]
        for answer in answers:
            assert answer.status == 400 and "alice" not in answer.body, (malformed, answer.body)
    assert api.shares.lookups == 0
    assert bob.call("GET", "/courses").json()["items"] == []


def test_a_token_shows_its_own_course_only(api: InProcessApi) -> None:
    _, course, token = _shared_course(api, written=1)
    carol = User(api, "carol")
    other = carol.ready_course()
    other_token = _share(carol, other["id"])["token"]
    mine = _anonymous(api, "GET", f"/shared/{token}/lessons/{lesson_ids(course)[0]}").json()
    theirs = _anonymous(api, "GET", f"/shared/{other_token}/lessons/{lesson_ids(course)[0]}").json()
    assert mine["status"] == "GENERATED" and theirs["status"] == "PENDING"  # carol's lesson of that id, unwritten
    missing = _anonymous(api, "GET", f"/shared/{other_token}/lessons/m09-l09").json()
    assert missing["error"]["code"] == "lesson_not_found"


def test_a_thousand_random_tokens_are_all_404_and_dead_links_take_as_long_as_unknown_ones(api: InProcessApi) -> None:
    alice, course, token = _shared_course(api)
    alice.call("DELETE", f"/courses/{course['id']}/share")
    window = CountingAddresses(limit=1000)  # a window of 1,000: every guess inside it, the next one past it
    wiring.override(address_limits=window)
    started = time.perf_counter()
    statuses = {_anonymous(api, "GET", f"/shared/{secrets.token_urlsafe(32)}").status for _ in range(1000)}
    elapsed = time.perf_counter() - started
    assert statuses == {404} and window.seen == {"127.0.0.1": 1000}
    assert _anonymous(api, "GET", f"/shared/{secrets.token_urlsafe(32)}").status == 429
    wiring.override(address_limits=CountingAddresses(limit=10**6))
    assert elapsed < 60, elapsed
    revoked: list[float] = []
    unknown: list[float] = []
    for _ in range(200):  # interleaved, so load on the machine falls on both alike
        for times, path in ((revoked, f"/shared/{token}"), (unknown, f"/shared/{secrets.token_urlsafe(32)}")):
            at = time.perf_counter()
            assert _anonymous(api, "GET", path).status == 404
            times.append(time.perf_counter() - at)
    ratio = statistics.median(revoked) / statistics.median(unknown)
    print(f"\n1,000 random tokens: {elapsed:.2f} s in process; revoked/unknown median latency ratio {ratio:.2f}")
    assert 0.5 < ratio < 2.0


# ---- a viewer's quiz ----------------------------------------------------------------------------

GRADE_FIELDS = {"score", "total", "passed", "answers", "correct", "feedback", "solution"}


def test_a_viewers_quiz_is_graded_and_nothing_is_recorded(api: InProcessApi) -> None:
    _, course, token = _shared_course(api, written=1)
    lesson_id = lesson_ids(course)[0]
    questions = quiz_questions(present(api.store.get_lesson("alice", course["id"], lesson_id)))
    right = [q.answer_index for q in questions]
    wrong = [(q.answer_index + 1) % len(q.options) for q in questions]
    graded = _anonymous(api, "POST", f"/shared/{token}/lessons/{lesson_id}/quiz", {"answers": wrong})
    assert graded.status == 200 and graded.json()["solution"] is None and graded.json()["score"] == 0
    revealed = _anonymous(api, "POST", f"/shared/{token}/lessons/{lesson_id}/quiz", {"answers": wrong, "reveal": True})
    assert [s["answerIndex"] for s in revealed.json()["solution"]] == right
    passed = _anonymous(api, "POST", f"/shared/{token}/lessons/{lesson_id}/quiz", {"answers": right}).json()
    assert passed["passed"] and set(passed) == GRADE_FIELDS
    assert api.progress.records == {}  # nobody's progress
    count = _anonymous(api, "POST", f"/shared/{token}/lessons/{lesson_id}/quiz", {"answers": [0]})
    assert (count.status, count.json()["error"]["code"]) == (400, "wrong_answer_count")
    unwritten = _anonymous(api, "POST", f"/shared/{token}/lessons/{lesson_ids(course)[-1]}/quiz", {"answers": [0]})
    assert (unwritten.status, unwritten.json()["error"]["code"]) == (409, "no_quiz")


# ---- forking ------------------------------------------------------------------------------------


def test_a_fork_is_the_callers_course_with_progress_at_zero(api: InProcessApi) -> None:
    alice, course, token = _shared_course(api, written=2)
    owner_view = alice.call("GET", f"/courses/{course['id']}").json()
    bob = User(api, "bob")
    forked = bob.call("POST", f"/shared/{token}/fork")
    assert forked.status == 202, forked.body
    fork = forked.json()
    assert fork["id"] != course["id"] and fork["status"] == "READY" and fork["lessonsGenerated"] == 2
    copy = bob.call("GET", f"/courses/{fork['id']}").json()
    assert lesson_ids(copy) == lesson_ids(course) and copy["share"] is None
    first = bob.open_lesson(fork["id"], lesson_ids(course)[0])
    assert first.status == 200 and first.json()["versions"][0]["instruction"] is None
    progress = bob.call("GET", f"/courses/{fork['id']}/progress").json()
    assert (progress["completed"], progress["percent"], progress["lessons"]) == (0, 0, [])
    third = bob.open_lesson(fork["id"], lesson_ids(course)[2])  # written lazily, for bob
    assert third.status == 202 and api.queue.lesson_jobs[Priority.HIGH][-1].owner_id == "bob"
    assert alice.call("GET", f"/courses/{course['id']}").json() == owner_view  # the owner sees nothing of it
    assert [c["id"] for c in alice.call("GET", "/courses").json()["items"]] == [course["id"]]
    assert alice.call("GET", f"/courses/{fork['id']}").status == 404


def test_a_fork_with_an_idempotency_key_is_made_once(api: InProcessApi) -> None:
    _, _, token = _shared_course(api)
    carol = User(api, "carol")
    other_token = _share(carol, carol.ready_course()["id"])["token"]
    bob = User(api, "bob")
    key = {"idempotency-key": "fork-1"}
    first, again = (bob.call("POST", f"/shared/{token}/fork", headers=key) for _ in range(2))
    assert (first.status, again.status) == (202, 202) and first.json()["id"] == again.json()["id"]
    assert len(bob.call("GET", "/courses").json()["items"]) == 1
    reused = bob.call("POST", f"/shared/{other_token}/fork", headers=key)  # the same key, another link
    assert (reused.status, reused.json()["error"]["code"]) == (422, "idempotency_key_reused")


@dataclass
class RecordingLimits:
    """The per-user limits' port, recording what each request was counted as."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    def check(self, owner_id: str, **kinds: Any) -> Decision:
        self.calls.append({"owner": owner_id, **kinds})
        return Decision()

    def refund(self, decision: Decision) -> None:
        pass


def test_a_fork_counts_as_a_course_against_the_callers_limits(api: InProcessApi) -> None:
    _, _, token = _shared_course(api)
    limits = RecordingLimits()
    wiring.override(user_limits=limits)
    bob = User(api, "bob")
    assert bob.call("POST", f"/shared/{token}/fork").status == 202
    assert _anonymous(api, "GET", f"/shared/{token}").status == 200
    assert limits.calls == [{"owner": "bob", "creating": True, "asking": False, "rewriting": False}]


# ---- the per-address window's answer -------------------------------------------------------------


@dataclass
class CountingAddresses:
    """The per-address window's port: `limit` requests per address, then refusals."""

    limit: int
    seen: dict[str, int] = field(default_factory=dict)

    def check(self, address: str, **_: Any) -> Decision:
        self.seen[address] = self.seen.get(address, 0) + 1
        headers = {"RateLimit-Policy": f'"address-requests";q={self.limit};w=60'}
        if self.seen[address] > self.limit:
            return Decision(False, 42, "address-requests", "limit reached (address-requests); retry in 42 s", headers)
        return Decision(headers=headers)


def test_past_the_per_address_limit_a_shared_route_is_429_with_retry_after(api: InProcessApi) -> None:
    _, course, token = _shared_course(api)
    window = CountingAddresses(limit=3)
    wiring.override(address_limits=window)
    lesson = lesson_ids(course)[0]
    answers = [_anonymous(api, "GET", f"/shared/{token}/lessons/{lesson}", address="203.0.113.7") for _ in range(4)]
    assert [a.status for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.headers["retry-after"] == "42" and refused.json()["error"]["code"] == "rate_limited"
    assert "address-requests" in refused.headers["ratelimit-policy"]
    assert _anonymous(api, "GET", f"/shared/{token}", address="198.51.100.2").status == 200  # another address
    assert window.seen == {"203.0.113.7": 4, "198.51.100.2": 1}
    assert User(api, "alice").call("GET", f"/courses/{course['id']}").status == 200  # signed-in routes: not this window


# ---- the document -------------------------------------------------------------------------------


def test_every_share_route_is_in_the_document_and_the_shared_ones_need_no_token(api: InProcessApi) -> None:
    doc = api.request("GET", "/openapi.json").json()
    paths = doc["paths"]
    expected = {
        ("/courses/{course_id}/share", "post"): ["201", "400", "401", "403", "404", "409", "429", "503"],
        ("/courses/{course_id}/share", "delete"): ["204", "400", "401", "403", "404", "429", "503"],
        ("/shared/{token}", "get"): ["200", "400", "404", "429", "503"],
        ("/shared/{token}/lessons/{lesson_id}", "get"): ["200", "400", "404", "429", "503"],
        ("/shared/{token}/lessons/{lesson_id}/quiz", "post"): ["200", "400", "404", "409", "413", "415", "429", "503"],
        ("/shared/{token}/fork", "post"): ["202", "400", "401", "403", "404", "409", "422", "429", "503"],
    }
    for (path, method), statuses in expected.items():
        operation = paths[path][method]
        assert sorted(operation["responses"]) == statuses, (path, method)
        public = path.startswith("/shared/") and not path.endswith("/fork")
        assert (operation.get("security") == []) is public, (path, method)
        assert "x-flowgen-public" not in operation
    token = next(p for p in paths["/shared/{token}"]["get"]["parameters"] if p["name"] == "token")
    assert token["schema"]["pattern"] == "^[A-Za-z0-9_-]{43}$"
    public_routes = {route.key for route in api.template.routes if not route.authorized}
    assert public_routes == {
        "GET /openapi.json",
        "GET /swagger",
        "GET /shared/{token}",
        "GET /shared/{token}/lessons/{lessonId}",
        "POST /shared/{token}/lessons/{lessonId}/quiz",
    }
    with pytest.raises(KeyError):
        paths["/shared/{token}"]["post"]
