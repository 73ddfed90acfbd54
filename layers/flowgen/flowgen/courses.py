"""Use cases behind the HTTP API. No model call ever happens here (design §1)."""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from flowgen.clock import utcnow
from flowgen.content import PartialContent, PartialOutline
from flowgen.errors import AlreadyExists, Conflict, IdempotencyKeyReused, InvalidRequest, NotFound
from flowgen.export import course_markdown
from flowgen.library import Source, SourceStatus
from flowgen.messages import CourseJob, LessonJob
from flowgen.observability import logger
from flowgen.outline_plan import OutlinePlan
from flowgen.ownership import check_course_id, owned_course, owned_lesson
from flowgen.polling import expected_block_count, expected_lesson_seconds, lesson_poll_after
from flowgen.ports import CourseStore, LearnerRecords, ShareLinks
from flowgen.reading import reading_minutes
from flowgen.records import (
    LESSON_VERSIONS_KEPT,
    Course,
    CourseStatus,
    Lesson,
    LessonStatus,
    LessonVersion,
    Priority,
    Usage,
)
from flowgen.requests import (
    CreateCourseRequest,
    EditOutlineRequest,
    RegenerateLessonRequest,
    SelectVersionRequest,
)
from flowgen.scheduling import JobScheduler
from flowgen.settings import ApiTunables
from flowgen.views import (
    CourseDetail,
    CoursePage,
    CourseView,
    LessonContentView,
    LessonSummary,
    LessonVersionSummary,
    LessonVersionView,
    LessonView,
    ModuleView,
    PartialContentView,
    WritingProgress,
)

PAGE_SIZE = 20


class SourceLookup(Protocol):
    """What creating a grounded course reads of the sources store (flowgen.library.SourceStore)."""

    def get_source(self, owner_id: str, source_id: str) -> Source | None: ...


@dataclass(frozen=True)
class CourseService:
    store: CourseStore
    scheduler: JobScheduler
    tunables: ApiTunables
    learner_records: Sequence[LearnerRecords] = ()  # progress, questions, a share link: they go with the course
    shares: ShareLinks | None = None  # the course view says whether it is shared, and its link
    sources: SourceLookup | None = None  # a grounded course's sources are the caller's and READY (issue 24)

    # ---- courses ---------------------------------------------------------------------

    def create_course(
        self,
        owner_id: str,
        request: CreateCourseRequest,
        now: datetime,
        idempotency_key: str | None = None,
        tier: str = "free",
    ) -> CourseView:
        """Records the course, then queues its outline. With an `idempotency_key`, MongoDB's unique
        (ownerId, idempotencyKey) index is the backstop when the idempotency record in Redis is gone:
        the same key returns the course it made, with another body it is refused."""
        source_ids = self._ready_sources(owner_id, request.sources or [])
        course = Course(
            id=uuid.uuid4().hex,
            owner_id=owner_id,
            tier=tier,
            prompt=request.prompt,
            level=request.level,
            size=request.size,
            language=request.language,
            status=CourseStatus.PENDING,
            idempotency_key=idempotency_key,
            source_ids=source_ids,
            created_at=now,
            updated_at=now,
        )
        try:
            self.store.insert_course(course)  # the intent is durable before any job is sent
        except AlreadyExists:
            return self._same_request(owner_id, idempotency_key or "", request)
        self._send_course_job(course)
        return CourseView.of(course, 0)

    def _ready_sources(self, owner_id: str, source_ids: Sequence[str]) -> list[str]:
        """The ids, each once, in order; each the caller's (else 404, as a course is) and READY."""
        unique = list(dict.fromkeys(source_ids))
        if not unique:
            return []
        for source_id in unique:
            source = self.sources.get_source(owner_id, source_id) if self.sources is not None else None
            if source is None:
                raise NotFound(f"no such source: {source_id}", code="source_not_found")
            if source.status != SourceStatus.READY:
                raise Conflict(
                    f"source {source_id} ({source.filename}) is {source.status.value}: a course is built "
                    "from READY sources only (wait for it to be read, or remove it)",
                    code="source_not_ready",
                )
        return unique

    def _same_request(self, owner_id: str, idempotency_key: str, request: CreateCourseRequest) -> CourseView:
        earlier = self.store.find_course_by_idempotency_key(owner_id, idempotency_key)
        if earlier is None:  # deleted between the insert and this read
            raise Conflict("the course made with this Idempotency-Key is gone; use a new key", code="course_gone")
        sources = list(dict.fromkeys(request.sources or []))
        asked = (request.prompt, request.level, request.size, request.language, sources)
        if (earlier.prompt, earlier.level, earlier.size, earlier.language, earlier.source_ids) != asked:
            raise IdempotencyKeyReused("this Idempotency-Key was used with a different body")
        return CourseView.of(earlier, self.store.count_generated([earlier.id]).get(earlier.id, 0))

    def still_there(self, owner_id: str, created: CourseView) -> CourseView:
        """A create replayed from its Idempotency-Key record names a course that may have been
        deleted since: that is a 409 `course_gone`, as when MongoDB's backstop finds it gone."""
        if self.store.get_course(owner_id, created.id) is None:
            raise Conflict("the course made with this Idempotency-Key is gone; use a new key", code="course_gone")
        return created

    def list_courses(self, owner_id: str, cursor: str | None, limit: int | None) -> CoursePage:
        limit = min(max(limit or PAGE_SIZE, 1), 100)
        before = _decode_cursor(cursor) if cursor else None
        courses = self.store.list_courses(owner_id, limit=limit + 1, before=before)
        page, more = courses[:limit], len(courses) > limit
        next_cursor = _encode_cursor(page[-1]) if more else None
        counts = self.store.count_generated([c.id for c in page]) if page else {}
        return CoursePage(items=[CourseView.of(c, counts.get(c.id, 0)) for c in page], next_cursor=next_cursor)

    def get_course(self, owner_id: str, course_id: str, now: datetime | None = None) -> CourseDetail:
        """The course; while its outline is written, what the live attempt has written so far.
        `now` decides whether that attempt's lease is still live (default: the clock's now)."""
        now = now or utcnow()
        course = owned_course(self.store, owner_id, course_id)
        lessons = {lesson.id: lesson for lesson in self.store.list_lessons(course_id)}
        modules = [
            ModuleView(
                id=module.id,
                title=module.title,
                lessons=[_summary(lessons[lid]) for lid in module.lesson_ids if lid in lessons],
            )
            for module in course.modules
        ]
        written = sum(lesson.status == LessonStatus.GENERATED for lesson in lessons.values())
        detail = CourseDetail(**CourseView.of(course, written).model_dump(), modules=modules)
        detail.share = self.shares.link(owner_id, course_id) if self.shares else None
        if course.status in (CourseStatus.PENDING, CourseStatus.GENERATING):
            detail.retry_after = self.tunables.poll_seconds
            detail.partial_outline = _outline_so_far(course, now)
        return detail

    def delete_course(self, owner_id: str, course_id: str) -> None:
        """The course and its lessons, then the learner's records on it (progress, questions)."""
        check_course_id(course_id)
        if not self.store.delete_course(owner_id, course_id):
            raise NotFound("course not found", code="course_not_found")
        for records in self.learner_records:
            records.delete_course(owner_id, course_id)

    def retry_course(self, owner_id: str, course_id: str, now: datetime) -> CourseView:
        course = owned_course(self.store, owner_id, course_id)
        if course.status != CourseStatus.FAILED:
            raise Conflict(f"course is {course.status.value}, only a FAILED course can be retried", code="not_failed")
        if not self.store.reset_failed_course(owner_id, course_id, now):
            raise Conflict("course changed meanwhile, reload it", code="not_failed")
        course = owned_course(self.store, owner_id, course_id)
        self._send_course_job(course, force=True)
        return CourseView.of(course, self.store.count_generated([course_id]).get(course_id, 0))

    def edit_outline(self, owner_id: str, course_id: str, request: EditOutlineRequest, now: datetime) -> CourseDetail:
        """Renames, adds, removes and reorders lessons and modules in one update guarded by the
        course's version (design invariant 8): a stale edit is a 409 and writes nothing. Lessons and
        modules keep their ids (so their content and progress stay theirs); a new lesson gets an id
        no lesson of this course ever had and is written when opened, like any other. Returns the
        course; the learner's records on the lessons removed (progress, questions) go with them, so
        no count includes a removed lesson."""
        course = owned_course(self.store, owner_id, course_id)
        _check_editable(course, request)
        existing = {lesson.id: lesson for lesson in self.store.list_lessons(course_id)}
        plan = OutlinePlan(course, existing)
        modules, lessons = plan.apply(request)
        removed = [lesson_id for lesson_id in existing if lesson_id not in {lesson.id for lesson in lessons}]
        edited = course.model_copy(
            update={"modules": modules, "lesson_count": len(lessons), "version": course.version + 1}
        )
        written = self.store.edit_outline(
            edited,
            expected_version=course.version,
            lessons=lessons,
            removed=removed,
            now=now,
        )
        if not written:
            raise Conflict("the outline changed meanwhile: reload it and edit again", code="version_conflict")
        self._forget_removed(owner_id, course_id, removed)
        return self.get_course(owner_id, course_id, now)

    def _forget_removed(self, owner_id: str, course_id: str, removed: list[str]) -> None:
        """The lessons an outline edit removed leave nothing behind: their jobs are forgotten (one
        still queued finds no record and is acknowledged), and the learner's records on them go."""
        for lesson_id in removed:
            self.scheduler.forget_lesson(course_id, lesson_id)
        if removed:
            for records in self.learner_records:
                records.delete_course(owner_id, course_id, removed)

    def export_course(self, owner_id: str, course_id: str) -> tuple[str, str]:
        """The course as one Markdown file: (file name, text). Reads only; queues nothing."""
        course = owned_course(self.store, owner_id, course_id)
        lessons = [
            (self.store.get_lesson(owner_id, course_id, lesson.id) or lesson)
            if lesson.status == LessonStatus.GENERATED
            else lesson
            for lesson in self.store.list_lessons(course_id)
        ]
        slug = re.sub(r"[^a-z0-9]+", "-", (course.title or course.prompt).lower()).strip("-")[:60] or "course"
        return f"{slug}.md", course_markdown(course, lessons)

    # ---- lessons ---------------------------------------------------------------------

    def open_lesson(self, owner_id: str, course_id: str, lesson_id: str, now: datetime) -> LessonView:
        """Returns the lesson; if it is not generated yet, promotes it to high priority.

        A poll that changes nothing writes nothing: a lesson already requested at high priority is
        only re-checked against its dedupe key (one Redis round trip, nothing sent while its job
        lives), and lessons ahead are requested once, when they have never been requested."""
        lesson = owned_lesson(self.store, owner_id, course_id, lesson_id)
        siblings = self.store.list_lessons(course_id)
        position = next(i for i, s in enumerate(siblings) if s.id == lesson.id)

        if _needs_generation(lesson, now):
            lesson = self._request(lesson, now)
        ahead = _never_requested(siblings[position + 1 : position + 1 + self.tunables.lesson_lookahead])
        self._schedule(course_id, owner_id, ahead, Priority.LOW, now)

        computed = {"partial", "progress", "versions", "reading_minutes"}
        view = LessonView(
            **lesson.model_dump(include=set(LessonView.model_fields) - computed),
            previous_lesson_id=siblings[position - 1].id if position > 0 else None,
            next_lesson_id=siblings[position + 1].id if position + 1 < len(siblings) else None,
            versions=_versions(lesson),
            max_attempts=self.tunables.max_receive_count,
            reading_minutes=reading_minutes(lesson.content),
        )
        if lesson.status in (LessonStatus.PENDING, LessonStatus.GENERATING):
            self._show_writing(view, lesson, siblings, now)
        return view

    def _show_writing(self, view: LessonView, lesson: Lesson, siblings: list[Lesson], now: datetime) -> None:
        """A lesson not written yet: what is written so far, how far along it is, and when to poll again."""
        partial, view.progress = _written_so_far(lesson, now)
        # citations are checked at the commit: none is shown before (invariant 12)
        view.partial = PartialContentView.model_validate(_uncited(partial.model_dump())) if partial else None
        view.progress.blocks_expected = expected_block_count(siblings)
        expected = expected_lesson_seconds(siblings)
        wait = lesson_poll_after(lesson, partial, now, expected, self.tunables.poll_seconds)
        view.retry_after, view.retry_after_ms = wait.header, wait.milliseconds

    def retry_lesson(self, owner_id: str, course_id: str, lesson_id: str, now: datetime) -> LessonView:
        lesson = owned_lesson(self.store, owner_id, course_id, lesson_id)
        if lesson.status != LessonStatus.FAILED:
            raise Conflict(f"lesson is {lesson.status.value}, only a FAILED lesson can be retried", code="not_failed")
        if not self.store.reset_failed_lesson(owner_id, course_id, lesson_id, now):
            raise Conflict("lesson changed meanwhile, reload it", code="not_failed")
        self.scheduler.forget_lesson(course_id, lesson_id)
        return self.open_lesson(owner_id, course_id, lesson_id, now)

    def regenerate_lesson(
        self, owner_id: str, course_id: str, lesson_id: str, request: RegenerateLessonRequest, now: datetime
    ) -> LessonView:
        """Writes the lesson again with the learner's instruction, at high priority like an opened
        lesson (the same claim, lease and commit). The version in `content` is kept in `versions`;
        progress, keyed by the lesson's id, is untouched. A lesson not written yet, or one that has
        moved on from `request.version`, is a 409."""
        lesson = owned_lesson(self.store, owner_id, course_id, lesson_id)
        if lesson.status != LessonStatus.GENERATED or lesson.content is None:
            raise Conflict(
                f"lesson is {lesson.status.value}; only a written lesson can be regenerated", code="not_generated"
            )
        if request.version is not None and request.version != lesson.version:
            raise Conflict(f"the lesson is at version {lesson.version} now, reload it", code="version_conflict")
        budget = self.tunables.course_token_budget
        course = owned_course(self.store, owner_id, course_id)
        if budget and course.usage.total_tokens >= budget:  # refused now: the current version stays
            raise Conflict(
                f"this course has spent its budget of {budget} tokens: no lesson of it can be rewritten",
                code="course_budget_exhausted",
            )
        kept = _kept(lesson)
        rewritten = lesson.model_copy(
            update={
                "status": LessonStatus.PENDING,
                "content": None,
                "version": _next_version(lesson),
                "instruction": request.instruction,
                "versions": [*lesson.versions, *([kept] if kept else [])][-LESSON_VERSIONS_KEPT:],
                "priority": Priority.HIGH,
                "requested_at": now,
                "generated_at": None,
                "usage": Usage(),
                "error": None,
                "attempts": 0,
            }
        )
        statuses = (LessonStatus.GENERATED,)
        if not self.store.replace_lesson_version(
            rewritten, expected_version=lesson.version, statuses=statuses, now=now
        ):
            raise Conflict("the lesson changed meanwhile, reload it", code="version_conflict")
        self.scheduler.forget_lesson(course_id, lesson_id)  # a finished job's key must not hold this one back
        return self.open_lesson(owner_id, course_id, lesson_id, now)  # sends its job at high priority

    def select_version(
        self, owner_id: str, course_id: str, lesson_id: str, request: SelectVersionRequest, now: datetime
    ) -> LessonView:
        """Switches the lesson back to an earlier version; the one it leaves is kept in its place.
        Not while a version is being written (409): its result would land on top."""
        lesson = owned_lesson(self.store, owner_id, course_id, lesson_id)
        if lesson.status not in (LessonStatus.GENERATED, LessonStatus.FAILED):
            raise Conflict(f"lesson is {lesson.status.value}: wait until it is written", code="being_written")
        if request.version == lesson.version and lesson.content is not None:
            return self.open_lesson(owner_id, course_id, lesson_id, now)
        chosen = _version(lesson, request.version)
        others = [v for v in lesson.versions if v.number != chosen.number]
        others += [kept] if (kept := _kept(lesson)) else []  # a failed regeneration leaves nothing to keep
        restored = lesson.model_copy(
            update={
                "status": LessonStatus.GENERATED,
                "content": chosen.content,
                "version": chosen.number,
                "instruction": chosen.instruction,
                "versions": sorted(others, key=lambda v: v.number)[-LESSON_VERSIONS_KEPT:],
                "generated_at": chosen.generated_at,
                "usage": chosen.usage,
                "error": None,
            }
        )
        statuses = (LessonStatus.GENERATED, LessonStatus.FAILED)
        if not self.store.replace_lesson_version(restored, expected_version=lesson.version, statuses=statuses, now=now):
            raise Conflict("the lesson changed meanwhile, reload it", code="version_conflict")
        return self.open_lesson(owner_id, course_id, lesson_id, now)

    def lesson_version(self, owner_id: str, course_id: str, lesson_id: str, number: int) -> LessonVersionView:
        """One version of the lesson as it was written: one it keeps, or the current one once
        written. Reads only: nothing is requested, queued or written, and no model is called. A
        version the lesson no longer keeps (only the last LESSON_VERSIONS_KEPT earlier ones are)
        is a 404 that says so, as is one not written (yet)."""
        lesson = owned_lesson(self.store, owner_id, course_id, lesson_id)
        current = _kept(lesson)
        kept = [*lesson.versions, *([current] if current else [])]
        version = next((v for v in kept if v.number == number), None)
        if version is None:
            raise _no_version(lesson, number)
        return LessonVersionView(
            lesson_id=lesson.id,
            number=version.number,
            instruction=version.instruction,
            generated_at=version.generated_at,
            content=LessonContentView.model_validate(version.content.model_dump()),
        )

    # ---- helpers ---------------------------------------------------------------------

    def _request(self, lesson: Lesson, now: datetime) -> Lesson:
        """Promotes the lesson to high priority; a job evidently lost is sent again at once."""
        lost = _job_lost(lesson, now - timedelta(seconds=self.tunables.stuck_after_seconds))
        if lesson.priority == Priority.HIGH and lesson.status == LessonStatus.PENDING and not lost:
            self._enqueue(lesson.course_id, lesson.owner_id, [lesson.id], Priority.HIGH)  # no-op while its job lives
            return lesson
        self._schedule(lesson.course_id, lesson.owner_id, [lesson], Priority.HIGH, now, resend=lost)
        promoted = {"priority": Priority.HIGH, "requested_at": lesson.requested_at or now}
        if lesson.status == LessonStatus.PENDING or lost:  # the store's promotion (or re-send) set it
            promoted["updated_at"] = now  # so this very answer is a first-words one (polling.py)
        return lesson.model_copy(update=promoted)

    def _schedule(
        self,
        course_id: str,
        owner_id: str,
        lessons: list[Lesson],
        priority: Priority,
        now: datetime,
        *,
        resend: bool = False,
    ) -> None:
        if not lessons:
            return
        ids = [lesson.id for lesson in lessons]
        self.store.request_lessons(course_id, ids, priority, now)  # intent first (invariant 5)
        if resend:
            logger.info("lesson job evidently lost, sending it again", extra={"course_id": course_id, "lessons": ids})
            self.store.mark_requeued(course_id, ids, now)
        self._enqueue(course_id, owner_id, ids, priority, force=resend)

    def _enqueue(
        self, course_id: str, owner_id: str, ids: list[str], priority: Priority, *, force: bool = False
    ) -> None:
        jobs = [LessonJob(course_id=course_id, lesson_id=i, owner_id=owner_id) for i in ids]
        try:
            self.scheduler.schedule_lessons(jobs, priority, force=force)
        except Exception:
            # Recorded in MongoDB; the next poll or the reconciler sends it again.
            logger.exception("lesson enqueue failed", extra={"course_id": course_id, "lessons": ids})

    def _send_course_job(self, course: Course, *, force: bool = False) -> None:
        try:
            self.scheduler.schedule_course(CourseJob(course_id=course.id, owner_id=course.owner_id), force=force)
        except Exception:
            logger.exception("course enqueue failed; the reconciler will resend", extra={"course_id": course.id})


def _uncited(partial: dict[str, Any]) -> dict[str, Any]:
    blocks = [{k: v for k, v in block.items() if k != "citations"} for block in partial.get("blocks", [])]
    return {**partial, "blocks": blocks}


def _job_lost(lesson: Lesson, queued_before: datetime) -> bool:
    """PENDING at high priority since before `queued_before`: its message never reached a worker
    (purged, expired, or deleted by a worker that then failed), so nothing else will send it."""
    waiting = lesson.status == LessonStatus.PENDING and lesson.priority == Priority.HIGH
    return waiting and lesson.updated_at is not None and lesson.updated_at < queued_before


def _check_editable(course: Course, request: EditOutlineRequest) -> None:
    """Only a ready outline is edited, and only from the version it is at now (else a 409)."""
    if course.status != CourseStatus.READY:
        raise Conflict(f"course is {course.status.value}: only a ready outline can be edited", code="not_ready")
    if request.version != course.version:
        raise Conflict(
            f"the outline is at version {course.version} now: reload it and edit again", code="version_conflict"
        )


def _never_requested(lessons: list[Lesson]) -> list[Lesson]:
    """The lessons still PENDING that were never requested (no priority yet)."""
    return [s for s in lessons if s.status == LessonStatus.PENDING and s.priority is None]


def _needs_generation(lesson: Lesson, now: datetime) -> bool:
    """Waiting and not waiting out a failed attempt's backoff (its job is sent for that time), or
    held by an attempt whose lease ran out."""
    if lesson.status == LessonStatus.PENDING:
        return lesson.retry_at is None or lesson.retry_at <= now
    lease_expired = lesson.lease is not None and lesson.lease.expires_at < now
    return lesson.status == LessonStatus.GENERATING and lease_expired


def _outline_so_far(course: Course, now: datetime) -> PartialOutline | None:
    """The outline a live attempt has written (design invariant 9: shown as partial, never as the
    outline); none from an attempt whose lease has run out (its successor starts clean)."""
    live = course.lease is not None and course.lease.expires_at >= now
    partial = course.partial_outline
    if course.status != CourseStatus.GENERATING or partial is None or not live:
        return None
    restarts = max(0, course.attempts - 1) + partial.restarts  # earlier attempts dropped what they showed
    return partial.model_copy(update={"restarts": restarts})


def _written_so_far(lesson: Lesson, now: datetime) -> tuple[PartialContent | None, WritingProgress]:
    """The blocks a live attempt has written (design invariant 9: shown as partial, never as
    content); none from an attempt whose lease has run out (its successor starts clean)."""
    live = lesson.status == LessonStatus.GENERATING and lesson.lease is not None and lesson.lease.expires_at >= now
    partial = lesson.partial if live else None
    ended = lesson.attempts - (1 if lesson.status == LessonStatus.GENERATING else 0)  # attempts that gave up
    restarts = max(0, ended) + (partial.restarts if partial else 0)
    written = len(partial.blocks) if partial else 0
    return partial, WritingProgress(blocks_written=written, blocks_expected=None, restarts=restarts)


def _version(lesson: Lesson, number: int) -> LessonVersion:
    for version in lesson.versions:
        if version.number == number:
            return version
    raise NotFound(f"lesson has no version {number}", code="version_not_found")


def _no_version(lesson: Lesson, number: int) -> NotFound:
    """Why a lesson has no version `number` to read: numbers only grow, so one below every number
    it keeps was dropped (a lesson keeps its latest LESSON_VERSIONS_KEPT earlier versions)."""
    numbers = [lesson.version, *(v.number for v in lesson.versions)]
    if number < min(numbers):
        message = (
            f"version {number} is no longer kept: a lesson keeps its current version "
            f"and its {LESSON_VERSIONS_KEPT} latest earlier ones"
        )
        return NotFound(message, code="version_not_kept")
    if number == lesson.version:
        return NotFound(f"version {number} of this lesson is not written (yet)", code="version_not_found")
    return NotFound(f"lesson has no version {number}", code="version_not_found")


def _kept(lesson: Lesson) -> LessonVersion | None:
    """The version in `content`, as `versions` keeps it (None while none is written)."""
    if lesson.content is None:
        return None
    return LessonVersion(
        number=lesson.version,
        generated_at=lesson.generated_at,
        instruction=lesson.instruction,
        content=lesson.content,
        usage=lesson.usage,
    )


def _next_version(lesson: Lesson) -> int:
    """Numbers are never reused: one above every version this lesson has had."""
    return max([lesson.version, *(v.number for v in lesson.versions)]) + 1


def _versions(lesson: Lesson) -> list[LessonVersionSummary]:
    earlier = [
        LessonVersionSummary(number=v.number, generated_at=v.generated_at, instruction=v.instruction)
        for v in lesson.versions
    ]
    if lesson.content is None and not earlier:
        return []
    current = LessonVersionSummary(
        number=lesson.version, generated_at=lesson.generated_at, instruction=lesson.instruction, current=True
    )
    return sorted([*earlier, current], key=lambda v: v.number)


def _summary(lesson: Lesson) -> LessonSummary:
    return LessonSummary.model_validate(lesson.model_dump(include=set(LessonSummary.model_fields)))


def _encode_cursor(course: Course) -> str:
    raw = json.dumps([course.created_at.isoformat(), course.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, course_id = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(created_at), str(course_id)
    except (ValueError, TypeError) as exc:
        raise InvalidRequest("cursor is not one this API returned", code="invalid_cursor") from exc
