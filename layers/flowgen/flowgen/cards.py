"""Flashcards under spaced review (issue 23, design invariant 13): stable ids, the stored review
state, and scheduling by FSRS through the `fsrs` package (the scheduler Anki uses).

A card's id is derived from its owner, its course, its lesson and its front as a reader sees it (Unicode
NFKC, case folded, whitespace collapsed, trailing punctuation dropped), so a rewritten lesson that
keeps a card keeps its id and with it the card's review history; the cards a rewrite drops are
retired (kept, never due), and come back with their history if a later version has them again.

The scheduler runs without fuzzing: a card's next due time is exactly what `fsrs` computes for
its history, so a client, a test or an export can recompute it."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any

from pydantic import Field

from flowgen.content import Flashcard
from flowgen.schema import Model, Request


def normalised_front(front: str) -> str:
    text = unicodedata.normalize("NFKC", front).casefold()
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"[\s.?!:;,]+$", "", text)


def card_id(owner_id: str, course_id: str, lesson_id: str, front: str) -> str:
    """24 hex characters: the same card of the same lesson has the same id in every version (the
    owner too, so no two learners' cards can ever share an `_id`)."""
    key = f"{owner_id}\x1f{course_id}\x1f{lesson_id}\x1f{normalised_front(front)}"
    return hashlib.sha256(key.encode()).hexdigest()[:24]


CARD_ID_PATTERN = r"^[0-9a-f]{24}$"


class ReviewRating(StrEnum):
    AGAIN = "again"
    HARD = "hard"
    GOOD = "good"
    EASY = "easy"


class CardState(StrEnum):
    NEW = "new"  # never reviewed
    LEARNING = "learning"
    REVIEW = "review"  # learned: graduated from the learning steps
    RELEARNING = "relearning"


class LastReview(Model):
    """The card's latest review, kept on the card so a retried review is recognised even when its
    log entry was never written (the two writes are not one transaction)."""

    idempotency_key: str | None = None
    rating: ReviewRating
    reviewed_at: datetime


class ReviewCard(Model):
    """One document per card in the `cards` collection (`_id` its id). `due` is present only
    while the card is live: a retired card keeps its `fsrs` state but is in no due query."""

    id: str
    owner_id: str
    course_id: str
    lesson_id: str
    front: str
    back: str
    block: int
    fsrs: dict[str, Any]  # fsrs.Card.to_dict(): state, step, stability, difficulty, due, last_review
    due: datetime | None = None
    retired: bool = False
    reps: int = 0  # reviews so far: the compare-and-set version of every review
    last_review: LastReview | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def state(self) -> CardState:
        if self.reps == 0:
            return CardState.NEW
        return _STATES[int(self.fsrs["state"])]

    @property
    def fsrs_due(self) -> datetime:
        return datetime.fromisoformat(self.fsrs["due"])


_STATES = {1: CardState.LEARNING, 2: CardState.REVIEW, 3: CardState.RELEARNING}


class ReviewEntry(Model):
    """One document per review in the `reviews` collection: the history FSRS is computed from."""

    owner_id: str
    card_id: str
    course_id: str
    idempotency_key: str | None = None
    rating: ReviewRating
    reviewed_at: datetime
    reps: int = Field(description="The card's review count after this review")
    due: datetime = Field(description="The card's next due time after this review")


# ---- FSRS through the `fsrs` package ----------------------------------------------------------


@cache
def scheduler() -> Any:
    """The default FSRS-6 parameters and learning steps, without fuzzing (module doc)."""
    from fsrs import Scheduler

    return Scheduler(enable_fuzzing=False)


def _fsrs_card_id(card_id_hex: str) -> int:
    # an explicit id: fsrs.Card() would otherwise take the clock's milliseconds (and sleep 1 ms)
    return int(card_id_hex[:12], 16)


def new_fsrs_state(card_id_hex: str, now: datetime) -> dict[str, Any]:
    from fsrs import Card

    return dict(Card(card_id=_fsrs_card_id(card_id_hex), due=now).to_dict())


def next_state(fsrs_state: dict[str, Any], rating: ReviewRating, now: datetime) -> dict[str, Any]:
    """The card's FSRS state after a review with `rating` at `now` (a new card follows FSRS's
    learning steps: 1 and 10 minutes by default)."""
    from fsrs import Card, Rating

    card = Card.from_dict(fsrs_state)  # type: ignore[arg-type]  # fsrs types its dict loosely
    value = {"again": Rating.Again, "hard": Rating.Hard, "good": Rating.Good, "easy": Rating.Easy}[rating.value]
    after, _log = scheduler().review_card(card, value, review_datetime=now)
    return dict(after.to_dict())


def new_card(owner_id: str, course_id: str, lesson_id: str, card: Flashcard, now: datetime) -> ReviewCard:
    cid = card_id(owner_id, course_id, lesson_id, card.front)
    return ReviewCard(
        id=cid,
        owner_id=owner_id,
        course_id=course_id,
        lesson_id=lesson_id,
        front=card.front,
        back=card.back,
        block=card.block,
        fsrs=new_fsrs_state(cid, now),
        due=now,
        created_at=now,
        updated_at=now,
    )


def reviewed(card: ReviewCard, rating: ReviewRating, now: datetime, idempotency_key: str | None) -> ReviewCard:
    state = next_state(card.fsrs, rating, now)
    due = datetime.fromisoformat(state["due"])
    return card.model_copy(
        update={
            "fsrs": state,
            "due": due,
            "reps": card.reps + 1,
            "last_review": LastReview(idempotency_key=idempotency_key, rating=rating, reviewed_at=now),
            "updated_at": now,
        }
    )


def unique_cards(cards: list[Flashcard]) -> list[Flashcard]:
    """A lesson's cards with one per id (two fronts that read the same are one card: the first)."""
    seen: set[str] = set()
    kept = []
    for card in cards:
        key = normalised_front(card.front)
        if key not in seen:
            seen.add(key)
            kept.append(card)
    return kept


# ---- what the API answers ----------------------------------------------------------------------


class CardView(Model):
    id: str
    course_id: str
    lesson_id: str
    front: str = Field(description="Plain text (the model's): render as text, never as HTML")
    back: str
    state: CardState = Field(description="`new` until its first review; `review` once learned")
    due: datetime = Field(description="When the card is next due (FSRS, without fuzzing)")
    reps: int = Field(description="Reviews so far")
    last_reviewed_at: datetime | None = None


class DueCards(Model):
    cards: list[CardView] = Field(description="The caller's due cards, oldest due first, at most `limit`")
    due: int = Field(description="How many are due in all (this course's, with `courseId`)")


class LessonMastery(Model):
    lesson_id: str
    cards: int = Field(description="The lesson's live cards")
    learned: int = Field(description="Of those, cards in FSRS's review state (graduated from learning)")
    due: int = Field(description="Of those, cards due now")
    next_due_at: datetime | None = Field(default=None, description="When its next card is due")


class CourseMastery(Model):
    cards: int
    learned: int
    due: int
    next_due_at: datetime | None = None
    lessons: list[LessonMastery] = Field(description="Every lesson with cards, in course order")


class ReviewRequest(Request):
    rating: ReviewRating = Field(strict=False, description="again | hard | good | easy (Anki's 1-4)")


def view(card: ReviewCard) -> CardView:
    return CardView(
        id=card.id,
        course_id=card.course_id,
        lesson_id=card.lesson_id,
        front=card.front,
        back=card.back,
        state=card.state,
        due=card.fsrs_due,
        reps=card.reps,
        last_reviewed_at=card.last_review.reviewed_at if card.last_review else None,
    )
