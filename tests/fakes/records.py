"""Records and briefs the unit tests build their cases from: a lesson brief, a pending course,
and a course whose outline a store has committed."""

from __future__ import annotations

import uuid
from datetime import timedelta

from flowgen.clock import utcnow
from flowgen.ports import Claim, CourseStore, LessonBrief
from flowgen.records import Course, CourseStatus, Lesson, LessonStatus

BRIEF = LessonBrief(
    course_title="Rust ownership",
    course_description="d",
    level="beginner",
    module_title="Borrowing",
    lesson_title="Mutable borrows",
    lesson_summary="One writer at a time.",
    previous_titles=["Moves"],
    next_titles=["Lifetimes"],
)


def new_course(owner: str = "alice", key: str | None = None, prompt: str = "Rust") -> Course:
    now = utcnow()
    return Course(
        id=uuid.uuid4().hex,
        owner_id=owner,
        prompt=prompt,
        status=CourseStatus.PENDING,
        idempotency_key=key,
        created_at=now,
        updated_at=now,
    )


def outlined_course(store: CourseStore, lessons: int = 3) -> Course:
    course = new_course()
    store.insert_course(course)
    claim = Claim("outline", utcnow() + timedelta(minutes=1))
    assert store.claim_course(course.id, claim, utcnow()) is not None
    rows = [
        Lesson(
            id=f"m01-l{i + 1:02d}",
            course_id=course.id,
            module_id="m01",
            owner_id="alice",
            order=i,
            title=f"lesson {i}",
            summary="",
            status=LessonStatus.PENDING,
        )
        for i in range(lessons)
    ]
    assert store.commit_outline(course, claim, rows, utcnow())
    return course
