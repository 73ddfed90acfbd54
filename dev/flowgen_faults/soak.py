"""The soak (issue 28): `flowgen local` left running under steady traffic with model faults, then
killed with `kill -9` and started again on its data.

While it runs, users create courses, open lessons, poll them and record progress at a steady
rate against the stack's HTTP API, every request bounded; the fake model fails a share of
calls (500, 429, half a JSON object) and takes its time. Every 10 s the stack's process tree is
measured: resident memory and open files, summed over the tree. A stall is a request with no
answer within 30 s (three times the api's own timeout), or a minute in which no requested
lesson became terminal while some were waiting; answers slower than the api's timeout are
listed apart (on a busy 2-core machine a cold start can take that long).

Then traffic stops, every requested lesson must become terminal (GENERATED, or FAILED with its
reason), the stack is killed with SIGKILL, started again on the same data directory, and every
acknowledged write must be there: each course answered 202, each progress PUT answered 200,
each lesson seen GENERATED still GENERATED.

    python -m flowgen_faults.soak --minutes 20        (make soak)
    python -m flowgen_faults.soak --minutes 1         (the bounded part, tests/faults/test_soak.py)
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.services import free_port
from flowgen_local.template import with_parameter_bounds

API_TIMEOUT = 10.0  # the api function's Timeout: an answer slower than this is reported as slow
STALL_SECONDS = 30.0  # a request with no answer by then (the client gives up) is a stall
TERMINAL = {"GENERATED", "FAILED"}


@dataclass
class Sample:
    seconds: float
    rss_mb: float
    open_files: int
    processes: int


@dataclass
class SoakReport:
    minutes: float
    requests: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    courses: int = 0
    lessons_requested: int = 0
    lessons_generated: int = 0
    lessons_failed: int = 0
    not_terminal: int = 0
    stalls: int = 0
    slowest_request_seconds: float = 0.0
    slow: list[str] = field(default_factory=list)  # answered, but after the api's own timeout (a busy machine)
    samples: list[Sample] = field(default_factory=list)
    acknowledged_writes: int = 0
    lost_acknowledged_writes: int = 0
    lost: list[str] = field(default_factory=list)
    model_calls: int = 0

    def growth_after_warmup(self) -> tuple[float, float]:
        """(memory, open files) at the end over their level a quarter into the run: instances
        start as load needs them, so growth is judged once they have."""
        warm = next(s for s in self.samples if s.seconds >= self.minutes * 60 / 4)
        last = self.samples[-1]
        return last.rss_mb / max(warm.rss_mb, 1.0), last.open_files / max(warm.open_files, 1)

    @property
    def ok(self) -> bool:
        server_errors = sum(n for status, n in self.by_status.items() if status.startswith("5"))
        memory, files = self.growth_after_warmup()
        bounded = self.minutes < 5 or (memory <= 1.3 and files <= 1.3)  # a short run has not warmed up
        clean = self.stalls == 0 and self.lost_acknowledged_writes == 0 and self.not_terminal == 0
        return clean and bounded and not server_errors

    def render(self) -> str:
        first, last = self.samples[0], self.samples[-1]
        peak = max(s.rss_mb for s in self.samples)
        files = max(s.open_files for s in self.samples)
        return "\n".join(
            [
                f"soak {self.minutes:g} min: {'ok' if self.ok else 'FAIL'}",
                f"  requests {self.requests} ({', '.join(f'{k}: {v}' for k, v in sorted(self.by_status.items()))}),"
                f" slowest {self.slowest_request_seconds:.2f} s, over 10 s {len(self.slow)}, stalls {self.stalls}",
                f"  courses {self.courses}, lessons requested {self.lessons_requested}: generated"
                f" {self.lessons_generated}, failed {self.lessons_failed}, not terminal {self.not_terminal};"
                f" model calls {self.model_calls}",
                f"  memory (PSS of the stack's process tree) {first.rss_mb:.0f} MB at start,"
                f" {last.rss_mb:.0f} MB at the end,"
                f" peak {peak:.0f} MB; open files {first.open_files} -> {last.open_files} (peak {files});"
                f" processes {first.processes} -> {last.processes}; after warm-up x{self.growth_after_warmup()[0]:.2f}"
                f" memory, x{self.growth_after_warmup()[1]:.2f} open files",
                f"  after kill -9 and a restart: acknowledged writes {self.acknowledged_writes},"
                f" lost {self.lost_acknowledged_writes}",
            ]
        )


def _tree(pid: int) -> list[int]:
    """pid and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie (a container's init may be slow to reap, or never reap)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def measure(pid: int, started: float) -> Sample:
    """Memory as PSS (each page shared by forked instances counted once, in shares), so the sum
    over the tree is what the tree holds."""
    rss_kb, files, alive = 0, 0, 0
    for member in _tree(pid):
        try:
            rollup = Path(f"/proc/{member}/smaps_rollup").read_text()
            rss_kb += int(next(line.split()[1] for line in rollup.splitlines() if line.startswith("Pss:")))
            files += len(os.listdir(f"/proc/{member}/fd"))
            alive += 1
        except (OSError, StopIteration):
            continue
    return Sample(time.monotonic() - started, rss_kb / 1024, files, alive)


class LocalStackProcess:
    """`flowgen local` on a state directory of its own, its output drained (never a full pipe)."""

    def __init__(self, state_dir: Path, port: int, fake_url: str) -> None:
        env = {**os.environ, "FLOWGEN_STATE_DIR": str(state_dir), "OPENAI_API_KEY": "soak", "OPENAI_BASE_URL": fake_url}
        for key in ("MONGO_URI", "REDIS_URL"):
            env.pop(key, None)
        template = with_parameter_bounds({"WorkerTimeoutSeconds": {"MinValue": 5}})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flowgen_ops.cli", "local", "--port", str(port), "--quiet", "--template",
             str(template), "--schedule-every", "5", "--visibility-timeout", "60", "--parameter-overrides",
             "WorkerTimeoutSeconds=10", "UserRequestsPerMinute=0", "UserCoursesPerHour=0", "UserCoursesPerDay=0",
             "UserDailyTokenBudget=0"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        deadline = time.monotonic() + 120
        said: collections.deque[str] = collections.deque(maxlen=30)  # what it said, for the error
        for line in self.process.stdout:
            said.append(line)
            if "Ctrl-C stops everything" in line:
                threading.Thread(target=self._drain, daemon=True).start()
                return
            if time.monotonic() > deadline:
                break
        self.kill()
        raise RuntimeError("flowgen local did not come up; it said:\n" + "".join(said))

    def _drain(self) -> None:
        for _ in self.process.stdout or ():
            pass

    def crash(self) -> None:
        """SIGKILL to `flowgen local` alone: its children die with it (PR_SET_PDEATHSIG), though not
        at once on a busy machine; the restart waits for the last of them, as a person would see
        the old stack gone before starting a new one on its data."""
        members = _tree(self.process.pid)
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(_running(m) for m in members[1:]):
            time.sleep(0.2)

    def kill(self) -> None:
        for member in reversed(_tree(self.process.pid)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(member, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Ledger:
    """What the stack acknowledged, to look for after the crash."""

    courses: dict[str, str] = field(default_factory=dict)  # course id -> owner
    progress: set[tuple[str, str, str]] = field(default_factory=set)  # (owner, course, lesson)
    generated: set[tuple[str, str, str]] = field(default_factory=set)
    requested: set[tuple[str, str, str]] = field(default_factory=set)
    failed: set[tuple[str, str, str]] = field(default_factory=set)  # FAILED: terminal, not waiting
    lock: threading.Lock = field(default_factory=threading.Lock)


class Traffic:
    def __init__(self, base: str, report: SoakReport, ledger: Ledger, rng: random.Random) -> None:
        self.base, self.report, self.ledger, self.rng = base, report, ledger, rng
        self.lock = threading.Lock()
        self.last_terminal = time.monotonic()

    def client(self, user: str) -> httpx.Client:
        token = httpx.post(f"{self.base}/_local/token", json={"sub": user}, timeout=10).json()["token"]
        return httpx.Client(base_url=self.base, headers={"authorization": f"Bearer {token}"}, timeout=STALL_SECONDS)

    def call(self, api: httpx.Client, method: str, path: str, body: Any = None) -> httpx.Response | None:
        started = time.monotonic()
        try:
            answer = api.request(method, path, json=body)
            status = str(answer.status_code)
        except httpx.HTTPError as failed:
            answer, status = None, type(failed).__name__
        took = time.monotonic() - started
        with self.lock:
            self.report.requests += 1
            self.report.by_status[status] = self.report.by_status.get(status, 0) + 1
            self.report.slowest_request_seconds = max(self.report.slowest_request_seconds, took)
            if answer is None:
                self.report.stalls += 1  # no answer in STALL_SECONDS, or the connection failed
            if took > API_TIMEOUT:
                self.report.slow.append(f"{method} {path} {status} {took:.1f}s")
        return answer

    def learner(self, user: str, stop: threading.Event, pace: float) -> None:
        api = self.client(user)
        while not stop.is_set():
            created = self.call(api, "POST", "/courses", {"prompt": f"Soak topic {self.rng.randrange(10**6)}",
                                                          "size": "short"})  # fmt: skip
            if created is not None and created.status_code == 202:
                course_id = created.json()["id"]
                with self.ledger.lock:
                    self.ledger.courses[course_id] = user
                self.read(api, user, course_id, stop, pace)
            stop.wait(pace)

    def read(self, api: httpx.Client, user: str, course_id: str, stop: threading.Event, pace: float) -> None:
        deadline = time.monotonic() + 60
        course: dict[str, Any] = {}
        while not stop.is_set() and time.monotonic() < deadline:
            answer = self.call(api, "GET", f"/courses/{course_id}")
            course = answer.json() if answer is not None and answer.status_code == 200 else {}
            if course.get("status") in ("READY", "FAILED"):
                break
            stop.wait(1.0)
        lessons = [lesson["id"] for module in course.get("modules", []) for lesson in module["lessons"]]
        for lesson_id in self.rng.sample(lessons, min(2, len(lessons))):
            key = (user, course_id, lesson_id)
            with self.ledger.lock:
                self.ledger.requested.add(key)
            path = f"/courses/{course_id}/lessons/{lesson_id}"
            for _ in range(int(30 / max(pace, 0.5))):
                if stop.is_set():
                    return
                opened = self.call(api, "GET", path)
                status = (
                    opened.json().get("status") if opened is not None and opened.status_code in (200, 202) else None
                )
                if status in TERMINAL:
                    with self.ledger.lock:
                        (self.ledger.generated if status == "GENERATED" else self.ledger.failed).add(key)
                    self.last_terminal = time.monotonic()
                    break
                stop.wait(pace)
            recorded = self.call(api, "PUT", f"{path}/progress", {"opened": True, "completed": True})
            if recorded is not None and recorded.status_code == 200:
                with self.ledger.lock:
                    self.ledger.progress.add(key)


def _settle(ledger: Ledger, traffic: Traffic, seconds: float) -> dict[tuple[str, str, str], str]:
    """Until every requested lesson is terminal (each owner polls its own), or `seconds`."""
    clients = {user: traffic.client(user) for user in {key[0] for key in ledger.requested}}
    deadline = time.monotonic() + seconds
    states: dict[tuple[str, str, str], str] = {}
    while True:
        for key in ledger.requested:
            if states.get(key) in TERMINAL:
                continue
            user, course_id, lesson_id = key
            answer = traffic.call(clients[user], "GET", f"/courses/{course_id}/lessons/{lesson_id}")
            if answer is not None and answer.status_code in (200, 202):
                states[key] = answer.json().get("status", "?")
        if all(states.get(key) in TERMINAL for key in ledger.requested) or time.monotonic() > deadline:
            return states
        time.sleep(1.0)


def _check_after_restart(traffic: Traffic, ledger: Ledger, report: SoakReport) -> None:
    clients = {user: traffic.client(user) for user in set(ledger.courses.values())}
    report.acknowledged_writes = len(ledger.courses) + len(ledger.progress) + len(ledger.generated)
    for course_id, user in ledger.courses.items():
        answer = traffic.call(clients[user], "GET", f"/courses/{course_id}")
        if answer is None or answer.status_code != 200:
            report.lost.append(f"course {course_id}")
    progress_by_course: dict[tuple[str, str], set[str]] = {}
    for user, course_id, lesson_id in ledger.progress:
        progress_by_course.setdefault((user, course_id), set()).add(lesson_id)
    for (user, course_id), lesson_ids in progress_by_course.items():
        answer = traffic.call(clients[user], "GET", f"/courses/{course_id}/progress")
        kept = (
            {item["lessonId"] for item in answer.json().get("lessons", [])}
            if answer is not None and answer.status_code == 200
            else set()
        )
        report.lost += [f"progress {course_id}/{lesson}" for lesson in lesson_ids - kept]
    for user, course_id, lesson_id in ledger.generated:
        answer = traffic.call(clients[user], "GET", f"/courses/{course_id}/lessons/{lesson_id}")
        if answer is None or answer.json().get("status") != "GENERATED":
            report.lost.append(f"generated lesson {course_id}/{lesson_id}")
    report.lost_acknowledged_writes = len(report.lost)


def run_soak(
    minutes: float, *, users: int = 4, pace: float = 1.0, fault_rate: float = 0.1, seed: int = 7
) -> SoakReport:
    report = SoakReport(minutes=minutes)
    ledger = Ledger()
    fake = FakeOpenAI().start()
    fake.faults.latency_seconds = 0.3
    fake.faults.rate, fake.faults.rate_kinds, fake.faults.seed = fault_rate, ["500", "429", "truncated_json"], seed
    state_dir = Path(tempfile.mkdtemp(prefix="flowgen-soak-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    stack = LocalStackProcess(state_dir, port, fake.base_url)
    try:
        started = time.monotonic()
        report.samples.append(measure(stack.process.pid, started))
        traffic = Traffic(base, report, ledger, random.Random(seed))
        stop = threading.Event()
        learners = [threading.Thread(target=traffic.learner, args=(f"soak-{n}", stop, pace), daemon=True)
                    for n in range(users)]  # fmt: skip
        for learner in learners:
            learner.start()
        end = started + minutes * 60
        while time.monotonic() < end:
            time.sleep(min(10.0, max(0.0, end - time.monotonic())))
            report.samples.append(measure(stack.process.pid, started))
            with ledger.lock:  # a FAILED lesson is terminal: counting it as waiting made every later minute a stall
                waiting = bool(ledger.requested - ledger.generated - ledger.failed)
            if waiting and time.monotonic() - traffic.last_terminal > 60:
                report.stalls += 1  # a minute in which nothing waiting got written or failed
                traffic.last_terminal = time.monotonic()
        stop.set()
        for learner in learners:
            learner.join(timeout=60)
        states = _settle(ledger, traffic, seconds=120)
        report.samples.append(measure(stack.process.pid, started))
        report.courses = len(ledger.courses)
        report.lessons_requested = len(ledger.requested)
        report.lessons_generated = sum(1 for s in states.values() if s == "GENERATED")
        report.lessons_failed = sum(1 for s in states.values() if s == "FAILED")
        report.not_terminal = report.lessons_requested - report.lessons_generated - report.lessons_failed
        ledger.generated |= {key for key, s in states.items() if s == "GENERATED"}
        report.model_calls = sum(fake.stats.calls.values())
        stack.crash()
        stack = LocalStackProcess(state_dir, port, fake.base_url)
        _check_after_restart(traffic, ledger, report)
    finally:
        stack.stop()
        fake.stop()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flowgen_faults.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--json", default=None, help="also write the report here")
    args = parser.parse_args(argv)
    report = run_soak(args.minutes, users=args.users, fault_rate=args.fault_rate)
    print(report.render())
    if args.json:
        Path(args.json).write_text(json.dumps({**asdict(report), "ok": report.ok}, indent=2))
    if report.lost:
        print("lost:", *report.lost[:20], sep="\n  ")
    if report.slow:
        print("slow:", *report.slow[:20], sep="\n  ")
    print("median rss MB", statistics.median(s.rss_mb for s in report.samples))
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
