"""Re-sends jobs for intents that are stuck (design invariant 5). Runs on a schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flowgen.models import CourseJob, LessonJob, LessonStatus, Priority
from flowgen.observability import logger
from flowgen.policy import Policy
from flowgen.ports import Claim, CourseStore
from flowgen.scheduling import JobScheduler


@dataclass(frozen=True)
class Reconciled:
    courses_resent: int
    lessons_resent: int
    lessons_failed: int


def reconcile(
    store: CourseStore, scheduler: JobScheduler, policy: Policy, now: datetime, limit: int = 200
) -> Reconciled:
    older_than = now - timedelta(seconds=policy.stuck_after_seconds)
    courses = store.stuck_courses(older_than, now, limit)
    for course in courses:
        scheduler.schedule_course(CourseJob(course_id=course.id, owner_id=course.owner_id), force=True)

    resent = failed = 0
    for lesson in store.stuck_lessons(older_than, now, limit):
        if lesson.status == LessonStatus.GENERATING and lesson.attempts >= policy.max_receive_count and lesson.lease:
            # its worker died on the last allowed attempt: fail it so the user can retry
            store.release_lesson(
                lesson.course_id,
                lesson.id,
                Claim(lesson.lease.token, lesson.lease.expires_at),
                "worker stopped before finishing (lease expired on the last attempt)",
                failed=True,
            )
            failed += 1
            continue
        priority = lesson.priority or Priority.LOW
        job = LessonJob(course_id=lesson.course_id, lesson_id=lesson.id, owner_id=lesson.owner_id, priority=priority)
        resent += scheduler.schedule_lessons([job], priority, force=True)
    result = Reconciled(courses_resent=len(courses), lessons_resent=resent, lessons_failed=failed)
    logger.info("reconciled", extra=result.__dict__)
    return result
