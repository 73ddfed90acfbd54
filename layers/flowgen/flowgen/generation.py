"""Use cases behind the queue workers: claim, admit, call the model, commit under the lease.

SQS delivers at least once, so every state change here is conditional (design invariant 1):
a claim is a compare-and-set that takes a lease, a commit only lands while that lease is ours.
Both use cases (outline, lesson) share one skeleton, `Generator._run`:

    claim -> admit (budget, limiter) -> call (under the invocation's deadline)
          -> defer (rate limited), retry later or give up (failed) -> commit

A failed model call is retried by the worker, not by SQS's redelivery (the visibility timeout is
12 minutes by default): the record goes back to waiting with the reason a person reads and a
retry time (a backoff with jitter), and the job is sent again with that delay; the claim skips a
record before its retry time. At MaxReceiveCount attempts (claims, counted on the record: a job
sent again by a poll or a redelivery counts too) the failure is final: FAILED, with the reason,
retryable by the learner. Whatever opens or polls it, a record gets at most that many model calls.

A record's priority lives in MongoDB only: the worker reads it from the claimed record.
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from aws_lambda_powertools.metrics import MetricUnit

from flowgen.citations import Passage
from flowgen.content import CourseOutline, GeneratedLesson, LessonBlock, LessonContent, OutlineDecision, VideoBlock
from flowgen.deadline import Attempt, call_with_deadline
from flowgen.errors import DependencyUnavailable, ModelError
from flowgen.failures import SOMETHING_WENT_WRONG, gave_up, public_reason
from flowgen.grounding import ChunkReader, keep_checked, lesson_passages, outline_digest, passages_of
from flowgen.ids import lesson_key
from flowgen.limits import NoBudget, NoRateLimit, NoVideos
from flowgen.messages import CourseJob, LessonJob
from flowgen.observability import logger, metrics
from flowgen.ports import (
    Claim,
    CourseStore,
    LessonBrief,
    ModelClient,
    OutlineBrief,
    RateLimiter,
    ReviewStore,
    TokenBudget,
    VideoSearch,
)
from flowgen.records import Course, Lesson, LessonStatus, ModuleOutline, Priority, Usage
from flowgen.reviews import sync_lesson_cards
from flowgen.scheduling import JobScheduler
from flowgen.settings import WorkerTunables
from flowgen.streaming import LeaseLost, OutlineWriter, PartialWriter


class Outcome(StrEnum):
    DONE = "done"
    SKIPPED = "skipped"  # already done, leased by a live worker, failed or deleted
    LEASE_LOST = "lease_lost"
    DEFERRED = "deferred"  # rate limited: back on the queue with a delay, no attempt spent
    OVER_BUDGET = "over_budget"  # failed with a clear reason, no model call
    REFUSED = "refused"  # the prompt is not a learnable topic
    RETRYING = "retrying"  # the call failed: waiting again, its job re-sent with a backoff
    FAILED = "failed"  # the call failed on the last allowed attempt (or attempts ran out): FAILED


class _Work[R](Protocol):
    """One claimed record, as the skeleton sees it."""

    @property
    def owner_id(self) -> str: ...
    @property
    def course_id(self) -> str: ...
    @property
    def priority(self) -> Priority: ...
    @property
    def estimate(self) -> int: ...
    @property
    def tier(self) -> str: ...
    @property
    def attempts(self) -> int:
        """Claims of this record, this one included."""
        ...

    @property
    def last_error(self) -> str | None: ...

    def call(self) -> tuple[R, Usage]: ...
    def commit(self, result: R, usage: Usage) -> Outcome: ...
    def release(self, error: str, *, failed: bool) -> None: ...
    def retry_later(self, error: str, seconds: float) -> None:
        """Waiting again with `error`, not claimable for `seconds`; its job sent after them."""
        ...

    def defer(self, seconds: float) -> None:
        """Gives the claim back unused and sends the job again after `seconds`."""
        ...


@dataclass(frozen=True)
class Generator:
    store: CourseStore
    scheduler: JobScheduler
    model: ModelClient
    tunables: WorkerTunables
    clock: Callable[[], datetime]
    limiter: RateLimiter = field(default_factory=NoRateLimit)
    budget: TokenBudget = field(default_factory=NoBudget)
    videos: VideoSearch = field(default_factory=NoVideos)
    cards: ReviewStore | None = None  # the lesson's flashcards join the learner's review (issue 23)
    sources: ChunkReader | None = None  # a grounded course's chunks (issue 24)
    jitter: Callable[[float, float], float] = random.uniform

    # ---- entry points ----------------------------------------------------------------

    def build_outline(self, job: CourseJob, attempt: Attempt) -> Outcome:
        claim = self._claim(attempt)
        course = self.store.claim_course(job.course_id, claim, self.clock())
        self.scheduler.forget_course(job.course_id)  # the job is taken (or finished): its key goes
        if course is None:
            logger.info("course not claimable, acknowledging", extra={"course_id": job.course_id})
            return Outcome.SKIPPED
        return self._run(_OutlineWork(self, job, course, claim), attempt)

    def write_lesson(self, job: LessonJob, attempt: Attempt) -> Outcome:
        claim = self._claim(attempt)
        lesson = self.store.claim_lesson(job.course_id, job.lesson_id, claim, self.clock())
        self.scheduler.forget_lesson(job.course_id, job.lesson_id)
        if lesson is None:
            logger.info("lesson not claimable, acknowledging", extra={"lesson": f"{job.course_id}/{job.lesson_id}"})
            return Outcome.SKIPPED
        course = self.store.get_course(lesson.owner_id, lesson.course_id)
        if course is None:  # deleted while queued
            return Outcome.SKIPPED
        brief = self._grounded(course, _brief(course, lesson, self.store.list_lessons(course.id)))
        return self._run(_LessonWork(self, job, lesson, brief, claim, course.tier), attempt)

    # ---- grounded courses (issue 24) ---------------------------------------------------

    def _passages(self, course: Course) -> list[Passage]:
        if not course.source_ids or self.sources is None:
            return []
        return passages_of(self.sources, course.owner_id, course.source_ids)

    def _grounded(self, course: Course, brief: LessonBrief) -> LessonBrief:
        """A grounded course's lesson is written from the passages of its sources most relevant to
        its title and summary (none: the brief says so, and the lesson says its sources do not cover it)."""
        if not course.source_ids:
            return brief
        found = lesson_passages(self._passages(course), brief.lesson_title, brief.lesson_summary)
        return dataclasses.replace(brief, grounded=True, passages=tuple(found))

    def outline_brief(self, course: Course) -> OutlineBrief:
        """A grounded course's outline is planned from a digest of its sources."""
        brief = OutlineBrief(prompt=course.prompt, level=course.level, size=course.size, language=course.language)
        if not course.source_ids:
            return brief
        return dataclasses.replace(brief, passages=tuple(outline_digest(self._passages(course), course.prompt)))

    # ---- the skeleton ----------------------------------------------------------------

    def _claim(self, attempt: Attempt) -> Claim:
        expires = self.clock() + timedelta(seconds=attempt.lease_seconds)
        return Claim(token=uuid.uuid4().hex, expires_at=expires)

    def _run[R](self, work: _Work[R], attempt: Attempt) -> Outcome:
        try:
            if work.attempts > self.tunables.max_receive_count:  # earlier attempts died or failed
                reason = work.last_error or SOMETHING_WENT_WRONG
                work.release(gave_up(reason, work.attempts - 1), failed=True)
                return Outcome.FAILED
            turned_away = self._admit(work)
            if turned_away is not None:
                return turned_away
            called = self._call(work, attempt)
            if isinstance(called, Outcome):
                return called
        except ModelError as exc:
            return self._failed(work, exc)
        except Exception as exc:  # not the model's: SQS delivers the job again (and its DLQ keeps it)
            logger.exception("work failed", extra={"course_id": work.course_id})
            last = max(work.attempts, attempt.receive_count) >= self.tunables.max_receive_count
            work.release(public_reason(exc), failed=last)
            raise
        result, usage = called
        try:
            return work.commit(result, usage)
        finally:
            # after the commit: bookkeeping in Redis can hang (a frozen Redis waits out its socket
            # timeout), and a paid-for lesson must be kept before anything that may run out the clock
            self._settle(work, usage.total_tokens)

    def _failed[R](self, work: _Work[R], exc: ModelError) -> Outcome:
        """A failed model call: retried after a backoff, or final at the attempts cap."""
        reason = public_reason(exc)
        logger.warning("model call failed", extra={"course_id": work.course_id, "problem": str(exc)})
        if work.attempts >= self.tunables.max_receive_count:
            work.release(gave_up(reason, work.attempts), failed=True)
            metrics.add_metric(name="GaveUp", unit=MetricUnit.Count, value=1)
            return Outcome.FAILED
        work.retry_later(reason, self.retry_delay(work.attempts))
        metrics.add_metric(name="RetryScheduled", unit=MetricUnit.Count, value=1)
        return Outcome.RETRYING

    def retry_delay(self, attempts: int) -> float:
        """The wait after the `attempts`-th failed attempt: the base, times 3 each time, +-20 %."""
        base = self.tunables.retry_base_seconds * 3 ** max(0, attempts - 1)
        return float(base * self.jitter(0.8, 1.2))

    def _admit[R](self, work: _Work[R]) -> Outcome | None:
        """None to go ahead; else what happened instead (failed over budget, or deferred)."""
        over = self.budget.reserve(work.owner_id, work.course_id, work.estimate, tier=work.tier)
        if over:
            metrics.add_metric(name="OverBudget", unit=MetricUnit.Count, value=1)
            work.release(over[:1].upper() + over[1:], failed=True)
            return Outcome.OVER_BUDGET
        wait = self.limiter.acquire(work.priority, work.estimate, reserve_share=self.tunables.reserve_share(work.tier))
        if wait > 0:
            self.budget.settle(work.owner_id, work.course_id, work.estimate, 0)
            metrics.add_metric(name="RateLimited", unit=MetricUnit.Count, value=1)
            work.defer(wait)
            return Outcome.DEFERRED
        return None

    def _call[R](self, work: _Work[R], attempt: Attempt) -> tuple[R, Usage] | Outcome:
        try:
            result, usage = call_with_deadline(work.call, attempt.call_seconds)
        except LeaseLost:  # a partial write found another holder: stop paying for this answer
            self._settle(work, work.estimate)  # the tokens streamed so far are unknown here
            logger.warning("lease lost while streaming, answer abandoned", extra={"course_id": work.course_id})
            return Outcome.LEASE_LOST
        except ModelError as exc:
            self._settle(work, 0)
            if exc.retry_after is None:
                raise
            work.defer(exc.retry_after)
            return Outcome.DEFERRED
        return result, usage

    def _settle[R](self, work: _Work[R], actual: int) -> None:
        self.limiter.settle(work.estimate, actual)
        self.budget.settle(work.owner_id, work.course_id, work.estimate, actual)

    def video_for(self, brief: LessonBrief) -> VideoBlock | None:
        """Best effort: a failed search never fails the lesson."""
        try:
            return self.videos.find(f"{brief.course_title} {brief.lesson_title}")
        except Exception:
            logger.warning("video search failed; lesson kept without a video", exc_info=True)
            metrics.add_metric(name="VideoSearchFailed", unit=MetricUnit.Count, value=1)
            return None


# ---- the two kinds of work ---------------------------------------------------------------


@dataclass
class _OutlineWork:
    gen: Generator
    job: CourseJob
    course: Course
    claim: Claim
    priority: Priority = Priority.HIGH  # someone is waiting for every outline
    writer: OutlineWriter = field(init=False)

    def __post_init__(self) -> None:
        self.writer = OutlineWriter(self.gen.store, self.course.id, self.claim)

    @property
    def owner_id(self) -> str:
        return self.course.owner_id

    @property
    def course_id(self) -> str:
        return self.course.id

    @property
    def estimate(self) -> int:
        return self.gen.tunables.outline_token_estimate

    @property
    def tier(self) -> str:
        return self.course.tier

    @property
    def attempts(self) -> int:
        return self.course.attempts

    @property
    def last_error(self) -> str | None:
        return self.course.error

    def call(self) -> tuple[OutlineDecision, Usage]:
        """Streamed (when enabled): the header and each finished module are written as they come."""
        brief = self.gen.outline_brief(self.course)
        if not self.gen.tunables.stream_outlines:
            return self.gen.model.outline(brief)
        return self.gen.model.outline_stream(brief, self.writer)

    def release(self, error: str, *, failed: bool) -> None:
        self.writer.close()  # a model thread abandoned at the deadline writes nothing after this
        self.gen.store.release_course(self.course.id, self.claim, error, failed=failed)

    def retry_later(self, error: str, seconds: float) -> None:
        self.writer.close()
        retry_at = self.gen.clock() + timedelta(seconds=seconds)
        self.gen.store.release_course(self.course.id, self.claim, error, failed=False, retry_at=retry_at)
        self.gen.scheduler.schedule_course(self.job, force=True, delay_seconds=seconds)

    def defer(self, seconds: float) -> None:
        self.writer.close()
        self.gen.store.unclaim_course(self.course.id, self.claim)
        self.gen.scheduler.defer_course(self.job, seconds)

    def commit(self, result: OutlineDecision, usage: Usage) -> Outcome:
        self.writer.close()
        store, course = self.gen.store, self.course
        if not result.learnable or result.course is None:
            store.refuse_course(course.id, self.claim, result.refusal_reason.strip()[:500], usage)
            metrics.add_metric(name="OutlineRefused", unit=MetricUnit.Count, value=1)
            return Outcome.REFUSED
        ready, lessons = _outlined(course, result.course, usage)
        now = self.gen.clock()
        if not store.commit_outline(ready, self.claim, lessons, now):
            logger.warning("outline lease lost, result discarded", extra={"course_id": course.id})
            return Outcome.LEASE_LOST
        metrics.add_metric(name="OutlineTokens", unit=MetricUnit.Count, value=usage.total_tokens)
        first = [lesson.id for lesson in lessons[: self.gen.tunables.initial_lessons]]
        store.request_lessons(course.id, first, Priority.LOW, now)  # intent first (invariant 5)
        jobs = [LessonJob(course_id=course.id, lesson_id=i, owner_id=course.owner_id) for i in first]
        self.gen.scheduler.schedule_lessons(jobs, Priority.LOW)
        return Outcome.DONE


@dataclass
class _LessonWork:
    gen: Generator
    job: LessonJob
    lesson: Lesson
    brief: LessonBrief
    claim: Claim
    course_tier: str
    writer: PartialWriter = field(init=False)

    def __post_init__(self) -> None:
        interval = self.gen.tunables.partial_write_seconds
        self.writer = PartialWriter(self.gen.store, self.course_id, self.lesson.id, self.claim, interval=interval)

    @property
    def owner_id(self) -> str:
        return self.lesson.owner_id

    @property
    def course_id(self) -> str:
        return self.lesson.course_id

    @property
    def priority(self) -> Priority:
        """The record's, never the message's: an opened lesson is high whatever queue it came on."""
        return self.lesson.priority or Priority.LOW

    @property
    def estimate(self) -> int:
        return self.gen.tunables.lesson_token_estimate

    @property
    def tier(self) -> str:
        return self.course_tier

    @property
    def attempts(self) -> int:
        return self.lesson.attempts

    @property
    def last_error(self) -> str | None:
        return self.lesson.error

    def call(self) -> tuple[GeneratedLesson, Usage]:
        """Streamed (when enabled): the finished blocks are written as partial content on the way."""
        if not self.gen.tunables.stream_lessons:
            return self.gen.model.lesson(self.brief)
        return self.gen.model.lesson_stream(self.brief, self.writer)

    def release(self, error: str, *, failed: bool) -> None:
        self.writer.close()  # a model thread abandoned at the deadline writes nothing after this
        self.gen.store.release_lesson(self.course_id, self.lesson.id, self.claim, error, failed=failed)

    def retry_later(self, error: str, seconds: float) -> None:
        self.writer.close()
        retry_at = self.gen.clock() + timedelta(seconds=seconds)
        store = self.gen.store
        store.release_lesson(self.course_id, self.lesson.id, self.claim, error, failed=False, retry_at=retry_at)
        self.gen.scheduler.schedule_lessons([self.job], self.priority, force=True, delay_seconds=seconds)

    def defer(self, seconds: float) -> None:
        self.writer.close()
        self.gen.store.unclaim_lesson(self.course_id, self.lesson.id, self.claim)
        self.gen.scheduler.defer_lesson(self.job, self.priority, seconds)

    def commit(self, result: GeneratedLesson, usage: Usage) -> Outcome:
        self.writer.close()
        # a citation stays only if its quote is in a passage the lesson was written from (invariant 12)
        checked = keep_checked(result.blocks, self.brief.passages)
        if checked.dropped:
            metrics.add_metric(name="CitationsDropped", unit=MetricUnit.Count, value=checked.dropped)
            where = f"{self.course_id}/{self.lesson.id}"
            logger.info("citations dropped", extra={"lesson": where, "dropped": checked.dropped})
        if checked.kept:
            metrics.add_metric(name="CitationsKept", unit=MetricUnit.Count, value=checked.kept)
        result = result.model_copy(update={"blocks": checked.blocks})
        blocks: list[LessonBlock] = list(result.blocks)
        video = self.gen.video_for(self.brief)
        if video is not None:
            blocks.append(video)
        now = self.gen.clock()
        content = LessonContent(blocks=blocks, generator=self.gen.model.name, flashcards=result.flashcards)
        done = self.lesson.model_copy(
            update={
                "content": content,
                "usage": usage,
                "generated_at": now,
                "status": LessonStatus.GENERATED,
                "partial_writes": self.writer.writes,
                "generation_seconds": _seconds_since(self.lesson.updated_at, now),
                "block_count": len(result.blocks),  # the model's, as partial content counts them
            }
        )
        if not self.gen.store.commit_lesson(done, self.claim, now):
            logger.warning("lesson lease lost, result discarded", extra={"lesson": f"{self.course_id}/{done.id}"})
            return Outcome.LEASE_LOST
        self.gen.store.add_course_usage(self.course_id, usage)
        self._sync_cards(result, now)
        metrics.add_metric(name="LessonTokens", unit=MetricUnit.Count, value=usage.total_tokens)
        if self.lesson.requested_at is not None:
            seconds = (now - self.lesson.requested_at).total_seconds()
            name = f"TimeToLesson{self.priority.value.title()}"
            metrics.add_metric(name=name, unit=MetricUnit.Seconds, value=seconds)
        return Outcome.DONE

    def _sync_cards(self, result: GeneratedLesson, now: datetime) -> None:
        """After the commit: the lesson is written whether or not this lands; a course's cards
        are synced again from its lessons when the learner next asks for them (ReviewService)."""
        if self.gen.cards is None:
            return
        try:
            sync_lesson_cards(self.gen.cards, self.owner_id, self.course_id, self.lesson.id, result.flashcards, now)
        except DependencyUnavailable:
            logger.warning("flashcards not synced", extra={"lesson": f"{self.course_id}/{self.lesson.id}"})


def _outlined(course: Course, outline: CourseOutline, usage: Usage) -> tuple[Course, list[Lesson]]:
    """The READY course and its PENDING lessons, with ids from their positions."""
    lessons: list[Lesson] = []
    modules: list[ModuleOutline] = []
    for m, module in enumerate(outline.modules):
        module_id = f"m{m + 1:02d}"
        ids = []
        for n, item in enumerate(module.lessons):
            ids.append(lesson_key(m, n))
            lessons.append(
                Lesson(
                    id=ids[-1],
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
    fields = {"title": outline.title, "description": outline.description, "objectives": outline.objectives}
    ready = course.model_copy(
        update={**fields, "modules": modules, "lesson_count": len(lessons), "usage": usage, "error": None}
    )
    return ready, lessons


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
        language=course.language,
        instruction=lesson.instruction,
    )


def _seconds_since(claimed_at: datetime | None, now: datetime) -> float | None:
    """The claim set `updatedAt`, and nothing touches it until the commit."""
    return round((now - claimed_at).total_seconds(), 3) if claimed_at is not None else None
