"""The one ownership check (design invariant 6): every read and write is scoped by the caller's
`sub`, and another user's course or lesson is a 404 exactly like one that does not exist. Ids of
the wrong shape are a 400 before any lookup."""

from __future__ import annotations

from flowgen.errors import InvalidRequest, NotFound
from flowgen.ids import is_course_id, is_lesson_id
from flowgen.ports import CourseStore
from flowgen.records import Course, Lesson


def check_course_id(course_id: str) -> None:
    if not is_course_id(course_id):
        raise InvalidRequest("courseId must be 32 lowercase hex characters", code="invalid_course_id")


def owned_course(store: CourseStore, owner_id: str, course_id: str) -> Course:
    check_course_id(course_id)
    course = store.get_course(owner_id, course_id)
    if course is None:
        raise NotFound("course not found", code="course_not_found")
    return course


def owned_lesson(store: CourseStore, owner_id: str, course_id: str, lesson_id: str) -> Lesson:
    check_course_id(course_id)
    if not is_lesson_id(lesson_id):
        raise InvalidRequest("lessonId must look like m01-l02", code="invalid_lesson_id")
    lesson = store.get_lesson(owner_id, course_id, lesson_id)
    if lesson is None:
        raise NotFound("lesson not found", code="lesson_not_found")
    return lesson
