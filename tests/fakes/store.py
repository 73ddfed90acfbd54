"""An in-memory CourseStore with MongoDB's semantics: each method is one atomic step (one lock),
claims are compare-and-sets, commits and releases are conditioned on the lease token, and
(ownerId, idempotencyKey) is unique. Domain unit tests run on it without a database."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from flowgen.content import GeneratedBlock, PartialContent, PartialOutline
from flowgen.errors import AlreadyExists
from flowgen.ports import Claim
from flowgen.reading import reading_minutes
from flowgen.records import Course, CourseStatus, Lease, LeaseExpiry, Lesson, LessonStatus, Priority, Usage

_VERSION_FIELDS = (
    "status",
    "content",
    "version",
    "instruction",
    "versions",
    "priority",
    "requested_at",
    "generated_at",
    "usage",
    "error",
    "attempts",
    "retry_at",
)


def _lease(claim: Claim) -> Lease:
    return Lease(token=claim.token, expires_at=claim.expires_at)


def _claimable(
    status: str, lease: Lease | None, free: str, busy: str, now: datetime, retry_at: datetime | None = None
) -> bool:
    waiting = retry_at is not None and retry_at > now
    return (status == free and not waiting) or (status == busy and lease is not None and lease.expires_at < now)


class MemoryStore:
    def __init__(self) -> None:
        self.courses: dict[str, Course] = {}
        self.course_leases: dict[str, Lease] = {}
        self.lessons: dict[tuple[str, str], Lesson] = {}
        self.lock = threading.RLock()
        self.down = False
        self.partial_writes: list[tuple[tuple[str, str], int]] = []  # (lesson, blocks) per landed write
        self.lesson_commits: list[tuple[str, str]] = []  # lessons committed GENERATED, one entry each

    def _check(self) -> None:
        if self.down:
            from flowgen.errors import DependencyUnavailable

            raise DependencyUnavailable("mongo")

    def _update_course(self, course_id: str, **fields: object) -> None:
        self.courses[course_id] = self.courses[course_id].model_copy(update=fields)

    def _update_lesson(self, key: tuple[str, str], **fields: object) -> None:
        self.lessons[key] = self.lessons[key].model_copy(update=fields)

    def _holds(self, course_id: str, claim: Claim) -> bool:
        lease = self.course_leases.get(course_id)
        return course_id in self.courses and lease is not None and lease.token == claim.token

    def _holds_lesson(self, key: tuple[str, str], claim: Claim) -> bool:
        lesson = self.lessons.get(key)
        return lesson is not None and lesson.lease is not None and lesson.lease.token == claim.token

    # ---- courses ---------------------------------------------------------------------

    def insert_course(self, course: Course) -> None:
        with self.lock:
            self._check()
            key = course.idempotency_key
            if key is not None and self.find_course_by_idempotency_key(course.owner_id, key):
                raise AlreadyExists(key)
            self.courses[course.id] = course.model_copy(deep=True)

    def insert_copy(self, course: Course, lessons: Sequence[Lesson]) -> None:
        with self.lock:
            self._check()
            self.insert_course(course)  # raises AlreadyExists before any lesson is written
            for lesson in lessons:
                self.lessons[(lesson.course_id, lesson.id)] = lesson.model_copy(deep=True)

    def edit_outline(
        self,
        course: Course,
        *,
        expected_version: int,
        lessons: Sequence[Lesson],
        removed: Sequence[str],
        now: datetime,
    ) -> bool:
        with self.lock:
            self._check()
            stored = self.get_course(course.owner_id, course.id)
            if stored is None or stored.status != CourseStatus.READY or stored.version != expected_version:
                return False
            retired = [*stored.retired_lesson_ids, *(i for i in removed if i not in stored.retired_lesson_ids)]
            self._update_course(
                course.id,
                modules=course.modules,
                lesson_count=course.lesson_count,
                version=course.version,
                retired_lesson_ids=retired,
                updated_at=now,
            )
            for lesson in lessons:
                key = (lesson.course_id, lesson.id)
                structure = {f: getattr(lesson, f) for f in ("module_id", "order", "title", "summary")}
                if key in self.lessons:
                    self._update_lesson(key, **structure)
                else:
                    self.lessons[key] = lesson.model_copy(update={"status": LessonStatus.PENDING, "attempts": 0})
            for lesson_id in removed:
                self.lessons.pop((course.id, lesson_id), None)
            return True

    def find_course_by_idempotency_key(self, owner_id: str, idempotency_key: str) -> Course | None:
        with self.lock:
            self._check()
            return next(
                (c for c in self.courses.values() if (c.owner_id, c.idempotency_key) == (owner_id, idempotency_key)),
                None,
            )

    def get_course(self, owner_id: str, course_id: str) -> Course | None:
        with self.lock:
            self._check()
            course = self.courses.get(course_id)
            if course is None or course.owner_id != owner_id:
                return None
            lease = self.course_leases.get(course_id)
            return course.model_copy(update={"lease": LeaseExpiry(expires_at=lease.expires_at) if lease else None})

    def list_courses(self, owner_id: str, *, limit: int, before: tuple[datetime, str] | None) -> list[Course]:
        with self.lock:
            self._check()
            mine = sorted(
                (c for c in self.courses.values() if c.owner_id == owner_id),
                key=lambda c: (c.created_at, c.id),
                reverse=True,
            )
            if before is not None:
                mine = [c for c in mine if (c.created_at, c.id) < before]
            return mine[:limit]

    def delete_course(self, owner_id: str, course_id: str) -> bool:
        with self.lock:
            if self.get_course(owner_id, course_id) is None:
                return False
            del self.courses[course_id]
            for key in [k for k in self.lessons if k[0] == course_id]:
                del self.lessons[key]
            return True

    def claim_course(self, course_id: str, claim: Claim, now: datetime) -> Course | None:
        with self.lock:
            self._check()
            course = self.courses.get(course_id)
            lease = self.course_leases.get(course_id)
            if course is None or not _claimable(
                course.status, lease, CourseStatus.PENDING, CourseStatus.GENERATING, now, course.retry_at
            ):
                return None
            self.course_leases[course_id] = _lease(claim)
            self._update_course(
                course_id,
                status=CourseStatus.GENERATING,
                attempts=course.attempts + 1,
                updated_at=now,
                retry_at=None,
                partial_outline=None,  # an attempt starts clean (invariant 9)
            )
            return self.courses[course_id]

    def commit_outline(self, course: Course, claim: Claim, lessons: Sequence[Lesson], now: datetime) -> bool:
        with self.lock:
            self._check()
            if not self._holds(course.id, claim) or self.courses[course.id].status != CourseStatus.GENERATING:
                return False
            for lesson in lessons:
                key = (lesson.course_id, lesson.id)
                kept = self.lessons.get(key)
                if kept is None:
                    self.lessons[key] = lesson.model_copy(update={"status": LessonStatus.PENDING, "attempts": 0})
                else:  # titles are overwritten, progress (status, content) kept
                    self._update_lesson(key, title=lesson.title, summary=lesson.summary, order=lesson.order)
            fields = {k: getattr(course, k) for k in ("title", "description", "objectives", "modules", "lesson_count")}
            self._update_course(
                course.id,
                **fields,
                usage=course.usage,
                status=CourseStatus.READY,
                error=None,
                updated_at=now,
                partial_outline=None,
            )
            del self.course_leases[course.id]
            return True

    def release_course(
        self, course_id: str, claim: Claim, error: str, *, failed: bool, retry_at: datetime | None = None
    ) -> None:
        with self.lock:
            self._check()
            if self._holds(course_id, claim):
                status = CourseStatus.FAILED if failed else CourseStatus.PENDING
                self._update_course(course_id, status=status, error=error, partial_outline=None, retry_at=retry_at)
                del self.course_leases[course_id]

    def unclaim_course(self, course_id: str, claim: Claim) -> None:
        with self.lock:
            self._check()
            if self._holds(course_id, claim):
                attempts = self.courses[course_id].attempts - 1
                self._update_course(course_id, status=CourseStatus.PENDING, attempts=attempts, partial_outline=None)
                del self.course_leases[course_id]

    def refuse_course(self, course_id: str, claim: Claim, reason: str, usage: Usage) -> None:
        with self.lock:
            self._check()
            if self._holds(course_id, claim):
                self._update_course(
                    course_id, status=CourseStatus.REFUSED, error=reason, usage=usage, partial_outline=None
                )
                del self.course_leases[course_id]

    def write_partial_outline(self, course_id: str, claim: Claim, outline: PartialOutline, *, restarted: bool) -> bool:
        with self.lock:
            self._check()
            if not self._holds(course_id, claim) or self.courses[course_id].status != CourseStatus.GENERATING:
                return False
            before = self.courses[course_id].partial_outline or PartialOutline()
            written = outline.model_copy(update={"writes": before.writes + 1, "restarts": before.restarts + restarted})
            self._update_course(course_id, partial_outline=written)
            return True

    def reset_failed_course(self, owner_id: str, course_id: str, now: datetime) -> bool:
        with self.lock:
            course = self.get_course(owner_id, course_id)
            if course is None or course.status != CourseStatus.FAILED:
                return False
            self._update_course(
                course_id, status=CourseStatus.PENDING, attempts=0, error=None, updated_at=now, retry_at=None
            )
            return True

    def add_course_usage(self, course_id: str, usage: Usage) -> None:
        with self.lock:
            self._check()
            course = self.courses.get(course_id)
            if course is not None:
                total = Usage(
                    prompt_tokens=course.usage.prompt_tokens + usage.prompt_tokens,
                    completion_tokens=course.usage.completion_tokens + usage.completion_tokens,
                )
                self._update_course(course_id, usage=total)

    def count_generated(self, course_ids: Sequence[str]) -> dict[str, int]:
        with self.lock:
            self._check()
            counts: dict[str, int] = {}
            for (course_id, _), lesson in self.lessons.items():
                if course_id in course_ids and lesson.status == LessonStatus.GENERATED:
                    counts[course_id] = counts.get(course_id, 0) + 1
            return counts

    # ---- lessons ---------------------------------------------------------------------

    def get_lesson(self, owner_id: str, course_id: str, lesson_id: str) -> Lesson | None:
        with self.lock:
            self._check()
            lesson = self.lessons.get((course_id, lesson_id))
            return lesson if lesson is not None and lesson.owner_id == owner_id else None

    def list_lessons(self, course_id: str) -> list[Lesson]:
        with self.lock:
            self._check()
            mine = [lesson for (c, _), lesson in self.lessons.items() if c == course_id]
            listed = sorted(mine, key=lambda x: x.order)
            return [lesson.model_copy(update={"content": None, "partial": None, "versions": []}) for lesson in listed]

    def written_lessons(self, owner_id: str, course_id: str) -> list[Lesson]:
        with self.lock:
            self._check()
            mine = [
                lesson
                for (c, _), lesson in self.lessons.items()
                if c == course_id and lesson.owner_id == owner_id and lesson.status == LessonStatus.GENERATED
            ]
            listed = sorted(mine, key=lambda x: x.order)
            return [lesson.model_copy(update={"partial": None, "versions": []}) for lesson in listed]

    def request_lessons(self, course_id: str, lesson_ids: Sequence[str], priority: Priority, now: datetime) -> None:
        allowed = (None, Priority.LOW) if priority == Priority.HIGH else (None,)
        with self.lock:
            self._check()
            for lesson_id in lesson_ids:
                key = (course_id, lesson_id)
                lesson = self.lessons.get(key)
                if lesson is None or lesson.status != LessonStatus.PENDING or lesson.priority not in allowed:
                    continue
                first = lesson.requested_at or (now if priority == Priority.HIGH else None)
                self._update_lesson(key, priority=priority, updated_at=now, requested_at=first)

    def mark_requeued(self, course_id: str, lesson_ids: Sequence[str], now: datetime) -> None:
        with self.lock:
            self._check()
            for lesson_id in lesson_ids:
                if (course_id, lesson_id) in self.lessons:
                    self._update_lesson((course_id, lesson_id), updated_at=now)

    def claim_lesson(self, course_id: str, lesson_id: str, claim: Claim, now: datetime) -> Lesson | None:
        with self.lock:
            self._check()
            key = (course_id, lesson_id)
            lesson = self.lessons.get(key)
            if lesson is None or not _claimable(
                lesson.status, lesson.lease, LessonStatus.PENDING, LessonStatus.GENERATING, now, lesson.retry_at
            ):
                return None
            self._update_lesson(
                key,
                status=LessonStatus.GENERATING,
                lease=_lease(claim),
                attempts=lesson.attempts + 1,
                updated_at=now,
                retry_at=None,
                partial=None,
            )
            return self.lessons[key].model_copy(update={"content": None, "partial": None, "versions": []})

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
        with self.lock:
            self._check()
            key = (course_id, lesson_id)
            if not self._holds_lesson(key, claim) or self.lessons[key].status != LessonStatus.GENERATING:
                return False
            before = self.lessons[key].partial or PartialContent()
            partial = PartialContent(
                blocks=list(blocks),
                writing=writing,
                writes=before.writes + 1,
                restarts=before.restarts + int(restarted),
            )
            self._update_lesson(key, partial=partial)
            self.partial_writes.append((key, len(blocks)))
            return True

    def commit_lesson(self, lesson: Lesson, claim: Claim, now: datetime) -> bool:
        with self.lock:
            self._check()
            key = (lesson.course_id, lesson.id)
            if not self._holds_lesson(key, claim) or self.lessons[key].status != LessonStatus.GENERATING:
                return False
            self._update_lesson(
                key,
                content=lesson.content,
                usage=lesson.usage,
                generated_at=lesson.generated_at,
                partial_writes=lesson.partial_writes,
                generation_seconds=lesson.generation_seconds,
                block_count=lesson.block_count,
                reading_minutes=reading_minutes(lesson.content),
                status=LessonStatus.GENERATED,
                lease=None,
                error=None,
                updated_at=now,
                partial=None,
            )
            self.lesson_commits.append(key)
            return True

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
        with self.lock:
            self._check()
            key = (course_id, lesson_id)
            if self._holds_lesson(key, claim):
                status = LessonStatus.FAILED if failed else LessonStatus.PENDING
                self._update_lesson(key, status=status, error=error, lease=None, partial=None, retry_at=retry_at)

    def unclaim_lesson(self, course_id: str, lesson_id: str, claim: Claim) -> None:
        with self.lock:
            self._check()
            key = (course_id, lesson_id)
            if self._holds_lesson(key, claim):
                attempts = self.lessons[key].attempts - 1
                self._update_lesson(key, status=LessonStatus.PENDING, lease=None, attempts=attempts, partial=None)

    def reset_failed_lesson(self, owner_id: str, course_id: str, lesson_id: str, now: datetime) -> bool:
        with self.lock:
            lesson = self.get_lesson(owner_id, course_id, lesson_id)
            if lesson is None or lesson.status != LessonStatus.FAILED:
                return False
            self._update_lesson(
                (course_id, lesson_id),
                status=LessonStatus.PENDING,
                attempts=0,
                updated_at=now,
                error=None,
                priority=None,
                requested_at=None,
                retry_at=None,
            )
            return True

    def replace_lesson_version(
        self, lesson: Lesson, *, expected_version: int, statuses: Sequence[LessonStatus], now: datetime
    ) -> bool:
        with self.lock:
            stored = self.get_lesson(lesson.owner_id, lesson.course_id, lesson.id)
            if stored is None or stored.status not in statuses or stored.version != expected_version:
                return False
            fields = {name: getattr(lesson, name) for name in _VERSION_FIELDS}
            fields["reading_minutes"] = reading_minutes(lesson.content)
            self._update_lesson((lesson.course_id, lesson.id), **fields, updated_at=now, partial=None, lease=None)
            return True

    # ---- reconciliation --------------------------------------------------------------

    def stuck_courses(self, older_than: datetime, now: datetime, limit: int) -> list[Course]:
        with self.lock:
            self._check()
            stuck = [
                c
                for c in self.courses.values()
                if (c.status == CourseStatus.PENDING and c.updated_at < older_than)
                or (
                    c.status == CourseStatus.GENERATING
                    and c.id in self.course_leases
                    and self.course_leases[c.id].expires_at < now
                )
            ]
            return stuck[:limit]

    def stuck_lessons(self, older_than: datetime, now: datetime, limit: int) -> list[Lesson]:
        with self.lock:
            self._check()
            stuck = [
                lesson
                for lesson in self.lessons.values()
                if (
                    lesson.status == LessonStatus.PENDING
                    and lesson.priority is not None
                    and lesson.updated_at is not None
                    and lesson.updated_at < older_than
                )
                or (lesson.status == LessonStatus.GENERATING and lesson.lease and lesson.lease.expires_at < now)
            ]
            return stuck[:limit]
