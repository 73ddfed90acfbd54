"""Time to the first visible part of a new course's outline, streaming against not (issue 13).

    .venv/bin/python bench/first_outline.py [runs]

Runs on loopback: the local stack (each function its own process) and the fake model server at a
hosted model's pace (0.5 s to first token, 40 tokens/s; a long outline is about 900 tokens, so
the whole call takes some 20 s). A learner creates a course and polls it as the web app does
(honouring Retry-After) until it is READY; the same run is made with STREAM_OUTLINES=false.

Per run (seconds after the POST):
- title visible: the first poll answer showing the course's title (partial outline or final)
- first module visible: the first poll answer showing a module (partial or final)
- ready: the poll answer that was READY
- API requests: the learner's GETs of the course
- model calls: the fake model's outline calls
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any

from flowgen_local.fake_openai import FakeOpenAI, Faults
from flowgen_local.stack import NO_USER_LIMITS, LocalStack, StackConfig

FIRST_TOKEN, TOKENS_PER_SECOND = 0.5, 40.0


def one_run(*, streaming: bool) -> dict[str, float]:
    fake = FakeOpenAI().start()
    config = StackConfig(
        openai_api_key="bench",
        openai_base_url=fake.base_url,
        parameter_overrides=NO_USER_LIMITS,
        extra_env={"STREAM_OUTLINES": "true" if streaming else "false", "MODEL_TIMEOUT_SECONDS": "60"},
    )
    stack = LocalStack(config).start()
    try:
        headers = {"authorization": f"Bearer {stack.token('bench')}", "content-type": "application/json"}
        fake.set_faults(Faults(first_token_seconds=FIRST_TOKEN, tokens_per_second=TOKENS_PER_SECOND))
        body = json.dumps({"prompt": "Rust ownership for C++ programmers", "size": "long"})
        started = time.monotonic()
        course_id = stack.request("POST", "/courses", headers=headers, body=body).json()["id"]
        requests, title, module, ready = 0, None, None, None
        while ready is None and time.monotonic() - started < 120:
            response = stack.request("GET", f"/courses/{course_id}", headers=headers)
            requests += 1
            course: dict[str, Any] = response.json()
            now = time.monotonic() - started
            partial = course.get("partialOutline") or {}
            if title is None and (partial.get("title") or course.get("title")):
                title = now
            if module is None and (partial.get("modules") or course.get("modules")):
                module = now
            if course["status"] == "READY":
                ready = now
                break
            time.sleep(float(response.headers.get("retry-after", "1")))
        nan = float("nan")
        return {
            "title_visible": title if title is not None else nan,
            "first_module_visible": module if module is not None else nan,
            "ready": ready if ready is not None else nan,
            "api_requests": requests,
            "model_calls": fake.stats.calls["OutlineDecision"],
        }
    finally:
        stack.stop()
        fake.stop()


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    results: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    for _ in range(runs):
        for streaming in (True, False):
            results[streaming].append(one_run(streaming=streaming))
            print(("streaming " if streaming else "plain     ") + json.dumps(results[streaming][-1]), flush=True)
    print(
        f"\na new long course's outline; model: {FIRST_TOKEN} s to first token, {TOKENS_PER_SECOND:.0f} tokens/s; "
        f"{runs} run(s) each, median (min-max), seconds after the POST\n"
    )
    rows = [
        ("title visible (s)", "title_visible"),
        ("first module visible (s)", "first_module_visible"),
        ("ready, seen by the poller (s)", "ready"),
        ("API requests per course", "api_requests"),
        ("model calls per course", "model_calls"),
    ]
    print(f"| {'':32} | {'streaming':>18} | {'not streaming':>18} |")
    print(f"|{'-' * 34}|{'-' * 20}|{'-' * 20}|")
    for label, name in rows:
        cells = []
        for streaming in (True, False):
            values = [r[name] for r in results[streaming]]
            cells.append(f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})")
        print(f"| {label:32} | {cells[0]:>18} | {cells[1]:>18} |")


if __name__ == "__main__":
    main()
