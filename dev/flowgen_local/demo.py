"""The newcomer's main job: a course end to end through the local stack's HTTP API.

Create a course, watch the outline arrive, open a lesson deep in the course while the
background prefetch is still busy, and show that lesson arriving first. Uses OpenAI when
OPENAI_API_KEY is set, else the fake OpenAI-compatible server with a realistic latency.
"""

from __future__ import annotations

import os
import sys
import textwrap
import time
import uuid
from typing import Any

import httpx

from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.stack import LocalStack, StackConfig

MARK = {"GENERATED": "[x]", "GENERATING": "[~]", "FAILED": "[!]", "PENDING": "[ ]"}
BACKGROUND_LESSONS = 6  # the outline prefetches this many at low priority (template parameter InitialLessons)


def _say(message: str) -> None:
    print(message, flush=True)


def _poll(fetch: Any, done: Any, timeout: float, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        response = fetch()
        if done(response) or time.monotonic() > deadline:
            return response
        retry_after = float(response.headers.get("retry-after", interval))
        time.sleep(min(retry_after, interval) if retry_after else interval)


def render_lesson(lesson: dict[str, Any]) -> str:
    out = [f"== {lesson['title']} ==", f"({lesson['summary']})", ""]
    for block in lesson["content"]["blocks"]:
        kind = block["type"]
        if kind == "markdown":
            out += [textwrap.fill(line, 100) if line.strip() else "" for line in block["markdown"].splitlines()]
        elif kind == "code":
            out += [f"--- {block['language']} --- {block.get('caption', '')}"]
            out += ["    " + line for line in block["code"].rstrip().splitlines()]
        elif kind == "diagram":  # a terminal draws no Mermaid: its source, under its caption
            out += [f"--- diagram (mermaid) --- {block['caption']}"]
            out += ["    " + line for line in block["source"].rstrip().splitlines()]
        elif kind == "key_points":
            out += ["Key points:"] + [f"  * {p}" for p in block["points"]]
        elif kind == "quiz":
            out += ["Quiz:"]  # served without its answers (the API grades a submitted answer)
            for i, q in enumerate(block["questions"], 1):
                out += [f"  {i}. {q['question']}"]
                out += [f"       {chr(97 + j)}) {o}" for j, o in enumerate(q["options"])]
        elif kind == "video":
            out += [f"Video: {block['title']} <{block['url']}>"]
        out.append("")
    return "\n".join(out)


def render_tree(course: dict[str, Any]) -> str:
    lines = [f"{course['title']}  ({course['lessonsGenerated']}/{course['lessonCount']} lessons generated)"]
    for module in course["modules"]:
        lines.append(f"  {module['title']}")
        for lesson in module["lessons"]:
            prio = f" ({lesson['priority']})" if lesson.get("priority") else ""
            lines.append(f"    {MARK[lesson['status']]} {lesson['id']} {lesson['title']}{prio}")
    return "\n".join(lines)


def run_demo(prompt: str, fake_latency: float) -> int:
    started = time.monotonic()
    config = StackConfig.from_environment(
        parameter_overrides={"InitialLessons": str(BACKGROUND_LESSONS)}, queue_prefix="flowgen-demo"
    )
    fake = None
    if not config.openai_api_key:
        fake = FakeOpenAI().start()
        fake.faults.latency_seconds = fake_latency
        config.openai_api_key, config.openai_base_url = "fake-key", fake.base_url
    stack = LocalStack(config).start(pollers=True, http_port=0)
    if fake:
        stack.components["model"] = (
            f"fake OpenAI-compatible server on loopback, {fake_latency}s per call "
            "(no OPENAI_API_KEY: labelled sample content)"
        )
    try:
        _say(f"local stack up at {stack.api_url}")
        for name, what in stack.components.items():
            _say(f"  {name:<9} {what}")
        api = httpx.Client(
            base_url=stack.api_url, timeout=30, headers={"authorization": f"Bearer {stack.token('demo-user')}"}
        )
        created = api.post(
            "/courses", json={"prompt": prompt, "size": "long"}, headers={"idempotency-key": uuid.uuid4().hex}
        )
        created.raise_for_status()
        course_id = created.json()["id"]
        _say(
            f"\n1. POST /courses -> {created.status_code} {created.json()['status']} "
            f"in {created.elapsed.total_seconds() * 1000:.0f} ms (course {course_id})"
        )

        course = _poll(
            lambda: api.get(f"/courses/{course_id}"), lambda r: r.json()["status"] in ("READY", "FAILED"), timeout=180
        ).json()
        if course["status"] != "READY":
            _say(f"outline did not arrive: {course['status']} {course.get('error')}")
            return 1
        lessons = [lesson for m in course["modules"] for lesson in m["lessons"]]
        _say(
            f"2. outline ready after {time.monotonic() - started:.1f}s: {course['title']!r}, "
            f"{len(course['modules'])} modules, {len(lessons)} lessons; "
            f"{BACKGROUND_LESSONS} prefetching in the background at low priority"
        )

        deep = lessons[-1]
        opened_at = time.monotonic()
        first = api.get(f"/courses/{course_id}/lessons/{deep['id']}")
        _say(
            f"3. GET lesson {deep['id']} (the last one) -> {first.status_code} {first.json()['status']}, "
            f"Retry-After {first.headers.get('retry-after')}s: promoted to high priority"
        )
        lesson = _poll(
            lambda: api.get(f"/courses/{course_id}/lessons/{deep['id']}"),
            lambda r: r.json()["status"] in ("GENERATED", "FAILED"),
            timeout=180,
        ).json()
        waited = time.monotonic() - opened_at
        snapshot = api.get(f"/courses/{course_id}").json()
        background_done = sum(
            1
            for m in snapshot["modules"]
            for x in m["lessons"]
            if x["priority"] == "low" and x["status"] == "GENERATED"
        )
        if lesson["status"] != "GENERATED":
            _say(f"the opened lesson did not arrive: {lesson['status']} {lesson.get('error')}")
            return 1
        _say(
            f"4. lesson {deep['id']} GENERATED {waited:.1f}s after opening; at that moment "
            f"{background_done} of {BACKGROUND_LESSONS} background lessons were done: it jumped the queue"
        )

        _poll(
            lambda: api.get(f"/courses/{course_id}/lessons/{lessons[0]['id']}"),
            lambda r: r.json()["status"] == "GENERATED",
            timeout=180,
        )
        course = api.get(f"/courses/{course_id}").json()
        _say("\n" + render_tree(course) + "\n")
        _say(render_lesson(lesson))
        _say("In a browser: `make local`, then open http://127.0.0.1:3000\n")
        calls = fake.stats.total_calls if fake else 1 + course["lessonsGenerated"]
        _say(
            f"demo: course {course_id} | lessons generated {course['lessonsGenerated']} of {course['lessonCount']} "
            f"| model calls {calls} | {time.monotonic() - started:.1f}s"
        )
        return 0
    finally:
        stack.stop()
        if fake:
            fake.stop()


if __name__ == "__main__":
    sys.exit(run_demo(os.environ.get("FLOWGEN_DEMO_PROMPT", "Rust ownership for C++ programmers"), 0.4))
