"""The web app in a real Chromium against the running local stack: sign in, create, watch the
outline, read lessons, isolation; the course view's polling pace; delete and an expired session;
a phone-sized screen by keyboard. (e2e: these need the browser, the HTTP front and the workers
running together.)"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import pytest

from flowgen.records import LessonStatus
from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.stack import LocalStack
from tests.conftest import SharedStack
from tests.e2e.browser import sign_in
from tests.helpers import wait_for

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.e2e
playwright = pytest.importorskip("playwright.sync_api")


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

    # the first course of the stack meets cold instances: on a loaded machine they pass 5 s
    expect(page.get_by_role("status").filter(has_text="Writing the outline")).to_be_visible(timeout=20_000)
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

    # the next lesson was prefetched by the lookahead: once written, it opens ready, without a wait
    next_link = page.get_by_role("link", name="Next lesson →")
    wait_for(lambda: lesson_statuses(web_stack)[10], lambda status: status == LessonStatus.GENERATED, timeout=20)
    loaded = "() => performance.getEntriesByType('resource').some(r => r.name.includes('mermaid.core'))"
    assert not page.evaluate(loaded)  # no diagram so far: Mermaid is not loaded (not in the first load)
    next_link.click()
    expect(page.locator("article .markdown h2")).to_have_text(lessons_titles(web_stack)[10], timeout=10_000)
    # this one is about how something works: the fake drew a diagram, Mermaid (loaded now) an SVG
    # named by the visible caption
    figure = page.locator("article figure.diagram")
    figure.scroll_into_view_if_needed()
    expect(figure.get_by_role("img")).to_have_accessible_name(re.compile(r"^From .+ then a small example"))
    assert figure.locator("svg[role=img] text, svg[role=img] foreignObject").count() > 0 and page.evaluate(loaded)

    # back on the course page: statuses live, polling stops once nothing is queued or generating
    page.get_by_role("link", name="Back to the course").click()
    # its status: written (or read, when the quiz above happened to pass: one badge says both)
    written = re.compile(r"^(ready to read|read)$")
    expect(page.locator(".lesson-row").nth(9).locator(".badge").last).to_have_text(written)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.lesson-row .badge')].every(b => b.textContent !== 'being written')",
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


@pytest.mark.system
def test_course_view_polls_no_faster_than_every_two_seconds_and_stops_when_settled(
    shared_stack: SharedStack, fake_model: FakeOpenAI, browser: Browser
) -> None:
    """The course view's own calls (GET /courses/{courseId}) while 12 background lessons are written
    with 1 s model calls: never two within 2 s, none once everything has settled. Calls per
    minute over longer windows are measured by bench/web_polling.py."""
    fake_model.faults.latency_seconds = 1.0  # well under the running stack's 2 s model timeout
    stack = shared_stack({"InitialLessons": "12"}, running=True)
    page = browser.new_page()
    polls: list[float] = []
    course_poll = re.compile(r"/courses/[0-9a-f]{32}$")
    page.on("request", lambda r: polls.append(time.monotonic()) if course_poll.search(r.url) else None)
    sign_in(page, stack.api_url, "dave")
    page.get_by_role("link", name="New course").click()
    page.get_by_label("What do you want to learn?").fill("Category theory for programmers")
    page.get_by_role("button", name="Create course").click()
    page.locator(".lesson-row").first.wait_for(timeout=20_000)
    outline_polls = len(polls)  # every second while the outline was written (its own pace)
    # all 12 ready on screen: the view kept asking while they were written (>= 6 s: 2 local workers)
    page.wait_for_function(
        "() => { const b = [...document.querySelectorAll('.lesson-row .badge')];"
        " return b.length >= 12 && b.every(x => x.textContent === 'ready to read'); }",
        timeout=60_000,
    )

    def quiet_for(seconds: float) -> bool:  # no call of the course view for `seconds`
        return bool(polls) and time.monotonic() - polls[-1] >= seconds

    wait_for(lambda: quiet_for(6), timeout=20, every=0.25)  # the backoff would have asked again by now
    settled_calls = len(polls)
    time.sleep(3)
    assert len(polls) == settled_calls, "it kept polling after everything settled"
    after = polls[outline_polls:]  # once the outline is there: lessons, with the backoff
    assert len(after) >= 3, f"{len(after)} calls while 12 lessons were written: {polls}"
    gaps = [b - a for a, b in zip(after[1:], after[2:], strict=False)]
    assert min(gaps) >= 1.9, gaps
    page.close()


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
        "token => localStorage.setItem('flowgen.local-session', JSON.stringify({user: 'erin', token}))", expired
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


def lesson_statuses(stack: LocalStack) -> list[LessonStatus]:
    from flowgen import wiring

    course_id = web_stack_course_ids(stack)[0]
    return [lesson.status for lesson in wiring.store().list_lessons(course_id)]


def lessons_titles(stack: LocalStack) -> list[str]:
    from flowgen import wiring

    course_id = web_stack_course_ids(stack)[0]
    return [lesson.title for lesson in wiring.store().list_lessons(course_id)]


def web_stack_course_ids(stack: LocalStack) -> list[str]:
    from flowgen import wiring

    return [doc["_id"] for doc in wiring.store().courses.find({}, {"_id": 1})]
