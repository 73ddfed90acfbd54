"""Spaced review through the api handler in process (issue 23): a written lesson's cards are due,
a review answers the card with the due time the `fsrs` package computes, a retried review with
its Idempotency-Key reviews once, another learner's card and course are 404s, bad input is a
400/422 with a code, the course progress shows mastery, the Anki CSV, and the document lists
every route and status (the fixture checks every answer against it)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

from fsrs import Card, Rating, Scheduler

from tests.api.conftest import InProcessApi
from tests.helpers import User, lesson_ids


def _learner(api: InProcessApi) -> tuple[User, str, str]:
    alice = User(api, "alice")
    course = alice.ready_course()
    lesson_id = lesson_ids(course)[0]
    alice.written_lesson(course["id"], lesson_id)
    return alice, course["id"], lesson_id


def _due(user: User, query: str = "") -> dict[str, Any]:
    response = user.call("GET", "/reviews/due", query=query)
    assert response.status == 200, response.body
    assert response.headers.get("cache-control") == "no-store"
    parsed: dict[str, Any] = response.json()
    return parsed


def test_a_written_lessons_cards_are_due_and_leave_the_list_once_rated(api: InProcessApi) -> None:
    alice, course_id, lesson_id = _learner(api)
    due = _due(alice)
    assert 3 <= due["due"] == len(due["cards"]) <= 8
    card = due["cards"][0]
    assert card["lessonId"] == lesson_id and card["state"] == "new" and card["front"] and card["back"]
    assert _due(alice, "limit=2")["cards"] == due["cards"][:2] and _due(alice, "limit=2")["due"] == due["due"]
    assert _due(alice, f"courseId={course_id}")["due"] == due["due"]
    before = datetime.fromisoformat(card["due"])
    rated = alice.call("POST", f"/reviews/{card['id']}", {"rating": "good"})
    assert rated.status == 200, rated.body
    answer = rated.json()
    assert answer["reps"] == 1 and answer["state"] == "learning"
    reviewed_at = datetime.fromisoformat(answer["lastReviewedAt"])
    expected, _ = Scheduler(enable_fuzzing=False).review_card(
        Card(card_id=1, due=before), Rating.Good, review_datetime=reviewed_at
    )
    assert datetime.fromisoformat(answer["due"]) == expected.due == reviewed_at + timedelta(minutes=10)
    after = _due(alice)
    assert after["due"] == due["due"] - 1 and card["id"] not in {c["id"] for c in after["cards"]}


def test_a_retried_review_with_its_idempotency_key_reviews_once(api: InProcessApi) -> None:
    alice, _, _ = _learner(api)
    card_id = _due(alice)["cards"][0]["id"]
    key = {"Idempotency-Key": "review-1"}
    first = alice.call("POST", f"/reviews/{card_id}", {"rating": "easy"}, headers=key)
    again = alice.call("POST", f"/reviews/{card_id}", {"rating": "easy"}, headers=key)
    assert first.status == again.status == 200 and first.json()["due"] == again.json()["due"]
    assert again.json()["reps"] == 1 and len(api.reviews.history("alice", card_id)) == 1
    other = alice.call("POST", f"/reviews/{card_id}", {"rating": "again"}, headers=key)
    assert (other.status, other.json()["error"]["code"]) == (422, "idempotency_key_reused")


def test_another_learners_cards_and_course_are_404s(api: InProcessApi) -> None:
    alice, course_id, _ = _learner(api)
    card_id = _due(alice)["cards"][0]["id"]
    bob = User(api, "bob")
    assert _due(bob) == {"cards": [], "due": 0}
    review = bob.call("POST", f"/reviews/{card_id}", {"rating": "good"})
    assert (review.status, review.json()["error"]["code"]) == (404, "card_not_found")
    for response in (
        bob.call("GET", "/reviews/due", query=f"courseId={course_id}"),
        bob.call("GET", f"/courses/{course_id}/cards.csv"),
    ):
        assert (response.status, response.json()["error"]["code"]) == (404, "course_not_found")
    assert api.reviews.get("alice", card_id).reps == 0  # type: ignore[union-attr]


def test_bad_review_input_is_a_clear_4xx(api: InProcessApi) -> None:
    alice, _, _ = _learner(api)
    card_id = _due(alice)["cards"][0]["id"]
    for body in ({"rating": "perfect"}, {"rating": 3}, {}, {"rating": "good", "extra": 1}):
        response = alice.call("POST", f"/reviews/{card_id}", body)
        assert response.status == 400 and response.json()["error"]["code"], (body, response.body)
    for query in ("limit=0", "limit=101", "limit=x", "courseId=nope"):
        response = alice.call("GET", "/reviews/due", query=query)
        assert response.status == 400 and response.json()["error"]["code"], (query, response.body)
    bad_id = alice.call("POST", "/reviews/XYZ", {"rating": "good"})
    assert bad_id.status in (400, 404) and bad_id.json()["error"]["code"]


def test_posting_to_the_due_list_is_a_405_not_a_bad_card_id(api: InProcessApi) -> None:
    """Found by the contract fuzzer: POST /reviews/due reaches POST /reviews/{cardId} (a 400 for
    the id `due`); the method is what is wrong, as for any other method on the path."""
    response = User(api, "alice").call("POST", "/reviews/due", {"rating": "good"})
    assert (response.status, response.json()["error"]["code"]) == (405, "method_not_allowed")
    assert response.headers["allow"] == "GET"
    other = User(api, "alice").call("PUT", "/reviews/due", {"rating": "good"})  # $default: the same Allow
    assert (other.status, other.headers["allow"]) == (405, "GET")  # not POST: /reviews/due is no card


def test_the_course_progress_shows_mastery_and_the_csv_has_the_cards(api: InProcessApi) -> None:
    alice, course_id, lesson_id = _learner(api)
    cards = _due(alice)["cards"]
    alice.call("POST", f"/reviews/{cards[0]['id']}", {"rating": "easy"})
    progress = alice.call("GET", f"/courses/{course_id}/progress").json()
    mastery = progress["mastery"]
    assert (mastery["cards"], mastery["learned"], mastery["due"]) == (len(cards), 1, len(cards) - 1)
    assert [entry["lessonId"] for entry in mastery["lessons"]] == [lesson_id]
    exported = alice.call("GET", f"/courses/{course_id}/cards.csv")
    assert exported.status == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = [row for row in csv.reader(io.StringIO(exported.body)) if not row[0].startswith("#")]
    assert sorted(row[0] for row in rows) == sorted(card["front"] for card in cards)


def test_the_document_lists_the_review_routes(api: InProcessApi, api_module: Any) -> None:
    paths = api_module.openapi_document()["paths"]
    assert {"200", "400", "404"} <= set(paths["/reviews/due"]["get"]["responses"])
    assert {"200", "404", "409", "422"} <= set(paths["/reviews/{card_id}"]["post"]["responses"])
    assert "text/csv" in paths["/courses/{course_id}/cards.csv"]["get"]["responses"]["200"]["content"]
