"""ProgressStore on MongoDB: the `progress` collection, beside `courses` and `lessons`.

One document per (ownerId, courseId, lessonId), unique; each write is one upsert, so two
tabs recording the same lesson at once end with one document."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from flowgen.adapters.mongo_store import _unavailable_on_outage
from flowgen.errors import DependencyUnavailable
from flowgen.records import CompletedBy, ProgressRecord, QuizResult, ReadingPosition


def _record(doc: dict[str, Any]) -> ProgressRecord:
    doc.pop("_id", None)
    return ProgressRecord.model_validate(doc)


class MongoProgressStore:
    def __init__(self, db: Database[dict[str, Any]]) -> None:
        self.progress = db["progress"]

    @_unavailable_on_outage
    def ensure_indexes(self) -> None:
        self.progress.create_index(
            [("ownerId", ASCENDING), ("courseId", ASCENDING), ("lessonId", ASCENDING)],
            unique=True,
            name="owner_course_lesson_unique",
        )

    @_unavailable_on_outage
    def get(self, owner_id: str, course_id: str, lesson_id: str) -> ProgressRecord | None:
        doc = self.progress.find_one({"ownerId": owner_id, "courseId": course_id, "lessonId": lesson_id})
        return _record(doc) if doc else None

    @_unavailable_on_outage
    def list_course(self, owner_id: str, course_id: str) -> list[ProgressRecord]:
        return [_record(d) for d in self.progress.find({"ownerId": owner_id, "courseId": course_id})]

    @_unavailable_on_outage
    def list_owner(self, owner_id: str) -> list[ProgressRecord]:
        return [_record(d) for d in self.progress.find({"ownerId": owner_id}, {"quiz": 0})]

    @_unavailable_on_outage
    def record(
        self,
        owner_id: str,
        course_id: str,
        lesson_id: str,
        now: datetime,
        *,
        opened: bool = False,
        completed: tuple[bool, CompletedBy] | None = None,
        quiz: QuizResult | None = None,
        position: ReadingPosition | None = None,
    ) -> ProgressRecord:
        key = {"ownerId": owner_id, "courseId": course_id, "lessonId": lesson_id}
        update: dict[str, Any] = {"$set": {"updatedAt": now}}  # an upsert inserts the key's fields
        if opened:
            update["$min"] = {"openedAt": now}
        if completed is not None:
            done, by = completed
            if done:
                update.setdefault("$min", {})["completedAt"] = now
                update["$set"]["completedBy"] = by
            else:
                update["$unset"] = {"completedAt": "", "completedBy": ""}
        if quiz is not None:
            update["$set"]["quiz"] = quiz.model_dump(by_alias=True, mode="python")
        if position is not None:
            update["$set"]["position"] = position.model_dump(by_alias=True, mode="python")
            update["$set"]["positionAt"] = now
        for attempt in range(2):  # two first writes at once: one inserts, the retried other updates
            try:
                doc = self.progress.find_one_and_update(key, update, upsert=True, return_document=ReturnDocument.AFTER)
                if doc is not None:  # an upsert returning the document after always finds one
                    return _record(doc)
            except DuplicateKeyError:
                if attempt:
                    raise
        raise DependencyUnavailable("mongo")

    @_unavailable_on_outage
    def delete_course(self, owner_id: str, course_id: str, lesson_ids: Sequence[str] | None = None) -> None:
        query: dict[str, Any] = {"ownerId": owner_id, "courseId": course_id}
        if lesson_ids is not None:
            query["lessonId"] = {"$in": list(lesson_ids)}
        self.progress.delete_many(query)
