"""CourseStore on MongoDB (Atlas in production, mongomock locally and in tests)."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.database import Database
from pymongo.errors import ConnectionFailure, DuplicateKeyError, OperationFailure, PyMongoError

from flowgen.content import GeneratedBlock, PartialOutline
from flowgen.errors import AlreadyExists, DependencyUnavailable
from flowgen.ports import Claim
from flowgen.reading import reading_minutes
from flowgen.records import Course, CourseStatus, Lesson, LessonStatus, Priority, Usage

_NO_CONTENT = {"content": 0, "partial": 0, "versions": 0}  # lists and claims need no content, partial or versions
_VERSION_FIELDS = frozenset(
    {"status", "content", "version", "instruction", "versions", "priority", "requested_at", "generated_at"}
    | {"usage", "error", "attempts", "retry_at"}
)


# Server errors that say "not now" rather than "not this": the disk is full (MongoDB's disk
# space monitor; the local stand-in on ENOSPC) or the write could not reach storage. The write
# changed nothing, so the client is told to try again (503), not that something broke (500).
_UNAVAILABLE_CODES = frozenset({14031, 39})  # OutOfDiskSpace, FileStreamFailed
DISK_RETRY_AFTER_SECONDS = 30


def _unavailable_on_outage[T](fn: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except ConnectionFailure as exc:
            raise DependencyUnavailable("mongo") from exc
        except OperationFailure as exc:
            if exc.code in _UNAVAILABLE_CODES:
                raise DependencyUnavailable("mongo", retry_after=DISK_RETRY_AFTER_SECONDS) from exc
            if getattr(exc, "timeout", False):
                raise DependencyUnavailable("mongo") from exc
            raise
        except PyMongoError as exc:
            if getattr(exc, "timeout", False):
                raise DependencyUnavailable("mongo") from exc
            raise

    return wrapper


def _lesson_doc_id(course_id: str, lesson_id: str) -> str:
    return f"{course_id}/{lesson_id}"


def _course(doc: dict[str, Any]) -> Course:
    doc["id"] = doc.pop("_id")
    return Course.model_validate(doc)


def _lesson(doc: dict[str, Any]) -> Lesson:
    doc.pop("_id")
    return Lesson.model_validate(doc)


def _dump(model: Course | Lesson, **kwargs: Any) -> dict[str, Any]:
    return model.model_dump(by_alias=True, mode="python", exclude_none=True, **kwargs)


class MongoCourseStore:
    def __init__(self, db: Database[dict[str, Any]]) -> None:
        self.courses = db["courses"]
        self.lessons = db["lessons"]

    @_unavailable_on_outage
    def ensure_indexes(self) -> None:
        self.courses.create_index([("ownerId", ASCENDING), ("createdAt", DESCENDING), ("_id", DESCENDING)])
        self.courses.create_index([("status", ASCENDING), ("lease.expiresAt", ASCENDING)])
        # the backstop of POST /courses' Idempotency-Key when Redis has lost its record
        self.courses.create_index(
            [("ownerId", ASCENDING), ("idempotencyKey", ASCENDING)],
            unique=True,
            partialFilterExpression={"idempotencyKey": {"$exists": True}},
            name="owner_idempotency_key_unique",
        )
        self.lessons.create_index([("courseId", ASCENDING), ("order", ASCENDING)])
        self.lessons.create_index([("status", ASCENDING), ("lease.expiresAt", ASCENDING)])

    # ---- courses ---------------------------------------------------------------------

    @_unavailable_on_outage
    def insert_course(self, course: Course) -> None:
        doc = _dump(course, exclude={"id"})
        doc["_id"] = course.id
        try:
            self.courses.insert_one(doc)
        except DuplicateKeyError as exc:
            raise AlreadyExists(f"course with idempotency key {course.idempotency_key!r}") from exc

    @_unavailable_on_outage
    def insert_copy(self, course: Course, lessons: Sequence[Lesson]) -> None:
        """Lessons first: the course's insert is what makes them visible, so a failure in between
        leaves nothing anyone sees (and a duplicate key takes its lessons back)."""
        docs = []
        for lesson in lessons:
            doc = _dump(lesson)
            doc["_id"] = _lesson_doc_id(lesson.course_id, lesson.id)
            docs.append(doc)
        if docs:
            self.lessons.insert_many(docs, ordered=False)
        try:
            self.insert_course(course)
        except AlreadyExists:
            self.lessons.delete_many({"courseId": course.id, "ownerId": course.owner_id})
            raise

    @_unavailable_on_outage
    def find_course_by_idempotency_key(self, owner_id: str, idempotency_key: str) -> Course | None:
        doc = self.courses.find_one({"ownerId": owner_id, "idempotencyKey": idempotency_key}, {"lease": 0})
        return _course(doc) if doc else None

    @_unavailable_on_outage
    def get_course(self, owner_id: str, course_id: str) -> Course | None:
        doc = self.courses.find_one({"_id": course_id, "ownerId": owner_id}, {"lease.token": 0})
        return _course(doc) if doc else None

    @_unavailable_on_outage
    def list_courses(self, owner_id: str, *, limit: int, before: tuple[datetime, str] | None) -> list[Course]:
        query: dict[str, Any] = {"ownerId": owner_id}
        if before:
            created_at, course_id = before
            query["$or"] = [
                {"createdAt": {"$lt": created_at}},
                {"createdAt": created_at, "_id": {"$lt": course_id}},
            ]
        docs = self.courses.find(
            query,
            {"lease": 0, "modules": 0, "partialOutline": 0},
            sort=[("createdAt", DESCENDING), ("_id", DESCENDING)],
            limit=limit,
        )
        return [_course(d) for d in docs]

    @_unavailable_on_outage
    def delete_course(self, owner_id: str, course_id: str) -> bool:
        deleted = self.courses.delete_one({"_id": course_id, "ownerId": owner_id}).deleted_count
        if deleted:
            self.lessons.delete_many({"courseId": course_id, "ownerId": owner_id})
        return bool(deleted)

    @_unavailable_on_outage
    def edit_outline(
        self,
        course: Course,
        *,
        expected_version: int,
        lessons: Sequence[Lesson],
        removed: Sequence[str],
        now: datetime,
    ) -> bool:
        fields = _dump(course, include={"modules", "lesson_count", "version"})
        version: Any = expected_version if expected_version != 1 else {"$in": [1, None]}  # before edits: 1
        result = self.courses.update_one(
            {"_id": course.id, "ownerId": course.owner_id, "status": CourseStatus.READY.value, "version": version},
            {
                "$set": {**fields, "updatedAt": now},
                "$addToSet": {"retiredLessonIds": {"$each": list(removed)}},
            },
        )
        if result.modified_count != 1:
            return False
        structure = ("courseId", "moduleId", "ownerId", "order", "title", "summary")
        ops = [
            UpdateOne(
                {"_id": _lesson_doc_id(lesson.course_id, lesson.id)},
                {
                    "$set": {k: v for k, v in _dump(lesson).items() if k in structure},
                    "$setOnInsert": {"id": lesson.id, "status": LessonStatus.PENDING.value, "attempts": 0},
                },
                upsert=True,
            )
            for lesson in lessons
        ]
        if ops:
            self.lessons.bulk_write(ops, ordered=False)
        if removed:
            self.lessons.delete_many({"_id": {"$in": [_lesson_doc_id(course.id, i) for i in removed]}})
        return True

    @_unavailable_on_outage
    def claim_course(self, course_id: str, claim: Claim, now: datetime) -> Course | None:
        doc = self.courses.find_one_and_update(
            {"_id": course_id, **_claimable(CourseStatus.PENDING, CourseStatus.GENERATING, now)},
            {
                "$set": {"status": CourseStatus.GENERATING.value, "lease": _lease(claim), "updatedAt": now},
                "$inc": {"attempts": 1},
                "$unset": {"partialOutline": "", "retryAt": ""},  # an attempt starts clean (invariant 9)
            },
            projection={"lease": 0},
            return_document=ReturnDocument.AFTER,
        )
        return _course(doc) if doc else None

    @_unavailable_on_outage
    def commit_outline(self, course: Course, claim: Claim, lessons: Sequence[Lesson], now: datetime) -> bool:
        if not self.courses.find_one({"_id": course.id, "lease.token": claim.token}, {"_id": 1}):
            return False
        # Positional ids make a retried outline overwrite, never duplicate; a lesson's
        # progress (status, content) survives because it is only set on insert.
        ops = [
            UpdateOne(
                {"_id": _lesson_doc_id(lesson.course_id, lesson.id)},
                {
                    "$set": {
                        k: v
                        for k, v in _dump(lesson).items()
                        if k in ("courseId", "moduleId", "ownerId", "order", "title", "summary")
                    },
                    "$setOnInsert": {"id": lesson.id, "status": LessonStatus.PENDING.value, "attempts": 0},
                },
                upsert=True,
            )
            for lesson in lessons
        ]
        if ops:
            self.lessons.bulk_write(ops, ordered=False)
        fields = _dump(course, include={"title", "description", "objectives", "modules", "lesson_count", "usage"})
        result = self.courses.update_one(
            {"_id": course.id, "status": CourseStatus.GENERATING.value, "lease.token": claim.token},
            {
                "$set": {**fields, "status": CourseStatus.READY.value, "updatedAt": now},
                "$unset": {"lease": "", "error": "", "partialOutline": ""},
            },
        )
        return result.modified_count == 1

    @_unavailable_on_outage
    def release_course(
        self, course_id: str, claim: Claim, error: str, *, failed: bool, retry_at: datetime | None = None
    ) -> None:
        status = CourseStatus.FAILED if failed else CourseStatus.PENDING
        self.courses.update_one({"_id": course_id, "lease.token": claim.token}, _released(status, error, retry_at))

    @_unavailable_on_outage
    def unclaim_course(self, course_id: str, claim: Claim) -> None:
        """Gives the claim back unused (rate limited): no attempt is spent."""
        self.courses.update_one(
            {"_id": course_id, "lease.token": claim.token},
            {
                "$set": {"status": CourseStatus.PENDING.value},
                "$unset": {"lease": "", "partialOutline": ""},
                "$inc": {"attempts": -1},
            },
        )

    @_unavailable_on_outage
    def refuse_course(self, course_id: str, claim: Claim, reason: str, usage: Usage) -> None:
        self.courses.update_one(
            {"_id": course_id, "lease.token": claim.token},
            {
                "$set": {"status": CourseStatus.REFUSED.value, "error": reason, "usage": _dump_usage(usage)},
                "$unset": {"lease": "", "partialOutline": ""},
            },
        )

    @_unavailable_on_outage
    def write_partial_outline(self, course_id: str, claim: Claim, outline: PartialOutline, *, restarted: bool) -> bool:
        fields = outline.model_dump(mode="python", exclude={"writes", "restarts"})
        result = self.courses.update_one(
            {"_id": course_id, "status": CourseStatus.GENERATING.value, "lease.token": claim.token},
            {
                "$set": {f"partialOutline.{name}": value for name, value in fields.items()},
                "$inc": {"partialOutline.writes": 1, "partialOutline.restarts": int(restarted)},
            },
        )
        return result.matched_count == 1

    @_unavailable_on_outage
    def reset_failed_course(self, owner_id: str, course_id: str, now: datetime) -> bool:
        result = self.courses.update_one(
            {"_id": course_id, "ownerId": owner_id, "status": CourseStatus.FAILED.value},
            {
                "$set": {"status": CourseStatus.PENDING.value, "attempts": 0, "updatedAt": now},
                "$unset": {"error": "", "retryAt": ""},
            },
        )
        return result.modified_count == 1

    @_unavailable_on_outage
    def add_course_usage(self, course_id: str, usage: Usage) -> None:
        increments = {"usage.promptTokens": usage.prompt_tokens, "usage.completionTokens": usage.completion_tokens}
        self.courses.update_one({"_id": course_id}, {"$inc": increments})

    @_unavailable_on_outage
    def count_generated(self, course_ids: Sequence[str]) -> dict[str, int]:
        found = self.lessons.find(
            {"courseId": {"$in": list(course_ids)}, "status": LessonStatus.GENERATED.value}, {"courseId": 1, "_id": 0}
        )
        return dict(Counter(doc["courseId"] for doc in found))

    # ---- lessons ---------------------------------------------------------------------

    @_unavailable_on_outage
    def get_lesson(self, owner_id: str, course_id: str, lesson_id: str) -> Lesson | None:
        doc = self.lessons.find_one({"_id": _lesson_doc_id(course_id, lesson_id), "ownerId": owner_id})
        return _lesson(doc) if doc else None

    @_unavailable_on_outage
    def list_lessons(self, course_id: str) -> list[Lesson]:
        docs = self.lessons.find({"courseId": course_id}, _NO_CONTENT, sort=[("order", ASCENDING)])
        return [_lesson(d) for d in docs]

    @_unavailable_on_outage
    def written_lessons(self, owner_id: str, course_id: str) -> list[Lesson]:
        query = {"courseId": course_id, "ownerId": owner_id, "status": LessonStatus.GENERATED.value}
        docs = self.lessons.find(query, {"partial": 0, "versions": 0}, sort=[("order", ASCENDING)])
        return [_lesson(d) for d in docs]

    @_unavailable_on_outage
    def request_lessons(self, course_id: str, lesson_ids: Sequence[str], priority: Priority, now: datetime) -> None:
        """Records that these lessons are wanted, in one update for the batch. High is never
        downgraded to low; `requestedAt` keeps the first open's time (time-to-lesson starts there)."""
        ids = [_lesson_doc_id(course_id, lesson_id) for lesson_id in lesson_ids]
        allowed = [None, Priority.LOW.value] if priority == Priority.HIGH else [None]
        promoted = self.lessons.update_many(
            {"_id": {"$in": ids}, "status": LessonStatus.PENDING.value, "priority": {"$in": allowed}},
            {"$set": {"priority": priority.value, "updatedAt": now}},
        ).modified_count
        if promoted and priority == Priority.HIGH:
            self.lessons.update_many({"_id": {"$in": ids}, "requestedAt": None}, {"$set": {"requestedAt": now}})

    @_unavailable_on_outage
    def mark_requeued(self, course_id: str, lesson_ids: Sequence[str], now: datetime) -> None:
        ids = [_lesson_doc_id(course_id, lesson_id) for lesson_id in lesson_ids]
        self.lessons.update_many({"_id": {"$in": ids}}, {"$set": {"updatedAt": now}})

    @_unavailable_on_outage
    def claim_lesson(self, course_id: str, lesson_id: str, claim: Claim, now: datetime) -> Lesson | None:
        doc = self.lessons.find_one_and_update(
            {
                "_id": _lesson_doc_id(course_id, lesson_id),
                **_claimable(LessonStatus.PENDING, LessonStatus.GENERATING, now),
            },
            {
                "$set": {"status": LessonStatus.GENERATING.value, "lease": _lease(claim), "updatedAt": now},
                "$inc": {"attempts": 1},
                "$unset": {"partial": "", "retryAt": ""},  # an attempt starts clean (invariant 9)
            },
            projection=_NO_CONTENT,
            return_document=ReturnDocument.AFTER,
        )
        return _lesson(doc) if doc else None

    @_unavailable_on_outage
    def write_partial_lesson(
        self,
        course_id: str,
        lesson_id: str,
        claim: Claim,
        blocks: Sequence[GeneratedBlock],
        *,
        writing: str | None,
        restarted: bool,
    ) -> bool:
        result = self.lessons.update_one(
            {
                "_id": _lesson_doc_id(course_id, lesson_id),
                "status": LessonStatus.GENERATING.value,
                "lease.token": claim.token,
            },
            {
                "$set": {
                    "partial.blocks": [block.model_dump(mode="python") for block in blocks],
                    "partial.writing": writing,
                },
                "$inc": {"partial.writes": 1, "partial.restarts": int(restarted)},
            },
        )
        return result.matched_count == 1

    @_unavailable_on_outage
    def commit_lesson(self, lesson: Lesson, claim: Claim, now: datetime) -> bool:
        fields = _dump(
            lesson, include={"content", "usage", "generated_at", "partial_writes", "generation_seconds", "block_count"}
        )
        fields["readingMinutes"] = reading_minutes(lesson.content)  # lists carry no content
        result = self.lessons.update_one(
            {
                "_id": _lesson_doc_id(lesson.course_id, lesson.id),
                "status": LessonStatus.GENERATING.value,
                "lease.token": claim.token,
            },
            {
                "$set": {**fields, "status": LessonStatus.GENERATED.value, "updatedAt": now},
                "$unset": {"lease": "", "error": "", "partial": ""},
            },
        )
        return result.modified_count == 1

    @_unavailable_on_outage
    def release_lesson(
        self,
        course_id: str,
        lesson_id: str,
        claim: Claim,
        error: str,
        *,
        failed: bool,
        retry_at: datetime | None = None,
    ) -> None:
        status = LessonStatus.FAILED if failed else LessonStatus.PENDING
        self.lessons.update_one(
            {"_id": _lesson_doc_id(course_id, lesson_id), "lease.token": claim.token},
            _released(status, error, retry_at),
        )

    @_unavailable_on_outage
    def unclaim_lesson(self, course_id: str, lesson_id: str, claim: Claim) -> None:
        """Gives the claim back unused (rate limited): no attempt is spent."""
        self.lessons.update_one(
            {"_id": _lesson_doc_id(course_id, lesson_id), "lease.token": claim.token},
            {
                "$set": {"status": LessonStatus.PENDING.value},
                "$unset": {"lease": "", "partial": ""},
                "$inc": {"attempts": -1},
            },
        )

    @_unavailable_on_outage
    def reset_failed_lesson(self, owner_id: str, course_id: str, lesson_id: str, now: datetime) -> bool:
        result = self.lessons.update_one(
            {"_id": _lesson_doc_id(course_id, lesson_id), "ownerId": owner_id, "status": LessonStatus.FAILED.value},
            {
                "$set": {"status": LessonStatus.PENDING.value, "attempts": 0, "updatedAt": now},
                "$unset": {"error": "", "priority": "", "requestedAt": "", "retryAt": ""},
            },
        )
        return result.modified_count == 1

    @_unavailable_on_outage
    def replace_lesson_version(
        self, lesson: Lesson, *, expected_version: int, statuses: Sequence[LessonStatus], now: datetime
    ) -> bool:
        fields = _dump(lesson, include=set(_VERSION_FIELDS))
        every = lesson.model_dump(by_alias=True, include=set(_VERSION_FIELDS))
        unset = {name: "" for name in every if name not in fields}
        if (minutes := reading_minutes(lesson.content)) is not None:
            fields["readingMinutes"] = minutes
        else:
            unset["readingMinutes"] = ""
        version: Any = expected_version if expected_version != 1 else {"$in": [1, None]}  # before versions: 1
        result = self.lessons.update_one(
            {
                "_id": _lesson_doc_id(lesson.course_id, lesson.id),
                "ownerId": lesson.owner_id,
                "status": {"$in": [s.value for s in statuses]},
                "version": version,
            },
            {"$set": {**fields, "updatedAt": now}, "$unset": {**unset, "partial": "", "lease": ""}},
        )
        return result.modified_count == 1

    # ---- reconciliation --------------------------------------------------------------

    @_unavailable_on_outage
    def stuck_courses(self, older_than: datetime, now: datetime, limit: int) -> list[Course]:
        docs = self.courses.find(
            {
                "$or": [
                    {"status": CourseStatus.PENDING.value, "updatedAt": {"$lt": older_than}},
                    {"status": CourseStatus.GENERATING.value, "lease.expiresAt": {"$lt": now}},
                ]
            },
            {"lease": 0, "modules": 0, "partialOutline": 0},
            limit=limit,
        )
        return [_course(d) for d in docs]

    @_unavailable_on_outage
    def stuck_lessons(self, older_than: datetime, now: datetime, limit: int) -> list[Lesson]:
        docs = self.lessons.find(
            {
                "$or": [
                    {
                        "status": LessonStatus.PENDING.value,
                        "priority": {"$in": [p.value for p in Priority]},
                        "updatedAt": {"$lt": older_than},
                    },
                    {"status": LessonStatus.GENERATING.value, "lease.expiresAt": {"$lt": now}},
                ]
            },
            _NO_CONTENT,
            limit=limit,
        )
        return [_lesson(d) for d in docs]


def _dump_usage(usage: Usage) -> dict[str, Any]:
    return usage.model_dump(by_alias=True)


def _claimable(free: CourseStatus | LessonStatus, busy: CourseStatus | LessonStatus, now: datetime) -> dict[str, Any]:
    """Free records whose retry time (after a failed attempt) has come, or busy ones whose
    holder's lease has run out (it died or timed out)."""
    return {
        "$or": [
            {"status": free.value, "retryAt": {"$not": {"$gt": now}}},
            {"status": busy.value, "lease.expiresAt": {"$lt": now}},
        ]
    }


def _released(status: CourseStatus | LessonStatus, error: str, retry_at: datetime | None) -> dict[str, Any]:
    """The update of a release: the lease and what the attempt wrote go, a retry time is kept."""
    update: dict[str, Any] = {"$set": {"status": status.value, "error": error}}
    if retry_at is not None:
        update["$set"]["retryAt"] = retry_at
    update["$unset"] = {"lease": "", "partial": "", "partialOutline": "", **({} if retry_at else {"retryAt": ""})}
    return update


def _lease(claim: Claim) -> dict[str, Any]:
    return {"token": claim.token, "expiresAt": claim.expires_at}
