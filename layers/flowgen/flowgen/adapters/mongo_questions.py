"""QuestionStore on MongoDB: the `questions` collection, beside `courses`, `lessons` and `progress`.

One document per question (`_id` its id). Every state change is one conditional update: the
claim a compare-and-set on the status (or an expired lease), partial writes, the commit and the
release conditioned on the lease token."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.database import Database

from flowgen.adapters.mongo_store import _unavailable_on_outage
from flowgen.content import SourceCitation
from flowgen.ports import Claim
from flowgen.records import Question, QuestionStatus, Usage


def _question(doc: dict[str, Any]) -> Question:
    doc["id"] = doc.pop("_id")
    return Question.model_validate(doc)


class MongoQuestionStore:
    def __init__(self, db: Database[dict[str, Any]]) -> None:
        self.questions = db["questions"]

    @_unavailable_on_outage
    def ensure_indexes(self) -> None:
        self.questions.create_index(
            [("ownerId", ASCENDING), ("courseId", ASCENDING), ("lessonId", ASCENDING), ("askedAt", ASCENDING)],
            name="owner_course_lesson_asked",
        )
        self.questions.create_index([("status", ASCENDING), ("lease.expiresAt", ASCENDING)])

    @_unavailable_on_outage
    def insert(self, question: Question) -> None:
        doc = question.model_dump(by_alias=True, mode="python", exclude_none=True, exclude={"id"})
        doc["_id"] = question.id
        self.questions.insert_one(doc)

    @_unavailable_on_outage
    def thread(self, owner_id: str, course_id: str, lesson_id: str, *, limit: int) -> list[Question]:
        docs = self.questions.find(
            {"ownerId": owner_id, "courseId": course_id, "lessonId": lesson_id},
            sort=[("askedAt", ASCENDING), ("_id", ASCENDING)],
            limit=limit,
        )
        return [_question(d) for d in docs]

    @_unavailable_on_outage
    def claim(self, question_id: str, claim: Claim, now: datetime) -> Question | None:
        doc = self.questions.find_one_and_update(
            {
                "_id": question_id,
                "$or": [
                    {"status": QuestionStatus.QUEUED.value, "retryAt": {"$not": {"$gt": now}}},
                    {"status": QuestionStatus.ANSWERING.value, "lease.expiresAt": {"$lt": now}},
                ],
            },
            {
                "$set": {
                    "status": QuestionStatus.ANSWERING.value,
                    "lease": {"token": claim.token, "expiresAt": claim.expires_at},
                    "updatedAt": now,
                },
                "$inc": {"attempts": 1},
                "$unset": {"partial": "", "error": "", "retryAt": ""},  # an attempt starts clean
            },
            return_document=ReturnDocument.AFTER,
        )
        return _question(doc) if doc else None

    @_unavailable_on_outage
    def write_partial(self, question_id: str, claim: Claim, text: str) -> bool:
        result = self.questions.update_one(
            {"_id": question_id, "status": QuestionStatus.ANSWERING.value, "lease.token": claim.token},
            {"$set": {"partial": text}, "$inc": {"partialWrites": 1}},
        )
        return result.matched_count == 1

    @_unavailable_on_outage
    def commit(
        self,
        question_id: str,
        claim: Claim,
        answer: str,
        usage: Usage,
        now: datetime,
        writes: int,
        citations: Sequence[SourceCitation] = (),
    ) -> bool:
        result = self.questions.update_one(
            {"_id": question_id, "status": QuestionStatus.ANSWERING.value, "lease.token": claim.token},
            {
                "$set": {
                    "status": QuestionStatus.ANSWERED.value,
                    "answer": answer,
                    "usage": usage.model_dump(by_alias=True),
                    "answeredAt": now,
                    "updatedAt": now,
                    "partialWrites": writes,
                    "citations": [c.model_dump(by_alias=True) for c in citations],
                },
                "$unset": {"lease": "", "partial": "", "error": ""},
            },
        )
        return result.modified_count == 1

    @_unavailable_on_outage
    def release(
        self, question_id: str, claim: Claim, error: str, *, failed: bool, retry_at: datetime | None = None
    ) -> None:
        status = QuestionStatus.FAILED if failed else QuestionStatus.QUEUED
        fields: dict[str, Any] = {"status": status.value, "error": error}
        gone = {"lease": "", "partial": ""}
        if retry_at is None:
            gone["retryAt"] = ""
        else:
            fields["retryAt"] = retry_at
        self.questions.update_one(
            {"_id": question_id, "status": QuestionStatus.ANSWERING.value, "lease.token": claim.token},
            {"$set": fields, "$unset": gone},
        )

    @_unavailable_on_outage
    def unclaim(self, question_id: str, claim: Claim) -> None:
        self.questions.update_one(
            {"_id": question_id, "status": QuestionStatus.ANSWERING.value, "lease.token": claim.token},
            {
                "$set": {"status": QuestionStatus.QUEUED.value},
                "$unset": {"lease": "", "partial": ""},
                "$inc": {"attempts": -1},
            },
        )

    @_unavailable_on_outage
    def stuck(self, older_than: datetime, now: datetime, limit: int) -> list[Question]:
        docs = self.questions.find(
            {
                "$or": [
                    {"status": QuestionStatus.QUEUED.value, "updatedAt": {"$lt": older_than}},
                    {"status": QuestionStatus.ANSWERING.value, "lease.expiresAt": {"$lt": now}},
                ]
            },
            limit=limit,
        )
        return [_question(d) for d in docs]

    @_unavailable_on_outage
    def mark_requeued(self, question_ids: Sequence[str], now: datetime) -> None:
        self.questions.update_many({"_id": {"$in": list(question_ids)}}, {"$set": {"updatedAt": now}})

    @_unavailable_on_outage
    def delete_course(self, owner_id: str, course_id: str, lesson_ids: Sequence[str] | None = None) -> None:
        only = {} if lesson_ids is None else {"lessonId": {"$in": list(lesson_ids)}}
        self.questions.delete_many({"ownerId": owner_id, "courseId": course_id, **only})
