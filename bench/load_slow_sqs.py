"""No 500 under load with a slow or stalled SQS (issue 25): clients on one course's lesson while
SQS (moto's server) is slowed and stalled in cycles.

    .venv/bin/python bench/load_slow_sqs.py [--seconds 90] [--clients 4] [--baseline 10]
                                            [--stall 6] [--run 4] [--latency 0.3]

Runs on loopback: the local stack with the template's timings (the api's 10 s Timeout, its 4 s
bound on a queue send), its own moto server, and the fake model server answering after
`--latency` seconds. Per-user limits and budgets are lifted: the clients ask much on purpose.

`--clients` tabs of one user on one course, two of its lessons written before the load, each
send in turn, 0.25-0.75 s apart: GET the rewritten lesson (it queues a job while a rewrite left
it PENDING), POST a question about the other one (a job), POST a rewrite of the first (a job;
409 while one is being written), and PUT progress on the other (no job: the control). A warm-up
round (not measured), then `--baseline` seconds with SQS running, then `--seconds` of cycles:
10 s slowed (SIGSTOP 0.2 s, SIGCONT 0.3 s, over and over: every SQS call waits up to 0.2 s),
then stalled (SIGSTOP `--stall` s, SIGCONT `--run` s). The reconciler runs every 10 s and
re-sends an intent kept for it after 30 s.

Printed: requests by route and status, the 5xx among them (expected 0: a send given up keeps
the intent for the reconciler and answers 202), and per route the p95 latency under the stalls
as a ratio to the baseline's, and the share of requests answered within the api's 4 s queue
bound. Exits 1 if any answer was a 5xx.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

from flowgen_faults.harness import NO_LIMITS, Staller
from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.stack import LocalStack, StackConfig

ROUTES = ("GET lesson", "POST question", "POST rewrite", "PUT progress")
SLOWED = (0.2, 0.3)  # seconds stopped, seconds running: a slow SQS
SLOW_SECONDS = 10.0
SEND_BOUND = 4.0  # flowgen.adapters.sqs_queue.SEND_SECONDS
WARM_UP = 3.0


class User:
    def __init__(self, stack: LocalStack, sub: str) -> None:
        self.stack = stack
        self.headers = {"authorization": f"Bearer {stack.token(sub)}", "content-type": "application/json"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        response = self.stack.request(
            method, path, headers=self.headers, body=json.dumps(body) if body is not None else None
        )
        return response.status, response.json() if response.body else None


def _wait(fetch: Any, done: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f}s: {value!r}")
        time.sleep(0.2)


def cycles(seconds: float, stall: tuple[float, float]) -> Iterator[tuple[float, float]]:
    """Slowed for SLOW_SECONDS, then one stall, over and over, for about `seconds`."""
    left = seconds
    while left > 0:
        for _ in range(int(min(SLOW_SECONDS, left) / sum(SLOWED))):
            yield SLOWED
        left -= SLOW_SECONDS
        if left > 0:
            yield min(stall[0], left), min(stall[1], max(0.0, left - stall[0]))
            left -= sum(stall)


class Load:
    """What the clients were answered, by phase and route."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: dict[str, Counter[tuple[str, int]]] = defaultdict(Counter)  # phase -> (route, status)
        self.seconds: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))  # phase -> route

    def record(self, phase: str, route: str, status: int, seconds: float) -> None:
        with self.lock:
            self.statuses[phase][route, status] += 1
            self.seconds[phase][route].append(seconds)


def client(user: User, paths: tuple[str, str], load: Load, phase: list[str], until: float, seed: int) -> None:
    rewritten, asked = paths
    rng = random.Random(seed)
    turn = seed
    while time.monotonic() < until:
        route = ROUTES[turn % len(ROUTES)]
        turn += 1
        started = time.monotonic()
        if route == "GET lesson":
            status, _ = user.call("GET", rewritten)
        elif route == "POST question":
            status, _ = user.call("POST", f"{asked}/questions", {"question": f"why {seed}-{turn}?"})
        elif route == "POST rewrite":
            status, _ = user.call("POST", f"{rewritten}/regenerate", {"instruction": f"simpler, take {turn}"})
        else:
            status, _ = user.call("PUT", f"{asked}/progress", {"opened": True})
        load.record(phase[0], route, status, time.monotonic() - started)
        time.sleep(rng.uniform(0.25, 0.75))


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else (values[0] if values else 0.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=90.0, help="of slowed and stalled SQS (default 90)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--baseline", type=float, default=10.0, help="seconds with SQS running first")
    parser.add_argument("--stall", type=float, default=6.0, help="seconds SQS is stopped in a stall")
    parser.add_argument("--run", type=float, default=4.0, help="seconds it runs after a stall")
    parser.add_argument("--latency", type=float, default=0.3, help="the fake model's seconds per call")
    args = parser.parse_args()

    fake = FakeOpenAI().start()
    fake.faults.latency_seconds = args.latency
    config = StackConfig(
        openai_api_key="bench",
        openai_base_url=fake.base_url,
        schedule_period=10.0,  # the reconciler re-sends what a stall kept for it ...
        extra_env={"STUCK_AFTER_SECONDS": "30"},  # ... once it has waited this long
        parameter_overrides={**NO_LIMITS, "InitialLessons": "0"},
    )
    stack = LocalStack(config).start()
    load = Load()
    stalled = Staller(stack.aws.process.pid, list(cycles(args.seconds, (args.stall, args.run))))
    try:
        user = User(stack, "bench-slow-sqs")
        status, course = user.call("POST", "/courses", {"prompt": "Queues that stall, and what a user sees"})
        if status != 202:
            raise SystemExit(f"POST /courses answered {status}: {course}")
        course = _wait(lambda: user.call("GET", f"/courses/{course['id']}")[1], lambda c: c["status"] == "READY", 60)
        first, second = (lesson["id"] for lesson in course["modules"][0]["lessons"][:2])
        paths = (f"/courses/{course['id']}/lessons/{first}", f"/courses/{course['id']}/lessons/{second}")
        for path in paths:
            _wait(lambda p=path: user.call("GET", p)[1], lambda x: x["status"] == "GENERATED", 60)

        phase = ["warm-up"]  # the api's instances start cold: not measured
        until = time.monotonic() + WARM_UP + args.baseline + args.seconds
        threads = [
            threading.Thread(target=client, args=(user, paths, load, phase, until, i), daemon=True)
            for i in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        time.sleep(WARM_UP)
        phase[0] = "baseline"
        time.sleep(args.baseline)
        phase[0] = "stalls"
        with stalled:
            for thread in threads:
                thread.join()
    finally:
        stack.stop()
        fake.stop()

    return report(load, args, stalled)


def report(load: Load, args: argparse.Namespace, stalled: Staller) -> int:
    every = load.statuses["warm-up"] + load.statuses["baseline"] + load.statuses["stalls"]
    errors = sum(n for (_, status), n in every.items() if status >= 500)
    print(
        f"{args.clients} clients on one lesson, {args.baseline:.0f} s with SQS running, then {args.seconds:.0f} s "
        f"slowed and stalled: SQS stopped {stalled.stops} times, "
        f"{stalled.stopped_seconds / args.seconds:.0%} of the time"
    )
    print(f"{'route':<14} {'requests':>8}  {'by status':<34} {'p95 stalls/baseline':>19} {'within 4 s':>10}")
    for route in ROUTES:
        statuses = {status: n for (r, status), n in sorted(every.items()) if r == route}
        base, stalls = load.seconds["baseline"][route], load.seconds["stalls"][route]
        ratio = f"{p95(stalls) / p95(base):.1f}x" if base and stalls and p95(base) > 0 else "-"
        within = f"{sum(s <= SEND_BOUND for s in stalls) / len(stalls):.0%}" if stalls else "-"
        shown = ", ".join(f"{status} x{n}" for status, n in statuses.items())
        print(f"{route:<14} {sum(statuses.values()):>8}  {shown:<34} {ratio:>19} {within:>10}")
    total = sum(every.values())
    print(f"{total} requests, {errors} answered 5xx ({errors / max(1, total):.1%}; expected 0)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
