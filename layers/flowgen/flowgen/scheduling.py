"""Dedupe-then-enqueue (design invariant 2), and deferral with backoff.

A dedupe key never outlives the job it guards: the worker that takes (or finishes) a job drops
its key, and the key's TTL is the age at which a queued job counts as lost
(`STUCK_AFTER_SECONDS`), so a lost message cannot block a re-send for longer than that.

A job the rate limiter turns away is re-sent with a delay (`deferral_delay`). The limiter's wait
is when the bucket would hold enough for this one job; every job turned away in the same second
gets about the same wait, so without more they all come back together, one of them runs and the
rest are turned away again (about one re-send a second per deferred job, issue 27). The job
carries how often it was deferred, and each deferral of a background (low-priority) job waits
four times longer, with jitter that spreads a herd over the interval; an opened lesson's job
keeps the limiter's wait (its learner is waiting).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aws_lambda_powertools.metrics import MetricUnit

from flowgen.errors import DedupeUnavailable
from flowgen.messages import CourseJob, LessonJob
from flowgen.observability import logger, metrics
from flowgen.ports import DedupeLock, JobQueue
from flowgen.records import Priority

MAX_DELAY_SECONDS = 900
# Each deferral of a background job waits 4x longer (from at least a second), jittered over half
# to one and a half times that. An opened lesson keeps its place: its learner is waiting, and any
# delay past the limiter's wait leaves the provider's capacity unused while opened lessons wait
# (the planner, every open cold behind 30 requests a minute: p99 194 s as is, 350 s with x1-1.25
# jitter, 534 s growing x1.5), so its delay stays the wait (whole seconds up, at least one).
DEFERRAL_GROWTH = {Priority.LOW: 4.0, Priority.HIGH: 1.0}
DEFERRAL_JITTER = {Priority.LOW: (0.5, 1.5), Priority.HIGH: (1.0, 1.0)}  # never below the limiter's wait


def deferral_delay(
    wait: float, deferrals: int, priority: Priority, jitter: Callable[[float, float], float] = random.uniform
) -> float:
    """Seconds before a job deferred `deferrals` times already is sent again, when the limiter
    says the tokens it needs come in `wait` seconds: at least that, and growing with each
    deferral (from at least a second), jittered so deferred jobs do not all return at once."""
    grown = max(wait, 1.0) * DEFERRAL_GROWTH[priority] ** max(0, deferrals)
    return float(min(MAX_DELAY_SECONDS, max(wait, grown * jitter(*DEFERRAL_JITTER[priority]))))


def _delay(seconds: float) -> int:
    return max(1, min(MAX_DELAY_SECONDS, math.ceil(seconds)))


def course_job_key(course_id: str) -> str:
    return f"flowgen:job:course:{course_id}:normal"


def lesson_job_key(course_id: str, lesson_id: str, priority: Priority) -> str:
    return f"flowgen:job:lesson:{course_id}/{lesson_id}:{priority.value}"


def question_job_key(question_id: str) -> str:
    return f"flowgen:job:question:{question_id}:{Priority.HIGH.value}"


def _kept[T](items: Sequence[T], fresh: Sequence[bool]) -> list[T]:
    """The items whose dedupe key was fresh (acquired now), in order."""
    return [item for item, ok in zip(items, fresh, strict=True) if ok]


def _job_key(job: LessonJob, priority: Priority) -> str:
    """A question about a lesson is its own job: its key never holds the lesson's back."""
    if job.question_id is not None:
        return question_job_key(job.question_id)
    return lesson_job_key(job.course_id, job.lesson_id, priority)


@dataclass
class JobScheduler:
    queue: JobQueue
    dedupe: DedupeLock
    dedupe_ttl_seconds: int
    jitter: Callable[[float, float], float] = field(default=random.uniform)

    def _fresh(self, keys: Sequence[str], delay_seconds: int = 0) -> list[bool]:
        try:  # a delayed job's key lives as long past its delay as any other's past its send
            return self.dedupe.acquire_many(keys, self.dedupe_ttl_seconds + delay_seconds)
        except DedupeUnavailable:
            # The claim's compare-and-set still prevents duplicate generation (invariant 1).
            logger.warning("dedupe unavailable, enqueueing without it", extra={"keys": len(keys)})
            metrics.add_metric(name="DedupeUnavailable", unit=MetricUnit.Count, value=1)
            return [True] * len(keys)

    def schedule_course(self, job: CourseJob, *, force: bool = False, delay_seconds: float = 0) -> bool:
        """Sends the outline's job unless one is already scheduled; `delay_seconds`: after them."""
        key, delay = course_job_key(job.course_id), _delay(delay_seconds) if delay_seconds else 0
        if force:
            self._release([key])
        if not self._fresh([key], delay)[0]:
            return False
        try:
            self.queue.send_course_jobs([job], delay_seconds=delay)
        except Exception:
            self._release([key])  # let the next attempt (or the reconciler) send it
            raise
        return True

    def schedule_lessons(
        self, jobs: Sequence[LessonJob], priority: Priority, *, force: bool = False, delay_seconds: float = 0
    ) -> int:
        """Sends one job per lesson not already scheduled at this priority, after `delay_seconds`
        when given; returns how many."""
        if not jobs:
            return 0
        keys, delay = [_job_key(j, priority) for j in jobs], _delay(delay_seconds) if delay_seconds else 0
        if force:
            self._release(keys)
        fresh = self._fresh(keys, delay)
        to_send, held = _kept(jobs, fresh), _kept(keys, fresh)
        if not to_send:
            return 0
        self._send_lessons(to_send, held, priority, delay)
        return len(to_send)

    def _send_lessons(self, jobs: Sequence[LessonJob], keys: Sequence[str], priority: Priority, delay: int) -> None:
        """Sends jobs whose dedupe `keys` are held; a failed send releases them."""
        try:
            self.queue.send_lesson_jobs(jobs, priority, delay_seconds=delay)
        except Exception:
            self._release(keys)  # let the next attempt (or the reconciler) send them
            raise
        metrics.add_metric(name=f"LessonJobs{priority.value.title()}", unit=MetricUnit.Count, value=len(jobs))

    def defer_lesson(self, job: LessonJob, priority: Priority, seconds: float) -> None:
        """Back on its queue after at least `seconds` (the limiter's wait; longer with each
        deferral of this job, see `deferral_delay`), bypassing dedupe: the job is already
        accounted for, and a new message resets its receive count."""
        delay = deferral_delay(seconds, job.deferrals, priority, self.jitter)
        again = job.model_copy(update={"deferrals": job.deferrals + 1})
        self.queue.send_lesson_jobs([again], priority, delay_seconds=_delay(delay))

    def defer_course(self, job: CourseJob, seconds: float) -> None:
        delay = deferral_delay(seconds, job.deferrals, Priority.HIGH, self.jitter)  # a learner waits on it
        again = job.model_copy(update={"deferrals": job.deferrals + 1})
        self.queue.send_course_jobs([again], delay_seconds=_delay(delay))

    def forget_lesson(self, course_id: str, lesson_id: str) -> None:
        """Drops the lesson's dedupe keys: its job was taken or finished, or it is retried."""
        self._release([lesson_job_key(course_id, lesson_id, p) for p in Priority])

    def forget_question(self, question_id: str) -> None:
        """Drops a question's dedupe key: its job was taken, or it is sent again."""
        self._release([question_job_key(question_id)])

    def forget_course(self, course_id: str) -> None:
        self._release([course_job_key(course_id)])

    def _release(self, keys: Sequence[str]) -> None:
        try:
            self.dedupe.release_many(keys)
        except DedupeUnavailable:
            logger.warning("could not release dedupe keys", extra={"keys": list(keys)})
