"""Text as it is written, in a real Chromium (issue 13): a lesson opened while it is written shows
its finished blocks before it is complete, never as final, without moving what the reader has in
view; the outline's modules as they are written; a question's answer streaming into the thread.
A slow streaming fake model (first token, then a few hundred tokens a second) makes each visible."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

from flowgen_local.fake_openai import FakeOpenAI, Faults
from flowgen_local.stack import WEB_DIST, LocalStack
from tests.conftest import SharedStack
from tests.e2e.browser import SCREENSHOTS, create_course, no_axe_violations, sign_in
from tests.helpers import User, lesson_ids

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e
playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect

# What the page shows, sampled every 40 ms in the page itself (no round trip can miss a state):
# the scroll position, each block's place in the window, whether the "still writing" status, the
# draft's class and the final lesson's completion button are there.
SAMPLER = """
() => {
  window.__samples = [];
  window.__sampler = setInterval(() => {
    const blocks = [...document.querySelectorAll('article.lesson-body .block')];
    window.__samples.push({
      t: performance.now(),
      scrollY: window.scrollY,
      tops: blocks.map(b => Math.round(b.getBoundingClientRect().top * 10) / 10),
      writingBlock: !!document.querySelector('article.lesson-body .block.writing'),
      texts: blocks.map(b => b.textContent.length),
      status: document.querySelector('.writing-status')?.textContent ?? null,
      draft: !!document.querySelector('article.lesson-body.draft'),
      final: !!document.querySelector('article.lesson-body:not(.draft)'),
      completion: [...document.querySelectorAll('button')].some(b => /Mark as (not )?completed/.test(b.textContent)),
    });
  }, 40);
}
"""


@pytest.fixture
def streaming_stack(shared_stack: SharedStack) -> LocalStack:
    """Streaming on (the default); workers may run 25 s (visibility 30 s), a model read 20 s; no
    background lessons at the outline, so the lesson opened is written while the page watches."""
    assert (WEB_DIST / "index.html").is_file(), "the web app is not built: run `make web` (make test does)"
    return shared_stack(
        {"WorkerTimeoutSeconds": "25", "InitialLessons": "0"},
        running=True,
        visibility=30,
        MODEL_TIMEOUT_SECONDS="20",
        STREAM_LESSONS="true",
    )


def _ready(user: User, course_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        course: dict[str, Any] = user.call("GET", f"/courses/{course_id}").json()
        if course["status"] == "READY":
            return course
        time.sleep(0.2)
    raise AssertionError(f"course {course_id} not READY in {timeout}s")


def _samples(page: Page) -> list[dict[str, Any]]:
    samples: list[dict[str, Any]] = page.evaluate("() => { clearInterval(window.__sampler); return window.__samples; }")
    return samples


def test_a_lesson_shows_its_blocks_as_they_are_written_and_nothing_moves(
    streaming_stack: LocalStack,
    browser: Browser,
    fake_model: FakeOpenAI,
) -> None:
    stack, url = streaming_stack, streaming_stack.api_url
    page = browser.new_page(viewport={"width": 900, "height": 700})
    sign_in(page, url, "sam")
    course_id = create_course(page, "Rust ownership for C++ programmers")
    sam = User(stack, "sam")
    course = _ready(sam, course_id)
    target = lesson_ids(course)[-1]  # far from anything prefetched
    # from here the model writes like a hosted one: ~1400 tokens at 160 tokens/s, about 9 s
    fake_model.set_faults(Faults(first_token_seconds=0.4, tokens_per_second=160, lesson_tokens=1400))

    page.goto(f"{url}/#/courses/{course_id}/lessons/{target}")
    page.evaluate(SAMPLER)
    status = page.locator(".writing-status")
    expect(status).to_be_visible(timeout=10_000)

    # the first finished block is shown while the lesson is still written, said so, never final
    first_block = page.locator("article.lesson-body .block").first
    expect(first_block).to_be_visible(timeout=15_000)
    expect(status).to_contain_text("Still writing")
    expect(page.get_by_role("button", name="Mark as completed")).to_have_count(0)
    api_view = sam.open_lesson(course_id, target)
    assert api_view.status == 202, "the lesson was already written: the model is not slow enough to watch it"

    # once the page is taller than the window, the reader scrolls into it: from then on nothing moves
    page.wait_for_function(
        "() => document.documentElement.scrollHeight > window.innerHeight + 400"
        " && !!document.querySelector('.writing-status')",
        timeout=20_000,
    )
    if page.locator(".writing-status").count():
        page.screenshot(path=str(SCREENSHOTS / "lesson-writing.png"))
        no_axe_violations(page, "lesson (being written, partial blocks)")
    page.evaluate("() => window.scrollTo(0, 300)")
    page.wait_for_function("() => window.scrollY === 300")
    scrolled_at = page.evaluate("() => performance.now()")

    article = page.locator("article.lesson-body:not(.draft)")
    expect(article).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name="Mark as completed")).to_be_visible()
    expect(page.locator(".writing-status")).to_have_count(0)
    time.sleep(0.5)  # a few samples of the final lesson
    samples = _samples(page)
    final = sam.open_lesson(course_id, target)
    assert final.status == 200
    blocks = final.json()["content"]["blocks"]
    assert page.locator("article.lesson-body .block").count() == len(blocks)

    drafts = [s for s in samples if s["draft"]]
    finals = [s for s in samples if s["final"]]
    assert drafts and finals
    # partial content is never final: while a draft shows, the status says so and nothing offers completion
    assert all(s["status"] and "not final" in s["status"] and not s["completion"] for s in drafts if s["tops"])
    assert all(not s["status"] and not s["draft"] for s in finals)
    # it grew as polls arrived: several block counts before the last
    counts = sorted({len(s["tops"]) for s in drafts})
    assert len(counts) >= 3 and counts[-1] <= len(blocks), counts
    # the reader's place: once scrolled, the scroll position never changes, and no block shown
    # moves in the window, not while the lesson grows, nor when the final lesson replaces the draft
    watched = [s for s in samples if s["t"] >= scrolled_at]
    assert watched and any(s["draft"] for s in watched), "the lesson finished before the reader scrolled"
    assert {s["scrollY"] for s in watched} == {300}, sorted({s["scrollY"] for s in watched})
    longest = max(len(s["tops"]) for s in watched)
    for index in range(longest):
        places = {s["tops"][index] for s in watched if len(s["tops"]) > index}
        # the block being written is the last one: it stays where it began
        assert max(places) - min(places) <= 0.5, f"block {index} moved: {sorted(places)}"


def test_the_outline_shows_its_modules_as_they_are_written(
    streaming_stack: LocalStack,
    browser: Browser,
    fake_model: FakeOpenAI,
) -> None:
    stack, url = streaming_stack, streaming_stack.api_url
    fake_model.set_faults(Faults(first_token_seconds=0.4, tokens_per_second=60))  # an outline in ~8 s
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    sign_in(page, url, "olga")
    course_id = create_course(page, "Category theory for programmers")
    status = page.get_by_role("status").filter(has_text="Writing the outline")
    expect(status).to_be_visible()
    drafts = page.locator(".lesson-row.draft")
    expect(drafts.first).to_be_visible(timeout=20_000)
    expect(status).to_contain_text("so far")
    course = User(stack, "olga").call("GET", f"/courses/{course_id}").json()
    assert course["status"] == "GENERATING" and course["partialOutline"]["modules"], course
    assert page.locator(".lesson-row.draft a").count() == 0  # greyed, not links
    assert page.locator(".lesson-row a").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "course-outline-writing.png"))
    no_axe_violations(page, "course (outline being written, modules so far)")

    expect(page.locator(".lesson-row a").first).to_be_visible(timeout=30_000)
    expect(drafts).to_have_count(0)
    expect(page.get_by_role("progressbar", name="Writing the outline")).to_have_count(0)


def test_an_answer_streams_into_the_thread(
    streaming_stack: LocalStack,
    browser: Browser,
    fake_model: FakeOpenAI,
) -> None:
    stack, url = streaming_stack, streaming_stack.api_url
    page = browser.new_page(viewport={"width": 1000, "height": 1000})
    sign_in(page, url, "quinn")
    course_id = create_course(page, "Rust ownership for C++ programmers")
    quinn = User(stack, "quinn")
    course = _ready(quinn, course_id)
    target = lesson_ids(course)[0]
    page.goto(f"{url}/#/courses/{course_id}/lessons/{target}")
    expect(page.locator("article.lesson-body:not(.draft)")).to_be_visible(timeout=20_000)

    panel = page.get_by_role("region", name="Ask about this lesson")
    expect(panel).to_be_visible()
    box = panel.get_by_role("textbox", name="Your question")
    ask = panel.get_by_role("button", name="Ask")
    expect(ask).to_be_disabled()  # blank
    box.fill("x" * 1001)
    expect(panel.get_by_text("1001/1000 characters: 1 too many.")).to_be_visible()
    expect(ask).to_be_disabled()
    question = "Why can a moved-from String not be used again?"
    box.fill(question)
    expect(panel.get_by_text(f"{len(question)}/1000 characters.")).to_be_visible()
    no_axe_violations(page, "lesson (ask about this lesson)")

    # slow enough to watch the answer grow: ~25 tokens a second
    fake_model.set_faults(Faults(first_token_seconds=0.5, tokens_per_second=25))
    ask.click()
    thread = panel.get_by_role("list", name="Questions and answers")
    expect(thread.get_by_text(question)).to_be_visible()
    expect(box).to_have_value("")
    answering = panel.locator(".qa.answering .block.writing")
    expect(answering).to_be_visible(timeout=15_000)
    expect(panel.get_by_text("Still answering…")).to_be_visible()
    first_text = answering.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "lesson-ask-answering.png"), full_page=True)
    no_axe_violations(page, "lesson (an answer being written)")

    answered = panel.locator(".qa.answered .answer")
    expect(answered).to_be_visible(timeout=30_000)
    expect(answered).to_contain_text("You asked")  # the offline model quotes the question
    assert len(answered.inner_text()) > len(first_text)  # it grew from what was shown while answering
    expect(panel.get_by_text("Still answering…")).to_have_count(0)
    answered.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "lesson-ask-answered.png"), full_page=True)
    no_axe_violations(page, "lesson (question answered)")

    # polling stops once nothing is pending
    calls = "GET /courses/{courseId}/lessons/{lessonId}/questions"
    time.sleep(2.5)
    before = stack.api_calls[calls]
    time.sleep(5)
    assert stack.api_calls[calls] == before
