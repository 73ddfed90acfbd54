"""The web app's polling pace, measured in Chromium against the local stack (issue 20 moved it
here from the browser tests: these are rates over fixed windows, not pass/fail checks).

    .venv/bin/python bench/web_polling.py [model_latency_seconds]

With a slow fake model (10 s a call by default) and 12 lessons written in the background:
- the course view's calls (GET /courses/{courseId}) a minute while the outline is written, while
  the lessons are written, and in 15 s once everything has settled (0 expected);
- My courses' calls (GET /courses) a minute while a course builds, and in 15 s once settled;
- how long after the API had the outline the browser showed it.
Prints a table and writes the numbers to docs/web-polling.json.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from flowgen import wiring
from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.stack import NO_USER_LIMITS, LocalStack, StackConfig

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
COURSE_POLL, LIST_POLL = "GET /courses/{courseId}", "GET /courses"
SETTLED_WINDOW = 15.0


def _wait(predicate: object, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return time.monotonic()
        time.sleep(0.05)
    raise TimeoutError("gave up waiting")


def measure(latency: float) -> dict[str, object]:
    fake = FakeOpenAI().start()
    fake.faults.latency_seconds = latency
    worker_timeout = str(max(30, int(latency * 3)))
    config = StackConfig(
        openai_api_key="bench",
        openai_base_url=fake.base_url,
        visibility_timeout=int(worker_timeout) * 6,
        parameter_overrides={**NO_USER_LIMITS, "InitialLessons": "12", "WorkerTimeoutSeconds": worker_timeout},
        extra_env={"MODEL_TIMEOUT_SECONDS": str(latency * 2)},
    )
    stack = LocalStack(config).start(pollers=True, http_port=0)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(stack.api_url)
            page.get_by_label("User name").fill("bench")
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("heading", name="My courses").wait_for()

            page.get_by_role("link", name="New course").click()
            page.get_by_label("What do you want to learn?").fill("Category theory for programmers")
            page.get_by_role("button", name="Create course").click()
            page.wait_for_url(re.compile(r"#/courses/[0-9a-f]{32}$"))
            course_id = page.url.rsplit("/", 1)[-1]
            started, calls = time.monotonic(), stack.api_calls[COURSE_POLL]
            written = _wait(lambda: (c := wiring.store().get_course("bench", course_id)) and c.modules, latency * 4)
            outline_seconds, outline_calls = written - started, stack.api_calls[COURSE_POLL] - calls
            page.locator(".lesson-row").first.wait_for(timeout=10_000)
            shown_after = time.monotonic() - written

            started, calls = time.monotonic(), stack.api_calls[COURSE_POLL]
            page.wait_for_function(
                "() => [...document.querySelectorAll('.lesson-row .badge')]"
                ".every(b => !['queued', 'generating'].includes(b.textContent))",
                timeout=int(latency * 20 * 1000),
            )
            lessons_seconds, lessons_calls = time.monotonic() - started, stack.api_calls[COURSE_POLL] - calls
            time.sleep(3)
            calls = stack.api_calls[COURSE_POLL]
            time.sleep(SETTLED_WINDOW)
            course_settled = stack.api_calls[COURSE_POLL] - calls

            page.get_by_role("link", name="My courses").click()
            page.get_by_role("link", name="New course").click()
            page.get_by_label("What do you want to learn?").fill("Monads without tears")
            page.get_by_role("button", name="Create course").click()
            page.wait_for_url(re.compile(r"#/courses/[0-9a-f]{32}$"))
            page.get_by_role("link", name="My courses").click()
            building = page.locator(".course-row").filter(has_text="outline being written…")
            building.wait_for()
            started, calls = time.monotonic(), stack.api_calls[LIST_POLL]
            building.wait_for(state="detached", timeout=60_000)
            list_seconds, list_calls = time.monotonic() - started, stack.api_calls[LIST_POLL] - calls
            time.sleep(3)
            calls = stack.api_calls[LIST_POLL]
            time.sleep(SETTLED_WINDOW)
            list_settled = stack.api_calls[LIST_POLL] - calls
            browser.close()
    finally:
        stack.stop()
        fake.stop()
    return {
        "model_latency_seconds": latency,
        "background_lessons": 12,
        "course_view_outline_per_minute": round(outline_calls / outline_seconds * 60, 1),
        "course_view_lessons_per_minute": round(lessons_calls / lessons_seconds * 60, 1),
        "course_view_settled_calls_in_15s": course_settled,
        "outline_shown_seconds_after_the_api_had_it": round(shown_after, 2),
        "my_courses_building_per_minute": round(list_calls / list_seconds * 60, 1),
        "my_courses_settled_calls_in_15s": list_settled,
    }


def main(argv: list[str]) -> int:
    numbers = measure(float(argv[0]) if argv else 10.0)
    width = max(len(name) for name in numbers)
    for name, value in numbers.items():
        print(f"{name:<{width}}  {value}")
    (ROOT / "docs" / "web-polling.json").write_text(json.dumps(numbers, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
