"""The web app in a real Chromium (Debian's, driven by Playwright through its executable path)
against the running local stack: sign in, create, watch the outline, read lessons, isolation."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.services import AwsServer
from flowgen_local.stack import WEB_DIST, LocalStack
from tests.e2e.conftest import start_running_stack
from tests.integration.test_generation_quality import _FakeYouTube

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e
playwright = pytest.importorskip("playwright.sync_api")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def web_stack(
    redis_url: str, sqs_endpoint: AwsServer, mongo_uri: tuple[str, str], fake_model: FakeOpenAI
) -> Iterator[LocalStack]:
    assert (WEB_DIST / "index.html").is_file(), "the web app is not built: run `make web` (make test does)"
    fake_model.faults.latency_seconds = 0.4  # slow enough to see every state
    youtube = _FakeYouTube(200)
    stack = start_running_stack(
        redis_url,
        sqs_endpoint,
        mongo_uri,
        fake_model,
        env={"YOUTUBE_API_KEY": "yt-test", "YOUTUBE_BASE_URL": youtube.url},
    )
    yield stack
    stack.stop()
    youtube.server.shutdown()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def sign_in(page: Page, url: str, name: str) -> None:
    page.goto(url)
    page.get_by_label("User name").fill(name)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="My courses").wait_for()


def test_create_watch_read_and_isolation(web_stack: LocalStack, browser: Browser, fake_model: FakeOpenAI) -> None:
    expect = playwright.expect
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    url = web_stack.api_url
    sign_in(page, url, "alice")

    page.get_by_role("link", name="New course").click()
    page.get_by_label("What do you want to learn?").fill("Rust ownership for C++ programmers")
    expect(page.get_by_text("34/2000 characters")).to_be_visible()
    page.get_by_label("Level").select_option("intermediate")
    page.get_by_role("button", name="Create course").dblclick()  # a double click makes one course

    expect(page.get_by_role("status").filter(has_text="Writing the outline")).to_be_visible()
    lessons = page.locator(".lesson-row a")
    expect(lessons.first).to_be_visible(timeout=20_000)
    assert lessons.count() == 12
    expect(page.get_by_role("heading", level=1)).to_contain_text("Rust ownership")

    # open a lesson deep in the course: it is written on demand and fills in
    deep_title = lessons.nth(9).inner_text()
    lessons.nth(9).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(deep_title)
    article = page.locator("article.lesson-body:not(.draft)")  # written, not a draft
    expect(article).to_be_visible(timeout=20_000)
    expect(article.locator(".markdown h2")).to_have_text(deep_title)
    expect(article.locator("code.hljs")).to_be_visible()
    expect(page.get_by_role("region", name="Key points")).to_be_visible()
    expect(page.locator("iframe[src^='https://www.youtube-nocookie.com/embed/abc123']")).to_have_count(1)
    quiz = page.get_by_role("region", name="Quiz")
    for question in quiz.locator("fieldset").all():
        question.get_by_role("radio").first.check()
    quiz.get_by_role("button", name="Check my answers").click()
    expect(quiz.get_by_role("status")).to_have_text(re.compile(r"^You scored \d of [345]\."))

    # the next lesson was prefetched by the lookahead: it opens ready, without a wait
    next_link = page.get_by_role("link", name="Next lesson →")
    time.sleep(1.5)
    next_link.click()
    expect(page.locator("article .markdown h2")).to_have_text(lessons_titles(web_stack)[10], timeout=10_000)

    # back on the course page: statuses live, polling stops once nothing is queued or generating
    page.get_by_role("link", name="Back to the course").click()
    expect(page.locator(".lesson-row").nth(9).locator(".badge").last).to_have_text("ready")  # its status
    page.wait_for_function(
        "() => [...document.querySelectorAll('.lesson-row .badge')]"
        ".every(b => !['queued', 'generating'].includes(b.textContent))",
        timeout=30_000,
    )

    page.get_by_role("link", name="My courses").click()
    expect(page.locator(".course-row")).to_have_count(1)  # the double click made one course
    course_id = web_stack_course_ids(web_stack)[0]

    # another user sees nothing of alice's
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, url, "bob")
    expect(page.get_by_text("No courses yet.")).to_be_visible()
    page.goto(f"{url}/#/courses/{course_id}")
    expect(page.get_by_role("heading", name="Course not found")).to_be_visible()


def test_course_view_polls_gently_while_building_and_stops_when_settled(
    redis_url: str, sqs_endpoint: AwsServer, mongo_uri: tuple[str, str], fake_model: FakeOpenAI, browser: Browser
) -> None:
    """Counts the course view's own calls (GET /courses/{courseId}) with slow model calls."""
    latency, background = 1.0, 12  # latency well under the running stack's 2 s model timeout
    fake_model.faults.latency_seconds = latency
    stack = start_running_stack(redis_url, sqs_endpoint, mongo_uri, fake_model, InitialLessons=background)
    try:
        page = browser.new_page()
        polls: list[float] = []
        course_poll = re.compile(r"/courses/[0-9a-f]{32}$")
        page.on("request", lambda r: polls.append(time.monotonic()) if course_poll.search(r.url) else None)
        sign_in(page, stack.api_url, "dave")
        page.get_by_role("link", name="New course").click()
        page.get_by_label("What do you want to learn?").fill("Category theory for programmers")
        page.get_by_role("button", name="Create course").click()
        page.locator(".lesson-row").first.wait_for(timeout=20_000)
        outline_polls = len(polls)  # every second while the outline was written (test_learner.py)
        started, before = time.monotonic(), stack.api_calls["GET /courses/{courseId}"]
        page.wait_for_function(
            "() => [...document.querySelectorAll('.lesson-row .badge')]"
            ".every(b => !['queued', 'generating'].includes(b.textContent))",
            timeout=60_000,
        )
        building_seconds = time.monotonic() - started
        building_calls = stack.api_calls["GET /courses/{courseId}"] - before
        time.sleep(3)  # the poll that saw it settle has landed
        settled_from = stack.api_calls["GET /courses/{courseId}"]
        time.sleep(15)
        settled_calls = stack.api_calls["GET /courses/{courseId}"] - settled_from
        per_minute = building_calls / building_seconds * 60
        after = polls[outline_polls:]  # once the outline is there: lessons, with the backoff
        gaps = [b - a for a, b in zip(after[1:], after[2:], strict=False)]
        (SCREENSHOTS.parent / "web-polling.json").write_text(
            json.dumps(
                {
                    "model_latency_seconds": latency,
                    "background_lessons": background,
                    "building_seconds": round(building_seconds, 1),
                    "building_calls": building_calls,
                    "building_calls_per_minute": round(per_minute, 1),
                    "settled_calls_in_15s": settled_calls,
                    "shortest_gap_seconds": round(min(gaps), 2),
                },
                indent=2,
            )
            + "\n"
        )
        assert settled_calls == 0, "the course view kept polling after everything settled"
        # never more often than POLL.firstMs (2 s), however often lessons land; slower when they do not
        assert building_calls > 0 and min(gaps) >= 1.9, gaps
    finally:
        stack.stop()


def test_delete_with_confirmation_and_expired_session(web_stack: LocalStack, browser: Browser) -> None:
    expect = playwright.expect
    page = browser.new_page()
    sign_in(page, web_stack.api_url, "erin")
    page.get_by_role("link", name="New course").click()
    page.get_by_label("What do you want to learn?").fill("Category theory")
    page.get_by_role("button", name="Create course").click()
    page.locator(".lesson-row").first.wait_for(timeout=20_000)
    page.get_by_role("link", name="My courses").click()
    rows = page.locator(".course-row")
    expect(rows).to_have_count(1)

    page.once("dialog", lambda dialog: dialog.dismiss())  # "Cancel" keeps it
    page.get_by_role("button", name=re.compile("^Delete")).click()
    expect(rows).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=re.compile("^Delete")).click()
    expect(page.get_by_text("No courses yet.")).to_be_visible()

    # the session expires: the next call is refused and the app goes back to sign in
    expired = web_stack.token("erin", expires_in=-60)
    page.evaluate(
        "token => sessionStorage.setItem('flowgen.local-session', JSON.stringify({user: 'erin', token}))", expired
    )
    page.reload()
    expect(page.get_by_label("User name")).to_be_visible()


def test_phone_sized_screen_and_keyboard(web_stack: LocalStack, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 375, "height": 740})
    page.goto(web_stack.api_url)
    playwright.expect(page.get_by_label("User name")).to_be_focused()  # focus is on the field on arrival
    page.keyboard.type("carol")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="My courses").wait_for()
    playwright.expect(page.get_by_role("heading", name="My courses")).to_be_focused()  # the new screen's heading
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.textContent")
    assert focused == "New course"  # and on in reading order
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def lessons_titles(stack: LocalStack) -> list[str]:
    from flowgen import wiring

    course_id = web_stack_course_ids(stack)[0]
    return [lesson.title for lesson in wiring.store().list_lessons(course_id)]


def web_stack_course_ids(stack: LocalStack) -> list[str]:
    from flowgen import wiring

    return [doc["_id"] for doc in wiring.store().courses.find({}, {"_id": 1})]
