"""The shared limiter under a storm: 100 concurrent workers (30% opened lessons, 70% background)
hammer one Redis limiter; prints the peak rate in any 60-second window against the setting,
and how long each priority waited. Loopback only; stops by itself.

    .venv/bin/python bench/limiter.py [requests_per_minute] [seconds]
"""

from __future__ import annotations

import random
import statistics
import sys
import threading
import time

import redis

from flowgen.adapters.redis_limits import RedisRateLimiter
from flowgen.records import Priority
from flowgen_local.services import RedisServer


def main() -> None:
    rpm = int(sys.argv[1]) if len(sys.argv) > 1 else 600
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 65
    server = RedisServer()
    try:
        limiter = RedisRateLimiter(
            redis.Redis.from_url(server.url), requests_per_minute=rpm, tokens_per_minute=0, high_reserve=0.3
        )
        grants: list[tuple[float, Priority]] = []
        waited: dict[Priority, list[float]] = {Priority.HIGH: [], Priority.LOW: []}
        lock = threading.Lock()
        deadline = time.monotonic() + seconds

        def worker(seed: int) -> None:
            rng = random.Random(seed)
            while time.monotonic() < deadline:
                priority = Priority.HIGH if rng.random() < 0.3 else Priority.LOW
                asked = time.monotonic()
                while time.monotonic() < deadline:
                    wait = limiter.acquire(priority, 1000)
                    if wait == 0:
                        with lock:
                            grants.append((time.monotonic(), priority))
                            waited[priority].append(time.monotonic() - asked)
                        break
                    time.sleep(min(wait, 0.25) * rng.uniform(0.5, 1.0))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(100)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.stop()

    times = sorted(t for t, _ in grants)
    window = min(60.0, seconds)
    peak, j = 0, 0
    for i, start in enumerate(times):
        while j < len(times) and times[j] < start + window:
            j += 1
        peak = max(peak, j - i)
    allowed = rpm * window / 60
    print(f"{len(grants)} grants in {seconds:.0f}s to 100 workers, limit {rpm}/min")
    print(f"peak in any {window:.0f}s window: {peak} = {peak / allowed:.2f}x the limit ({allowed:.0f})")
    for priority in Priority:
        w = waited[priority]
        if w:
            print(
                f"{priority.value:>4}: {len(w)} grants, median wait {statistics.median(w):.2f}s, "
                f"p90 {statistics.quantiles(w, n=10)[-1]:.2f}s"
            )


if __name__ == "__main__":
    main()
