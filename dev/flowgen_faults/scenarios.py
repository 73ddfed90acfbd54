"""The fault scenarios. Each starts a stack of its own (its database and queues) on shared
services, injects one kind of fault while users create courses and open lessons, and returns
its `Counts` (see harness.finish for what ends a scenario).

    model-<kind>      one opened lesson per course fails once as <kind>, one always does (429:
                      twice: a rate limit defers without spending an attempt), and the first
                      outline fails once
    duplicates        every course and lesson job sent three times, on every queue
    malformed         junk on every queue beside real work: junk reaches its DLQ, work finishes
    redis-killed      Redis SIGKILLed while lessons generate, restarted empty 4 s later
    redis-frozen      Redis SIGSTOPped for 6 s (clients time out), then SIGCONT
    redis-restarted   Redis stopped and started again (nothing kept)
    stranded          jobs purged from every queue while their records are PENDING
    worker-timeout    a worker frozen mid-call is killed at its Timeout (lease still held)
    stack-killed      `flowgen local` SIGKILLed mid-generation, restarted on its data directory

Issue 25 (no failure looks like waiting, no 500 under load):

    model-failing-polled   a lesson (and an outline) that always fails, polled by 2-3 tabs every
                           1-2 s: at most MaxReceiveCount model calls, the failure visible in the
                           API within 30 s, FAILED with a reason a person reads
    sqs-stalled            SQS SIGSTOPped 6 s / running 4 s in cycles under clients on every route
                           that queues work: no 5xx, every accepted intent written in the end
    trickle-past-deadline  a stream trickling past the worker's deadline, then cut mid-JSON: the
                           abandoned call pays for no other call; the retry writes the lesson
    stream-ignored         streamed requests answered in one plain body: plain calls, READY,
                           GENERATED and ANSWERED the first time
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from flowgen_faults.harness import (
    NO_LIMITS,
    PERIOD,
    STUCK_BOUND,
    STUCK_BOUND_KILLED,
    TERMINAL_COURSE,
    TERMINAL_LESSON,
    VISIBILITY,
    WORKER_TIMEOUT,
    Api,
    Call,
    CallLog,
    Counts,
    HttpApi,
    Services,
    Size,
    StackApi,
    Staller,
    Watch,
    create_courses,
    finish,
    lessons_of,
    open_lessons,
    ready,
    spread,
    start_stack,
    unreadable,
    wait_until,
)
from flowgen_local.fake_openai import FaultRule, Faults
from flowgen_local.services import RedisServer, free_port
from flowgen_local.stack import LocalStack

Scenario = Callable[[Services, Size], Counts]
SETTLE = 240.0  # seconds a scenario may take to settle before it is reported as stuck


@dataclass
class Run:
    name: str
    services: Services
    stack: LocalStack
    api: StackApi
    watch: Watch
    owner: str
    counts: Counts
    started: float

    def courses(self, size: Size) -> list[dict[str, Any]]:
        """Creates the scenario's courses and waits for their outlines."""
        ids = create_courses(self.api, self.name, size)
        self.watch.course_ids.extend(ids)
        return [ready(self.api, i) for i in ids]

    def finish(self, settle: float = SETTLE, paid: Counter[str] | None = None) -> Counts:
        fake = self.services.fake
        finish(
            self.counts, self.watch, self.api, fake.stats.as_dict, lambda: fake.set_faults(Faults()),
            owner=self.owner, settle_timeout=settle, paid=paid,
        )  # fmt: skip
        self.counts.seconds = time.monotonic() - self.started
        if not self.counts.ok:
            self.counts.notes += self.diagnose()
        return self.counts

    def diagnose(self) -> list[str]:
        """What a person needs to see why a scenario failed: the unfinished records, the
        reconciler's last runs, the functions' recent errors, the queues."""
        found = []
        for doc in self.watch.db.lessons.find(
            {"courseId": {"$in": self.watch.course_ids}, "status": {"$nin": ["GENERATED"]}}, {"content": 0}
        ):
            if f"{doc['courseId']}/{doc['id']}" in self.watch.requested:
                fields = ("status", "priority", "attempts", "updatedAt", "lease", "error")
                found.append(f"lesson {doc['id']}: " + ", ".join(f"{k}={doc.get(k)}" for k in fields))
        for name, schedule in self.stack.schedules.items():
            found.append(f"{name}: {schedule.runs} runs, last {schedule.results[-3:]}")
        for name, pool in self.stack.functions.items():
            if pool.stats.recent_errors or pool.stats.timeouts:
                found.append(f"{name}: {pool.stats.timeouts} timeouts, {list(pool.stats.recent_errors)[-3:]}")
        depths = {q: self.stack.queue_depth(q) for q in self.stack.queues}
        found.append(f"queues: {depths}")
        frames = sys._current_frames()  # where each poller is: receiving, invoking, or stuck
        for thread in threading.enumerate():
            if thread.name.startswith("poller-") and thread.ident in frames:
                where = traceback.extract_stack(frames[thread.ident])[-4:]
                found.append(f"{thread.name}: " + " <- ".join(f"{f.name}:{f.lineno}" for f in reversed(where)))
        return found


@contextmanager
def running(
    name: str,
    services: Services,
    *,
    faults: Faults | None = None,
    stuck_bound: float = STUCK_BOUND,
    mongo_uri: str | None = None,
    **stack: Any,
) -> Iterator[Run]:
    db = f"faults_{name.replace('-', '_')}_{uuid.uuid4().hex[:6]}"
    services.fake.reset()
    services.fake.set_faults(faults or Faults())
    uri = mongo_uri or services.mongo_uri
    local = start_stack(services, db, mongo_uri=uri, **stack)
    owner = f"faults-{name}"
    watch = Watch(uri, db, stuck_bound)
    run = Run(name, services, local, StackApi(local, owner), watch, owner, Counts(name), time.monotonic())
    try:
        yield run
    finally:
        local.stop()
        try:
            watch.client.drop_database(db)
        finally:
            watch.close()


# ---- model faults --------------------------------------------------------------------------


def model_fault(kind: str) -> Scenario:
    def scenario(services: Services, size: Size) -> Counts:
        name = f"model-{kind}"
        always = 2 if kind == "429" else None  # a 429 defers for free: "always" would never end
        faults = Faults(
            retry_after_seconds=1,
            hang_seconds=20,  # past the 7.2 s a call may take in an 8 s invocation
            trickle_seconds=15,
            trickle_interval_seconds=1.0,  # under the 2 s per-read timeout: only the deadline ends it
            rules=[FaultRule(f"outline :: {name} topic 0 ", kind, times=1)],
        )
        with running(name, services, faults=faults, parameters={"InitialLessons": "0"}) as run:
            for course in run.courses(size):
                lessons = lessons_of(course)
                chosen = spread(lessons, size.opened)
                titles = {lesson["id"]: lesson["title"] for lesson in lessons}
                key = f"{course['title']} :: "
                with services.fake.lock:
                    services.fake.faults.rules.append(FaultRule(key + titles[chosen[0]], kind, times=1))
                    if len(chosen) > 1:
                        services.fake.faults.rules.append(FaultRule(key + titles[chosen[-1]], kind, times=always))
                for lesson_id in chosen:
                    run.api.call("GET", f"/courses/{course['id']}/lessons/{lesson_id}")
            counts = run.finish()
            failures = dict(services.fake.stats.failures)
            counts.notes.append(f"faults injected: {failures}")
            if not failures.get(kind):
                counts.problems.append(f"no {kind} was injected")
            return counts

    scenario.__name__ = f"model_{kind}"
    return scenario


# ---- messages ------------------------------------------------------------------------------


def _send(stack: LocalStack, queue: str, body: str, copies: int = 1) -> None:
    for _ in range(copies):
        stack.sqs.send_message(QueueUrl=stack.queues[queue].url, MessageBody=body)


def duplicates(services: Services, size: Size) -> Counts:
    """Every job three times on its queue (the original and two copies), and every requested
    lesson's job on the other lesson queue too: at-least-once delivery at its worst."""
    with running("duplicates", services, faults=Faults(latency_seconds=0.3)) as run:
        ids = create_courses(run.api, "duplicates", size)
        run.watch.course_ids.extend(ids)
        for course_id in ids:
            _send(run.stack, "CourseQueue", json.dumps({"courseId": course_id, "ownerId": run.owner}), copies=2)
        for course in [ready(run.api, i) for i in ids]:
            open_lessons(run.api, course, size.opened)
        run.watch.poll()
        for key in sorted(run.watch.requested):
            course_id, lesson_id = key.split("/")
            job = json.dumps({"courseId": course_id, "lessonId": lesson_id, "ownerId": run.owner})
            _send(run.stack, "LessonHighQueue", job, copies=2)
            _send(run.stack, "LessonLowQueue", job, copies=2)
        counts = run.finish()
        counts.notes.append(f"calls: {dict(services.fake.stats.calls)}")
        return counts


MALFORMED = ["not json at all", "{}", '{"courseId": 42}', '{"lessonId": "m01-l01"}']


def malformed(services: Services, size: Size) -> Counts:
    """Junk on every queue beside real work: the junk fails alone and reaches its DLQ after
    maxReceiveCount receives; a well-formed job for a course that does not exist is acknowledged."""
    with running("malformed", services) as run:
        ghost = {"courseId": "0" * 32, "ownerId": "nobody", "lessonId": "m01-l01"}
        queues = {"CourseQueue": "CourseDLQ", "LessonHighQueue": "LessonHighDLQ", "LessonLowQueue": "LessonLowDLQ"}
        for queue in queues:
            for body in [*MALFORMED, json.dumps(ghost)]:
                _send(run.stack, queue, body)
        for course in run.courses(size):
            open_lessons(run.api, course, size.opened)
        counts = run.finish()
        max_receives = max(q.max_receive_count for q in run.stack.template.queues.values() if q.max_receive_count)
        dlq_wait = (max_receives + 1) * VISIBILITY + 3 * PERIOD
        for queue, dlq in queues.items():
            with suppress(TimeoutError):
                wait_until(partial(run.stack.queue_depth, dlq), lambda n: n >= len(MALFORMED), dlq_wait)
            depth = run.stack.queue_depth(dlq)
            if depth != len(MALFORMED):
                counts.problems.append(f"{dlq} holds {depth} messages, expected {len(MALFORMED)}")
            left = run.stack.queue_depth(queue)
            if left:
                counts.problems.append(f"{queue} still holds {left} messages")
        counts.notes.append(f"each DLQ holds the {len(MALFORMED)} malformed messages; the ghost job was acknowledged")
        counts.seconds = time.monotonic() - run.started
        return counts


# ---- Redis ---------------------------------------------------------------------------------


OUTAGE_SECONDS = {"killed": 4.0, "frozen": 6.0, "restarted": 0.0}


class OwnRedis:
    """A redis-server of the scenario's own, on a fixed port, that it can interrupt and mend."""

    def __init__(self) -> None:
        self.server = RedisServer()
        self.port = self.server.port
        self.url = self.server.url

    def interrupt(self, mode: str) -> None:
        if mode == "killed":
            self.server.process.kill()
            self.server.process.wait()
        elif mode == "frozen":
            self.server.process.send_signal(signal.SIGSTOP)
        else:
            self.server.stop()
            self.server = RedisServer(port=self.port)

    def mend(self, mode: str) -> None:
        if mode == "killed":
            self.server = RedisServer(port=self.port)  # empty: nothing was kept
        elif mode == "frozen":
            self.server.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        self.server.process.send_signal(signal.SIGCONT)
        self.server.stop()


def redis_fault(mode: str) -> Scenario:
    """Redis (dedupe keys, rate limits, budgets, idempotency) goes away mid-generation for
    OUTAGE_SECONDS, however slow the callers are meanwhile; every use fails
    open, so lessons still finish and the claim keeps generation single."""

    def scenario(services: Services, size: Size) -> Counts:
        own = OwnRedis()
        try:
            moved = replace(services, redis_url=own.url)
            with running(f"redis-{mode}", moved, faults=Faults(latency_seconds=1.0)) as run:
                courses = run.courses(size)
                half = max(1, len(courses) // 2)
                for course in courses[:half]:
                    open_lessons(run.api, course, size.opened)
                time.sleep(1.5)  # lessons are mid-call
                own.interrupt(mode)
                outage: list[int] = []

                def use_meanwhile() -> None:  # users carry on during the outage
                    outage.append(run.api.call("GET", "/courses")[0])
                    for course in courses[half:]:
                        open_lessons(run.api, course, size.opened)

                users = threading.Thread(target=use_meanwhile, daemon=True)
                users.start()
                time.sleep(OUTAGE_SECONDS[mode])
                own.mend(mode)  # from this thread: a child dies with the thread that started it
                users.join()
                if len(courses) == 1:  # one course: open more of it after the outage
                    open_lessons(run.api, courses[0], size.opened + 1)
                counts = run.finish()
                if any(status != 200 for status in outage):
                    counts.problems.append(f"GET /courses during the outage answered {outage}")
                return counts
        finally:
            own.stop()

    scenario.__name__ = f"redis_{mode}"
    return scenario


# ---- lost jobs -----------------------------------------------------------------------------


def stranded(services: Services, size: Size) -> Counts:
    """Every job deleted from its queue while its record is PENDING (a purge, an expired
    message): the reconciler finds the intents in MongoDB and sends them again."""
    sources = ("CourseJobs", "HighPriorityLessons", "LowPriorityLessons")
    with running("stranded", services, paused=sources) as run:
        ids = create_courses(run.api, "stranded", size)
        run.watch.course_ids.extend(ids)
        run.stack.sqs.purge_queue(QueueUrl=run.stack.queues["CourseQueue"].url)
        run.stack.runners["CourseJobs"].start()
        courses = [ready(run.api, i, timeout=3 * STUCK_BOUND) for i in ids]
        for course in courses:
            open_lessons(run.api, course, size.opened)
        run.watch.poll()
        purged = len(run.watch.requested)
        for queue in ("LessonHighQueue", "LessonLowQueue"):
            run.stack.sqs.purge_queue(QueueUrl=run.stack.queues[queue].url)
        for source in sources[1:]:
            run.stack.runners[source].start()
        counts = run.finish()
        counts.notes.append(f"{len(ids)} course jobs and {purged} lesson jobs purged")
        return counts


def worker_timeout(services: Services, size: Size) -> Counts:
    """A lesson worker frozen mid-call (SIGSTOP: a stuck native call, a pause) runs past its
    Timeout and is killed, its claim still held. The redelivered message finds the lease live
    and is acknowledged; the reconciler re-sends the lesson once the lease has expired."""
    with running("worker-timeout", services, stuck_bound=STUCK_BOUND_KILLED) as run:
        pool = run.stack.functions["LessonWorkerFunction"]
        busy = _track_busy(pool)
        courses = run.courses(size)
        wait_until(lambda: run.watch.poll(), bool, 60)  # the outlines' prefetched lessons are done
        victims: list[str] = []
        for course in courses:
            lesson = lessons_of(course)[-1]
            victims.append(f"{course['title']} :: {lesson['title']}")
            services.fake.faults.rules.append(FaultRule(victims[-1], "hang", times=1))
            services.fake.faults.hang_seconds = 20
            run.api.call("GET", f"/courses/{course['id']}/lessons/{lesson['id']}")
        wait_until(lambda: set(services.fake.stats.lesson_keys), lambda keys: set(victims) <= keys, 30)
        frozen = sorted(busy)
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        for course in courses:
            open_lessons(run.api, course, size.opened)
        counts = run.finish()
        counts.notes.append(f"froze {len(frozen)} busy worker instances; {pool.stats.timeouts} killed at the Timeout")
        if pool.stats.timeouts < 1:
            counts.problems.append("no invocation ran past its Timeout")
        return counts


def _track_busy(pool: Any) -> set[int]:
    """The pids of the pool's instances that are in an invocation now (the local Lambda service
    keeps only idle ones), by wrapping its acquire and release."""
    busy: set[int] = set()
    lock = threading.Lock()
    acquire, release = pool._acquire, pool._release

    def tracked_acquire() -> Any:
        instance = acquire()
        with lock:
            busy.add(instance.pid)
        return instance

    def tracked_release(instance: Any) -> None:
        with lock:
            busy.discard(instance.pid)
        release(instance)

    pool._acquire, pool._release = tracked_acquire, tracked_release
    return busy


# ---- the whole stack killed ----------------------------------------------------------------


class LocalProcess:
    """`flowgen local` in a process of its own, on a state directory, with the fake model."""

    def __init__(self, state_dir: Path, port: int, fake_url: str) -> None:
        env = {**os.environ, "FLOWGEN_STATE_DIR": str(state_dir), "OPENAI_API_KEY": "fault-suite",
               "OPENAI_BASE_URL": fake_url}  # fmt: skip
        for key in ("MONGO_URI", "REDIS_URL"):
            env.pop(key, None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flowgen_ops.cli", "local", "--port", str(port), "--schedule-every", str(PERIOD),
             "--visibility-timeout", str(VISIBILITY), "--parameter-overrides",
             f"WorkerTimeoutSeconds={WORKER_TIMEOUT}", "LessonHighMaxConcurrency=4"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        if self.process.stdout is None:
            raise RuntimeError("no stdout")
        for line in self.process.stdout:
            if "Ctrl-C stops everything" in line:
                threading.Thread(target=self._drain, daemon=True).start()
                return
        raise RuntimeError(f"flowgen local exited with {self.process.wait()}")

    def _drain(self) -> None:
        for _ in self.process.stdout or ():
            pass

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


class ApiWatch:
    """Watch's questions answered through the API, for a stack whose MongoDB is not ours."""

    def __init__(self, api: Api, stuck_bound: float, requested: set[str]) -> None:
        self.api = api
        self.stuck_bound = stuck_bound
        self.course_ids: list[str] = []
        self.requested = set(requested)
        self.statuses: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self.stuck: set[str] = set()
        self._courses: dict[str, str] = {}
        self._inner = Watch.__new__(Watch)  # only its bookkeeping (_note) is used
        self._inner.stuck_bound, self._inner.stuck, self._inner._changed = stuck_bound, self.stuck, {}

    def poll(self) -> bool:
        now, settled = time.monotonic(), True
        for course_id in self.course_ids:
            status, course = self.api.call("GET", f"/courses/{course_id}")
            if status != 200:
                return False
            self._courses[course_id] = course["status"]
            settled &= course["status"] in TERMINAL_COURSE
            for lesson in lessons_of(course):
                key = f"{course_id}/{lesson['id']}"
                if lesson.get("priority") or lesson["status"] != "PENDING":
                    self.requested.add(key)
                self.statuses[key] = lesson["status"]
                if lesson.get("error"):
                    self.errors[key] = lesson["error"]
                if key in self.requested:
                    terminal = lesson["status"] in TERMINAL_LESSON
                    self._inner._note(key, lesson["status"], terminal, now)
                    settled &= terminal
        return settled

    def settle(self, timeout: float) -> bool:
        deadline, streak = time.monotonic() + timeout, 0
        while time.monotonic() < deadline:
            try:
                streak = streak + 1 if self.poll() else 0
            except Exception:
                streak = 0
            if streak >= 2:
                return True
            time.sleep(0.5)
        return False

    def failed(self) -> list[str]:
        return sorted(k for k in self.requested if self.statuses.get(k) == "FAILED")

    def course_statuses(self) -> dict[str, str]:
        self.poll()
        return dict(self._courses)

    def owner_prompts(self, _owner: str) -> list[str]:
        """The token's owner's courses (the API answers only those)."""
        return [c["prompt"] for c in self.api.call("GET", "/courses?limit=100")[1]["items"]]


def stack_killed(services: Services, size: Size) -> Counts:
    """kill -9 of `flowgen local` mid-generation, then a restart on the same data directory:
    the courses, a token minted before the crash and every requested lesson are there, and the
    first reconciler run (queues started empty) re-sends whatever was in flight."""
    started = time.monotonic()
    services.fake.reset()
    services.fake.set_faults(Faults(latency_seconds=1.5))
    counts = Counts("stack-killed")
    with tempfile.TemporaryDirectory(prefix="flowgen-faults-") as tmp:
        state, port = Path(tmp), free_port()
        base = f"http://127.0.0.1:{port}"
        first = LocalProcess(state, port, services.fake.base_url)
        try:
            import httpx

            token = httpx.post(f"{base}/_local/token", json={"sub": "faults-stack-killed"}).json()["token"]
            api = HttpApi(base, token)
            ids = create_courses(api, "stack-killed", size)
            courses = [ready(api, i) for i in ids]
            for course in courses:
                open_lessons(api, course, size.opened)
            time.sleep(0.8)  # workers are mid-call (1.5 s model) when the stack dies
        finally:
            first.kill()
        requested = _requested_offline(state / "data" / "mongo", ids)
        second = LocalProcess(state, port, services.fake.base_url)
        try:
            api = HttpApi(base, token)  # minted before the crash
            watch = ApiWatch(api, STUCK_BOUND_KILLED, requested)
            watch.course_ids.extend(ids)
            fake = services.fake
            finish(
                counts, watch, api, fake.stats.as_dict, lambda: fake.set_faults(Faults()),
                owner="faults-stack-killed", settle_timeout=SETTLE,
            )  # fmt: skip
        finally:
            second.stop()
    counts.notes.append(f"{len(requested)} lessons requested before the crash")
    counts.seconds = time.monotonic() - started
    return counts


def _requested_offline(data_dir: Path, course_ids: list[str]) -> set[str]:
    """Lessons requested before the crash, read from the stand-in's journal by one of our own."""
    import pymongo

    from flowgen_stand_in.launcher import MongoStandIn

    server = MongoStandIn(data_dir=data_dir).start()
    try:
        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(server.uri)
        wanted = [{"priority": {"$exists": True}}, {"status": {"$ne": "PENDING"}}]
        docs = client["flowgen"]["lessons"].find(
            {"courseId": {"$in": course_ids}, "$or": wanted}, {"courseId": 1, "id": 1}
        )
        found = {f"{d['courseId']}/{d['id']}" for d in docs}
        client.close()
        return found
    finally:
        server.stop()


# ---- issue 25: no failure looks like waiting, no 500 under load ----------------------------

POLL_EVERY = (1.0, 2.0)  # a page's poll: seconds between two GETs (uniform)
VISIBLE_WITHIN = 30.0  # a failure shows through the API this soon after its first failed call
LINGER = {True: 2.0, False: 5.0}  # by Size.quick: pollers go on this long after FAILED (it costs nothing more)


def _retry_env(size: Size) -> dict[str, str]:
    """The CI variants retry after 1 s, then 3 s; the full ones after the template's 5 s, then 15 s."""
    return {"RETRY_BASE_SECONDS": "1"} if size.quick else {}


def _max_attempts(stack: LocalStack) -> int:
    return max(q.max_receive_count for q in stack.template.queues.values() if q.max_receive_count)


@dataclass
class Polled:
    """A record a page polls (a lesson, or a course for its outline) and what its pollers saw."""

    path: str
    key: str  # its calls' key at the fake model server
    statuses: Counter[int] = field(default_factory=Counter)
    slowest: float = 0.0  # seconds, the slowest poll
    visible_at: float | None = None  # first poll showing an error and an attempt
    failed_at: float | None = None
    reason: str | None = None
    attempts: int = 0


def _poll(api: Api, target: Polled, until: float, linger: float, seed: int, lock: threading.Lock) -> None:
    """One tab's polling: a GET every 1-2 s until `linger` seconds after FAILED, or `until`."""
    rng = random.Random(seed)
    while time.monotonic() < until:
        started = time.monotonic()
        status, body = api.call("GET", target.path)
        now = time.monotonic()
        with lock:
            target.statuses[status] += 1
            target.slowest = max(target.slowest, now - started)
            if status < 300 and isinstance(body, dict):
                if body.get("error") and body.get("attempts", 0) >= 1 and target.visible_at is None:
                    target.visible_at = now
                if body.get("status") == "FAILED":
                    target.failed_at = target.failed_at or now
                    target.reason, target.attempts = body.get("error"), body.get("attempts", 0)
            if target.failed_at is not None and now - target.failed_at > linger:
                return
        time.sleep(rng.uniform(*POLL_EVERY))


def model_failing_polled(services: Services, size: Size) -> Counts:
    """A lesson whose every model call fails (500), open in two or three tabs that each poll it
    every 1-2 s, and a course whose outline always fails, polled the same way. However often they
    are polled, each gets at most MaxReceiveCount model calls; the failure shows in the API
    (`error`, `attempts`) within 30 s of the first failed call, and each ends FAILED with a reason a
    person reads, then comes back when retried."""
    name = "model-failing-polled"
    prompt = f"{name} failing outline {uuid.uuid4().hex[:6]}"
    faults = Faults(rules=[FaultRule(f"outline :: {prompt}", "500", times=None)])
    # a dozen tabs of one user poll faster than its 120 requests a minute: its 429s would hide
    # what this counts (the limits have tests of their own)
    parameters = {**NO_LIMITS, "InitialLessons": "0"}
    with (
        running(name, services, faults=faults, parameters=parameters, env=_retry_env(size)) as run,
        CallLog(services.fake) as log,
    ):
        cap = _max_attempts(run.stack)
        courses = run.courses(size)
        status, body = run.api.call("POST", "/courses", {"prompt": prompt, "size": size.course_size})
        if status != 202:
            raise AssertionError(f"POST /courses answered {status}: {body}")
        run.watch.course_ids.append(body["id"])
        targets = [Polled(f"/courses/{body['id']}", f"outline :: {prompt}")]
        for course in courses:
            lesson = lessons_of(course)[-1]  # the last: nothing after it is prefetched
            key = f"{course['title']} :: {lesson['title']}"
            with services.fake.lock:
                services.fake.faults.rules.append(FaultRule(key, "500", times=None))
            targets.append(Polled(f"/courses/{course['id']}/lessons/{lesson['id']}", key))
        tabs = 2 if size.quick else 3
        until = time.monotonic() + (45 if size.quick else 120)
        lock = threading.Lock()
        pollers = [
            threading.Thread(
                target=_poll, args=(run.api, target, until, LINGER[size.quick], i * 10 + tab, lock), daemon=True
            )
            for i, target in enumerate(targets)
            for tab in range(tabs)
        ]
        for poller in pollers:
            poller.start()
        for poller in pollers:
            poller.join()
        counts = run.counts
        visible, failed, calls = [], [], []
        for target in targets:
            made = log.of(target.key)
            calls.append(len(made))
            counts.server_errors += sum(n for status, n in target.statuses.items() if status >= 500)
            what = target.path.split("/", 3)[-1]
            if len(made) > cap:
                counts.problems.append(f"{what}: {len(made)} model calls, over the cap of {cap}")
            if not made:
                counts.problems.append(f"{what}: no model call")
                continue
            if target.visible_at is None:
                counts.problems.append(f"{what}: its failure never showed through the API")
            else:
                visible.append(target.visible_at - made[0].at)
            timeline = ", ".join(_call_text(c, made[0].at) for c in made)
            seen = {
                "visible": target.visible_at and target.visible_at - made[0].at,
                "FAILED": target.failed_at and target.failed_at - made[0].at,
            }
            counts.notes.append(
                f"{what}: calls {timeline}; "
                + ", ".join(f"{k} at +{v:.1f}s" if v is not None else f"never {k}" for k, v in seen.items())
            )
            if target.failed_at is None:
                counts.problems.append(f"{what}: not FAILED after polling")
            else:
                failed.append(target.failed_at - made[0].at)
                problem = unreadable(target.reason)
                if problem:
                    counts.problems.append(f"{what}: its reason {problem}: {target.reason!r}")
        if visible and max(visible) > VISIBLE_WITHIN:
            counts.problems.append(f"a failure took {max(visible):.0f}s to show (over {VISIBLE_WITHIN:.0f}s)")
        counts.measure("most model calls for a failing record", max(calls))
        counts.measure("cap", cap)
        if visible:
            counts.measure("to visible", max(visible), " s")
        if failed:
            counts.measure("to FAILED", max(failed), " s")
        polls: Counter[int] = sum((t.statuses for t in targets), Counter())
        counts.measure("polls", sum(polls.values()))
        counts.measure("slowest poll", max(t.slowest for t in targets), " s")
        counts.notes.append(f"polls by status: {dict(sorted(polls.items()))}")
        reasons = {t.reason for t in targets if t.reason}
        counts.notes.append(f"model calls per failing record: {calls}; reasons shown: {sorted(reasons)}")
        return run.finish()


TRICKLE_CUT = 8.5  # the stream is cut here: past the 7.2 s a call may take in an 8 s invocation
# seconds per byte: "events" delivers its first chunk (236 bytes) by about 4.7 s, then nothing
# more before the cut (the next chunk would end at about 9.1 s); "silent" delivers no whole chunk
TRICKLES = {"events": 0.02, "silent": 1.0}


def trickle_past_deadline(services: Services, size: Size) -> Counts:
    """An opened lesson's stream trickles past the worker's deadline and is then cut, leaving
    half a JSON answer. The worker gave the call up at its deadline and retried it; the abandoned
    call pays for nothing more when its stream ends (no repair call, no other call), and the
    lesson ends GENERATED by the retry. Two ways of trickling, one after the other: a stream that
    delivered a chunk before the deadline ("events"), and one that delivered none ("silent"; not
    in the CI variant)."""
    name = "trickle-past-deadline"
    phases = ["events"] if size.quick else ["events", "silent"]
    with (
        running(name, services, parameters={"InitialLessons": "0"}, env=_retry_env(size)) as run,
        CallLog(services.fake) as log,
    ):
        courses = run.courses(size)
        per_course = 2 if len(courses) == 1 else 1
        extra: dict[str, int] = {}
        repairs = 0
        for phase in phases:
            run.watch.poll()  # lessons not asked for yet (an earlier phase prefetched some)
            targets: list[tuple[dict[str, Any], dict[str, Any], str]] = []
            for course in courses:
                pool = [x for x in lessons_of(course) if f"{course['id']}/{x['id']}" not in run.watch.requested]
                for lesson_id in spread(pool, per_course):
                    lesson = next(item for item in pool if item["id"] == lesson_id)
                    targets.append((course, lesson, f"{course['title']} :: {lesson['title']}"))
            with services.fake.lock:
                services.fake.faults.trickle_seconds = TRICKLE_CUT
                services.fake.faults.trickle_interval_seconds = TRICKLES[phase]
                services.fake.faults.rules += [FaultRule(key, "trickle", times=1) for _, _, key in targets]
            for course, lesson, _ in targets:
                run.api.call("GET", f"/courses/{course['id']}/lessons/{lesson['id']}")

            def written(wanted: list[tuple[dict[str, Any], dict[str, Any], str]] = targets) -> bool:
                docs = run.watch.db.lessons.find(
                    {
                        "courseId": {"$in": [c["id"] for c, _, _ in wanted]},
                        "id": {"$in": [x["id"] for _, x, _ in wanted]},
                    },
                    {"status": 1},
                )
                first = [log.of(key)[:1] for _, _, key in wanted]
                cut = all(f and time.monotonic() - f[0].at > TRICKLE_CUT + 1 for f in first)
                return cut and all(d["status"] in TERMINAL_LESSON for d in docs)

            with suppress(TimeoutError):
                wait_until(written, bool, 90)
            for course, lesson, key in targets:
                doc = run.watch.db.lessons.find_one({"courseId": course["id"], "id": lesson["id"]}, {"attempts": 1})
                attempts = int((doc or {}).get("attempts", 0))
                made = log.of(key)
                if not made:
                    run.counts.problems.append(f"{phase} {lesson['id']}: never called")
                    continue
                repairs += sum(c.repair for c in made)
                after = len(made) - 1  # calls after the trickled one
                extra[f"{phase}/{course['id']}/{lesson['id']}"] = max(0, after - max(0, attempts - 1))
                timeline = ", ".join(_call_text(c, made[0].at) for c in made)
                run.counts.notes.append(
                    f"{phase} {lesson['id']}: {len(made)} calls for {attempts} attempts ({timeline})"
                )
        counts = run.finish()
        by_phase = {p: sum(n for k, n in extra.items() if k.startswith(f"{p}/")) for p in phases}
        for phase, n in by_phase.items():
            counts.measure(f"calls paid after abandonment ({phase})", n)
            if n:
                counts.problems.append(f"{n} model calls made by abandoned attempts ({phase})")
        counts.measure("repair calls", repairs)
        return counts


def _call_text(call: Call, since: float) -> str:
    return f"+{call.at - since:.1f}s {'stream' if call.streamed else 'plain'}{' repair' if call.repair else ''}"


def stream_ignored(services: Services, size: Size) -> Counts:
    """The model server answers every streamed request with one plain JSON body (as some
    OpenAI-compatible servers do): outlines, lessons and a question per course fall back to
    plain calls and finish the first time (READY, GENERATED, ANSWERED), none FAILED."""
    name = "stream-ignored"
    faults = Faults(ignore_stream=True)
    with (
        running(name, services, faults=faults, parameters={"InitialLessons": "0"}) as run,
        CallLog(services.fake) as log,
    ):
        courses = run.courses(size)
        counts = run.counts
        not_ready = [c["id"] for c in courses if c["status"] != "READY"]
        if not_ready:
            counts.problems.append(f"courses not READY: {not_ready}")
        opened = [(course, open_lessons(run.api, course, size.opened)) for course in courses]
        run.watch.settle(SETTLE)
        failed = run.watch.failed()
        if failed:
            counts.problems.append(f"lessons FAILED with the stream ignored: {failed}")
        asked: list[tuple[str, str]] = []
        for course, lesson_ids in opened:
            path = f"/courses/{course['id']}/lessons/{lesson_ids[0]}/questions"
            question = f"What is the point of {course['id'][:6]}?"  # a question's key at the fake is its text
            status, body = run.api.call("POST", path, {"question": question})
            if status != 202:
                counts.problems.append(f"POST question answered {status}: {body}")
                continue
            asked.append((path, body["id"]))
        answers = _answered(run.api, asked, timeout=60)
        if answers.get("FAILED") or len(asked) != answers.get("ANSWERED", 0):
            counts.problems.append(f"questions: {dict(answers)} of {len(asked)}")
        counts = run.finish()
        streamed = sum(1 for c in log.calls if c.streamed)
        counts.measure("calls", len(log.calls))
        counts.measure("streamed asks answered in one body", streamed)
        counts.measure("questions answered", f"{answers.get('ANSWERED', 0)}/{len(asked)}")
        return counts


def _answered(api: Api, asked: list[tuple[str, str]], timeout: float) -> Counter[str]:
    """The statuses of the questions asked, once none is pending (or at `timeout`)."""

    def statuses() -> Counter[str]:
        found: Counter[str] = Counter()
        for path, question_id in asked:
            _, thread = api.call("GET", path)
            items = {q["id"]: q["status"] for q in (thread or {}).get("items", [])}
            found[items.get(question_id, "MISSING")] += 1
        return found

    with suppress(TimeoutError):
        return wait_until(statuses, lambda s: not (s.get("QUEUED") or s.get("ANSWERING")), timeout, every=1.0)
    return statuses()


STALL = (6.0, 4.0)  # SQS (moto's server) SIGSTOPped this long, then running this long: one cycle
STALLS = {True: [(6.0, 2.0)], False: [STALL] * 6}  # by Size.quick: the CI variant stops once


@dataclass
class Traffic:
    """What the clients asked during the stalls and what they were answered."""

    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)  # (route, status)
    during_stalls: int = 0  # requests sent while SQS was stopped
    slowest: float = 0.0
    courses: list[str] = field(default_factory=list)  # accepted (202)
    opened: list[str] = field(default_factory=list)  # "course/lesson", answered 202
    rewrites: Counter[str] = field(default_factory=Counter)  # fake key -> rewrites accepted
    questions: list[tuple[str, str]] = field(default_factory=list)  # (thread path, question id)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, route: str, status: int, seconds: float, stalled: bool) -> None:
        with self.lock:
            self.statuses[route, status] += 1
            self.during_stalls += stalled
            self.slowest = max(self.slowest, seconds)

    @property
    def server_errors(self) -> int:
        return sum(n for (_, status), n in self.statuses.items() if status >= 500)


def _client(
    run: Run, traffic: Traffic, written: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]],
    unopened: list[tuple[str, str]], staller: Staller, seed: int, max_courses: int,
) -> None:  # fmt: skip
    """One user's tab: in turn opens a lesson not asked for yet, asks a question, has a lesson
    rewritten and creates a course (at most `max_courses`), 0.5-1.5 s apart, while SQS stalls."""
    rng = random.Random(seed)
    created = 0
    turn = seed
    while staller.running:
        course, asked_on, rewritten = written[turn % len(written)]
        route = ("open", "question", "rewrite", "create")[turn % 4]
        turn += 1
        started, stalled = time.monotonic(), staller.stopped.is_set()
        if route == "open":
            with traffic.lock:
                target = unopened.pop(0) if unopened else None
            if target is None:
                continue
            status, _ = run.api.call("GET", f"/courses/{target[0]}/lessons/{target[1]}")
            if status == 202:
                with traffic.lock:
                    traffic.opened.append(f"{target[0]}/{target[1]}")
        elif route == "question":
            path = f"/courses/{course['id']}/lessons/{asked_on['id']}/questions"
            status, body = run.api.call("POST", path, {"question": f"sqs-stalled question {seed}-{turn}?"})
            if status == 202:
                with traffic.lock:
                    traffic.questions.append((path, body["id"]))
        elif route == "rewrite":
            path = f"/courses/{course['id']}/lessons/{rewritten['id']}/regenerate"
            status, _ = run.api.call("POST", path, {"instruction": f"simpler, take {turn}"})
            if status == 202:
                with traffic.lock:
                    traffic.rewrites[f"{course['title']} :: {rewritten['title']}"] += 1
        else:
            if created >= max_courses:
                continue
            created += 1
            status, body = run.api.call("POST", "/courses", {"prompt": f"sqs-stalled {seed}-{turn}", "size": "short"})
            if status == 202:
                with traffic.lock:
                    traffic.courses.append(body["id"])
                    run.watch.course_ids.append(body["id"])
        traffic.record(route, status, time.monotonic() - started, stalled)
        time.sleep(rng.uniform(0.5, 1.5))


def sqs_stalled(services: Services, size: Size) -> Counts:
    """SQS stalls (moto's server SIGSTOPped 6 s, then running 4 s; six cycles, one in CI) while
    three or four users open lessons not asked for yet, ask questions, have lessons rewritten and
    create courses: every route that queues work. The api gives a send up after 4 s and keeps the
    intent: no answer is a 5xx, and every intent it accepted is written in the end (the stack's
    reconciler sends it again)."""
    name = "sqs-stalled"
    with (
        running(
            name, services, faults=Faults(latency_seconds=0.2), parameters={**NO_LIMITS, "InitialLessons": "0"}
        ) as run,
        CallLog(services.fake) as log,
    ):
        courses = run.courses(size)
        written = []
        for course in courses:  # a lesson to ask about and one to rewrite, written before the stalls
            lessons = lessons_of(course)
            for lesson in lessons[:2]:
                run.api.call("GET", f"/courses/{course['id']}/lessons/{lesson['id']}")
            written.append((course, lessons[0], lessons[1]))
        for course, *pair in written:
            for lesson in pair:
                _written(run.api, f"/courses/{course['id']}/lessons/{lesson['id']}")
        run.watch.poll()
        unopened = [  # every third: opening one prefetches the next two (LESSON_LOOKAHEAD)
            (course["id"], lesson["id"])
            for course in courses
            for lesson in [x for x in lessons_of(course) if f"{course['id']}/{x['id']}" not in run.watch.requested][::3]
        ]
        traffic = Traffic()
        clients = 3 if size.quick else 4
        with Staller(services.aws.process.pid, STALLS[size.quick]) as staller:
            threads = [
                threading.Thread(
                    target=_client, args=(run, traffic, written, unopened, staller, i, 1 if size.quick else 3),
                    daemon=True,
                )
                for i in range(clients)
            ]  # fmt: skip
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        stalled = staller.stopped_seconds
        counts = run.counts
        counts.server_errors = traffic.server_errors
        answers = _answered(run.api, traffic.questions, timeout=SETTLE)
        paid = Counter({key: 1 + n for key, n in traffic.rewrites.items()})
        counts = run.finish(paid=paid)
        if answers.get("ANSWERED", 0) != len(traffic.questions):
            counts.problems.append(f"accepted questions not answered: {dict(answers)} of {len(traffic.questions)}")
        for course, _, rewritten in written:
            _, lesson = run.api.call("GET", f"/courses/{course['id']}/lessons/{rewritten['id']}")
            accepted = traffic.rewrites[f"{course['title']} :: {rewritten['title']}"]
            if lesson["status"] != "GENERATED" or lesson.get("version", 1) != 1 + accepted:
                counts.problems.append(
                    f"{rewritten['id']}: {lesson['status']} version {lesson.get('version')} after {accepted} rewrites"
                )
        for key, n in Counter(c.key for c in log.calls).items():  # when each call of a record paid twice came
            if n > max(1, paid[key]):
                made = log.of(key)
                stops = ", ".join(f"+{at - made[0].at:.1f}s" for at in staller.stopped_at)
                calls = ", ".join(_call_text(c, made[0].at) for c in made)
                counts.notes.append(f"{key}: {n} calls ({calls}); SQS stopped at {stops}")
        statuses = statuses_text(traffic.statuses)
        counts.measure("requests", sum(traffic.statuses.values()))
        counts.measure("sent while SQS stopped", traffic.during_stalls)
        counts.measure("by status", statuses)
        counts.measure("slowest", traffic.slowest, " s")
        counts.measure("SQS stopped", stalled, " s")
        counts.notes.append(
            f"accepted: {len(traffic.courses)} courses, {len(traffic.opened)} opens, "
            f"{sum(traffic.rewrites.values())} rewrites, {len(traffic.questions)} questions; "
            f"by route: {dict(sorted(traffic.statuses.items()))}"
        )
        return counts


def _written(api: Api, path: str, timeout: float = 60) -> None:
    def status() -> str:
        return str(api.call("GET", path)[1]["status"])

    wait_until(status, lambda s: s == "GENERATED", timeout)


def statuses_text(statuses: Counter[tuple[str, int]]) -> str:
    """ "202 x31, 409 x4" from (route, status) counts."""
    by_status: Counter[int] = Counter()
    for (_, status), n in statuses.items():
        by_status[status] += n
    return ", ".join(f"{status} x{n}" for status, n in sorted(by_status.items()))


MODEL_KINDS = ("500", "429", "truncated_json", "invalid_json", "hang", "trickle")

SCENARIOS: dict[str, Scenario] = {
    **{f"model-{kind}": model_fault(kind) for kind in MODEL_KINDS},
    "duplicates": duplicates,
    "malformed": malformed,
    "redis-killed": redis_fault("killed"),
    "redis-frozen": redis_fault("frozen"),
    "redis-restarted": redis_fault("restarted"),
    "stranded": stranded,
    "worker-timeout": worker_timeout,
    "stack-killed": stack_killed,
    "model-failing-polled": model_failing_polled,
    "sqs-stalled": sqs_stalled,
    "trickle-past-deadline": trickle_past_deadline,
    "stream-ignored": stream_ignored,
}
