"""An opened lesson's time to ready behind 0, 1,000 and 10,000 queued background lessons (issue 13).

    .venv/bin/python bench/backlog.py [--quick] [--levels 0,1000,10000] [--opens 5] [--latency 0.5]
                                      [--paused-low]

Runs on loopback: the local stack (each function its own process, moto's SQS with the fair-queue
emulation, the MongoDB stand-in) and the fake model server answering each call after `--latency`
seconds (not streaming). Per level, a fresh stack:

- the backlog: courses cloned from one real outline straight into MongoDB (lessons PENDING at low
  priority, as `request_lessons` leaves them) and their jobs sent to the low queue in batches,
  spread over 50 owners (MessageGroupId), as prefetch would have sent them; then the low lane
  starts working on it, as in production (`--paused-low` leaves it paused, to tell the cost of
  a deep queue from the cost of the low lane's own work);
- a first open, counted apart: with the low lane busy it may need a new worker instance (a cold
  start, as Lambda has too); then `--opens` opens of other lessons of the reader's course, one
  after another: open = the first GET of a PENDING lesson; ready = the first GET answering
  200 GENERATED, polling every 50 ms so the polling does not dominate.

Printed per level: the median and spread of open -> ready, its ratio to the empty-queue
baseline of the same run, and where the time went (medians, seconds after the open): the job
sent (SentTimestamp), received by the high lane's poller, the invocation started, the model
called and answered, the lesson claimed and committed (seen in MongoDB), and the GET seeing it.
Bounded: every wait has a deadline; the full run takes about a minute (`--quick` half that), and
at most about 10 minutes when queueing the backlog is slow.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flowgen.messages import LessonJob
from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.stack import NO_USER_LIMITS, LocalStack, StackConfig

OWNERS = 50  # backlog owners (fair-queue tenants)
POLL_EVERY = 0.05
READY_TIMEOUT = 30.0
SEED_TIMEOUT = 240.0
PHASES = ("sent", "received", "invoked", "claimed", "model_start", "model_end", "committed", "ready")


class TimedFake(FakeOpenAI):
    """Notes when each lesson's call arrived and when its answer left (epoch seconds, by key)."""

    def __init__(self) -> None:
        super().__init__()
        self.started: dict[str, float] = {}
        self.answered: dict[str, float] = {}

    def respond(self, request: dict[str, Any]) -> Any:
        arrived = time.time()
        answer = super().respond(request)
        if answer.key:
            self.started.setdefault(answer.key, arrived)
            self.answered.setdefault(answer.key, time.time())
        return answer


@dataclass
class Trace:
    """Epoch seconds of each step of one opened lesson."""

    opened: float
    marks: dict[str, float] = field(default_factory=dict)

    def after_open(self, phase: str) -> float:
        return self.marks[phase] - self.opened if phase in self.marks else float("nan")


def _db() -> Any:
    """The stack's database, as the harness environment names it (LocalStack sets it)."""
    import pymongo

    return pymongo.MongoClient(os.environ["MONGO_URI"])[os.environ["MONGO_DB"]]


def _wait(predicate: Any, timeout: float, every: float = 0.05, what: str = "it") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f}s")
        time.sleep(every)


class HighLaneProbe:
    """Wraps the high lane's event source: when each lesson's message was sent and received,
    and when its invocation started (epoch seconds, by "courseId/lessonId")."""

    def __init__(self, stack: LocalStack) -> None:
        self.sent: dict[str, float] = {}
        self.received: dict[str, float] = {}
        self.invoked: dict[str, float] = {}
        runner = stack.runners["HighPriorityLessons"]
        receive, process = runner.receive, runner.process

        def timed_receive(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
            messages = receive(*args, **kwargs)
            now = time.time()
            for message in messages:
                key = self._key(message)
                self.received.setdefault(key, now)
                self.sent.setdefault(key, int(message["Attributes"]["SentTimestamp"]) / 1000)
            return messages

        def timed_process(messages: list[dict[str, Any]]) -> Any:
            now = time.time()
            for message in messages:
                self.invoked.setdefault(self._key(message), now)
            return process(messages)

        runner.receive = timed_receive  # type: ignore[method-assign]
        runner.process = timed_process  # type: ignore[method-assign]

    @staticmethod
    def _key(message: dict[str, Any]) -> str:
        body = json.loads(message["Body"])
        return f"{body['courseId']}/{body['lessonId']}"


def _config(fake: FakeOpenAI) -> StackConfig:
    return StackConfig(
        openai_api_key="bench",
        openai_base_url=fake.base_url,
        # one reader polls every 50 ms, and the backlog's owners are many: no per-user limit applies
        parameter_overrides={**NO_USER_LIMITS, "InitialLessons": "0", "LessonLookahead": "0"},
        extra_env={"STREAM_LESSONS": "false"},
    )


def _ready_course(stack: LocalStack, headers: dict[str, str], prompt: str) -> dict[str, Any]:
    body = json.dumps({"prompt": prompt, "size": "long"})
    course_id = stack.request("POST", "/courses", headers=headers, body=body).json()["id"]
    path = f"/courses/{course_id}"
    _wait(lambda: stack.request("GET", path, headers=headers).json()["status"] == "READY", 60, 0.1, "an outline")
    return stack.request("GET", path, headers=headers).json()  # type: ignore[no-any-return]


def seed_backlog(stack: LocalStack, template_course_id: str, lessons: int) -> None:
    """`lessons` PENDING low-priority lessons in MongoDB (courses cloned from the template) and one
    job each on the low queue, spread over OWNERS owners."""
    db = _db()
    course = db.courses.find_one({"_id": template_course_id})
    template = list(db.lessons.find({"courseId": template_course_id}, {"content": 0}))
    assert course is not None and template
    now = datetime.now(UTC)
    jobs: list[LessonJob] = []
    course_docs, lesson_docs = [], []
    for n in range(-(-lessons // len(template))):
        course_id, owner = uuid.uuid4().hex, f"backlog-{n % OWNERS:02d}"
        course_docs.append({**course, "_id": course_id, "ownerId": owner, "createdAt": now, "updatedAt": now})
        for lesson in template:
            if len(jobs) == lessons:
                break
            doc = {**lesson, "_id": f"{course_id}/{lesson['id']}", "courseId": course_id, "ownerId": owner}
            lesson_docs.append({**doc, "status": "PENDING", "priority": "low", "updatedAt": now, "attempts": 0})
            jobs.append(LessonJob(course_id=course_id, lesson_id=lesson["id"], owner_id=owner))
    db.courses.insert_many(course_docs, ordered=False)
    for start in range(0, len(lesson_docs), 500):
        db.lessons.insert_many(lesson_docs[start : start + 500], ordered=False)
    url = stack.queues["LessonLowQueue"].url
    # one owner's jobs go out together, as prefetch sends them; owners interleave across batches
    jobs.sort(key=lambda job: job.owner_id)
    batches = [jobs[i : i + 10] for i in range(0, len(jobs), 10)]
    batches = [batches[i] for i in sorted(range(len(batches)), key=lambda i: (i % 4, i))]

    deadline = time.monotonic() + SEED_TIMEOUT

    def send(batch: list[LessonJob]) -> None:
        if time.monotonic() > deadline:  # a local SQS whose sends grow with the depth (before issue 13)
            raise TimeoutError(f"queueing the backlog took more than {SEED_TIMEOUT:.0f}s")
        entries = [
            {"Id": str(i), "MessageBody": job.model_dump_json(by_alias=True), "MessageGroupId": job.owner_id}
            for i, job in enumerate(batch)
        ]
        assert not stack.sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(send, batches))


class Watcher(threading.Thread):
    """Reads one lesson's record every 20 ms: when it was claimed and when it was committed."""

    def __init__(self, db: Any, doc_id: str, trace: Trace) -> None:
        super().__init__(daemon=True)
        self.db, self.doc_id, self.trace = db, doc_id, trace
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            doc = self.db.lessons.find_one({"_id": self.doc_id}, {"status": 1})
            now = time.time()
            status = (doc or {}).get("status")
            if status in ("GENERATING", "GENERATED"):
                self.trace.marks.setdefault("claimed", now)
            if status == "GENERATED":
                self.trace.marks["committed"] = now
                return
            self.stop.wait(0.02)


def open_until_ready(stack: LocalStack, headers: dict[str, str], course: dict[str, Any], lesson_id: str) -> Trace:
    db = _db()
    path = f"/courses/{course['id']}/lessons/{lesson_id}"
    trace = Trace(opened=time.time())
    watcher = Watcher(db, f"{course['id']}/{lesson_id}", trace)
    watcher.start()
    try:
        first = stack.request("GET", path, headers=headers)
        assert first.status == 202, f"the opened lesson was not PENDING: {first.status} {first.body[:200]}"
        while time.time() - trace.opened < READY_TIMEOUT:
            time.sleep(POLL_EVERY)
            response = stack.request("GET", path, headers=headers)
            if response.status == 200:
                trace.marks["ready"] = time.time()
                break
        else:
            raise TimeoutError(f"{path} not ready after {READY_TIMEOUT}s")
    finally:
        watcher.stop.set()
        watcher.join(2)
    return trace


@dataclass
class Level:
    backlog: int
    traces: list[Trace]  # the measured opens
    first: Trace  # the first open: it may need a new worker instance (a cold start)
    info: dict[str, Any]

    def ready(self) -> list[float]:
        return [t.after_open("ready") for t in self.traces]


def _mark_high_lane(
    trace: Trace, probe: HighLaneProbe, fake: TimedFake, course: dict[str, Any], lesson_id: str
) -> None:
    key = f"{course['id']}/{lesson_id}"
    for name, source in (("sent", probe.sent), ("received", probe.received), ("invoked", probe.invoked)):
        if key in source:
            trace.marks[name] = source[key]
    title = next(x["title"] for m in course["modules"] for x in m["lessons"] if x["id"] == lesson_id)
    fake_key = f"{course['title']} :: {title}"
    if fake_key in fake.started:
        trace.marks["model_start"] = fake.started[fake_key]
        trace.marks["model_end"] = fake.answered[fake_key]


def run_level(backlog: int, *, opens: int, latency: float, paused_low: bool) -> Level:
    fake = TimedFake()
    fake.start()
    stack = LocalStack(_config(fake)).start(pollers=False)
    try:
        stack.start_pollers(paused=("LowPriorityLessons",))
        probe = HighLaneProbe(stack)
        headers = {"authorization": f"Bearer {stack.token('reader')}", "content-type": "application/json"}
        target = _ready_course(stack, headers, "The course being read")
        seed_seconds = 0.0
        if backlog:
            other = {"authorization": f"Bearer {stack.token('backlog-template')}", "content-type": "application/json"}
            template = _ready_course(stack, other, "A course many people queued")
            seeded = time.monotonic()
            seed_backlog(stack, template["id"], backlog)
            seed_seconds = time.monotonic() - seeded
            _wait(lambda: stack.queue_depth("LessonLowQueue") >= backlog, 60, 0.5, "the backlog to be queued")
        fake.faults.latency_seconds = latency  # from here on the model is as slow as a hosted one
        if not paused_low:
            stack.runners["LowPriorityLessons"].start()
        time.sleep(2.0)  # the low lane is busy with the backlog
        pool = stack.functions["LessonWorkerFunction"]
        lessons = [lesson["id"] for module in reversed(target["modules"]) for lesson in reversed(module["lessons"])]
        cold_before = pool.stats.cold_starts
        first = open_until_ready(stack, headers, target, lessons[0])
        first_cold = pool.stats.cold_starts - cold_before
        traces = []
        for lesson_id in lessons[1 : opens + 1]:
            traces.append(open_until_ready(stack, headers, target, lesson_id))
            _mark_high_lane(traces[-1], probe, fake, target, lesson_id)
            time.sleep(0.2)
        info = {
            "seed_seconds": round(seed_seconds, 1),
            "low_queue_after": stack.queue_depth("LessonLowQueue"),
            "low_lessons_written": fake.stats.calls["GeneratedLesson"] - opens - 1,
            "first_open_cold_starts": first_cold,
            "cold_starts_after_it": pool.stats.cold_starts - cold_before - first_cold,
        }
        return Level(backlog, traces, first, info)
    finally:
        stack.stop()
        fake.stop()


def _cell(values: list[float]) -> str:
    values = [v for v in values if v == v]
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="levels 0 and 1000, 3 opens each")
    parser.add_argument("--levels", default=None, help="backlog sizes, comma-separated (default 0,1000,10000)")
    parser.add_argument("--opens", type=int, default=None, help="measured opens per level (default 5)")
    parser.add_argument("--latency", type=float, default=0.5, help="the fake model's seconds per call")
    parser.add_argument("--paused-low", action="store_true", help="leave the low lane paused (queue depth alone)")
    args = parser.parse_args(argv)
    levels = [int(x) for x in (args.levels or ("0,1000" if args.quick else "0,1000,10000")).split(",")]
    opens = args.opens or (3 if args.quick else 5)
    results: dict[int, Level] = {}
    started = time.monotonic()
    for level in levels:
        results[level] = run_level(level, opens=opens, latency=args.latency, paused_low=args.paused_low)
        times = ", ".join(f"{t:.2f}" for t in results[level].ready())
        print(f"backlog {level:>6}: ready after {times} s; {json.dumps(results[level].info)}", flush=True)
    lane = "paused" if args.paused_low else "working on the backlog"
    print(
        f"\nopened lesson: open -> ready (GET 200), fake model {args.latency} s per call, not streaming, "
        f"low lane {lane}; {opens} opens per level, median (min-max), {time.monotonic() - started:.0f} s in all\n"
    )
    base = statistics.median(results[min(levels)].ready())
    print(f"| {'queued low lessons':>18} | {'ready (s)':>18} | {'ratio':>6} | {'first open (s)':>14} |")
    print(f"|{'-' * 20}|{'-' * 20}|{'-' * 8}|{'-' * 16}|")
    for level in levels:
        result = results[level]
        first = f"{result.first.after_open('ready'):.2f}" + (" (cold)" if result.info["first_open_cold_starts"] else "")
        ratio = statistics.median(result.ready()) / base
        print(f"| {level:>18,} | {_cell(result.ready()):>18} | {ratio:>5.2f}x | {first:>14} |")
    print("\nwhere the time went (median seconds after the open):\n")
    print(f"| {'step':>12} | " + " | ".join(f"{level:>10,}" for level in levels) + " |")
    print(f"|{'-' * 14}|" + "|".join("-" * 12 for _ in levels) + "|")
    for phase in PHASES:
        cells = []
        for level in levels:
            values = [v for v in (t.after_open(phase) for t in results[level].traces) if v == v]
            cells.append(f"{statistics.median(values):>10.3f}" if values else f"{'-':>10}")
        print(f"| {phase:>12} | " + " | ".join(cells) + " |")
    worst = max(statistics.median(results[level].ready()) / base for level in levels)
    print(f"\nworst ratio {worst:.2f}x (target <= 1.10x)")
    print("first open: it may need a new worker instance (cold) while the low lane holds the warm ones")


if __name__ == "__main__":
    main()
