"""ReviewStore on MongoDB: the `cards` and `reviews` collections, beside `courses` and `lessons`.

Due cards come from one indexed query: `(ownerId, due)` for all of a learner's courses,
`(ownerId, courseId, due)` for one; the filter is the index's prefix plus a range on `due` and the
sort is the index's order, so the server examines only the keys it returns (a retired card has
no `due`, so it is in no range). A review is a compare-and-set on the card's review count; the
log is unique per (ownerId, idempotencyKey), the backstop of a retried review."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from flowgen.adapters.mongo_store import _unavailable_on_outage
from flowgen.cards import ReviewCard, ReviewEntry

DUE_INDEX = [("ownerId", ASCENDING), ("due", ASCENDING), ("_id", ASCENDING)]
DUE_ORDER = [("due", ASCENDING), ("_id", ASCENDING)]
COURSE_DUE_INDEX = [("ownerId", ASCENDING), ("courseId", ASCENDING), ("due", ASCENDING), ("_id", ASCENDING)]


def _card(doc: dict[str, Any]) -> ReviewCard:
    doc["id"] = doc.pop("_id")
    return ReviewCard.model_validate(doc)


def _doc(card: ReviewCard) -> dict[str, Any]:
    doc = card.model_dump(by_alias=True, mode="python", exclude={"id"})
    doc = {k: v for k, v in doc.items() if v is not None}  # a retired card has no `due` (module doc)
    doc["_id"] = card.id
    return doc


def _entry(doc: dict[str, Any]) -> ReviewEntry:
    doc.pop("_id", None)
    return ReviewEntry.model_validate(doc)


def due_filter(owner_id: str, now: datetime, course_id: str | None) -> dict[str, Any]:
    query: dict[str, Any] = {"ownerId": owner_id}
    if course_id is not None:
        query["courseId"] = course_id
    query["due"] = {"$lte": now}
    return query


class MongoReviewStore:
    def __init__(self, db: Database[dict[str, Any]]) -> None:
        self.cards = db["cards"]
        self.reviews = db["reviews"]

    @_unavailable_on_outage
    def ensure_indexes(self) -> None:
        self.cards.create_index(DUE_INDEX, name="owner_due")
        self.cards.create_index(COURSE_DUE_INDEX, name="owner_course_due")
        self.cards.create_index([("ownerId", ASCENDING), ("courseId", ASCENDING), ("lessonId", ASCENDING)])
        self.reviews.create_index(
            [("ownerId", ASCENDING), ("idempotencyKey", ASCENDING)],
            unique=True,
            partialFilterExpression={"idempotencyKey": {"$exists": True}},
            name="owner_idempotency_key_unique",
        )
        self.reviews.create_index([("ownerId", ASCENDING), ("cardId", ASCENDING), ("reviewedAt", ASCENDING)])

    @_unavailable_on_outage
    def sync_lesson(self, owner_id: str, course_id: str, lesson_id: str, cards: Sequence[ReviewCard]) -> None:
        scope = {"ownerId": owner_id, "courseId": course_id, "lessonId": lesson_id}
        stored = {doc["_id"]: _card(doc) for doc in self.cards.find(scope)}
        writes: list[Any] = []
        for card in cards:
            old = stored.get(card.id)
            if old is None:  # a race with another sync inserts once: $setOnInsert
                writes.append(UpdateOne({"_id": card.id, **scope}, {"$setOnInsert": _doc(card)}, upsert=True))
                continue
            text = {"front": card.front, "back": card.back, "block": card.block, "updatedAt": card.updated_at}
            writes.append(
                UpdateOne({"_id": card.id, **scope}, {"$set": {**text, "retired": False, "due": old.fsrs_due}})
            )
        keep = {card.id for card in cards}
        for old in stored.values():
            if old.id not in keep and not old.retired:
                retire = {"$set": {"retired": True}, "$unset": {"due": ""}}
                writes.append(UpdateOne({"_id": old.id, **scope}, retire))
        if writes:
            self.cards.bulk_write(writes, ordered=False)

    @_unavailable_on_outage
    def get(self, owner_id: str, card_id: str) -> ReviewCard | None:
        doc = self.cards.find_one({"_id": card_id, "ownerId": owner_id})
        return _card(doc) if doc else None

    @_unavailable_on_outage
    def due(self, owner_id: str, now: datetime, limit: int, course_id: str | None = None) -> list[ReviewCard]:
        # the filter is an index's prefix and a range on `due`, the sort its order (module doc)
        cursor = self.cards.find(due_filter(owner_id, now, course_id), sort=DUE_ORDER, limit=limit)
        return [_card(doc) for doc in cursor]

    @_unavailable_on_outage
    def count_due(self, owner_id: str, now: datetime, course_id: str | None = None) -> int:
        return self.cards.count_documents(due_filter(owner_id, now, course_id))

    @_unavailable_on_outage
    def list_course(self, owner_id: str, course_id: str) -> list[ReviewCard]:
        found = self.cards.find({"ownerId": owner_id, "courseId": course_id})
        return sorted((_card(doc) for doc in found), key=lambda c: (c.lesson_id, c.id))

    @_unavailable_on_outage
    def apply_review(self, before: ReviewCard, after: ReviewCard) -> bool:
        doc = _doc(after)
        fields = {k: v for k, v in doc.items() if k != "_id"}
        guard = {"_id": before.id, "ownerId": before.owner_id, "reps": before.reps, "retired": False}
        return self.cards.update_one(guard, {"$set": fields}).modified_count == 1

    @_unavailable_on_outage
    def log_review(self, entry: ReviewEntry) -> None:
        with contextlib.suppress(DuplicateKeyError):  # the same review, logged by an earlier attempt
            self.reviews.insert_one(entry.model_dump(by_alias=True, mode="python", exclude_none=True))

    @_unavailable_on_outage
    def find_review(self, owner_id: str, idempotency_key: str) -> ReviewEntry | None:
        doc = self.reviews.find_one({"ownerId": owner_id, "idempotencyKey": idempotency_key})
        return _entry(doc) if doc else None

    @_unavailable_on_outage
    def history(self, owner_id: str, card_id: str) -> list[ReviewEntry]:
        found = self.reviews.find({"ownerId": owner_id, "cardId": card_id}, sort=[("reviewedAt", ASCENDING)])
        return [_entry(doc) for doc in found]

    @_unavailable_on_outage
    def delete_course(self, owner_id: str, course_id: str, lesson_ids: Sequence[str] | None = None) -> None:
        scope: dict[str, Any] = {"ownerId": owner_id, "courseId": course_id}
        if lesson_ids is not None:
            scope["lessonId"] = {"$in": list(lesson_ids)}
            card_ids = [doc["_id"] for doc in self.cards.find(scope, {"_id": 1})]
            self.cards.delete_many(scope)
            self.reviews.delete_many({"ownerId": owner_id, "cardId": {"$in": card_ids}})
            return
        self.cards.delete_many(scope)
        self.reviews.delete_many(scope)
