"""Making a course yours in a real Chromium (issue 11): a language chosen on New course and shown
on the course page, the Markdown export downloaded, the print view (no navigation chrome, each
lesson on a new page), and axe-core on every new screen."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from flowgen_local.stack import LocalStack
from tests.e2e.browser import no_axe_violations, sign_in, words
from tests.helpers import User, lesson_ids
from tests.markdown_export import parse

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e
playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect


def _written(user: User, course_id: str) -> set[str]:
    """The titles of the course's lessons written so far."""
    course = user.call("GET", f"/courses/{course_id}").json()
    return {x["title"] for m in course["modules"] for x in m["lessons"] if x["status"] == "GENERATED"}


def _new_course(page: Page, prompt: str, language: str) -> str:
    page.get_by_role("link", name="New course").click()
    page.get_by_label("What do you want to learn?").fill(prompt)
    page.get_by_label("Size").select_option("short")
    page.get_by_label("Language (optional)").fill(language)
    page.get_by_role("button", name="Create course").click()
    page.wait_for_url(re.compile(r"#/courses/[0-9a-f]{32}$"))
    return page.url.rsplit("/", 1)[-1]


def test_language_export_and_print(web_stack: LocalStack, browser: Browser) -> None:
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

    # the outline's background prefetch may finish more lessons meanwhile: what the export and the
    # print view show lies between what was written before and what is written after each
    before = _written(alice, course_id)
    with page.expect_download() as download:
        page.get_by_role("button", name="Export as Markdown").click()
    slug = re.sub(r"[^a-z0-9]+", "-", course["title"].lower()).strip("-")[:60]
    assert download.value.suggested_filename == f"{slug}.md"  # the API's name (CORS exposes Content-Disposition)
    doc = parse(Path(download.value.path()).read_text(encoding="utf-8"))
    assert [title for title, _ in doc.modules] == [m["title"] for m in course["modules"]]
    assert lesson["title"] in doc.answers and before <= set(doc.answers) <= _written(alice, course_id)

    before = _written(alice, course_id)
    page.get_by_role("link", name="Print or PDF").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(course["title"])
    expect(page.get_by_role("button", name="Print or save as PDF")).to_be_enabled()
    lessons = page.locator(".print-lessons")
    expect(lessons.get_by_role("heading", level=3, name=re.compile(r"^Lesson 1\.1: "))).to_have_count(1)
    answered = page.get_by_role("region", name="Quiz answers").get_by_role("heading", level=3).count()
    assert len(before) <= answered <= len(_written(alice, course_id))
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


def test_regenerate_switch_versions_and_edit_the_outline(web_stack: LocalStack, browser: Browser) -> None:
    stack, url = web_stack, web_stack.api_url
    page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
    sign_in(page, url, "alice")
    course_id = _new_course(page, "Rust ownership for C++ programmers", "German")
    start = page.get_by_role("link", name="Kurs beginnen")  # a German course: a German interface (issue 26)
    expect(start).to_be_visible(timeout=20_000)
    start.click()
    article = page.locator("article.lesson-body:not(.draft)")  # written, not a draft
    expect(article).to_be_visible(timeout=20_000)
    page.get_by_role("button", name="Als abgeschlossen markieren").click()
    expect(page.get_by_text("✓ Abgeschlossen.")).to_be_visible()
    lesson_id = page.url.rsplit("/", 1)[-1]
    first_text = article.locator(".markdown").first.inner_text()

    # rewrite it with an instruction: the lesson is written again, the first version kept
    rewrite = page.get_by_role("region", name=words("de", "rewrite.heading"))  # German too
    no_axe_violations(page, "lesson (versions)")
    rewrite.get_by_label(words("de", "rewrite.label")).fill("Simpler, with an analogy")
    rewrite.get_by_role("button", name=words("de", "rewrite.submit")).click()
    expect(page.locator("article.lesson-body")).to_be_visible()  # the lesson stays while its new version is written
    expect(article.get_by_text("Instruction asked for")).to_be_visible(timeout=20_000)
    versions = page.get_by_role("region", name=words("de", "versions.region"))  # near the top
    expect(page.get_by_text("✓ Abgeschlossen.")).to_be_visible()  # progress kept
    switch = versions.get_by_label(words("de", "versions.label"))
    expect(switch.locator("option")).to_have_count(2)
    expect(switch).to_have_value("2")
    no_axe_violations(page, "lesson (two versions)")

    # back to the first version
    switch.select_option("1")
    versions.get_by_role("button", name=words("de", "versions.show")).click()
    expect(switch).to_have_value("1")
    expect(article.locator(".markdown").first).to_have_text(first_text)
    expect(article.get_by_text("Instruction asked for")).to_have_count(0)

    # edit the outline: rename a lesson, move the first lesson down, add one, remove one (asked first)
    page.get_by_role("link", name="Zurück zum Kurs").click()
    page.get_by_role("button", name=words("de", "outline.region")).click()
    editor = page.get_by_role("form", name=words("de", "outline.region"))
    expect(editor).to_be_visible()
    no_axe_violations(page, "outline editor")
    course = User(stack, "alice").call("GET", f"/courses/{course_id}").json()
    titles = [lesson["title"] for m in course["modules"] for lesson in m["lessons"]]
    editor.get_by_label(words("de", "outline.lessonTitle", n=2, m=1)).fill("Renamed in the browser")
    editor.get_by_role("button", name=words("de", "outline.lessonDown", title=titles[0])).click()
    editor.get_by_role("button", name=words("de", "outline.addLesson", n=2)).click()
    editor.get_by_role("button", name=words("de", "outline.removeNamed", title=titles[3])).click()
    editor.get_by_role("button", name=words("de", "outline.save")).click()
    expect(editor.get_by_role("alert")).to_contain_text(titles[3])  # removal asks first
    no_axe_violations(page, "outline editor (confirm removal)")
    # Cancel sits in line with the save button: same row, same height (issue 26, friction 8)
    boxes = [
        editor.get_by_role("button", name=name).bounding_box()
        for name in (words("de", "outline.removeAndSave"), words("de", "common.cancel"))
    ]
    assert all(boxes) and all(abs(boxes[0][k] - boxes[1][k]) < 1 for k in ("y", "height")), boxes  # type: ignore[index]
    editor.get_by_role("button", name=words("de", "outline.removeAndSave")).click()
    expect(editor).to_have_count(0)

    after = User(stack, "alice").call("GET", f"/courses/{course_id}").json()
    assert after["version"] == 2
    flat = [lesson for m in after["modules"] for lesson in m["lessons"]]
    assert [lesson["title"] for lesson in flat[:2]] == ["Renamed in the browser", titles[0]]
    assert flat[1]["id"] == lesson_id and flat[1]["status"] == "GENERATED"  # moved, still written
    now_titles = [lesson["title"] for lesson in flat]
    assert titles[3] not in now_titles and words("de", "outline.newLesson") in now_titles
    expect(page.get_by_role("link", name="Renamed in the browser")).to_be_visible()
    row = page.locator(".lesson-row").nth(1)
    expect(row.locator(".badge.done")).to_have_text("gelesen")  # progress followed the lesson
