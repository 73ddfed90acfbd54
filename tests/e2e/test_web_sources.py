"""Issue 24 in a real Chromium against the running local stack: a learner adds a PDF of their own
to a new course through the page (the file goes from the browser straight to the stack's S3 with
the presigned POST form, CORS and all), watches it read by the ingestion worker, creates a course
grounded in it, sees it in the course's Sources, opens a lesson and a citation, and finds the
quoted passage on the page the citation names. axe finds nothing on every screen, in both themes."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from flowgen.citations import normalise
from flowgen_local.documents import handbook_pages, pdf_bytes
from flowgen_local.stack import LocalStack
from tests.e2e.browser import SCREENSHOTS, no_axe_violations, sign_in

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import Browser

pytestmark = pytest.mark.e2e
playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect

WRITTEN = "article.lesson-body:not(.draft)"
PAGES = 6


def test_a_learner_uploads_a_pdf_and_reads_a_lesson_that_cites_it(
    web_stack: LocalStack, browser: Browser, tmp_path: Path
) -> None:
    pages = handbook_pages(PAGES)
    handbook = tmp_path / "handbook.pdf"
    handbook.write_bytes(pdf_bytes(pages))

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    sign_in(page, web_stack.api_url, "reader-of-pdfs")
    page.get_by_role("link", name="New course").click()

    # picked through the page: uploaded to S3, then read by the worker until READY with its pages
    page.get_by_label("Add files").set_input_files(str(handbook))
    row = page.get_by_role("list", name="Files for this course").get_by_role("listitem")
    expect(row).to_have_count(1)
    expect(row.get_by_role("status")).to_have_text(f"Ready: {PAGES} pages", timeout=30_000)
    no_axe_violations(page, "new course, a source ready")
    page.screenshot(path=str(SCREENSHOTS / "sources-new-course.png"), full_page=True)

    page.get_by_label("What do you want to learn?").fill("The plant handbook")
    page.get_by_role("button", name="Create course").click()
    page.wait_for_url(re.compile(r"#/courses/[0-9a-f]{32}$"))
    sources = page.get_by_role("region", name="Sources")
    expect(sources.get_by_role("listitem")).to_have_text([f"handbook.pdf · {PAGES} pages · ready"])
    expect(page.get_by_role("link", name="Start the course")).to_be_visible(timeout=30_000)
    no_axe_violations(page, "course with its sources")

    # a lesson written from the PDF: its citations open the passage with its page and file
    page.get_by_role("link", name="Start the course").click()
    expect(page.locator(WRITTEN)).to_be_visible(timeout=30_000)
    marks = page.locator(WRITTEN).get_by_role("button", name=re.compile(r"^Citation \d+: handbook\.pdf, page \d+$"))
    expect(marks.first).to_be_visible()
    no_axe_violations(page, "lesson with citations")
    mark = marks.first
    label = mark.get_attribute("aria-label") or ""
    cited_page = int(label.rsplit(" ", 1)[-1])
    mark.focus()
    page.keyboard.press("Enter")  # by keyboard: a disclosure
    expect(mark).to_have_attribute("aria-expanded", "true")
    panel = page.locator(f"{WRITTEN} .cite-panel")
    expect(panel).to_have_attribute("id", mark.get_attribute("aria-controls") or "?")
    expect(panel).to_contain_text(f"handbook.pdf, page {cited_page}")
    quote = panel.locator("blockquote").inner_text()
    assert len(quote) >= 12
    assert normalise(quote) in normalise(" ".join(pages[cited_page - 1])), (quote, cited_page)
    no_axe_violations(page, "lesson, a citation open")
    page.screenshot(path=str(SCREENSHOTS / "sources-citation.png"), full_page=True)
    page.keyboard.press("Escape")
    expect(panel).to_have_count(0)
    expect(mark).to_be_focused()
    page.close()
