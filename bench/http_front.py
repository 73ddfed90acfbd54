"""The local HTTP front under load: 50 clients on keep-alive connections for 30 s against a
ready lesson, with the static `config.json` (no function behind it) as the in-run baseline.

The clients run in a separate process (the stack's front shares its process with nothing but
the stack), each on one keep-alive connection, each request followed by a pause (`--think`,
a client polling a lesson is not a busy loop). Prints errors, p50/p95/p99 and throughput for
both targets and their ratio.

    .venv/bin/python bench/http_front.py [--clients 50] [--seconds 30] [--think 0.25]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _client(host: str, port: int, path: str, headers: dict[str, str], until: float, think: float, out: list) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=10)
    while time.monotonic() < until:
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=10)
        out.append((time.perf_counter() - started, ok))
        if think:
            time.sleep(think)
    conn.close()


def _load(args: tuple[str, int, str, dict[str, str], int, float, float], queue: Any) -> None:
    host, port, path, headers, clients, seconds, think = args
    until = time.monotonic() + seconds
    results: list[list[tuple[float, bool]]] = [[] for _ in range(clients)]
    threads = [
        threading.Thread(target=_client, args=(host, port, path, headers, until, think, results[i]))
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put([r for rs in results for r in rs])


def measure(host: str, port: int, path: str, headers: dict[str, str], clients: int, seconds: float, think: float):
    queue: Any = multiprocessing.get_context("spawn").Queue()
    proc = multiprocessing.get_context("spawn").Process(
        target=_load, args=((host, port, path, headers, clients, seconds, think), queue)
    )
    proc.start()
    samples = queue.get(timeout=seconds + 60)
    proc.join()
    latencies = sorted(s for s, ok in samples if ok)
    errors = sum(1 for _, ok in samples if not ok)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "requests": len(samples),
        "errors": errors,
        "per_second": round(len(samples) / seconds, 1),
        "p50_ms": round(q[49] * 1000, 1),
        "p95_ms": round(q[94] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--think", type=float, default=0.25, help="pause after each response (s)")
    args = parser.parse_args()

    from flowgen_local.fake_openai import FakeOpenAI
    from flowgen_local.stack import NO_USER_LIMITS, LocalStack, StackConfig

    fake = FakeOpenAI().start()
    config = StackConfig(openai_api_key="bench", openai_base_url=fake.base_url, parameter_overrides=NO_USER_LIMITS)
    stack = LocalStack(config).start(pollers=True, http_port=0)
    try:
        token = stack.token("bench")
        auth = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        course = stack.request(
            "POST", "/courses", headers=auth, body=json.dumps({"prompt": "Load on the front"})
        ).json()
        path = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            detail = stack.request("GET", f"/courses/{course['id']}", headers=auth).json()
            if detail["status"] == "READY":
                lesson = detail["modules"][0]["lessons"][0]
                path = f"/courses/{course['id']}/lessons/{lesson['id']}"
                if stack.request("GET", path, headers=auth).status == 200:
                    break
            time.sleep(0.2)
        assert path, "no ready lesson"
        host, port = "127.0.0.1", int(stack.api_url.rsplit(":", 1)[1])
        print(f"{args.clients} keep-alive clients, {args.seconds:g} s each target, think {args.think:g} s")
        # warm-up: the api scales out to its instances (cold starts are not what is measured here)
        measure(host, port, path, {"authorization": f"Bearer {token}"}, args.clients, 5, args.think)
        baseline = measure(host, port, "/config.json", {}, args.clients, args.seconds, args.think)
        print("static config.json  ", baseline)
        lesson_run = measure(
            host, port, path, {"authorization": f"Bearer {token}"}, args.clients, args.seconds, args.think
        )
        print("ready lesson (api)  ", lesson_run)
        ratio = lesson_run["p99_ms"] / baseline["p99_ms"] if baseline["p99_ms"] else float("inf")
        started = stack.functions["ApiFunction"].stats.cold_starts
        print(f"p99 ratio lesson/static: {ratio:.1f}x; api instances started: {started}")
        ok = lesson_run["errors"] == 0 and baseline["errors"] == 0 and lesson_run["p99_ms"] < 100
        print("PASS" if ok else "FAIL", "(0 errors, p99 under 100 ms for the ready lesson)")
        return 0 if ok else 1
    finally:
        stack.stop()
        fake.stop()


if __name__ == "__main__":
    sys.exit(main())
