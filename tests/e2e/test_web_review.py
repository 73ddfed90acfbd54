"""Spaced review in a real Chromium against the running local stack (issue 23, "Done means"): a
learner reads a lesson, the course shows its flashcards, the review screen takes them one at a
time with the keyboard alone (Space, then 3), they leave the due list with due times equal to what
the `fsrs` package computes for the same history, and a rewritten lesson keeps the history of the
cards it keeps."""

from __future__ import annotations

import time
from datetime import UTC
from typing import TYPE_CHECKING, Any

import pymongo
import pytest
from fsrs import Card, Rating, Scheduler

from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.stack import LocalStack
from tests.e2e.browser import SCREENSHOTS, create_course, no_axe_violations, sign_in
from tests.helpers import User
from tests.narrow import present

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.e2e
playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect


def _settled(db: Any, owner: str, course_id: str) -> int:
    """The course's card count once it has not changed for 5 s (at most a minute)."""
    deadline, last, since = time.monotonic() + 60, -1, time.monotonic()
    while time.monotonic() < deadline:
        count = int(db["cards"].count_documents({"ownerId": owner, "courseId": course_id}))
        if count != last:
            last, since = count, time.monotonic()
        elif count and time.monotonic() - since >= 5:
            return count
        time.sleep(0.5)
    return last


def test_read_review_with_the_keyboard_and_a_rewrite_keeps_the_history(
    web_stack: LocalStack, browser: Browser, fake_model: FakeOpenAI
) -> None:
    fake_model.faults.latency_seconds = 0.0
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    sign_in(page, web_stack.api_url, "rhea")
    course_id = create_course(page, "Rust ownership for C++ programmers")
    lessons = page.locator(".lesson-row a")
    expect(lessons.first).to_be_visible(timeout=20_000)
    first_title = lessons.first.inner_text()
    lessons.first.click()
    expect(page.locator("article").get_by_role("heading", name=first_title, level=2)).to_be_visible(timeout=60_000)
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        present(web_stack.endpoints).mongo_uri, tz_aware=True
    )
    db = client[web_stack.config.mongo_db]
    owner = present(db["courses"].find_one({"_id": course_id}))["ownerId"]
    count = _settled(db, owner, course_id)  # the lessons written ahead bring their cards too
    page.get_by_role("link", name="Back to the course").click()

    flashcards = page.get_by_role("region", name="Flashcards")
    expect(flashcards).to_contain_text(f"0 of {count} cards learned, {count} due now", timeout=20_000)
    review_link = flashcards.get_by_role("link", name=f"Review {count} cards")
    review_link.click()
    expect(page.get_by_role("heading", name="Review", level=1)).to_be_visible()
    no_axe_violations(page, "review (a card)")
    for n in range(count):
        expect(page.locator(".review-count")).to_have_text(
            f"{count - n} card" + ("s" if count - n != 1 else "") + " left"
        )
        page.keyboard.press(" ")
        expect(page.locator("#card-back")).to_be_visible()
        if n == 0:
            no_axe_violations(page, "review (the answer shown)")
            page.screenshot(path=str(SCREENSHOTS / "review-answer.png"))
        page.keyboard.press("3")
        expect(page.get_by_role("status")).to_contain_text("Rated good: next review in 10 minutes")
    expect(page.get_by_role("heading", name="All done for now")).to_be_visible()

    learner = User(web_stack, owner)
    assert learner.call("GET", "/reviews/due").json()["due"] == 0  # every card left the due list
    scheduler = Scheduler(enable_fuzzing=False)
    reviewed = list(db["cards"].find({"ownerId": owner, "courseId": course_id}))
    assert len(reviewed) == count
    for doc in reviewed:
        expected, _ = scheduler.review_card(
            Card(card_id=1, due=doc["createdAt"].astimezone(UTC)),
            Rating.Good,
            review_datetime=doc["lastReview"]["reviewedAt"].astimezone(UTC),
        )
        assert doc["due"] == expected.due and doc["reps"] == 1

    page.goto(web_stack.api_url)  # My courses: nothing due
    expect(page.get_by_role("heading", name="My courses")).to_be_visible()
    expect(page.get_by_text("due for review")).to_have_count(0)

    lesson_id = reviewed[0]["lessonId"]
    before = [doc for doc in reviewed if doc["lessonId"] == lesson_id]
    assert 3 <= len(before) <= 8
    rewrite = learner.call("POST", f"/courses/{course_id}/lessons/{lesson_id}/regenerate", {"instruction": "shorter"})
    assert rewrite.status == 202, rewrite.body
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the worker syncs the cards right after its commit
        lesson = present(db["lessons"].find_one({"courseId": course_id, "_id": f"{course_id}/{lesson_id}"}))
        if lesson["status"] == "GENERATED" and lesson.get("versions"):
            break
        time.sleep(0.5)
    time.sleep(1)
    after = {doc["_id"]: doc for doc in db["cards"].find({"ownerId": owner, "courseId": course_id})}
    kept = [after[doc["_id"]] for doc in before if not after[doc["_id"]]["retired"]]
    assert len(kept) == len(before) - 1 and all(doc["reps"] == 1 for doc in kept)  # their history kept
    assert len([doc for doc in after.values() if doc["reps"] == 0]) == 1  # one new card, due now
    page.goto(f"{web_stack.api_url}/#/courses/{course_id}")
    expect(page.get_by_role("region", name="Flashcards")).to_contain_text(f"0 of {count} cards learned, 1 due now")
