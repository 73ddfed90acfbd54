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
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from flowgen_faults.harness import (
    PERIOD,
    STUCK_BOUND,
    STUCK_BOUND_KILLED,
    TERMINAL_COURSE,
    TERMINAL_LESSON,
    VISIBILITY,
    WORKER_TIMEOUT,
    Api,
    Counts,
    HttpApi,
    Services,
    Size,
    StackApi,
    Watch,
    create_courses,
    finish,
    lessons_of,
    open_lessons,
    ready,
    spread,
    start_stack,
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

    def finish(self, settle: float = SETTLE) -> Counts:
        fake = self.services.fake
        finish(
            self.counts, self.watch, self.api, fake.stats.as_dict, lambda: fake.set_faults(Faults()),
            owner=self.owner, settle_timeout=settle,
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
}
