"""Share links in a real Chromium against the running local stack (issue 22, "Done means"): the
owner shares a course from its page; a second, signed-out browser context opens the link on a
phone-sized screen and reads a written lesson; the owner stops sharing and that context gets the
not-found page; a third user opens a new link signed out, presses "Make it yours", signs in and
lands on a copy of their own with progress at zero, whose written lesson reads at once."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.stack import LocalStack
from tests.e2e.browser import SCREENSHOTS, create_course, no_axe_violations, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e
playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect

NO_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"
PHONE_WIDTH, PHONE_HEIGHT = 390, 844


def _share_link(owner: Page) -> str:
    control = owner.get_by_role("region", name="Share this course")
    control.get_by_role("button", name="Share by link").click()
    expect(control.get_by_text("anyone with the link can read this course")).to_be_visible()
    link = control.get_by_label("Link").input_value()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/#/shared/[A-Za-z0-9_-]{43}", link), link
    return link


def test_share_read_signed_out_revoke_and_make_it_yours(
    web_stack: LocalStack, browser: Browser, fake_model: FakeOpenAI
) -> None:
    fake_model.faults.latency_seconds = 0.0  # no state to watch here: the model's 2 s timeout on a loaded machine
    url = web_stack.api_url
    owner = browser.new_page(viewport={"width": 1100, "height": 900})
    sign_in(owner, url, "olga")
    course_id = create_course(owner, "Rust ownership for C++ programmers")
    lessons = owner.locator(".lesson-row a")
    expect(lessons.first).to_be_visible(timeout=20_000)
    course_title = owner.get_by_role("heading", level=1).inner_text()
    first_title = lessons.first.inner_text()
    deep_title = lessons.nth(9).inner_text()  # never opened, far past the lookahead: not written
    lessons.first.click()  # the owner's own reading writes it
    expect(owner.locator("article.lesson-body:not(.draft) .markdown h2")).to_have_text(first_title, timeout=60_000)
    owner.get_by_role("link", name="Back to the course").click()
    expect(owner.get_by_text("Not shared: only you can see this course.")).to_be_visible()
    link = _share_link(owner)
    owner.screenshot(path=str(SCREENSHOTS / "course-shared.png"))

    # a second browser, nobody signed in, on a phone: the course, its written lesson, no account
    viewer_context = browser.new_context(viewport={"width": PHONE_WIDTH, "height": PHONE_HEIGHT})
    viewer = viewer_context.new_page()
    viewer.goto(link)
    expect(viewer.get_by_role("heading", level=1)).to_have_text(course_title)
    expect(viewer.get_by_text("A course shared with you: read it without an account.")).to_be_visible()
    rows = viewer.locator(".lesson-row")
    expect(rows.filter(has_text=deep_title).get_by_text("not written yet")).to_be_visible()
    assert viewer.evaluate(NO_SCROLL)
    no_axe_violations(viewer, "shared course (signed out, 390 px)")
    viewer.screenshot(path=str(SCREENSHOTS / "shared-course-phone.png"))
    viewer.get_by_role("link", name=first_title).click()
    expect(viewer.locator("article.lesson-body .markdown h2")).to_have_text(first_title, timeout=10_000)
    assert viewer.evaluate(NO_SCROLL)
    no_axe_violations(viewer, "shared lesson (signed out, 390 px)")

    # the owner stops sharing: the link is the not-found page at once, for the course and the lesson
    owner.get_by_role("region", name="Share this course").get_by_role("button", name="Stop sharing").click()
    expect(owner.get_by_text("Not shared: only you can see this course.")).to_be_visible()
    viewer.reload()
    expect(viewer.get_by_role("heading", name="Shared course not found")).to_be_visible(timeout=10_000)
    viewer.goto(link)
    expect(viewer.get_by_role("heading", name="Shared course not found")).to_be_visible(timeout=10_000)
    viewer_context.close()

    # shared again (a new link); a third user opens it signed out and makes it theirs
    second_link = _share_link(owner)
    assert second_link != link
    forker_context = browser.new_context(viewport={"width": 1100, "height": 900})
    forker = forker_context.new_page()
    forker.goto(second_link)
    expect(forker.get_by_role("heading", level=1)).to_have_text(course_title)
    forker.get_by_role("button", name="Make it yours").click()
    forker.get_by_label("User name").fill("pia")
    forker.get_by_role("button", name="Sign in").click()
    forker.wait_for_url(re.compile(r"#/courses/[0-9a-f]{32}$"), timeout=20_000)
    fork_id = forker.url.rsplit("/", 1)[-1]
    assert fork_id != course_id
    expect(forker.get_by_role("heading", level=1)).to_have_text(course_title)
    expect(forker.get_by_text(re.compile(r"^0 of \d+ lessons completed \(0%\)$"))).to_be_visible(timeout=10_000)
    expect(forker.get_by_role("link", name="Start the course")).to_be_visible()
    forker.screenshot(path=str(SCREENSHOTS / "course-forked.png"))
    forker.locator(".lesson-row a").first.click()  # copied as written: it reads at once
    expect(forker.locator("article.lesson-body:not(.draft) .markdown h2")).to_have_text(first_title, timeout=5_000)
    forker.get_by_role("link", name="Back to the course").click()
    forker.get_by_role("link", name="My courses").click()
    expect(forker.locator(".course-row")).to_have_count(1)  # one copy, made once

    # the owner sees nothing of it: their own course list is their one course
    owner.get_by_role("link", name="My courses").click()
    expect(owner.locator(".course-row")).to_have_count(1)
    forker_context.close()
    owner.close()
