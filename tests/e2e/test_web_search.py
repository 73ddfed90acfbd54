"""Search in a course in a real Chromium against the running local stack (issue 26, "Done
means": ... search): a learner reads a lesson, goes back to the course, finds it by a word of its
text, sees the word marked in the snippet, opens it from the result; a word no lesson says is
said to be missing; axe finds nothing on the screen, in the light and the dark theme, on a desktop
and at 390 px."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.stack import LocalStack
from tests.e2e.browser import create_course, no_axe_violations, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.e2e
playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect


@pytest.mark.parametrize("width", [1100, 390])
def test_find_a_written_lesson_by_a_word_and_open_it(
    web_stack: LocalStack, browser: Browser, fake_model: FakeOpenAI, width: int
) -> None:
    fake_model.faults.latency_seconds = 0.0
    page = browser.new_page(viewport={"width": width, "height": 844})
    sign_in(page, web_stack.api_url, f"sid{width}")
    create_course(page, "Rust ownership for C++ programmers")
    lessons = page.locator(".lesson-row a")
    expect(lessons.first).to_be_visible(timeout=20_000)
    title = lessons.first.inner_text()
    lessons.first.click()
    article = page.locator("article")
    expect(article.get_by_role("heading", name=title, level=2)).to_be_visible(timeout=60_000)
    words = re.findall(r"[A-Za-z]{7,}", article.locator("p").first.inner_text())
    word = max(words, key=len)
    page.get_by_role("link", name="Back to the course").click()

    box = page.get_by_role("searchbox", name="Find a word in the lessons written so far")
    box.fill(word.lower())
    box.press("Enter")
    results = page.get_by_role("region", name="Search this course")
    expect(results.get_by_role("status")).to_contain_text(re.compile(r"lessons? mentions?"), timeout=10_000)
    first = results.get_by_role("listitem").filter(has=page.get_by_role("link", name=title))
    expect(first).to_have_count(1)
    expect(first.locator("mark").first).to_have_text(re.compile(word[:4], re.IGNORECASE))  # an inflection of it
    no_axe_violations(page, f"course search (results, {width} px)")
    page.emulate_media(color_scheme="dark")
    no_axe_violations(page, f"course search (results, dark, {width} px)")
    page.emulate_media(color_scheme="light")

    box.fill("zyxwvutsrq")
    box.press("Enter")
    expect(results.get_by_role("status")).to_have_text("No lesson mentions “zyxwvutsrq”.")
    expect(results.get_by_role("list")).to_have_count(0)

    box.fill(word)
    box.press("Enter")
    first.get_by_role("link", name=title).click()
    expect(page.locator("article").get_by_role("heading", name=title, level=2)).to_be_visible(timeout=20_000)
