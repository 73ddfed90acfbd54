"""Use cases behind the queue workers: claim, call the model, commit under the lease.

SQS delivers at least once, so every state change here is conditional (design invariant 1):
a claim is a compare-and-set that takes a lease, a commit only lands while that lease is ours.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from aws_lambda_powertools.metrics import MetricUnit

from flowgen.content import LessonContent
from flowgen.errors import ModelError
from flowgen.models import (
    Course,
    CourseJob,
    Lesson,
    LessonJob,
    LessonStatus,
    ModuleOutline,
    Priority,
    lesson_key,
)
from flowgen.observability import logger, metrics
from flowgen.policy import Policy
from flowgen.ports import Claim, CourseStore, LessonBrief, ModelClient, OutlineBrief
from flowgen.scheduling import JobScheduler


class Outcome(StrEnum):
    DONE = "done"
    SKIPPED = "skipped"  # already done, leased by a live worker, failed or deleted
    LEASE_LOST = "lease_lost"


@dataclass(frozen=True)
class Generator:
    store: CourseStore
    scheduler: JobScheduler
    model: ModelClient
    policy: Policy
    clock: Callable[[], datetime]

    def _claim(self) -> Claim:
        return Claim(token=uuid.uuid4().hex, expires_at=self.clock() + timedelta(seconds=self.policy.lease_seconds))

    def _is_last_attempt(self, receive_count: int) -> bool:
        return receive_count >= self.policy.max_receive_count

    # ---- outline ---------------------------------------------------------------------

    def build_outline(self, job: CourseJob, receive_count: int) -> Outcome:
        claim = self._claim()
        course = self.store.claim_course(job.course_id, claim, self.clock())
        if course is None:
            logger.info("course not claimable, acknowledging", extra={"course_id": job.course_id})
            return Outcome.SKIPPED
        try:
            outline, usage = self.model.outline(
                OutlineBrief(prompt=course.prompt, level=course.level, size=course.size)
            )
        except Exception as exc:
            final = self._is_last_attempt(receive_count)
            self.store.release_course(course.id, claim, _reason(exc), failed=final)
            raise

        lessons: list[Lesson] = []
        modules: list[ModuleOutline] = []
        now = self.clock()
        for m, module in enumerate(outline.modules):
            module_id = f"m{m + 1:02d}"
            ids = []
            for n, item in enumerate(module.lessons):
                key = lesson_key(m, n)
                ids.append(key)
                lessons.append(
                    Lesson(
                        id=key,
                        course_id=course.id,
                        module_id=module_id,
                        owner_id=course.owner_id,
                        order=len(lessons),
                        title=item.title,
                        summary=item.summary,
                        status=LessonStatus.PENDING,
                    )
                )
            modules.append(ModuleOutline(id=module_id, title=module.title, lesson_ids=ids))
        ready = course.model_copy(
            update={
                "title": outline.title,
                "description": outline.description,
                "objectives": outline.objectives,
                "modules": modules,
                "lesson_count": len(lessons),
                "usage": usage,
                "error": None,
            }
        )
        if not self.store.commit_outline(ready, claim, lessons, now):
            logger.warning("outline lease lost, result discarded", extra={"course_id": course.id})
            return Outcome.LEASE_LOST
        metrics.add_metric(name="OutlineTokens", unit=MetricUnit.Count, value=usage.total_tokens)

        first = [lesson.id for lesson in lessons[: self.policy.initial_lessons]]
        self.store.request_lessons(course.id, first, Priority.LOW, now)
        self.scheduler.schedule_lessons(
            [
                LessonJob(course_id=course.id, lesson_id=i, owner_id=course.owner_id, priority=Priority.LOW)
                for i in first
            ],
            Priority.LOW,
        )
        return Outcome.DONE

    # ---- lesson ----------------------------------------------------------------------

    def write_lesson(self, job: LessonJob, receive_count: int) -> Outcome:
        claim = self._claim()
        lesson = self.store.claim_lesson(job.course_id, job.lesson_id, claim, self.clock())
        if lesson is None:
            logger.info("lesson not claimable, acknowledging", extra={"lesson": f"{job.course_id}/{job.lesson_id}"})
            return Outcome.SKIPPED
        try:
            course = self.store.get_course(lesson.owner_id, lesson.course_id)
            if course is None:  # deleted while queued
                return Outcome.SKIPPED
            brief = _brief(course, lesson, self.store.list_lessons(course.id))
            generated, usage = self.model.lesson(brief)
        except Exception as exc:
            final = self._is_last_attempt(receive_count)
            self.store.release_lesson(lesson.course_id, lesson.id, claim, _reason(exc), failed=final)
            raise

        now = self.clock()
        done = lesson.model_copy(
            update={
                "content": LessonContent(blocks=list(generated.blocks), generator=self.model.name),
                "usage": usage,
                "generated_at": now,
                "status": LessonStatus.GENERATED,
            }
        )
        if not self.store.commit_lesson(done, claim, now):
            logger.warning("lesson lease lost, result discarded", extra={"lesson": f"{lesson.course_id}/{lesson.id}"})
            return Outcome.LEASE_LOST
        self.store.add_course_usage(lesson.course_id, usage, lessons_generated=1)

        metrics.add_metric(name="LessonTokens", unit=MetricUnit.Count, value=usage.total_tokens)
        if lesson.requested_at is not None:
            seconds = (now - lesson.requested_at).total_seconds()
            metrics.add_metric(name=f"TimeToLesson{job.priority.value.title()}", unit=MetricUnit.Seconds, value=seconds)
        return Outcome.DONE


def _brief(course: Course, lesson: Lesson, siblings: list[Lesson]) -> LessonBrief:
    titles = [s.title for s in siblings]
    module_title = next((m.title for m in course.modules if m.id == lesson.module_id), "")
    return LessonBrief(
        course_title=course.title or course.prompt,
        course_description=course.description or "",
        level=course.level,
        module_title=module_title,
        lesson_title=lesson.title,
        lesson_summary=lesson.summary,
        previous_titles=titles[max(0, lesson.order - 3) : lesson.order],
        next_titles=titles[lesson.order + 1 : lesson.order + 3],
    )


def _reason(exc: Exception) -> str:
    if isinstance(exc, ModelError):
        return f"model: {exc}"
    return f"{type(exc).__name__}: {exc}"[:500]
