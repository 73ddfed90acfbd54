"""The reading experience in a real Chromium against the running local stack (issue 26): place
and pace, resuming after a reload and on another device, a quiz that teaches before it reveals,
the next step right after it, status words, and axe on each screen, desktop and 390 px."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from flowgen_local.stack import LocalStack
from tests.e2e.browser import SCREENSHOTS, create_course, no_axe_violations, sign_in
from tests.helpers import User, answer_key

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e
playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect

WRITTEN = "article.lesson-body:not(.draft)"


def _answer(page: Page, answers: list[int]) -> None:
    quiz = page.get_by_role("region", name="Quiz")
    for question, answer in zip(quiz.locator("fieldset").all(), answers, strict=True):
        question.get_by_role("radio").nth(answer).check()
    quiz.get_by_role("button", name="Check my answers").click()


def _scroll_top(page: Page) -> float:
    return float(page.evaluate("() => window.scrollY"))


@pytest.mark.parametrize("width", [1100, 390])
def test_place_pace_resume_and_a_quiz_that_teaches(web_stack: LocalStack, browser: Browser, width: int) -> None:
    url = web_stack.api_url
    user = f"reader{width}"
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    sign_in(page, url, user)
    course_id = create_course(page, "Rust ownership for C++ programmers")
    start = page.get_by_role("link", name="Start the course")
    expect(start).to_be_visible(timeout=20_000)
    expect(page.locator(".lesson-row .badge").first).to_have_text(re.compile("^(not written yet|being written|ready to read)$"))
    expect(page.get_by_text(re.compile(r"About \d+ (min|h)"))).to_be_visible()  # time left, before any is read
    no_axe_violations(page, f"course, with time left ({width} px)")

    # lesson 1: where it sits, how long it takes
    start.click()
    expect(page.locator(WRITTEN)).to_be_visible(timeout=20_000)
    place = page.locator(".place")
    expect(place).to_contain_text("Lesson 1 of 12")
    expect(place).to_contain_text(re.compile(r"Module 1 of 4: .+"))
    expect(place).to_contain_text(re.compile(r"\d+ min read"))

    # a wrong answer says why and keeps the answers hidden; another try passes; the next step follows
    lesson_id = page.url.rsplit("/", 1)[-1]
    right = answer_key(user, course_id, lesson_id)
    wrong = [(a + 1) % 3 for a in right]
    _answer(page, wrong)
    quiz = page.get_by_role("region", name="Quiz")
    expect(quiz.get_by_role("status")).to_contain_text("You scored 0 of")
    expect(quiz.get_by_role("status")).to_be_focused()
    expect(quiz.locator(".verdict.wrong").first).to_contain_text("Not quite: ")
    assert "Right answer" not in quiz.inner_text()  # not revealed before another try
    expect(quiz.get_by_role("link", name="Next lesson →")).to_have_count(0)
    no_axe_violations(page, f"lesson, quiz failed ({width} px)")
    quiz.get_by_role("button", name="Try again").click()
    for question, answer in zip(quiz.locator("fieldset").all(), right, strict=True):
        question.get_by_role("radio").nth(answer).check()
    quiz.get_by_role("button", name="Check my answers").click()
    expect(quiz.get_by_role("status")).to_contain_text("Passed")
    expect(quiz.get_by_text(re.compile(r"Your earlier tries: 0 of \d"))).to_be_visible()  # the failed try is kept
    next_step = quiz.get_by_role("link", name="Next lesson →")
    expect(next_step).to_be_visible()  # right after the result, not below Ask and Rewrite
    page.screenshot(path=str(SCREENSHOTS / f"reading-quiz-{width}.png"))
    next_step.click()

    # lesson 2: read down, reload: back where it was
    expect(page.locator(WRITTEN)).to_be_visible(timeout=20_000)
    expect(page.locator(".place")).to_contain_text("Lesson 2 of 12")
    second = page.url.rsplit("/", 1)[-1]
    page.locator(f"{WRITTEN} > .block").nth(3).evaluate("b => b.scrollIntoView({block: 'start'})")
    page.mouse.wheel(0, 100)
    saved = User(web_stack, user)

    def position() -> dict[str, int] | None:
        lessons = saved.call("GET", f"/courses/{course_id}/progress").json()["lessons"]
        found = [p.get("position") for p in lessons if p["lessonId"] == second]
        return found[0] if found else None

    page.wait_for_timeout(1800)  # saved a second after scrolling stops
    kept = position()
    debug = page.evaluate(
        "() => [window.scrollY, document.documentElement.scrollHeight, "
        "[...document.querySelectorAll('article.lesson-body > .block')].map(b => Math.round(b.getBoundingClientRect().top))]"
    )
    assert kept is not None and kept["block"] >= 2, (kept, debug)
    before = _scroll_top(page)
    page.reload()
    expect(page.locator(WRITTEN)).to_be_visible(timeout=20_000)
    expect(page.get_by_role("status").filter(has_text="Picked up where you left off.")).to_be_visible()
    assert abs(_scroll_top(page) - before) < 250, (_scroll_top(page), before)
    no_axe_violations(page, f"lesson, resumed ({width} px)")
    page.screenshot(path=str(SCREENSHOTS / f"reading-resumed-{width}.png"))

    # another device (a new context, same learner): Continue opens this lesson, at that place
    other = browser.new_context(viewport={"width": width, "height": 800}).new_page()
    sign_in(other, url, user)
    other.goto(f"{url}/#/courses/{course_id}")
    other.get_by_role("link", name="Continue").click()
    expect(other).to_have_url(re.compile(rf"/lessons/{second}$"))
    expect(other.locator(WRITTEN)).to_be_visible(timeout=20_000)
    expect(other.get_by_role("status").filter(has_text="Picked up where you left off.")).to_be_visible()
    assert _scroll_top(other) > 100
    other.context.close()
    context.close()
