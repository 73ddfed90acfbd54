"""What every fault scenario shares: the services a stack runs on, a stack started the way the
e2e tests start one (shortened timeouts), a caller of its API, and the watch that decides
whether every requested lesson ended GENERATED or FAILED-and-retryable, none stuck, none paid
for twice, no course lost or duplicated.

Times (seconds) are shrunk from the template's and kept in its proportions: a worker times
out after `WORKER_TIMEOUT`, a received message stays hidden for `VISIBILITY`, the reconciler
runs every `PERIOD` and counts a job lost after `STUCK_AFTER`.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pymongo
import redis

from flowgen_local.fake_openai import FakeOpenAI, Faults
from flowgen_local.lambda_pool import LambdaHost
from flowgen_local.services import AwsServer
from flowgen_local.stack import NO_USER_LIMITS, LocalStack, StackConfig
from flowgen_local.template import with_parameter_bounds

WORKER_TIMEOUT = 8
VISIBILITY = 12
PERIOD = 2.0
STUCK_AFTER = VISIBILITY
MODEL_TIMEOUT = 2  # per read (the openai client's timeout); the whole call ends at the deadline
LEASE_MARGIN = 30  # flowgen.deadline.LEASE_MARGIN_SECONDS: a lease outlives its invocation by this

# A record may legitimately sit unchanged while one attempt runs and its message is hidden
# (VISIBILITY + WORKER_TIMEOUT), plus one reconciler period; when a worker is killed mid-claim
# its lease holds the record until the invocation's deadline plus LEASE_MARGIN.
STUCK_BOUND = VISIBILITY + WORKER_TIMEOUT + PERIOD + 2
STUCK_BOUND_KILLED = WORKER_TIMEOUT + LEASE_MARGIN + PERIOD + 2

TERMINAL_LESSON = {"GENERATED", "FAILED"}
TERMINAL_COURSE = {"READY", "FAILED", "REFUSED"}


@dataclass(frozen=True)
class Size:
    """How much work a scenario asks for."""

    courses: int = 1
    opened: int = 3  # lessons opened per course (each prefetches the next two at low priority)
    course_size: str = "short"
    # the issue-25 scenarios' CI variants: a 1 s retry backoff instead of the template's 5 s (the
    # count of calls does not depend on it), one SQS stall instead of six, fewer phases
    quick: bool = False


CI = Size(courses=1, opened=2, course_size="short", quick=True)
FULL = Size(courses=3, opened=5, course_size="standard")

# every per-user limit and budget lifted, for scenarios whose clients ask much on purpose
NO_LIMITS = {
    **NO_USER_LIMITS,
    **{f"{tier}{limit}": "0" for tier in ("User", "Pro") for limit in ("QuestionsPerHour", "RewritesPerHour")},
    **{f"{tier}DailyTokenBudget": "0" for tier in ("User", "Pro")},
    "CourseTokenBudget": "0",
}


@dataclass
class Services:
    """The backing services every scenario's stack runs on (each scenario gets its own database
    and queues). `redis_url` may be replaced by a scenario that kills its own Redis."""

    redis_url: str
    aws: AwsServer
    mongo_uri: str
    host: LambdaHost | None
    fake: FakeOpenAI


@dataclass
class Counts:
    scenario: str
    requested: int = 0
    generated: int = 0
    failed_retryable: int = 0
    stuck: int = 0
    duplicate_calls: int = 0
    courses_lost: int = 0
    courses_duplicated: int = 0
    seconds: float = 0.0
    server_errors: int = 0  # answers >= 500 the scenario's clients got (counted where it calls the API under a fault)
    measured: dict[str, tuple[float | int | str, str]] = field(default_factory=dict)  # a scenario's own: value, unit
    notes: list[str] = field(default_factory=list)  # what explains a count
    problems: list[str] = field(default_factory=list)  # a scenario's own checks that failed

    @property
    def ok(self) -> bool:
        accounted = self.requested == self.generated + self.failed_retryable
        clean = not (
            self.stuck or self.duplicate_calls or self.courses_lost or self.courses_duplicated or self.server_errors
        )
        return accounted and clean and self.requested > 0 and not self.problems

    def measure(self, name: str, value: float | int | str, unit: str = "") -> None:
        self.measured[name] = (value, unit)

    def value(self, name: str) -> float | int | str:
        return self.measured[name][0]

    @property
    def measured_text(self) -> str:
        shown = {k: (f"{v:.1f}" if isinstance(v, float) else str(v)) + unit for k, (v, unit) in self.measured.items()}
        return "; ".join(f"{k} {v}" for k, v in shown.items())

    HEADER = (
        f"{'scenario':<24} {'requested':>9} {'generated':>9} {'failed-retryable':>16} {'stuck':>5} "
        f"{'dup-calls':>9} {'courses-lost':>12} {'courses-dup':>11} {'5xx':>4} {'seconds':>7}  result"
    )

    def line(self) -> str:
        measured = f"  ({self.measured_text})" if self.measured else ""
        return (
            f"{self.scenario:<24} {self.requested:>9} {self.generated:>9} {self.failed_retryable:>16} "
            f"{self.stuck:>5} {self.duplicate_calls:>9} {self.courses_lost:>12} {self.courses_duplicated:>11} "
            f"{self.server_errors:>4} {self.seconds:>7.0f}  {'ok' if self.ok else 'FAIL'}{measured}"
        )

    def markdown_row(self) -> str:
        cells = [
            self.scenario, self.requested, self.generated, self.failed_retryable, self.stuck, self.duplicate_calls,
            self.courses_lost, self.courses_duplicated, self.server_errors, f"{self.seconds:.0f}",
            "ok" if self.ok else "FAIL", self.measured_text,
        ]  # fmt: skip
        return "| " + " | ".join(str(c) for c in cells) + " |"


MARKDOWN_HEADER = (
    "| scenario | requested | generated | failed, retryable | stuck | duplicate successful calls "
    "| courses lost | courses duplicated | 5xx | seconds | result | measured |\n"
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"
)


def short_timeouts_template() -> Path:
    """template.yaml with its workers' timeout allowed down to 5 s, for the scenarios' 8 s: the
    local stack checks parameters as CloudFormation does and refuses a value out of its bounds
    (the template says at least 30 s)."""
    return with_parameter_bounds({"WorkerTimeoutSeconds": {"MinValue": 5}})


def start_stack(
    services: Services,
    db: str,
    *,
    paused: tuple[str, ...] = (),
    parameters: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    mongo_uri: str | None = None,
) -> LocalStack:
    """A running stack (event sources, schedules) on the services, as tests/conftest's
    make_stack(running=True) starts one, with the scenario timings above."""
    redis.Redis.from_url(services.redis_url, socket_timeout=2).flushdb()
    config = StackConfig(
        redis_url=services.redis_url,
        aws=services.aws,
        lambda_host=services.host,
        mongo_uri=mongo_uri or services.mongo_uri,
        mongo_db=db,
        openai_api_key="fault-suite",
        openai_base_url=services.fake.base_url,
        visibility_timeout=VISIBILITY,
        schedule_period=PERIOD,
        template_path=short_timeouts_template(),
        parameter_overrides={
            "WorkerTimeoutSeconds": str(WORKER_TIMEOUT),
            "LessonHighMaxConcurrency": "4",
            "CourseMaxConcurrency": "2",
            **(parameters or {}),
        },
        extra_env={
            "MODEL_TIMEOUT_SECONDS": str(MODEL_TIMEOUT),
            "STUCK_AFTER_SECONDS": str(STUCK_AFTER),
            **(env or {}),
        },
    )
    for attempt in (1, 2):  # moto's server sometimes answers a burst of IAM calls with a 500
        stack = LocalStack(config)
        try:
            stack.start(pollers=False)
            break
        except Exception:
            stack.stop()
            if attempt == 2:
                raise
            time.sleep(1)
    stack.start_pollers(paused=paused)
    return stack


class Api(Protocol):
    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]: ...


class StackApi:
    """A signed-in user calling the stack's HTTP API in process (API Gateway emulation)."""

    def __init__(self, stack: LocalStack, sub: str) -> None:
        self.stack = stack
        self.headers = {"authorization": f"Bearer {stack.token(sub)}", "content-type": "application/json"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        import json

        response = self.stack.request(
            method, path, headers=self.headers, body=json.dumps(body) if body is not None else None
        )
        return response.status, response.json()


class HttpApi:
    """The same over HTTP, for a stack in another process."""

    def __init__(self, base_url: str, token: str) -> None:
        import httpx

        self.client = httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {token}"}, timeout=15)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        response = self.client.request(method, path, json=body)
        return response.status_code, response.json() if response.content else None


def wait_until[T](fetch: Callable[[], T], done: Callable[[T], bool], timeout: float, every: float = 0.3) -> T:
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = fetch()
            if done(value):
                return value
            last = value
        except Exception as exc:  # a frozen or restarting dependency: try again
            last = exc
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f}s; last value: {last!r}")
        time.sleep(every)


def lessons_of(course: dict[str, Any]) -> list[dict[str, Any]]:
    return [lesson for module in course.get("modules", []) for lesson in module["lessons"]]


def create_courses(api: Api, scenario: str, size: Size) -> list[str]:
    nonce = uuid.uuid4().hex[:6]
    ids = []
    for i in range(size.courses):
        request = {"prompt": f"{scenario} topic {i} {nonce}", "size": size.course_size}
        status, body = api.call("POST", "/courses", request)
        if status != 202:
            raise AssertionError(f"POST /courses answered {status}: {body}")
        ids.append(body["id"])
    return ids


def ready(api: Api, course_id: str, timeout: float = 90) -> dict[str, Any]:
    course: dict[str, Any] = wait_until(
        lambda: api.call("GET", f"/courses/{course_id}")[1], lambda c: c["status"] in TERMINAL_COURSE, timeout
    )
    return course


def open_lessons(api: Api, course: dict[str, Any], count: int) -> list[str]:
    """Opens `count` lessons spread over the course (first, last, between)."""
    chosen = spread(lessons_of(course), count)
    for lesson_id in chosen:
        api.call("GET", f"/courses/{course['id']}/lessons/{lesson_id}")
    return chosen


def spread(lessons: list[dict[str, Any]], count: int) -> list[str]:
    """`count` lesson ids spread evenly from the first to the last."""
    if not lessons or count <= 0:
        return []
    if count == 1:
        return [lessons[0]["id"]]
    last = len(lessons) - 1
    return list(dict.fromkeys(lessons[round(i * last / (count - 1))]["id"] for i in range(count)))


class Watch:
    """Reads the scenario's records straight from MongoDB: which lessons were requested, which
    are terminal, and which sat unchanged (status and attempts) for longer than `stuck_bound`
    while not terminal."""

    def __init__(self, mongo_uri: str, db: str, stuck_bound: float) -> None:
        self.client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            mongo_uri, serverSelectionTimeoutMS=3000, socketTimeoutMS=3000, connectTimeoutMS=3000
        )
        self.db = self.client[db]
        self.stuck_bound = stuck_bound
        self.course_ids: list[str] = []
        self.requested: set[str] = set()
        self.statuses: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self.stuck: set[str] = set()
        self._changed: dict[str, tuple[Any, float]] = {}

    def _note(self, key: str, state: Any, terminal: bool, now: float) -> None:
        previous = self._changed.get(key)
        if previous is None or previous[0] != state:
            self._changed[key] = (state, now)
        elif not terminal and now - previous[1] > self.stuck_bound:
            self.stuck.add(key)

    def poll(self) -> bool:
        """One look; True when every course and every requested lesson is terminal."""
        now = time.monotonic()
        courses = list(self.db.courses.find({"_id": {"$in": self.course_ids}}, {"status": 1, "attempts": 1}))
        lessons = list(
            self.db.lessons.find(
                {"courseId": {"$in": self.course_ids}},
                {"id": 1, "courseId": 1, "status": 1, "attempts": 1, "priority": 1, "requestedAt": 1, "error": 1},
            )
        )
        settled = len(courses) == len(self.course_ids)
        for doc in courses:
            terminal = doc["status"] in TERMINAL_COURSE
            self._note(f"course:{doc['_id']}", (doc["status"], doc.get("attempts")), terminal, now)
            settled &= terminal
        for doc in lessons:
            key = f"{doc['courseId']}/{doc['id']}"
            if doc.get("priority") or doc.get("requestedAt") or doc["status"] != "PENDING":
                self.requested.add(key)
            self.statuses[key] = doc["status"]
            if doc.get("error"):
                self.errors[key] = doc["error"]
            if key in self.requested:
                terminal = doc["status"] in TERMINAL_LESSON
                self._note(key, (doc["status"], doc.get("attempts")), terminal, now)
                settled &= terminal
        return settled

    def settle(self, timeout: float) -> bool:
        """Polls until settled twice in a row (late prefetches count) or `timeout`."""
        deadline = time.monotonic() + timeout
        streak = 0
        while time.monotonic() < deadline:
            try:
                streak = streak + 1 if self.poll() else 0
            except pymongo.errors.PyMongoError:
                streak = 0
            if streak >= 2:
                return True
            time.sleep(0.5)
        return False

    def failed(self) -> list[str]:
        return sorted(k for k in self.requested if self.statuses.get(k) == "FAILED")

    def course_statuses(self) -> dict[str, str]:
        return {d["_id"]: d["status"] for d in self.db.courses.find({"_id": {"$in": self.course_ids}}, {"status": 1})}

    def owner_prompts(self, owner: str) -> list[str]:
        return [d["prompt"] for d in self.db.courses.find({"ownerId": owner}, {"prompt": 1})]

    def close(self) -> None:
        self.client.close()


def finish(
    counts: Counts,
    watch: Watch | Any,
    api: Api,
    fake_stats: Callable[[], dict[str, Any]],
    reset_faults: Callable[[], None],
    *,
    owner: str,
    settle_timeout: float,
    paid: Counter[str] | None = None,
) -> Counts:
    """Waits for the scenario to settle, then retries what FAILED (faults cleared) as a user
    would, and fills in the counts. `paid`: keys the scenario itself asked to be written more
    than once (a rewrite, a question asked twice), with how many full answers each may get."""
    if not watch.settle(settle_timeout):
        counts.notes.append(f"not settled after {settle_timeout:.0f}s")
    counts.requested = len(watch.requested)
    counts.generated = sum(1 for k in watch.requested if watch.statuses.get(k) == "GENERATED")
    failed = watch.failed()
    without_reason = [k for k in failed if not watch.errors.get(k)]
    if without_reason:
        counts.notes.append(f"FAILED without a reason: {without_reason}")
    reset_faults()
    for key in failed:
        course_id, lesson_id = key.split("/")
        status, body = api.call("POST", f"/courses/{course_id}/lessons/{lesson_id}/retry")
        if status != 202:
            counts.notes.append(f"retry of {key} answered {status}: {body}")
    for course_id, course_status in watch.course_statuses().items():
        if course_status == "FAILED":
            api.call("POST", f"/courses/{course_id}/retry")
    if failed:
        watch.settle(settle_timeout)
    counts.failed_retryable = sum(1 for k in failed if watch.statuses.get(k) == "GENERATED" and k not in without_reason)
    not_terminal = {k for k in watch.requested if watch.statuses.get(k) not in TERMINAL_LESSON}
    unrecovered = {k for k in failed if watch.statuses.get(k) != "GENERATED"}
    counts.stuck = len(watch.stuck | not_terminal | unrecovered)
    if watch.stuck:
        counts.notes.append(f"unchanged longer than {watch.stuck_bound:.0f}s: {sorted(watch.stuck)[:5]}")
    courses = watch.course_statuses()
    counts.courses_lost = sum(1 for c in watch.course_ids if c not in courses)
    prompts = Counter(watch.owner_prompts(owner))
    counts.courses_duplicated = sum(n - 1 for n in prompts.values() if n > 1)
    succeeded = Counter(fake_stats().get("succeeded", []))
    allowed = paid or Counter()
    duplicates = {k: n - max(1, allowed[k]) for k, n in succeeded.items() if n > max(1, allowed[k])}
    counts.duplicate_calls = sum(duplicates.values())
    if duplicates:
        counts.notes.append(f"paid twice: {sorted(duplicates)[:5]}")
    stuck_courses = [c for c, s in courses.items() if s not in TERMINAL_COURSE]
    if stuck_courses:
        counts.stuck += len(stuck_courses)
        counts.notes.append(f"courses not settled: {stuck_courses}")
    return counts


@contextmanager
def faults_set(fake: FakeOpenAI, faults: Faults) -> Iterator[None]:
    fake.set_faults(faults)
    try:
        yield
    finally:
        fake.set_faults(Faults())


# ---- what the issue-25 scenarios watch -----------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One call the fake model server received."""

    at: float  # time.monotonic()
    key: str  # the fake's key: "course title :: lesson title", "outline :: topic", "question :: ..."
    streamed: bool  # the request asked for a stream
    repair: bool  # the request carried a repair message (more than the system and user messages)


class CallLog:
    """Every call the fake model server receives while it is installed, with its time: the fake
    counts calls by key but not when, nor whether a call was streamed or a repair."""

    def __init__(self, fake: FakeOpenAI) -> None:
        self.fake = fake
        self.calls: list[Call] = []
        self._lock = threading.Lock()

    def __enter__(self) -> CallLog:
        respond = self.fake.respond

        def logged(request: dict[str, Any]) -> Any:
            answer = respond(request)
            call = Call(time.monotonic(), answer.key or _key_of(request), bool(request.get("stream")),
                        len(request.get("messages", [])) > 2)  # fmt: skip
            with self._lock:
                self.calls.append(call)
            return answer

        self.fake.respond = logged  # type: ignore[method-assign]  # the handler calls fake.respond
        return self

    def __exit__(self, *exc: object) -> None:
        del self.fake.respond  # the class's own again

    def of(self, key: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.key == key]


def _key_of(request: dict[str, Any]) -> str:
    """The fake's key of a request whose answer carries none (a fault answered before the body)."""
    import json

    for message in request.get("messages", []):
        if message.get("role") == "user":
            try:
                payload = json.loads(message["content"])
            except (TypeError, ValueError):
                continue
            if isinstance(payload, dict):
                if "lesson" in payload:
                    return f"{payload.get('course', '')} :: {payload['lesson']}"
                if "question" in payload:
                    return f"question :: {payload['question']}"
                return f"outline :: {payload.get('topic', '')}"
    return ""


class Staller:
    """Freezes a process (SIGSTOP) and lets it run again (SIGCONT) in cycles, in a thread of its
    own: each cycle is (seconds stopped, seconds running). Always leaves it running."""

    def __init__(self, pid: int, cycles: list[tuple[float, float]]) -> None:
        self.pid = pid
        self.cycles = cycles
        self.stopped_seconds = 0.0
        self.stops = 0
        self.stopped = threading.Event()  # set while the process is stopped
        self.stopped_at: list[float] = []  # time.monotonic() of each stop
        self._quit = threading.Event()
        self._thread = threading.Thread(target=self._run, name="staller", daemon=True)

    def _run(self) -> None:
        try:
            for stopped, running in self.cycles:
                if self._quit.is_set():
                    return
                os.kill(self.pid, signal.SIGSTOP)
                self.stopped.set()
                self.stops += 1
                started = time.monotonic()
                self.stopped_at.append(started)
                self._quit.wait(stopped)
                os.kill(self.pid, signal.SIGCONT)
                self.stopped.clear()
                self.stopped_seconds += time.monotonic() - started
                self._quit.wait(running)
        finally:
            os.kill(self.pid, signal.SIGCONT)
            self.stopped.clear()

    def __enter__(self) -> Staller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._quit.set()
        self._thread.join()
        os.kill(self.pid, signal.SIGCONT)

    def wait(self) -> None:
        """Until every cycle has run."""
        self._thread.join()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()


# What a learner must never read in a failure's reason: a status code, the old "model: ..."
# prefix, an exception's class name, a trace, the provider's name.
_INTERNALS = re.compile(
    r"\b[45]\d\d\b|\bmodel:|\b[A-Za-z]*(?:Error|Exception)\b|\b[A-Z]\w*[a-z](?:Abandoned|Unavailable|Timeout)\b"
)
_INTERNAL_WORDS = ("traceback", "openai", "stack trace")


def unreadable(reason: str | None) -> str | None:
    """Why a failure's reason is not one a person reads, or None when it is."""
    if not reason or not reason.strip():
        return "no reason"
    found = _INTERNALS.search(reason)
    if found:
        return f"shows {found.group(0)!r}"
    word = next((w for w in _INTERNAL_WORDS if w in reason.lower()), None)
    return f"shows {word!r}" if word else None
