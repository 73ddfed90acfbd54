"""A learner in a real Chromium against the running local stack (issue 10): progress that
survives a reload, "Continue", quizzes whose score is kept, another user sees none of it,
screens that keep up with a slow model, the walk-through fixes, and axe-core on every screen.
(e2e: the browser, the HTTP front and the workers together.)"""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING, Any

import pytest

from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.stack import LocalStack
from tests.conftest import SharedStack
from tests.e2e.browser import AXE_RESULTS, DOCS_OUT, SCREENSHOTS, create_course, no_axe_violations, sign_in
from tests.helpers import User, answer_key, wait_for

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e
playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect

COURSE_POLL = "GET /courses/{courseId}"
LIST_POLL = "GET /courses"


def right_answers(stack: Any, user: str, course_id: str, lesson_id: str) -> list[int]:
    return answer_key(user, course_id, lesson_id)


def answer_quiz(page: Page, answers: list[int]) -> None:
    quiz = page.get_by_role("region", name="Quiz")
    for question, answer in zip(quiz.locator("fieldset").all(), answers, strict=True):
        question.get_by_role("radio").nth(answer).check()
    quiz.get_by_role("button", name="Check my answers").click()


def lesson_id_of(page: Page) -> str:
    return page.url.rsplit("/", 1)[-1]


def test_progress_continue_quiz_and_another_user(web_stack: LocalStack, browser: Browser) -> None:
    """Read lessons in order (marking one, passing the quiz of the next), reload: the course page
    shows 2 of 12 completed, ticks in the outline and "Continue" lands on lesson 3. A quiz
    scored, left and revisited keeps its score (and the course page shows it). Bob sees none."""
    stack, url = web_stack, web_stack.api_url
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    page = context.new_page()
    sign_in(page, url, "alice")
    no_axe_violations(page, "my courses (empty)")
    course_id = create_course(page, "Rust ownership for C++ programmers")
    start = page.get_by_role("link", name="Start the course")
    expect(start).to_be_visible(timeout=20_000)
    no_axe_violations(page, "course (ready, no progress)")

    # lesson 1: read it and mark it completed
    start.click()
    article = page.locator("article.lesson-body:not(.draft)")  # written, not a draft
    expect(article).to_be_visible(timeout=20_000)
    first = lesson_id_of(page)
    expect(page.get_by_role("heading", level=1)).to_be_focused()  # focus moved to the new screen's heading
    assert page.title().endswith("· FlowGen") and page.title() != "FlowGen"
    page.get_by_role("button", name="Mark as completed").click()
    expect(page.get_by_text("✓ Completed.")).to_be_visible()

    # the code block: one frame, its language, a copy button that copies
    code = article.locator("figure.code").first
    expect(code.locator("pre")).to_have_count(1)
    expect(code.locator(".code-lang")).to_have_text("python")
    expect(code.locator("code .hljs-string").first).to_be_visible()  # highlighting arrived on demand
    code.get_by_role("button", name="Copy").click()
    expect(code.get_by_role("button", name="Copied")).to_be_visible()
    assert "Studying" in page.evaluate("() => navigator.clipboard.readText()")
    assert not re.search(r"openai:|gpt-|fake", page.locator("article .authorship").inner_text())  # no model id

    # lesson 2: pass its quiz, which completes it
    page.get_by_role("link", name="Next lesson →").click()
    expect(article).to_be_visible(timeout=20_000)
    second = lesson_id_of(page)
    answers = right_answers(stack, "alice", course_id, second)
    assert 3 <= len(answers) <= 5
    answer_quiz(page, answers)
    expect(page.get_by_role("region", name="Quiz").get_by_role("status")).to_have_text(
        re.compile(rf"You scored {len(answers)} of {len(answers)}\. Passed")
    )
    expect(page.get_by_text("✓ Completed (you passed its quiz).")).to_be_visible()

    # lesson 3: a quiz failed, left and revisited keeps its score
    page.get_by_role("link", name="Next lesson →").click()
    expect(article).to_be_visible(timeout=20_000)
    third = lesson_id_of(page)
    wrong = [(a + 1) % 3 for a in right_answers(stack, "alice", course_id, third)]
    answer_quiz(page, wrong)
    score = f"You scored 0 of {len(wrong)}."
    expect(page.get_by_role("region", name="Quiz").get_by_role("status")).to_contain_text(score)
    no_axe_violations(page, "lesson (quiz scored)")
    page.screenshot(path=str(SCREENSHOTS / "lesson.png"), full_page=True)

    page.get_by_role("link", name="Back to the course").click()
    row = page.locator(".lesson-row").nth(2)
    expect(row.locator(".quiz-score")).to_have_text(f"Quiz 0/{len(wrong)}")  # shown on the course page
    page.go_back()
    expect(page.get_by_role("region", name="Quiz").get_by_role("status")).to_contain_text(score, timeout=10_000)
    expect(page.get_by_role("region", name="Quiz").get_by_role("radio", checked=True)).to_have_count(len(wrong))

    # reload the course page: progress, ticks, and Continue lands on the first unfinished lesson
    page.goto(f"{url}/#/courses/{course_id}")
    page.reload()
    expect(page.get_by_text("2 of 12 lessons completed (16%)")).to_be_visible(timeout=10_000)
    rows = page.locator(".lesson-row")
    expect(rows.nth(0).locator(".badge.done")).to_have_text("read")
    expect(rows.nth(1).locator(".badge.done")).to_have_text("read")
    expect(rows.nth(2).locator(".badge.done")).to_have_count(0)
    expect(page.get_by_text(re.compile(r"\d+ of 12 lessons written so far"))).to_be_visible()  # distinct from progress
    no_axe_violations(page, "course (with progress)")
    page.screenshot(path=str(SCREENSHOTS / "course.png"), full_page=True)
    page.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(re.compile(rf"/lessons/{third}$"))
    assert [first, second, third] == ["m01-l01", "m01-l02", "m01-l03"]

    page.get_by_role("link", name="Back to the course").click()
    page.get_by_role("link", name="My courses").click()
    expect(page.locator(".course-row .learner-percent")).to_have_text("16% completed")
    no_axe_violations(page, "my courses (with progress)")
    page.screenshot(path=str(SCREENSHOTS / "courses.png"), full_page=True)

    # a second user sees none of it
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, url, "bob")
    expect(page.get_by_text("No courses yet.")).to_be_visible()
    page.goto(f"{url}/#/courses/{course_id}")
    expect(page.get_by_role("heading", name="Course not found")).to_be_visible()
    page.goto(f"{url}/#/courses/{course_id}/lessons/{third}")
    expect(page.get_by_role("heading", name="Lesson not found")).to_be_visible()
    bob = User(stack, "bob")
    assert bob.call("GET", "/progress").json() == {"courses": []}
    assert bob.call("GET", f"/courses/{course_id}/progress").status == 404

    # finishing: every lesson marked, the course page says so
    alice = User(stack, "alice")
    for lesson_id in [f"m{m:02d}-l{n:02d}" for m in range(1, 5) for n in range(1, 4)]:
        alice.call("PUT", f"/courses/{course_id}/lessons/{lesson_id}/progress", {"completed": True})
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, url, "alice")
    page.goto(f"{url}/#/courses/{course_id}")
    expect(page.get_by_text("You finished this course.")).to_be_visible(timeout=10_000)
    expect(page.get_by_role("link", name="Continue")).to_have_count(0)
    no_axe_violations(page, "course (finished)")
    context.close()


def test_walk_through_fixes(web_stack: LocalStack, browser: Browser) -> None:
    url = web_stack.api_url
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(url)
    expect(page).to_have_title("Sign in · FlowGen")
    expect(page.get_by_text("1 to 64 letters, digits or . _ @ | - (no spaces)")).to_be_visible()
    no_axe_violations(page, "sign in")
    field = page.get_by_label("User name")
    field.fill("Jane Doe")
    assert field.evaluate("el => el.validity.patternMismatch")  # Chromium compiled the pattern: it applies
    field.fill("jane.doe")
    assert field.evaluate("el => el.validity.valid")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My courses")).to_be_focused()
    expect(page).to_have_title("My courses · FlowGen")
    assert page.request.get(f"{url}/favicon.svg").ok
    assert page.locator("link[rel=icon]").get_attribute("href") == "favicon.svg"

    # a skip link, first in the tab order, to the screen's content
    first_tabbable = page.evaluate(
        "() => [...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')]"
        ".find(e => e.tabIndex >= 0).textContent"
    )
    assert first_tabbable == "Skip to content"
    skip = page.get_by_role("link", name="Skip to content")
    skip.focus()
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0  # shown when focused
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.tagName") == "MAIN"
    assert not page.url.endswith("#main")  # the route did not change

    # a pasted prompt over 2000 characters is refused with a count, never cut
    page.get_by_role("link", name="New course").click()
    expect(page).to_have_title("New course · FlowGen")
    prompt = page.get_by_label("What do you want to learn?")
    prompt.fill("x" * 2100)
    assert len(prompt.input_value()) == 2100
    expect(page.get_by_text("2100/2000 characters: 100 too many.")).to_be_visible()
    expect(page.get_by_role("button", name="Create course")).to_be_disabled()
    no_axe_violations(page, "new course (too long)")

    # the API's field-level validation message is shown
    prompt.fill("   ")
    page.get_by_role("button", name="Create course").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("the request is not valid")
    expect(alert.get_by_role("listitem")).to_contain_text("prompt")

    # an invalid course URL and an unknown route: a friendly page with a way back
    page.goto(f"{url}/#/courses/not-a-course")
    expect(page.get_by_role("heading", name="Course not found")).to_be_visible()
    expect(page).to_have_title("Course not found · FlowGen")
    no_axe_violations(page, "course not found")
    page.goto(f"{url}/#/nowhere")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    no_axe_violations(page, "page not found")
    page.get_by_role("link", name="Back to my courses").click()
    expect(page.get_by_role("heading", name="My courses")).to_be_visible()


def test_first_load_leaves_the_lesson_screen_and_highlighting_for_later(
    web_stack: LocalStack,
    browser: Browser,
) -> None:
    page = browser.new_page()
    scripts: list[str] = []
    page.on("request", lambda r: scripts.append(r.url.rsplit("/", 1)[-1]) if "/assets/" in r.url else None)
    sign_in(page, web_stack.api_url, "lazy")
    assert not [s for s in scripts if s.startswith(("LessonView-", "highlight-", "auth0-"))], scripts
    create_course(page, "Go channels")
    page.locator(".lesson-row a").first.click(timeout=20_000)
    expect(page.locator("article.lesson-body:not(.draft)")).to_be_visible(timeout=20_000)  # written, not a draft
    assert [s for s in scripts if s.startswith("LessonView-")] and [s for s in scripts if s.startswith("highlight-")]
    assert not [s for s in scripts if s.startswith("auth0-")]  # Auth0's SDK only where Auth0 signs in


@pytest.mark.system
def test_screens_keep_up_with_a_slow_model(shared_stack: SharedStack, fake_model: FakeOpenAI, browser: Browser) -> None:
    """With a 3 s model: the outline shows within 2 s of MongoDB (so the API) having it; My
    courses refreshes while a course builds; a progress indicator while an outline or a lesson is
    written; focus stays where the learner put it when a lesson lands. (Polling requests per
    minute, building and settled: bench/web_polling.py.)"""
    from flowgen import wiring

    fake_model.faults.latency_seconds = 3.0
    stack = shared_stack({"InitialLessons": "1"}, running=True, MODEL_TIMEOUT_SECONDS="6")
    url = stack.api_url
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    sign_in(page, url, "dana")
    course_id = create_course(page, "Category theory for programmers")
    writing = page.get_by_role("progressbar", name="Writing the outline")
    expect(writing).to_be_visible()
    no_axe_violations(page, "course (outline being written)")

    # the outline: from MongoDB having it to the browser showing it
    wait_for(lambda: (c := wiring.store().get_course("dana", course_id)) and c.modules, timeout=20)
    written_at = time.monotonic()
    page.locator(".lesson-row").first.wait_for(timeout=5_000)
    shown_after = time.monotonic() - written_at
    assert shown_after <= 2.0, f"the outline showed {shown_after:.1f}s after the API had it"
    expect(writing).to_have_count(0)

    # My courses while a second course builds: it refreshes until the course is ready
    page.get_by_role("link", name="My courses").click()
    create_course(page, "Monads without tears")
    page.get_by_role("link", name="My courses").click()
    building = page.locator(".course-row").filter(has_text="outline being written…")
    expect(building).to_have_count(1)
    list_from = stack.api_calls[LIST_POLL]  # the list as first shown: the course being built
    expect(building).to_have_count(0, timeout=20_000)
    assert stack.api_calls[LIST_POLL] - list_from >= 1  # it asked again, and showed the course ready

    # a lesson written while the learner waits: an indicator, and focus is not pulled back
    page.goto(f"{url}/#/courses/{course_id}/lessons/m02-l02")
    lesson_writing = page.get_by_role("progressbar", name="Writing this lesson")
    expect(lesson_writing).to_be_visible(timeout=5_000)
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    no_axe_violations(page, "lesson (being written)")
    page.get_by_role("link", name="Back to the course").focus()
    expect(page.locator("article.lesson-body:not(.draft)")).to_be_visible(timeout=20_000)  # written, not a draft
    expect(page.get_by_role("link", name="Back to the course")).to_be_focused()
    page.close()


def test_axe_results_are_written() -> None:
    """Runs last in this file: what axe found on each screen (nothing, or the tests above fail)."""
    if AXE_RESULTS:
        (DOCS_OUT / "web-axe.json").write_text(json.dumps(AXE_RESULTS, indent=2, sort_keys=True) + "\n")
