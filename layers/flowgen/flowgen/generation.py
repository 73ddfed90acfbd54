"""Use cases behind the queue workers: claim, call the model, commit under the lease.

SQS delivers at least once, so every state change here is conditional (design invariant 1):
a claim is a compare-and-set that takes a lease, a commit only lands while that lease is ours.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from aws_lambda_powertools.metrics import MetricUnit

from flowgen.content import LessonBlock, LessonContent, VideoBlock
from flowgen.errors import ModelError
from flowgen.limits import NoBudget, NoRateLimit, NoVideos
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
from flowgen.ports import (
    Claim,
    CourseStore,
    LessonBrief,
    ModelClient,
    OutlineBrief,
    RateLimiter,
    TokenBudget,
    VideoSearch,
)
from flowgen.scheduling import JobScheduler


class Outcome(StrEnum):
    DONE = "done"
    SKIPPED = "skipped"  # already done, leased by a live worker, failed or deleted
    LEASE_LOST = "lease_lost"
    DEFERRED = "deferred"  # rate limited: back on the queue with a delay, no attempt spent
    OVER_BUDGET = "over_budget"  # failed with a clear reason, no model call
    REFUSED = "refused"  # the prompt is not a learnable topic


@dataclass(frozen=True)
class Generator:
    store: CourseStore
    scheduler: JobScheduler
    model: ModelClient
    policy: Policy
    clock: Callable[[], datetime]
    limiter: RateLimiter = field(default_factory=NoRateLimit)
    budget: TokenBudget = field(default_factory=NoBudget)
    videos: VideoSearch = field(default_factory=NoVideos)

    def _claim(self) -> Claim:
        return Claim(token=uuid.uuid4().hex, expires_at=self.clock() + timedelta(seconds=self.policy.lease_seconds))

    def _is_last_attempt(self, receive_count: int) -> bool:
        return receive_count >= self.policy.max_receive_count

    def _admit(self, owner_id: str, course_id: str, priority: Priority, estimate: int) -> str | float | None:
        """None to go ahead; a reason when over budget; seconds to wait when rate limited."""
        over = self.budget.reserve(owner_id, course_id, estimate)
        if over:
            metrics.add_metric(name="OverBudget", unit=MetricUnit.Count, value=1)
            return over
        wait = self.limiter.acquire(priority, estimate)
        if wait > 0:
            self.budget.settle(owner_id, course_id, estimate, 0)
            metrics.add_metric(name="RateLimited", unit=MetricUnit.Count, value=1)
            return float(wait)
        return None

    def _settle(self, owner_id: str, course_id: str, estimate: int, actual: int) -> None:
        self.limiter.settle(estimate, actual)
        self.budget.settle(owner_id, course_id, estimate, actual)

    # ---- outline ---------------------------------------------------------------------

    def build_outline(self, job: CourseJob, receive_count: int) -> Outcome:
        claim = self._claim()
        course = self.store.claim_course(job.course_id, claim, self.clock())
        if course is None:
            logger.info("course not claimable, acknowledging", extra={"course_id": job.course_id})
            return Outcome.SKIPPED
        estimate = self.policy.outline_token_estimate
        try:
            admitted = self._admit(course.owner_id, course.id, Priority.HIGH, estimate)
            if isinstance(admitted, str):
                self.store.release_course(course.id, claim, f"budget: {admitted}", failed=True)
                return Outcome.OVER_BUDGET
            if isinstance(admitted, float):
                self.store.unclaim_course(course.id, claim)
                self.scheduler.defer_course(job, admitted)
                return Outcome.DEFERRED
            try:
                decision, usage = self.model.outline(
                    OutlineBrief(prompt=course.prompt, level=course.level, size=course.size)
                )
            except ModelError as exc:
                self._settle(course.owner_id, course.id, estimate, 0)
                if exc.retry_after is not None:
                    self.store.unclaim_course(course.id, claim)
                    self.scheduler.defer_course(job, exc.retry_after)
                    return Outcome.DEFERRED
                raise
            self._settle(course.owner_id, course.id, estimate, usage.total_tokens)
        except Exception as exc:
            final = self._is_last_attempt(receive_count)
            self.store.release_course(course.id, claim, _reason(exc), failed=final)
            raise

        if not decision.learnable or decision.course is None:
            self.store.refuse_course(course.id, claim, decision.refusal_reason.strip()[:500], usage)
            metrics.add_metric(name="OutlineRefused", unit=MetricUnit.Count, value=1)
            return Outcome.REFUSED
        outline = decision.course
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
        owner, course_id, estimate = lesson.owner_id, lesson.course_id, self.policy.lesson_token_estimate
        try:
            course = self.store.get_course(owner, course_id)
            if course is None:  # deleted while queued
                return Outcome.SKIPPED
            admitted = self._admit(owner, course_id, job.priority, estimate)
            if isinstance(admitted, str):
                self.store.release_lesson(course_id, lesson.id, claim, f"budget: {admitted}", failed=True)
                return Outcome.OVER_BUDGET
            if isinstance(admitted, float):
                self.store.unclaim_lesson(course_id, lesson.id, claim)
                self.scheduler.defer_lesson(job, admitted)
                return Outcome.DEFERRED
            brief = _brief(course, lesson, self.store.list_lessons(course.id))
            try:
                generated, usage = self.model.lesson(brief)
            except ModelError as exc:
                self._settle(owner, course_id, estimate, 0)
                if exc.retry_after is not None:
                    self.store.unclaim_lesson(course_id, lesson.id, claim)
                    self.scheduler.defer_lesson(job, exc.retry_after)
                    return Outcome.DEFERRED
                raise
            self._settle(owner, course_id, estimate, usage.total_tokens)
        except Exception as exc:
            final = self._is_last_attempt(receive_count)
            self.store.release_lesson(course_id, lesson.id, claim, _reason(exc), failed=final)
            raise

        blocks: list[LessonBlock] = list(generated.blocks)
        video = self._video(brief)
        if video is not None:
            blocks.append(video)
        now = self.clock()
        done = lesson.model_copy(
            update={
                "content": LessonContent(blocks=blocks, generator=self.model.name),
                "usage": usage,
                "generated_at": now,
                "status": LessonStatus.GENERATED,
            }
        )
        if not self.store.commit_lesson(done, claim, now):
            logger.warning("lesson lease lost, result discarded", extra={"lesson": f"{course_id}/{lesson.id}"})
            return Outcome.LEASE_LOST
        self.store.add_course_usage(course_id, usage, lessons_generated=1)

        metrics.add_metric(name="LessonTokens", unit=MetricUnit.Count, value=usage.total_tokens)
        if lesson.requested_at is not None:
            seconds = (now - lesson.requested_at).total_seconds()
            metrics.add_metric(name=f"TimeToLesson{job.priority.value.title()}", unit=MetricUnit.Seconds, value=seconds)
        return Outcome.DONE

    def _video(self, brief: LessonBrief) -> VideoBlock | None:
        """Best effort: a failed search never fails the lesson."""
        try:
            return self.videos.find(f"{brief.course_title} {brief.lesson_title}")
        except Exception:
            logger.warning("video search failed; lesson kept without a video", exc_info=True)
            metrics.add_metric(name="VideoSearchFailed", unit=MetricUnit.Count, value=1)
            return None


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
