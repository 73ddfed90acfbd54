"""Re-sends jobs for intents that are stranded (design invariant 5). Runs on a schedule and
when the local stack starts.

MongoDB holds every intent, so SQS may lose its contents without losing work: a course PENDING
for longer than `STUCK_AFTER_SECONDS`, a lesson requested (at either priority) and still PENDING
that long, and a record whose lease has expired are all sent again. A lesson whose worker died
on its last allowed attempt becomes FAILED, retryable by the user. Questions about lessons are
reconciled the same way: QUEUED too long, or ANSWERING past their lease, they are sent again
(to the high queue, as asked), or FAILED when their worker died on the last attempt.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flowgen.messages import CourseJob, LessonJob
from flowgen.observability import logger
from flowgen.ports import Claim, CourseStore, QuestionStore
from flowgen.questions import question_job
from flowgen.records import Lease, Lesson, LessonStatus, Priority, Question, QuestionStatus
from flowgen.scheduling import JobScheduler
from flowgen.settings import ReconcilerTunables


@dataclass(frozen=True)
class Reconciled:
    courses_resent: int
    lessons_resent: int
    lessons_failed: int
    questions_resent: int = 0
    questions_failed: int = 0


def reconcile(
    store: CourseStore,
    scheduler: JobScheduler,
    tunables: ReconcilerTunables,
    now: datetime,
    limit: int = 200,
    questions: QuestionStore | None = None,
) -> Reconciled:
    older_than = now - timedelta(seconds=tunables.stuck_after_seconds)
    courses = store.stuck_courses(older_than, now, limit)
    for course in courses:
        scheduler.schedule_course(CourseJob(course_id=course.id, owner_id=course.owner_id), force=True)

    stranded: dict[tuple[str, Priority], list[Lesson]] = defaultdict(list)
    failed = 0
    for lesson in store.stuck_lessons(older_than, now, limit):
        if lesson.lease is not None and _died_on_last_attempt(lesson, tunables.max_receive_count):
            _fail(store, lesson, lesson.lease)
            failed += 1
        else:
            stranded[lesson.course_id, lesson.priority or Priority.LOW].append(lesson)
    resent = sum(_resend(store, scheduler, lessons, priority, now) for (_, priority), lessons in stranded.items())
    asked = _questions(questions, scheduler, tunables, older_than, now, limit) if questions else (0, 0)
    result = Reconciled(len(courses), resent, failed, *asked)
    logger.info("reconciled", extra=result.__dict__)
    return result


def release_dead_leases(store: CourseStore, questions: QuestionStore | None, now: datetime, limit: int = 1000) -> int:
    """After the whole system restarted (the local stack after `kill -9`), every lease still held
    belongs to a worker that is gone: each lesson and question it held waits again now (its
    attempt counted), instead of at its lease's end. Never while any worker may still run: a
    live worker's commit would find its lease gone and be discarded. Returns how many."""
    everything_before, every_lease = datetime.min.replace(tzinfo=UTC), now + timedelta(days=1)
    released = 0
    for lesson in store.stuck_lessons(everything_before, every_lease, limit):
        if lesson.lease is not None:
            claim = Claim(lesson.lease.token, lesson.lease.expires_at)
            store.release_lesson(lesson.course_id, lesson.id, claim, _RESTARTED, failed=False)
            released += 1
    for question in questions.stuck(everything_before, every_lease, limit) if questions else []:
        if questions is not None and question.lease is not None:
            questions.release(
                question.id, Claim(question.lease.token, question.lease.expires_at), _RESTARTED, failed=False
            )
            released += 1
    logger.info("released the leases of stopped workers", extra={"released": released})
    return released


_RESTARTED = "the worker stopped when the system restarted; writing again"


def _died_on_last_attempt(lesson: Lesson, max_receive_count: int) -> bool:
    return lesson.status == LessonStatus.GENERATING and lesson.attempts >= max_receive_count


def _fail(store: CourseStore, lesson: Lesson, lease: Lease) -> None:
    store.release_lesson(
        lesson.course_id,
        lesson.id,
        Claim(lease.token, lease.expires_at),
        "worker stopped before finishing (lease expired on the last attempt)",
        failed=True,
    )


def _resend(
    store: CourseStore, scheduler: JobScheduler, lessons: list[Lesson], priority: Priority, now: datetime
) -> int:
    """Sends one course's stranded lessons again at their recorded priority, past any dedupe key."""
    course_id = lessons[0].course_id
    ids = [lesson.id for lesson in lessons]
    store.mark_requeued(course_id, ids, now)  # the next run waits another period before re-sending
    jobs = [LessonJob(course_id=course_id, lesson_id=i, owner_id=lessons[0].owner_id) for i in ids]
    return scheduler.schedule_lessons(jobs, priority, force=True)


def _questions(
    questions: QuestionStore,
    scheduler: JobScheduler,
    tunables: ReconcilerTunables,
    older_than: datetime,
    now: datetime,
    limit: int,
) -> tuple[int, int]:
    """(re-sent, failed) of the stranded questions."""
    resend: list[Question] = []
    failed = 0
    for question in questions.stuck(older_than, now, limit):
        lease = question.lease
        last = question.status == QuestionStatus.ANSWERING and question.attempts >= tunables.max_receive_count
        if lease is not None and last:
            reason = "worker stopped before finishing (lease expired on the last attempt)"
            questions.release(question.id, Claim(lease.token, lease.expires_at), reason, failed=True)
            failed += 1
        else:
            resend.append(question)
    if resend:
        questions.mark_requeued([q.id for q in resend], now)
        scheduler.schedule_lessons([question_job(q) for q in resend], Priority.HIGH, force=True)
    return len(resend), failed
