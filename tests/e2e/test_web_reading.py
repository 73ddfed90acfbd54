"""The reading experience in a real Chromium against the running local stack (issue 26): place
and pace, resuming after a reload and on another device, a quiz that teaches before it reveals,
the next step right after it, status words, and axe on each screen, desktop and 390 px."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.stack import WEB_DIST, LocalStack
from tests.conftest import SharedStack
from tests.e2e.browser import SCREENSHOTS, create_course, no_axe_violations, sign_in
from tests.fakes.youtube import FakeYouTube
from tests.helpers import User, answer_key

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e
playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect

WRITTEN = "article.lesson-body:not(.draft)"


@pytest.fixture
def web_stack(shared_stack: SharedStack, fake_model: FakeOpenAI, youtube: FakeYouTube) -> LocalStack:
    """The web stack with a model timeout of 8 s, not 2: these tests read what is written, on a
    shared machine whose load can stretch a lesson's streamed parse past 2 s (failure screens
    are tested in test_web_failures)."""
    assert (WEB_DIST / "index.html").is_file(), "the web app is not built: run `make web` (make test does)"
    fake_model.faults.latency_seconds = 0.4
    youtube.status = 200
    return shared_stack(
        running=True, YOUTUBE_API_KEY="yt-test", YOUTUBE_BASE_URL=youtube.url, MODEL_TIMEOUT_SECONDS="8"
    )


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
    words = re.compile("^(not written yet|being written|ready to read)$")  # the learner's words
    expect(page.locator(".lesson-row .badge").first).to_have_text(words)
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
    expect(quiz.get_by_role("link", name="On to the next lesson")).to_have_count(0)
    no_axe_violations(page, f"lesson, quiz failed ({width} px)")
    quiz.get_by_role("button", name="Try again").click()
    for question, answer in zip(quiz.locator("fieldset").all(), right, strict=True):
        question.get_by_role("radio").nth(answer).check()
    quiz.get_by_role("button", name="Check my answers").click()
    expect(quiz.get_by_role("status")).to_contain_text("Passed")
    expect(quiz.get_by_text(re.compile(r"Your earlier tries: 0 of \d"))).to_be_visible()  # the failed try is kept
    next_step = quiz.get_by_role("link", name="On to the next lesson")
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

    # saved a second after scrolling stops; the save itself is a request to a stack sharing two
    # cores with the rest of the suite (CI saw block 0 still stored 1.8 s after the scroll)
    kept = position()
    for _ in range(40):
        if kept is not None and kept["block"] >= 2:
            break
        page.wait_for_timeout(250)
        kept = position()
    debug = page.evaluate(
        "() => [window.scrollY, document.documentElement.scrollHeight, "
        "[...document.querySelectorAll('article.lesson-body > .block')]"
        ".map(b => Math.round(b.getBoundingClientRect().top))]"
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


@pytest.mark.parametrize("width", [1100, 390])
def test_rewrite_in_place_versions_and_dark_mode(web_stack: LocalStack, browser: Browser, width: int) -> None:
    """A rewrite keeps the lesson on screen and the reader where they were; the version switcher is
    near the top and says what it did; the dark theme follows the system, a toggle overrides it,
    and axe finds nothing in either theme."""
    url = web_stack.api_url
    user = f"writer{width}"
    context = browser.new_context(viewport={"width": width, "height": 800}, color_scheme="dark")
    page = context.new_page()
    sign_in(page, url, user)
    background = "() => getComputedStyle(document.documentElement).backgroundColor"
    assert page.evaluate(background) == "rgb(17, 20, 26)"  # the system's dark
    no_axe_violations(page, f"my courses, dark ({width} px)")
    course_id = create_course(page, "Rust ownership for C++ programmers")
    start = page.get_by_role("link", name="Start the course")
    expect(start).to_be_visible(timeout=20_000)
    no_axe_violations(page, f"course, dark ({width} px)")
    start.click()
    article = page.locator(WRITTEN)
    expect(article).to_be_visible(timeout=20_000)
    expect(page.locator("code .hljs-string").first).to_be_visible()
    no_axe_violations(page, f"lesson, dark ({width} px)")
    page.screenshot(path=str(SCREENSHOTS / f"reading-dark-{width}.png"))

    # the toggle: light on a dark system, kept across a reload; axe again
    toggle = page.get_by_role("button", name="Dark theme")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    assert page.evaluate(background) == "rgb(247, 248, 251)"
    page.reload()
    expect(article).to_be_visible(timeout=20_000)
    expect(page.get_by_role("button", name="Dark theme")).to_have_attribute("aria-pressed", "false")
    no_axe_violations(page, f"lesson, light on a dark system ({width} px)")
    page.get_by_role("button", name="Dark theme").click()  # the system's again

    # read down to the rewrite form, rewrite: the lesson stays, the reader stays
    lesson_id = page.url.rsplit("/", 1)[-1]
    first_text = article.locator(".markdown").nth(1).inner_text()
    rewrite = page.get_by_role("region", name="Make it yours")
    rewrite.get_by_label("Rewrite this lesson: what should change?").fill("Simpler, with an analogy")
    rewrite.scroll_into_view_if_needed()
    read = article.locator(".block").last  # the last of the lesson, just above the form

    def on_screen() -> float:
        return float(read.bounding_box()["y"])  # type: ignore[index]

    before = on_screen()
    rewrite.get_by_role("button", name="Rewrite the lesson").click()
    expect(page.get_by_text(re.compile(r"Version 2 is being written with your instruction"))).to_be_visible()
    expect(article).to_contain_text(first_text)  # the lesson read so far, not an empty page
    # where the reader was stays where it was on screen (the switcher that appears above it is
    # absorbed by the browser's scroll anchoring: the page's scroll offset may change, the text does not)
    page.wait_for_timeout(300)
    assert abs(on_screen() - before) < 200, (before, on_screen(), _scroll_top(page))
    no_axe_violations(page, f"lesson, rewriting, dark ({width} px)")
    expect(article.get_by_text("Instruction asked for")).to_be_visible(timeout=40_000)
    assert _scroll_top(page) > 300  # not sent back to the top

    # the switcher near the top: says which version it shows, and takes focus
    versions = page.get_by_role("region", name="Versions of this lesson")
    assert versions.bounding_box()["y"] < article.bounding_box()["y"]  # type: ignore[index]
    versions.get_by_label("Version").select_option("1")
    versions.get_by_role("button", name="Show this version").click()
    said = versions.get_by_role("status")
    expect(said).to_have_text("Now showing version 1 (the first version). Your progress is kept.")
    expect(said).to_be_focused()
    expect(article.get_by_text("Instruction asked for")).to_have_count(0)
    no_axe_violations(page, f"lesson, version switched, dark ({width} px)")
    page.screenshot(path=str(SCREENSHOTS / f"reading-versions-dark-{width}.png"))

    # compare: the rewrite (read from the API) beside the current version, stacked at 390 px
    opener = versions.get_by_role("button", name="Compare version 2 with the current version")
    opener.click()
    compared = page.get_by_role("region", name="Version 2 and version 1 side by side")
    expect(compared.get_by_role("heading", name="Version 2 and version 1 side by side")).to_be_focused()
    sides = compared.locator(".compare-side")
    expect(sides).to_have_count(2)
    expect(compared.locator(".compare-block.changed").first).to_be_visible()  # the rewritten text is marked
    first, second = (sides.nth(i).bounding_box() for i in range(2))
    assert first and second
    beside = abs(first["y"] - second["y"]) < 1 and second["x"] > first["x"] + first["width"] - 1
    stacked = second["y"] >= first["y"] + first["height"] - 1
    assert (beside, stacked) == ((True, False) if width >= 640 else (False, True)), (first, second)
    no_axe_violations(page, f"versions compared, dark ({width} px)")
    page.screenshot(path=str(SCREENSHOTS / f"reading-compare-dark-{width}.png"))
    compared.get_by_role("button", name="Close the comparison").click()
    expect(compared).to_have_count(0)
    expect(opener).to_be_focused()
    assert User(web_stack, user).call("GET", f"/courses/{course_id}/lessons/{lesson_id}").json()["version"] == 1
    context.close()


@pytest.mark.parametrize("width", [1100, 390])
def test_a_german_course_has_a_german_interface(web_stack: LocalStack, browser: Browser, width: int) -> None:
    """The interface follows the course's language (German here; English stays for the list)."""
    url = web_stack.api_url
    page = browser.new_context(viewport={"width": width, "height": 800}).new_page()
    sign_in(page, url, f"leser{width}")
    page.get_by_role("link", name="New course").click()
    page.get_by_role("button", name="Rust ownership for C++ programmers").click()  # an example topic fills the box
    expect(page.get_by_label("What do you want to learn?")).to_have_value("Rust ownership for C++ programmers")
    page.get_by_label("Language (optional)").fill("German")
    page.get_by_role("button", name="Create course").click()
    start = page.get_by_role("link", name="Kurs beginnen")
    expect(start).to_be_visible(timeout=20_000)
    expect(page.locator("main")).to_have_attribute("lang", "de")
    expect(page.get_by_text(re.compile(r"0 von 12 Lektionen abgeschlossen"))).to_be_visible()
    no_axe_violations(page, f"course in German ({width} px)")
    start.click()
    expect(page.locator(WRITTEN)).to_be_visible(timeout=20_000)
    expect(page.locator(".place")).to_contain_text("Lektion 1 von 12")
    quiz = page.get_by_role("region", name="Quiz")
    expect(quiz.get_by_role("heading", name="Teste dich")).to_be_visible()
    expect(quiz.get_by_role("button", name="Antworten prüfen")).to_be_visible()
    expect(page.get_by_role("button", name="Als abgeschlossen markieren")).to_be_visible()
    no_axe_violations(page, f"lesson in German ({width} px)")
    page.screenshot(path=str(SCREENSHOTS / f"reading-german-{width}.png"))
    page.get_by_role("link", name="Zurück zum Kurs").click()
    page.get_by_role("link", name="Meine Kurse").click()
    expect(page.get_by_role("heading", name="My courses")).to_be_visible()  # the list stays in English
    page.context.close()
