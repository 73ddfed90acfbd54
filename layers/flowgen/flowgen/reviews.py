"""Spaced review of a learner's flashcards (issue 23): the due list, a review (FSRS through
flowgen.cards), mastery per lesson and per course, and a course's cards as a CSV Anki imports.

Owner-scoped like everything (design invariant 6): another learner's card is a 404 exactly like
one that does not exist. A review is idempotent per Idempotency-Key: the key is looked up in the
review log, and on the card itself (its last review), so a retry after a crash between the card's
write and the log's is still recognised; the card's write is a compare-and-set on its review
count, so two reviews at once never both apply to the same state."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flowgen.cards import (
    CARD_ID_PATTERN,
    CardState,
    CourseMastery,
    DueCards,
    LessonMastery,
    ReviewCard,
    ReviewEntry,
    ReviewRating,
    new_card,
    reviewed,
    unique_cards,
    view,
)
from flowgen.content import Flashcard
from flowgen.errors import Conflict, IdempotencyKeyReused, InvalidRequest, NotFound
from flowgen.ownership import owned_course
from flowgen.ports import CourseStore, ReviewStore
from flowgen.records import Course, LessonStatus

DUE_LIMIT_MAX = 100
_ATTEMPTS = 3  # compare-and-set retries when another review of the same card lands first


def sync_lesson_cards(
    cards: ReviewStore, owner_id: str, course_id: str, lesson_id: str, flashcards: Sequence[Flashcard], now: datetime
) -> None:
    """The lesson's cards as its current version has them: kept ones keep their history."""
    fresh = [new_card(owner_id, course_id, lesson_id, card, now) for card in unique_cards(list(flashcards))]
    cards.sync_lesson(owner_id, course_id, lesson_id, fresh)


def _check_card_id(card_id: str) -> None:
    import re

    if not re.fullmatch(CARD_ID_PATTERN.strip("^$"), card_id):
        raise InvalidRequest("cardId must be 24 lowercase hex characters", code="invalid_card_id")


def _card_not_found() -> NotFound:
    return NotFound("card not found", code="card_not_found")


@dataclass(frozen=True)
class ReviewService:
    courses: CourseStore
    cards: ReviewStore

    def due(self, owner_id: str, now: datetime, limit: int, course_id: str | None = None) -> DueCards:
        if not 1 <= limit <= DUE_LIMIT_MAX:
            raise InvalidRequest(f"limit must be 1 to {DUE_LIMIT_MAX}", code="invalid_limit")
        if course_id is not None:
            self.ensure_course_cards(owned_course(self.courses, owner_id, course_id), now)
        found = self.cards.due(owner_id, now, limit, course_id)
        total = self.cards.count_due(owner_id, now, course_id)
        return DueCards(cards=[view(card) for card in found], due=max(total, len(found)))

    def review(
        self, owner_id: str, card_id: str, rating: ReviewRating, now: datetime, idempotency_key: str | None = None
    ) -> ReviewCard:
        _check_card_id(card_id)
        earlier = self._replay(owner_id, card_id, rating, idempotency_key) if idempotency_key else None
        if earlier is not None:
            return earlier
        for _ in range(_ATTEMPTS):
            done = self._try_review(owner_id, card_id, rating, now, idempotency_key or None)
            if done is not None:
                return done
        raise Conflict("the card was reviewed at the same time elsewhere; try again", code="review_conflict")

    def _try_review(
        self, owner_id: str, card_id: str, rating: ReviewRating, now: datetime, key: str | None
    ) -> ReviewCard | None:
        """The card after this review, or None when another review landed first (try again)."""
        card = self.cards.get(owner_id, card_id)
        if card is None or card.retired:
            raise _card_not_found()
        if key and card.last_review and card.last_review.idempotency_key == key:
            self._log(card)  # the card was written, its log entry was not: write it now
            return card
        after = reviewed(card, rating, now, key)
        if not self.cards.apply_review(card, after):
            return None
        self._log(after)
        return after

    def _replay(self, owner_id: str, card_id: str, rating: ReviewRating, key: str | None) -> ReviewCard | None:
        entry = self.cards.find_review(owner_id, key) if key else None
        if entry is None:
            return None
        if entry.card_id != card_id or entry.rating != rating:
            raise IdempotencyKeyReused("this Idempotency-Key was used for another review")
        card = self.cards.get(owner_id, card_id)
        if card is None:
            raise _card_not_found()
        # the card as that review left it: its due time then (a later review may have moved it)
        return card.model_copy(update={"reps": entry.reps, "fsrs": {**card.fsrs, "due": entry.due.isoformat()}})

    def _log(self, card: ReviewCard) -> None:
        last = card.last_review
        if last is None:  # never: a reviewed card has its last review
            return
        self.cards.log_review(
            ReviewEntry(
                owner_id=card.owner_id,
                card_id=card.id,
                course_id=card.course_id,
                idempotency_key=last.idempotency_key,
                rating=last.rating,
                reviewed_at=last.reviewed_at,
                reps=card.reps,
                due=card.fsrs_due,
            )
        )

    def ensure_course_cards(self, course: Course, now: datetime) -> list[ReviewCard]:
        """The course's cards, syncing any written lesson whose cards are not stored yet (a course
        forked with its written lessons, or a sync that failed after its lesson's commit)."""
        stored = self.cards.list_course(course.owner_id, course.id)
        have = {card.lesson_id for card in stored}
        missing = [
            listed.id
            for listed in self.courses.list_lessons(course.id)  # listed without content
            if listed.status == LessonStatus.GENERATED and listed.id not in have
        ]
        synced = [self._sync_from_lesson(course, lesson_id, now) for lesson_id in missing]
        return self.cards.list_course(course.owner_id, course.id) if any(synced) else stored

    def _sync_from_lesson(self, course: Course, lesson_id: str, now: datetime) -> bool:
        lesson = self.courses.get_lesson(course.owner_id, course.id, lesson_id)
        content = lesson.content if lesson is not None else None
        if content is None or not content.flashcards:  # lessons written before cards have none
            return False
        sync_lesson_cards(self.cards, course.owner_id, course.id, lesson_id, content.flashcards, now)
        return True

    def mastery(self, course: Course, now: datetime) -> CourseMastery:
        by_lesson = _live_by_lesson(self.ensure_course_cards(course, now))
        lessons = [_lesson_mastery(i, by_lesson[i], now) for i in _course_order(course) if i in by_lesson]
        return _course_mastery(lessons)

    def course_mastery(self, owner_id: str, course_id: str, now: datetime) -> CourseMastery:
        return self.mastery(owned_course(self.courses, owner_id, course_id), now)

    def export_csv(self, owner_id: str, course_id: str, now: datetime) -> str:
        """front, back, tags, with the file headers Anki's text import reads (2.1.55+: comma
        separated, plain text, the columns named, the third one tags) so it maps them itself; tags
        are space-separated: the course's title and the lesson's id (spaces made underscores)."""
        course = owned_course(self.courses, owner_id, course_id)
        by_lesson = _live_by_lesson(self.ensure_course_cards(course, now))
        live = [card for lesson_id in _course_order(course) for card in by_lesson.get(lesson_id, [])]
        course_tag = "flowgen::" + "_".join((course.title or course.id).split())
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        out.write("#separator:comma\n#html:false\n#columns:front,back,tags\n#tags column:3\n")
        for card in live:
            writer.writerow([card.front, card.back, f"{course_tag} {course_tag}::{card.lesson_id}"])
        return out.getvalue()


def _course_order(course: Course) -> list[str]:
    return [lesson_id for module in course.modules for lesson_id in module.lesson_ids]


def _live_by_lesson(cards: list[ReviewCard]) -> dict[str, list[ReviewCard]]:
    """Live cards by lesson, each lesson's by id (a lesson removed from the outline is left out)."""
    grouped: dict[str, list[ReviewCard]] = {}
    for card in sorted(cards, key=lambda c: c.id):
        if not card.retired:
            grouped.setdefault(card.lesson_id, []).append(card)
    return grouped


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None or (b is not None and b < a) else a


def _course_mastery(lessons: list[LessonMastery]) -> CourseMastery:
    total = CourseMastery(cards=0, learned=0, due=0, lessons=lessons)
    for entry in lessons:
        total.cards += entry.cards
        total.learned += entry.learned
        total.due += entry.due
        total.next_due_at = _earliest(total.next_due_at, entry.next_due_at)
    return total


def _lesson_mastery(lesson_id: str, cards: list[ReviewCard], now: datetime) -> LessonMastery:
    entry = LessonMastery(lesson_id=lesson_id, cards=len(cards), learned=0, due=0)
    for card in cards:
        entry.learned += card.state == CardState.REVIEW
        entry.due += card.fsrs_due <= now
        entry.next_due_at = _earliest(entry.next_due_at, card.fsrs_due)
    return entry
