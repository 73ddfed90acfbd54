"""An in-memory ReviewStore with the MongoDB adapter's semantics (tests/unit/test_reviews.py holds
both to the same contract), and its indexes as real sorted indexes: the due query walks the
`(ownerId, due, _id)` index (or `(ownerId, courseId, due, _id)`) from its start and stops at the
first key past `now` or at `limit`. `examined` counts the cards a due query fetched, as a
server's explain counts `docsExamined`: the 10,000-card test checks it equals what was returned."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence
from datetime import datetime

from flowgen.cards import ReviewCard, ReviewEntry
from flowgen.errors import DependencyUnavailable

Key = tuple[datetime, str]


class MemoryReviewStore:
    def __init__(self) -> None:
        self.cards: dict[str, ReviewCard] = {}
        self.log: list[ReviewEntry] = []
        self.by_owner: dict[str, list[Key]] = {}  # the (ownerId, due, _id) index
        self.by_course: dict[tuple[str, str], list[Key]] = {}  # the (ownerId, courseId, due, _id) index
        self.by_lesson: dict[tuple[str, str, str], set[str]] = {}  # the (ownerId, courseId, lessonId) index
        self.lock = threading.RLock()
        self.down = False
        self.examined = 0

    def _check(self) -> None:
        if self.down:
            raise DependencyUnavailable("mongo")

    def _put(self, card: ReviewCard) -> None:
        old = self.cards.get(card.id)
        if old is not None and old.due is not None:
            self.by_owner[old.owner_id].remove((old.due, old.id))
            self.by_course[(old.owner_id, old.course_id)].remove((old.due, old.id))
        self.cards[card.id] = card.model_copy(deep=True)
        self.by_lesson.setdefault((card.owner_id, card.course_id, card.lesson_id), set()).add(card.id)
        if card.due is not None:
            bisect.insort(self.by_owner.setdefault(card.owner_id, []), (card.due, card.id))
            bisect.insort(self.by_course.setdefault((card.owner_id, card.course_id), []), (card.due, card.id))

    def _index(self, owner_id: str, course_id: str | None) -> list[Key]:
        if course_id is None:
            return self.by_owner.get(owner_id, [])
        return self.by_course.get((owner_id, course_id), [])

    def sync_lesson(self, owner_id: str, course_id: str, lesson_id: str, cards: Sequence[ReviewCard]) -> None:
        with self.lock:
            self._check()
            keep = {card.id for card in cards}
            for card in cards:
                old = self.cards.get(card.id)
                if old is None:
                    self._put(card)
                else:
                    text = {"front": card.front, "back": card.back, "block": card.block, "updated_at": card.updated_at}
                    self._put(old.model_copy(update={**text, "retired": False, "due": old.fsrs_due}))
            for other in self.by_lesson.get((owner_id, course_id, lesson_id), set()) - keep:
                old = self.cards[other]
                if not old.retired:
                    self._put(old.model_copy(update={"retired": True, "due": None}))

    def get(self, owner_id: str, card_id: str) -> ReviewCard | None:
        with self.lock:
            self._check()
            card = self.cards.get(card_id)
            return card.model_copy(deep=True) if card is not None and card.owner_id == owner_id else None

    def due(self, owner_id: str, now: datetime, limit: int, course_id: str | None = None) -> list[ReviewCard]:
        with self.lock:
            self._check()
            index = self._index(owner_id, course_id)
            found: list[ReviewCard] = []
            for due, card_id in index:  # in index order: stops at the first key past `now`
                if due > now or len(found) == limit:
                    break
                self.examined += 1
                found.append(self.cards[card_id].model_copy(deep=True))
            return found

    def count_due(self, owner_id: str, now: datetime, course_id: str | None = None) -> int:
        with self.lock:
            self._check()
            index = self._index(owner_id, course_id)
            return bisect.bisect_right(index, (now, "\uffff"))  # keys only (a count scan)

    def list_course(self, owner_id: str, course_id: str) -> list[ReviewCard]:
        with self.lock:
            self._check()
            found = [c for c in self.cards.values() if c.owner_id == owner_id and c.course_id == course_id]
            return [c.model_copy(deep=True) for c in sorted(found, key=lambda c: (c.lesson_id, c.id))]

    def apply_review(self, before: ReviewCard, after: ReviewCard) -> bool:
        with self.lock:
            self._check()
            live = self.cards.get(before.id)
            if live is None or live.owner_id != before.owner_id or live.reps != before.reps or live.retired:
                return False
            self._put(after)
            return True

    def log_review(self, entry: ReviewEntry) -> None:
        with self.lock:
            self._check()
            key = entry.idempotency_key
            if key is not None and any(e.owner_id == entry.owner_id and e.idempotency_key == key for e in self.log):
                return
            self.log.append(entry.model_copy())

    def find_review(self, owner_id: str, idempotency_key: str) -> ReviewEntry | None:
        with self.lock:
            self._check()
            return next((e for e in self.log if e.owner_id == owner_id and e.idempotency_key == idempotency_key), None)

    def history(self, owner_id: str, card_id: str) -> list[ReviewEntry]:
        with self.lock:
            self._check()
            found = [e for e in self.log if e.owner_id == owner_id and e.card_id == card_id]
            return sorted(found, key=lambda e: e.reviewed_at)

    def delete_course(self, owner_id: str, course_id: str, lesson_ids: Sequence[str] | None = None) -> None:
        with self.lock:
            self._check()
            gone = {
                c.id
                for c in self.cards.values()
                if c.owner_id == owner_id
                and c.course_id == course_id
                and (lesson_ids is None or c.lesson_id in lesson_ids)
            }
            for card_id in gone:
                card = self.cards[card_id]
                self._put(card.model_copy(update={"due": None}))
                del self.cards[card_id]
                self.by_lesson[(card.owner_id, card.course_id, card.lesson_id)].discard(card_id)
            self.log = [e for e in self.log if not (e.owner_id == owner_id and e.card_id in gone)]
