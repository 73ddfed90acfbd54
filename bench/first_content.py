"""Time to first content of an opened lesson, streaming against not, behind a backlog (issue 13).

    .venv/bin/python bench/first_content.py [backlog_courses] [runs]

Runs on loopback: the local stack (each function its own process) and the fake model server
streaming at a realistic rate (0.5 s to first token, 40 tokens/s, lessons of ~800 tokens).
`backlog_courses` courses of 24 lessons are queued at low priority, and the low lane works on
them, while a learner opens the last lesson of another course and polls it as the web app does
(honouring retryAfterMs, else Retry-After) until it is GENERATED. The same run is made with STREAM_LESSONS=false.

Per run:
- first token: when the fake model sent the opened lesson's first token (seconds after the open)
- first content written: when the lesson's first partial text was in MongoDB (read every 50 ms)
- first words visible: the first poll answer showing any text (the markdown being written, a
  finished block, or the final lesson): what the learner sees first
- first block visible: the first poll answer showing a finished block (partial or final)
- complete: the poll answer that was 200 GENERATED
- API requests: the learner's GETs of the lesson, the open included
- MongoDB writes: the worker's for the lesson (claim, partial writes, commit, course usage), the
  partial writes counted by the store on the committed lesson; a poll writes nothing
- model calls: the fake model's calls for the lesson
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from typing import Any

from flowgen import wiring
from flowgen_local.fake_openai import FakeOpenAI, Faults
from flowgen_local.stack import NO_USER_LIMITS, LocalStack, StackConfig

FIRST_TOKEN, TOKENS_PER_SECOND, LESSON_TOKENS = 0.5, 40.0, 800
WORKER_WRITES_BESIDE_PARTIAL = 3  # claim, commit, course usage


class TimedFake(FakeOpenAI):
    """Notes when each lesson's request arrived (by its key)."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[str, float] = {}

    def respond(self, request: dict[str, Any]) -> Any:
        answer = super().respond(request)  # a plain call returns after its delay, a stream before its tokens
        key = answer.key or ""
        if key and key not in self.arrived:
            self.arrived[key] = time.monotonic() - (0 if answer.stream else self._plain_delay(answer))
        return answer

    def _plain_delay(self, answer: Any) -> float:
        content = answer.body["choices"][0]["message"]["content"] or ""
        first, per_second = answer.pace
        return first + (len(content) + 3) // 4 / per_second if per_second else 0.0


def _wait(predicate, timeout: float = 300.0, every: float = 0.2):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("gave up waiting")
        time.sleep(every)


def _ready_course(stack: LocalStack, headers: dict[str, str], prompt: str) -> dict[str, Any]:
    created = stack.request("POST", "/courses", headers=headers, body=json.dumps({"prompt": prompt, "size": "long"}))
    course_id = created.json()["id"]
    _wait(lambda: stack.request("GET", f"/courses/{course_id}", headers=headers).json()["status"] == "READY")
    return stack.request("GET", f"/courses/{course_id}", headers=headers).json()


def one_run(backlog_courses: int, *, streaming: bool) -> dict[str, float]:
    fake = TimedFake().start()
    config = StackConfig(
        openai_api_key="bench",
        openai_base_url=fake.base_url,
        parameter_overrides={**NO_USER_LIMITS, "InitialLessons": "24"},
        extra_env={"STREAM_LESSONS": "true" if streaming else "false", "MODEL_TIMEOUT_SECONDS": "60"},
    )
    stack = LocalStack(config).start(pollers=False)
    try:
        stack.start_pollers(paused=("LowPriorityLessons",))
        token = stack.token("bench")
        headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        for i in range(backlog_courses):
            _ready_course(stack, headers, f"Backlog topic {i}")
        target = _ready_course(stack, headers, "The course being read")
        backlog = 24 * (backlog_courses + 1)
        _wait(lambda: stack.queue_depth("LessonLowQueue") == backlog, timeout=30)
        # from here on the model is as slow as a hosted one (outlines were written quickly)
        fake.set_faults(
            Faults(first_token_seconds=FIRST_TOKEN, tokens_per_second=TOKENS_PER_SECOND, lesson_tokens=LESSON_TOKENS)
        )
        stack.runners["LowPriorityLessons"].start()
        time.sleep(1.0)  # the low lane is busy with the backlog

        lesson = target["modules"][-1]["lessons"][-1]
        key = f"{target['title']} :: {lesson['title']}"
        path = f"/courses/{target['id']}/lessons/{lesson['id']}"
        store = wiring.store()
        written_at: list[float] = []
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                doc = store.get_lesson("bench", target["id"], lesson["id"])
                if doc is not None and ((doc.partial and (doc.partial.blocks or doc.partial.writing)) or doc.content):
                    written_at.append(time.monotonic())
                    return
                time.sleep(0.05)

        watcher = threading.Thread(target=watch, daemon=True)
        opened = time.monotonic()
        watcher.start()
        requests, first_words, first_visible, complete, slowest = 0, None, None, None, 0.0
        while complete is None and time.monotonic() - opened < 120:
            asked = time.monotonic()
            response = stack.request("GET", path, headers=headers)
            slowest = max(slowest, time.monotonic() - asked)
            requests += 1
            body = response.json()
            now = time.monotonic()
            partial = body.get("partial") or {}
            shown = partial.get("blocks") or (body.get("content") or {}).get("blocks")
            if (shown or partial.get("writing")) and first_words is None:
                first_words = now - opened
            if shown and first_visible is None:
                first_visible = now - opened
            if response.status == 200:
                complete = now - opened
                break
            # the exact wait when the API gives one (retryAfterMs), else Retry-After, as the web app does
            wait_ms = body.get("retryAfterMs")
            time.sleep(wait_ms / 1000 if wait_ms else float(response.headers.get("retry-after", "1")))
        stop.set()
        watcher.join(2)
        done = store.get_lesson("bench", target["id"], lesson["id"])
        first_token = fake.arrived[key] + FIRST_TOKEN - opened
        return {
            "first_token": first_token,
            "first_written": (written_at[0] - opened) if written_at else float("nan"),
            "first_words": first_words if first_words is not None else float("nan"),
            "first_visible": first_visible if first_visible is not None else float("nan"),
            "complete": complete if complete is not None else float("nan"),
            "api_requests": requests,
            "slowest_poll": slowest,
            "mongo_writes": WORKER_WRITES_BESIDE_PARTIAL + (done.partial_writes if done else 0),
            "partial_writes": done.partial_writes if done else 0,
            "model_calls": fake.stats.lesson_keys.count(key),
            "blocks": len(done.content.blocks) if done and done.content else 0,
        }
    finally:
        stack.stop()
        fake.stop()


def main() -> None:
    backlog_courses = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    results: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    for _ in range(runs):
        for streaming in (True, False):
            results[streaming].append(one_run(backlog_courses, streaming=streaming))
            print(("streaming " if streaming else "plain     ") + json.dumps(results[streaming][-1]), flush=True)
    backlog = 24 * (backlog_courses + 1)
    print(
        f"\nopened lesson behind {backlog} queued low lessons; model: {FIRST_TOKEN} s to first token, "
        f"{TOKENS_PER_SECOND:.0f} tokens/s, ~{LESSON_TOKENS} tokens; {runs} run(s) each, median (min-max)\n"
    )
    rows = [
        ("time to first token (s)", "first_token"),
        ("first content written (s)", "first_written"),
        ("first words visible to the poller (s)", "first_words"),
        ("first finished block visible (s)", "first_visible"),
        ("complete, seen by the poller (s)", "complete"),
        ("API requests per lesson", "api_requests"),
        ("slowest poll answer (s)", "slowest_poll"),
        ("MongoDB writes per lesson (worker)", "mongo_writes"),
        ("  of which partial writes", "partial_writes"),
        ("model calls per lesson", "model_calls"),
    ]
    print(f"| {'':40} | {'streaming':>18} | {'not streaming':>18} |")
    print(f"|{'-' * 42}|{'-' * 20}|{'-' * 20}|")
    for label, name in rows:
        cells = []
        for streaming in (True, False):
            values = [r[name] for r in results[streaming]]
            cells.append(f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})")
        print(f"| {label:40} | {cells[0]:>18} | {cells[1]:>18} |")
    for label, name in (("first words", "first_words"), ("first finished block", "first_visible")):
        gaps = [r[name] - r["first_token"] for r in results[True]]
        print(
            f"streaming: {label} visible - first token = {statistics.median(gaps):.2f} s "
            f"(min {min(gaps):.2f}, max {max(gaps):.2f}; target <= 1.5 s)"
        )


if __name__ == "__main__":
    main()
