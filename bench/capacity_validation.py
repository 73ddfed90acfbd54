"""Checks the capacity planner against the running local stack: the same small scenario run
(a) through the planner's simulation and (b) over HTTP against `make_stack(running=True)` with
the fake OpenAI server at a fixed latency, then p50/p95 time to an opened lesson (target:
within 20 %) and model calls (within 5 %) side by side.

    .venv/bin/python -m bench.capacity_validation [--users 20] [--minutes 3] [--latency 1.0]

(run from the repository root with `-m`: it starts the stack with the tests' own helper,
tests/conftest.py `make_stack`). Bounded: the load lasts `--minutes`, then at most 60 s for the
last jobs to finish. Loopback only. Not part of the test suite.

The scenario: user u starts at u * spread / users, creates a course (POST /courses), polls it
until READY, opens its lessons in order, polling each until GENERATED, and reads each one for
`--reading` seconds. The planner is given the same start times, the stack's own template
overrides, visibility and model timeout, and a platform profile for the local stack chosen
before the comparison (not fitted to it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from flowgen_capacity.assumptions import Lognormal, ModelProfile, Platform, UserModel
from flowgen_capacity.config import read_system
from flowgen_capacity.report import percentile
from flowgen_capacity.scenario import Scenario
from flowgen_capacity.simulation import simulate
from flowgen_local.fake_openai import FakeOpenAI

# The local stack's overheads, guessed before comparing: the HTTP front, a function instance's
# first start, the poller's receive and the worker's MongoDB and Redis round trips.
LOCAL_PLATFORM = Platform(
    pickup_seconds=0.1,
    cold_start_seconds=1.0,
    record_overhead_seconds=0.15,
    skip_seconds=0.03,
)


@dataclass
class Measured:
    lesson_waits: list[float] = field(default_factory=list)
    outline_waits: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


# ---- the local stack, started the way the tests start it ---------------------------------


class Services:
    """The session-wide stand-ins of tests/conftest.py, whichever generation of it is checked out."""

    def __init__(self) -> None:
        import tests.conftest as conftest

        self.conftest = conftest
        self.stoppers: list[Any] = []
        self.fake = FakeOpenAI().start()
        self.stoppers.append(self.fake.stop)
        redis_server = conftest.RedisServer()
        self.stoppers.append(redis_server.stop)
        self.redis_url = redis_server.url
        if hasattr(conftest, "AwsServer"):
            aws = conftest.AwsServer()
            self.stoppers.append(aws.stop)
            self.endpoint: Any = aws
        else:
            sqs = conftest.SqsServer()
            self.stoppers.append(sqs.stop)
            self.endpoint = sqs.url
        db = f"flowgen_capacity_{uuid.uuid4().hex[:8]}"
        if hasattr(conftest, "MongoStandIn"):
            mongo = conftest.MongoStandIn()
            mongo.start()
            self.stoppers.append(mongo.stop)
            self.mongo = (str(mongo.uri), db)
        else:
            self.mongo = (f"mongomock://{db}", db)
        if hasattr(conftest, "LambdaHost") and hasattr(conftest, "_shared"):
            host = conftest.LambdaHost()
            conftest._shared["host"] = host
            self.stoppers.append(host.stop)

    def stack(self, parameters: dict[str, str]) -> Any:
        return self.conftest.make_stack(self.redis_url, self.endpoint, self.mongo, self.fake, parameters, running=True)

    def stop(self) -> None:
        for stop in reversed(self.stoppers):
            try:
                stop()
            except Exception as exc:  # keep stopping the rest
                print(f"stopping: {exc}")


# ---- the load driver (HTTP only) ----------------------------------------------------------


STATUSES: Counter[int] = Counter()  # every response's status code, for the record
_STATUS_LOCK = threading.Lock()


ROUND_TRIPS: list[float] = []  # seconds per request, as the driver saw them


def _count(response: httpx.Response) -> None:
    with _STATUS_LOCK:
        STATUSES[response.status_code] += 1
        ROUND_TRIPS.append(response.elapsed.total_seconds())


def _pause(response: httpx.Response, poll: float) -> None:
    """The poll interval, or longer when the API says so (a 429 or 503 with Retry-After)."""
    wait = poll
    if response.status_code in (429, 503):
        try:
            wait = max(poll, float(response.headers.get("retry-after", poll)))
        except ValueError:
            wait = max(poll, 1.0)
    time.sleep(wait)


def _create(http: httpx.Client, prompt: str, poll: float) -> tuple[dict[str, Any], float]:
    """POST a course and poll it until its outline is there: (the course, seconds it took)."""
    asked = time.monotonic()
    created = http.post("/courses", content=json.dumps({"prompt": prompt}))
    created.raise_for_status()
    course_id = created.json()["id"]
    while True:
        got = http.get(f"/courses/{course_id}")
        _count(got)
        course: dict[str, Any] = got.json() if got.status_code == 200 else {}
        if course.get("status") in ("READY", "FAILED", "REFUSED"):
            return course, time.monotonic() - asked
        _pause(got, poll)


def _open(http: httpx.Client, course_id: str, lesson_id: str, poll: float) -> float:
    """GET a lesson and poll it until generated: the seconds it took."""
    opened = time.monotonic()
    while True:
        got = http.get(f"/courses/{course_id}/lessons/{lesson_id}")
        _count(got)
        if got.status_code == 200 and got.json().get("status") in ("GENERATED", "FAILED"):
            return time.monotonic() - opened
        _pause(got, poll)


def _lesson_ids(course: dict[str, Any]) -> list[str]:
    return [lesson["id"] for module in course.get("modules", []) for lesson in module["lessons"]]


def _user(api: str, token: str, start_at: float, args: argparse.Namespace, out: Measured, index: int) -> None:
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    delay = start_at - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    try:
        with httpx.Client(base_url=api, headers=headers, timeout=15) as http:
            course, took = _create(http, f"Capacity validation topic {index}", args.poll)
            with out.lock:
                out.outline_waits.append(took)
            for lesson_id in _lesson_ids(course)[: args.lessons]:
                took = _open(http, course["id"], lesson_id, args.poll)
                with out.lock:
                    out.lesson_waits.append(took)
                time.sleep(args.reading)
    except Exception as exc:
        with out.lock:
            out.errors.append(f"user {index}: {type(exc).__name__}: {exc}")


def _settle(fake: FakeOpenAI, quiet: float, limit: float) -> None:
    """Waits until the fake model has had no call for `quiet` seconds (at most `limit`)."""
    until = time.monotonic() + limit
    calls = -1
    while time.monotonic() < until and fake.stats.total_calls != calls:
        calls = fake.stats.total_calls
        time.sleep(quiet)


def calibrate(stack: Any, fake: FakeOpenAI, latency: float) -> dict[str, float]:
    """The local stack's own overheads, measured on a quiet stack before the scenario: an outline
    and an opened lesson (the last one, never prefetched) polled every 50 ms; the quicker of the
    last two of three rounds, so instances are warm. Feeds the planner's platform profile, not
    the comparison."""
    headers = {"authorization": f"Bearer {stack.token('cap-calibration')}", "content-type": "application/json"}
    outlines, lessons = [], []
    with httpx.Client(base_url=stack.api_url, headers=headers, timeout=15) as http:
        for round_ in range(3):
            course, took = _create(http, f"Capacity calibration {round_}", 0.05)
            outlines.append(took)
            _settle(fake, 1.0, 20)  # its prefetched lessons done: the lanes are quiet again
            lessons.append(_open(http, course["id"], _lesson_ids(course)[-1], 0.05))
    _settle(fake, 1.0, 20)
    # the last two rounds (instances warm), the quicker of them: a stall of a loaded machine is not the stack's
    return {
        "outline_overhead": max(0.0, min(outlines[1:]) - latency),
        "lesson_overhead": max(0.0, min(lessons[1:]) - latency),
    }


def _starts(args: argparse.Namespace) -> list[float]:
    spread = args.spread if args.spread is not None else args.minutes * 60 / 3
    return [u * spread / args.users for u in range(args.users)]


def _cold_starts(stack: Any) -> dict[str, tuple[int, float]]:
    """Per function: the local stack's cold starts and their mean init time (s), if it counts them."""
    found: dict[str, tuple[int, float]] = {}
    for name, pool in (getattr(stack, "functions", None) or {}).items():
        stats = getattr(pool, "stats", None)
        init = list(getattr(stats, "init_ms", []) or [])
        if stats is not None and init:
            found[name] = (int(getattr(stats, "cold_starts", len(init))), statistics.fmean(init) / 1000)
    return found


def run_stack(args: argparse.Namespace) -> tuple[Measured, int, dict[str, Any]]:
    services = Services()
    stack = None
    try:
        services.fake.faults.latency_seconds = args.latency
        stack = services.stack(dict(args.set))
        config = stack.config
        facts = {
            "parameters": dict(getattr(config, "parameter_overrides", {}) or {}),
            "visibility": float(getattr(config, "visibility_timeout", 0) or 0),
            "model_timeout": float((getattr(config, "extra_env", {}) or {}).get("MODEL_TIMEOUT_SECONDS", 60)),
        }
        facts["calibration"] = calibrate(stack, services.fake, args.latency)
        calls_before = services.fake.stats.total_calls
        out = Measured()
        began = time.monotonic()
        threads = [
            threading.Thread(
                target=_user, args=(stack.api_url, stack.token(f"cap-{u}"), began + s, args, out, u), daemon=True
            )
            for u, s in enumerate(_starts(args))
        ]
        for thread in threads:
            thread.start()
        deadline = began + args.minutes * 60 + 60
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        _settle(services.fake, 5.0, max(5.0, deadline - time.monotonic()))  # prefetches still queued finish
        facts["cold_starts"] = _cold_starts(stack)
        stats = services.fake.stats
        if stats.total_calls:  # the fake model's own token counts per call (a fact of the model, like its latency)
            facts["tokens_per_call"] = (
                stats.prompt_tokens / stats.total_calls,
                stats.completion_tokens / stats.total_calls,
            )
        return out, services.fake.stats.total_calls - calls_before, facts
    finally:
        if stack is not None:
            stack.stop()
        services.stop()


# ---- the planner on the same scenario --------------------------------------------------------


def run_planner(args: argparse.Namespace, facts: dict[str, Any]) -> tuple[list[float], list[float], int]:
    system = read_system(None, {**(facts.get("parameters") or {}), **dict(args.set)})
    visibility = facts.get("visibility") or 0.0
    for which in ("course", "high", "low"):
        if visibility:
            system = system.with_lane(which, visibility_timeout=visibility)
    system = replace(system, model_timeout=facts.get("model_timeout", system.model_timeout))
    fixed = Lognormal(args.latency, args.latency)
    tokens_in, tokens_out = (int(t) for t in facts.get("tokens_per_call") or (600, 1900))
    platform = LOCAL_PLATFORM
    workers = [
        v[1] for k, v in (facts.get("cold_starts") or {}).items() if k in (system.high.function, system.course.function)
    ]
    if workers:  # the local platform's cold start as measured in the run (a platform fact, like the latency)
        platform = replace(platform, cold_start_seconds=statistics.fmean(workers))
    calibration = facts.get("calibration")
    if calibration:  # what one open costs beyond the model call on the quiet stack
        platform = replace(
            platform,
            pickup_seconds=0.0,
            skip_seconds=0.01,
            record_overhead_seconds=max(0.0, calibration["lesson_overhead"] - 0.01),
        )
    scenario = Scenario(
        users=args.users,
        system=system,
        model=ModelProfile(
            lesson_latency=fixed,
            outline_latency=fixed,
            lesson_input_tokens=tokens_in,
            lesson_output_tokens=tokens_out,
            outline_input_tokens=tokens_in,
            outline_output_tokens=tokens_out,
        ),
        user=UserModel(
            fixed_lessons=args.lessons,
            reading=Lognormal(args.reading, args.reading),
            browse_seconds=0.0,
            poll_seconds=args.poll,
            lessons_per_course=12,
        ),
        platform=platform,
        duration=args.minutes * 60 + 60,
        warmup=0.0,
        drain=0.0,
        sessions=tuple((s, True) for s in _starts(args)),
    )
    sim = simulate(scenario)
    facts["planner_deferrals"] = (sim.counters.deferrals_high, sim.counters.deferrals_low)
    return (
        sorted(s.wait for s in sim.lesson_samples),
        sorted(s.wait for s in sim.outline_samples),
        sim.counters.model_calls,
    )


def _setting(text: str) -> tuple[str, str]:
    name, _, value = text.partition("=")
    return name, value


def _row(name: str, simulated: float, measured: float, tolerance: float, resolution: float = 0.0) -> str:
    """Within `tolerance` of the measured value, or within the measurement's resolution (a poll)."""
    diff = (simulated - measured) / measured if measured else float("inf")
    ok = "ok" if abs(diff) <= tolerance or abs(simulated - measured) <= resolution else "OFF"
    within = f"±{tolerance:.0%}" + (f" or ±{resolution:g} s" if resolution else "")
    return f"| {name} | {simulated:.2f} | {measured:.2f} | {diff:+.0%} | {ok} ({within}) |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--spread", type=float, default=None, help="seconds over which users start (minutes*20)")
    parser.add_argument("--latency", type=float, default=1.0, help="the fake model's fixed latency (s)")
    parser.add_argument("--lessons", type=int, default=4, help="lessons each user opens")
    parser.add_argument("--reading", type=float, default=15.0, help="seconds spent on each lesson")
    parser.add_argument(
        "--poll", type=float, default=0.5, help="the driver's poll interval (s); 20 users stay under the API's 50 req/s"
    )
    parser.add_argument(
        "--set",
        type=_setting,
        action="append",
        default=[],
        metavar="PARAMETER=VALUE",
        help="a template parameter for both the stack and the planner",
    )
    parser.add_argument("--planner-only", action="store_true", help="skip the stack (with the template's values)")
    args = parser.parse_args()

    started = time.monotonic()
    load_before = os.getloadavg()[0]
    if args.planner_only:
        measured, calls, facts = Measured(), 0, {"visibility": 12.0, "model_timeout": 2.0}
    else:
        measured, calls, facts = run_stack(args)
        waits = [round(w, 2) for w in sorted(measured.lesson_waits)]
        print(f"measured (before the planner runs): model calls {calls}, waits {waits}", flush=True)
    sim_lessons, sim_outlines, sim_calls = run_planner(args, facts)
    real_lessons = sorted(measured.lesson_waits)
    print(
        f"scenario: {args.users} users over {args.minutes:g} min, {args.lessons} lessons each, reading "
        f"{args.reading:g} s, fake model {args.latency:g} s, polling every {args.poll:g} s; settings {dict(args.set)}"
    )
    print(f"stack facts: {facts}")
    print(
        f"machine load (1-min average, {os.cpu_count()} cores): "
        f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    if measured.errors:
        print(f"driver errors ({len(measured.errors)}): {measured.errors[:3]}")
    print(f"HTTP statuses seen by the driver: {dict(STATUSES)}")
    if ROUND_TRIPS:
        trips = sorted(ROUND_TRIPS)
        print(
            f"API round trips: p50 {percentile(trips, 50) * 1000:.0f} ms, p95 {percentile(trips, 95) * 1000:.0f} ms, "
            f"max {trips[-1] * 1000:.0f} ms (the planner gives API requests no latency)"
        )
    print(f"opened lessons: simulated {len(sim_lessons)}, measured {len(real_lessons)}")
    print("\n| metric | planner | local stack | difference | within |")
    print("| --- | ---: | ---: | ---: | --- |")
    if real_lessons:
        for q in (50, 95):
            print(
                _row(
                    f"p{q} time to an opened lesson (s)",
                    percentile(sim_lessons, q),
                    percentile(real_lessons, q),
                    0.2,
                    args.poll,
                )
            )
        outlines = sorted(measured.outline_waits)
        print(
            _row("p50 time to an outline (s)", percentile(sim_outlines, 50), percentile(outlines, 50), 0.2, args.poll)
        )
        print(_row("model calls", sim_calls, calls, 0.05))
        ready = (
            sum(w == 0.0 for w in sim_lessons) / max(1, len(sim_lessons)),
            sum(w < 0.3 for w in real_lessons) / len(real_lessons),
        )
        print(f"| ready when opened (share) | {ready[0]:.0%} | {ready[1]:.0%} | | |")
        print(f"\nmeasured waits (s): {[round(w, 2) for w in real_lessons]}")
        print(f"simulated waits (s): {[round(w, 2) for w in sim_lessons]}")
        print(
            f"\nmean time to an opened lesson: planner {statistics.fmean(sim_lessons):.2f} s, "
            f"stack {statistics.fmean(real_lessons):.2f} s"
        )
    else:
        print(
            f"(planner only) p50 {percentile(sim_lessons, 50):.2f} s, p95 {percentile(sim_lessons, 95):.2f} s, "
            f"model calls {sim_calls}"
        )
    print(f"\n(took {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
