"""Making a course yours in a real Chromium (issue 11): a language chosen on New course and shown
on the course page, the Markdown export downloaded, the print view (no navigation chrome, each
lesson on a new page), and axe-core on every new screen."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_learner import no_axe_violations
from tests.e2e.test_web import browser, sign_in, web_stack  # noqa: F401
from tests.helpers import User, lesson_ids
from tests.markdown_export import parse

pytestmark = pytest.mark.e2e
playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect


def _new_course(page: Any, prompt: str, language: str) -> str:
    page.get_by_role("link", name="New course").click()
    page.get_by_label("What do you want to learn?").fill(prompt)
    page.get_by_label("Size").select_option("short")
    page.get_by_label("Language (optional)").fill(language)
    page.get_by_role("button", name="Create course").click()
    page.wait_for_url(re.compile(r"#/courses/[0-9a-f]{32}$"))
    return page.url.rsplit("/", 1)[-1]


def test_language_export_and_print(web_stack, browser) -> None:  # noqa: F811
    stack, url = web_stack, web_stack.api_url
    page = browser.new_context(viewport={"width": 1100, "height": 900}, accept_downloads=True).new_page()
    sign_in(page, url, "alice")

    # an invalid language is refused by the form itself (the same rule as the API)
    page.get_by_role("link", name="New course").click()
    page.get_by_label("Language (optional)").fill("Klingon 2")
    assert page.get_by_label("Language (optional)").evaluate("(e) => e.validity.patternMismatch")
    no_axe_violations(page, "new course (language)")
    page.get_by_role("link", name="FlowGen").click()

    course_id = _new_course(page, "Cricket statistics with Python", "Hinglish")
    expect(page.get_by_text("Written in Hinglish")).to_be_visible()
    expect(page.get_by_role("button", name="Export as Markdown")).to_be_visible(timeout=20_000)
    no_axe_violations(page, "course (language, export)")

    alice = User(stack, "alice")
    course = alice.call("GET", f"/courses/{course_id}").json()
    assert course["language"] == "Hinglish"
    first = lesson_ids(course)[0]
    alice.open_lesson(course_id, first)  # one lesson written, the others not yet
    lesson = None
    for _ in range(100):
        lesson = alice.open_lesson(course_id, first).json()
        if lesson["status"] == "GENERATED":
            break
        page.wait_for_timeout(200)
    assert lesson is not None and lesson["status"] == "GENERATED"

    with page.expect_download() as download:
        page.get_by_role("button", name="Export as Markdown").click()
    assert download.value.suggested_filename.endswith(".md")
    doc = parse(Path(download.value.path()).read_text(encoding="utf-8"))
    assert [title for title, _ in doc.modules] == [m["title"] for m in course["modules"]]
    assert list(doc.answers) == [lesson["title"]]

    page.get_by_role("link", name="Print or PDF").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(course["title"])
    expect(page.get_by_role("button", name="Print or save as PDF")).to_be_enabled()
    lessons = page.locator(".print-lessons")
    expect(lessons.get_by_role("heading", level=3, name=re.compile(r"^Lesson 1\.1: "))).to_have_count(1)
    expect(page.get_by_role("region", name="Quiz answers").get_by_role("heading", level=3)).to_have_count(1)
    no_axe_violations(page, "print view")
    page.emulate_media(media="print")
    assert page.locator("header.top").evaluate("(e) => getComputedStyle(e).display") == "none"
    assert page.get_by_role("button", name="Print or save as PDF").is_hidden()
    breaks = page.locator(".print-lessons h3").evaluate_all(
        "(hs) => hs.map((h) => [h.previousElementSibling.tagName, getComputedStyle(h).breakBefore])"
    )
    assert len(breaks) == len(lesson_ids(course))
    # a module's first lesson follows its module heading (which starts the page); every other lesson starts one
    assert all(mode == ("auto" if before == "H2" else "page") for before, mode in breaks), breaks
    modules = page.locator(".print-lessons h2").evaluate_all("(hs) => hs.map((h) => getComputedStyle(h).breakBefore)")
    assert modules[0] == "auto" and set(modules[1:]) == {"page"}, modules
    assert page.locator(".print-answers").evaluate("(e) => getComputedStyle(e).breakBefore") == "page"
    assert len(page.pdf()) > 1000  # Chromium's own Save as PDF, with the print stylesheet
