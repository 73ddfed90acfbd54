"""A course's language (issue 11): chosen at creation, validated, stored, shown, and carried to
the model as data in every outline and lesson prompt, whose system text does not change."""

from __future__ import annotations

import json

from flowgen.prompts import LESSON_SYSTEM, OUTLINE_SYSTEM
from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.stack import LocalStack
from tests.helpers import User, lesson_ids


def test_a_hinglish_course_carries_its_language_to_the_model(stack: LocalStack, fake_model: FakeOpenAI) -> None:
    alice = User(stack, "alice")
    created = alice.create_course("Cricket statistics with Python", language="Hinglish")
    assert created["language"] == "Hinglish"
    stack.drain("CourseJobs")

    system, user = fake_model.stats.last_messages[:2]
    assert system == {"role": "system", "content": OUTLINE_SYSTEM}  # the same system text for every language
    assert "Hinglish" not in system["content"]
    assert json.loads(user["content"])["language"] == "Hinglish"  # as data

    course = alice.call("GET", f"/courses/{created['id']}").json()
    assert course["language"] == "Hinglish"
    assert "Language asked for: Hinglish." in course["description"]  # the fake model says what it got
    listed = alice.call("GET", "/courses").json()["items"][0]
    assert listed["language"] == "Hinglish"

    target = lesson_ids(course)[2]
    alice.open_lesson(course["id"], target)
    stack.drain("HighPriorityLessons")
    system, user = fake_model.stats.last_messages[:2]
    assert system == {"role": "system", "content": LESSON_SYSTEM}
    assert json.loads(user["content"])["language"] == "Hinglish"
    lesson = alice.open_lesson(course["id"], target).json()
    prose = " ".join(block.get("markdown", "") for block in lesson["content"]["blocks"])
    assert "Language asked for: Hinglish." in prose


def test_a_course_without_a_language_asks_for_the_topics_own(stack: LocalStack, fake_model: FakeOpenAI) -> None:
    alice = User(stack, "alice")
    course = alice.ready_course()
    assert course["language"] is None
    assert json.loads(fake_model.stats.last_messages[1]["content"])["language"] is None
    assert "Language asked for" not in course["description"]


def test_the_same_idempotency_key_with_another_language_is_refused(stack: LocalStack) -> None:
    alice = User(stack, "alice")
    headers = {"Idempotency-Key": "lang-1"}
    first = alice.call("POST", "/courses", {"prompt": "Rust ownership", "language": "German"}, headers=headers)
    assert first.status == 202
    again = alice.call("POST", "/courses", {"prompt": "Rust ownership", "language": "German"}, headers=headers)
    assert again.json()["id"] == first.json()["id"]
    other = alice.call("POST", "/courses", {"prompt": "Rust ownership", "language": "French"}, headers=headers)
    assert other.status == 422
