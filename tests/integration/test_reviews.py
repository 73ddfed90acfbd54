"""Spaced review through the local stack (issue 23): the real lesson worker (the fake model
server writing the cards) syncs a written lesson's cards into the MongoDB stand-in, the real api
function answers the due list and reviews with the due times the `fsrs` package computes, and a
rewritten lesson keeps the history of the cards it keeps and retires the others."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pymongo
from fsrs import Card, Rating, Scheduler

from flowgen_local.stack import LocalStack
from tests.helpers import User, lesson_ids
from tests.narrow import present

RATINGS = {"again": Rating.Again, "hard": Rating.Hard, "good": Rating.Good, "easy": Rating.Easy}


def _due(user: User, query: str = "limit=100") -> dict[str, Any]:
    response = user.call("GET", "/reviews/due", query=query)
    assert response.status == 200, response.body
    parsed: dict[str, Any] = response.json()
    return parsed


def test_a_learner_reviews_a_lessons_cards_and_a_rewrite_keeps_their_history(stack: LocalStack) -> None:
    alice = User(stack, "alice-reviews")
    course = alice.ready_course()
    course_id, lesson_id = course["id"], lesson_ids(course)[0]
    alice.written_lesson(course_id, lesson_id)
    due = _due(alice, f"limit=100&courseId={course_id}")
    assert 3 <= due["due"] == len(due["cards"]) <= 8 and {c["lessonId"] for c in due["cards"]} == {lesson_id}
    assert all(c["state"] == "new" and c["front"] and c["back"] for c in due["cards"])

    expected: dict[str, Card] = {}
    scheduler = Scheduler(enable_fuzzing=False)
    ratings = ["again", "good", "easy", "hard", "good", "good", "good", "good"][: len(due["cards"])]
    for card, rating in zip(due["cards"], ratings, strict=True):
        answer = alice.call(
            "POST", f"/reviews/{card['id']}", {"rating": rating}, headers={"Idempotency-Key": card["id"]}
        )
        assert answer.status == 200, answer.body
        retried = alice.call(
            "POST", f"/reviews/{card['id']}", {"rating": rating}, headers={"Idempotency-Key": card["id"]}
        )
        assert retried.json() == answer.json()  # reviewed once
        reviewed = answer.json()
        at = datetime.fromisoformat(reviewed["lastReviewedAt"])
        expected[card["front"]], _ = scheduler.review_card(
            Card(card_id=1, due=datetime.fromisoformat(card["due"])), RATINGS[rating], review_datetime=at
        )
        assert datetime.fromisoformat(reviewed["due"]) == expected[card["front"]].due, rating
    assert _due(alice)["due"] == 0  # every card left the due list

    rewrite = alice.call("POST", f"/courses/{course_id}/lessons/{lesson_id}/regenerate", {"instruction": "shorter"})
    assert rewrite.status == 202, rewrite.body
    stack.drain("HighPriorityLessons")
    progress = alice.call("GET", f"/courses/{course_id}/progress").json()["mastery"]
    exported = alice.call("GET", f"/courses/{course_id}/cards.csv")
    assert exported.status == 200
    fronts = {line.split(",")[0].strip('"') for line in exported.body.splitlines() if not line.startswith("#")}
    kept = set(expected) & fronts
    assert len(kept) == len(expected) - 1 and len(fronts) == len(expected)  # the goal card retired, one new
    new = _due(alice)["cards"]
    assert [c["front"] for c in new] == list(fronts - kept) and new[0]["state"] == "new"
    assert progress["cards"] == len(fronts) and progress["due"] == 1
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(present(stack.endpoints).mongo_uri, tz_aware=True)
    db = client[stack.config.mongo_db]
    for doc in db["cards"].find({"ownerId": "alice-reviews", "front": {"$in": list(kept)}}):
        assert doc["reps"] == 1 and doc["due"] == expected[doc["front"]].due  # history kept
    assert db["cards"].count_documents({"ownerId": "alice-reviews", "retired": True}) == 1
