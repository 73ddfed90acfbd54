"""A learner's progress: lessons opened and completed, and quiz results.

Kept in its own collection beside the content, keyed by (owner, course, lesson id) and never
inside a lesson (design invariant 8): lesson ids are stable, so regenerating or editing a
course loses none of it. A quiz is graded here, against the stored lesson, and the result
keeps the lesson version (its `generatedAt`) it was taken on.

Writes are idempotent: `opened` keeps the first time, `completed` sets or clears one field,
and a quiz result replaces the previous one; sending the same request twice changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal, Protocol

from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel

from flowgen.content import QuizBlock, QuizQuestion
from flowgen.errors import Conflict, InvalidRequest, NotFound
from flowgen.models import Course, Lesson, LessonStatus, Model, is_course_id, is_lesson_id
from flowgen.ports import CourseStore

PASS_RATIO = 0.6  # a quiz passed (at least 60 % right) completes its lesson

CompletedBy = Literal["learner", "quiz"]


def pass_mark(total: int) -> int:
    return math.ceil(total * PASS_RATIO)


# ---- records and API shapes ------------------------------------------------------------


class QuizResult(Model):
    score: int = Field(description="Questions answered right.")
    total: int = Field(description="Questions in the lesson's quiz.")
    passed: bool = Field(description=f"At least {int(PASS_RATIO * 100)} % right; passing completes the lesson.")
    answers: list[int | None] = Field(description="The option chosen for each question, in order (null: skipped).")
    correct: list[bool] = Field(description="Whether each answer was right.")
    lesson_version: datetime | None = Field(description="The lesson's generatedAt when the quiz was taken.")
    taken_at: datetime


class LessonProgress(Model):
    lesson_id: str
    opened_at: datetime | None = None
    completed_at: datetime | None = None
    completed_by: CompletedBy | None = None
    quiz: QuizResult | None = None
    updated_at: datetime | None = None


class ProgressRecord(LessonProgress):
    """As stored: one document per (ownerId, courseId, lessonId) in the `progress` collection."""

    owner_id: str
    course_id: str


class QuizAnswers(Model):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    answers: Annotated[list[int | None], Field(min_length=1, max_length=20)] = Field(
        description="The chosen option's index for each question of the lesson's quiz, in order; null for none."
    )


class ProgressUpdate(Model):
    """PUT body: what to record. Every field is optional; sending the same body again changes nothing."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    opened: Literal[True] | None = Field(default=None, description="The learner opened it (the first time is kept).")
    completed: bool | None = Field(default=None, description="Mark the lesson completed (true) or not (false).")
    quiz: QuizAnswers | None = Field(default=None, description="Answers to grade; the result replaces any earlier one.")


class CourseProgress(Model):
    course_id: str
    lesson_count: int = Field(description="Lessons in the course's outline now.")
    completed: int = Field(description="Of those, lessons completed.")
    percent: int = Field(description="completed / lessonCount, rounded down.")
    finished: bool = Field(description="Every lesson completed.")
    next_lesson_id: str | None = Field(description="The first lesson, in course order, not completed yet.")
    lessons: list[LessonProgress] = Field(description="Every lesson with any progress, in course order.")


class CourseProgressCount(Model):
    course_id: str
    completed: int
    last_opened_at: datetime | None = None


class ProgressOverview(Model):
    """Completed lessons per course, for the course list (its lessonCount gives the percent)."""

    courses: list[CourseProgressCount]


# ---- the port ----------------------------------------------------------------------------


class ProgressStore(Protocol):
    def get(self, owner_id: str, course_id: str, lesson_id: str) -> ProgressRecord | None: ...
    def list_course(self, owner_id: str, course_id: str) -> list[ProgressRecord]: ...
    def list_owner(self, owner_id: str) -> list[ProgressRecord]: ...
    def record(
        self,
        owner_id: str,
        course_id: str,
        lesson_id: str,
        now: datetime,
        *,
        opened: bool = False,
        completed: tuple[bool, CompletedBy] | None = None,
        quiz: QuizResult | None = None,
    ) -> ProgressRecord:
        """One atomic upsert: `opened` keeps the earliest time, `completed=(True, by)` keeps an
        existing completion, `(False, _)` clears it, `quiz` replaces the stored result."""
        ...

    def delete_course(self, owner_id: str, course_id: str) -> None: ...
    def delete_lessons(self, owner_id: str, course_id: str, lesson_ids: Sequence[str]) -> None: ...


# ---- use cases ---------------------------------------------------------------------------


def quiz_questions(lesson: Lesson) -> list[QuizQuestion]:
    if lesson.content is None:
        return []
    return [q for block in lesson.content.blocks if isinstance(block, QuizBlock) for q in block.questions]


def grade(lesson: Lesson, answers: list[int | None], now: datetime) -> QuizResult:
    questions = quiz_questions(lesson)
    if lesson.status != LessonStatus.GENERATED or not questions:
        raise Conflict("this lesson has no quiz to answer yet", code="no_quiz")
    if len(answers) != len(questions):
        raise InvalidRequest(
            f"the quiz has {len(questions)} questions; send one answer for each", code="wrong_answer_count"
        )
    for answer, question in zip(answers, questions, strict=True):
        if answer is not None and not 0 <= answer < len(question.options):
            raise InvalidRequest("an answer is not one of its question's options", code="invalid_answer")
    correct = [answer == q.answer_index for answer, q in zip(answers, questions, strict=True)]
    score = sum(correct)
    return QuizResult(
        score=score,
        total=len(questions),
        passed=score >= pass_mark(len(questions)),
        answers=answers,
        correct=correct,
        lesson_version=lesson.generated_at,
        taken_at=now,
    )


def _view(record: ProgressRecord) -> LessonProgress:
    return LessonProgress.model_validate(record.model_dump(include=set(LessonProgress.model_fields)))


def _completed(found: list[ProgressRecord]) -> set[str]:
    return {r.lesson_id for r in found if r.completed_at}


def _summarise(course: Course, found: list[ProgressRecord]) -> CourseProgress:
    """Counts only lessons in the outline now: progress on a lesson since removed is kept, unused."""
    order = [lesson_id for module in course.modules for lesson_id in module.lesson_ids]
    records = {r.lesson_id: r for r in found}
    done = _completed(found) & set(order)
    unfinished = [lesson_id for lesson_id in order if lesson_id not in done]
    return CourseProgress(
        course_id=course.id,
        lesson_count=len(order),
        completed=len(done),
        percent=len(done) * 100 // max(len(order), 1),
        finished=bool(order) and not unfinished,
        next_lesson_id=unfinished[0] if unfinished else None,
        lessons=[_view(records[i]) for i in order if i in records],
    )


@dataclass(frozen=True)
class ProgressService:
    courses: CourseStore
    progress: ProgressStore

    def update_lesson(
        self, owner_id: str, course_id: str, lesson_id: str, update: ProgressUpdate, now: datetime
    ) -> LessonProgress:
        lesson = self._owned_lesson(owner_id, course_id, lesson_id)
        quiz = grade(lesson, update.quiz.answers, now) if update.quiz is not None else None
        completed: tuple[bool, CompletedBy] | None = None
        if update.completed is not None:
            completed = (update.completed, "learner")
        elif quiz is not None and quiz.passed:
            completed = (True, "quiz")
        record = self.progress.record(
            owner_id, course_id, lesson_id, now, opened=bool(update.opened), completed=completed, quiz=quiz
        )
        return _view(record)

    def lesson(self, owner_id: str, course_id: str, lesson_id: str) -> LessonProgress:
        self._owned_lesson(owner_id, course_id, lesson_id)
        record = self.progress.get(owner_id, course_id, lesson_id)
        return _view(record) if record else LessonProgress(lesson_id=lesson_id)

    def course(self, owner_id: str, course_id: str) -> CourseProgress:
        course = self._owned_course(owner_id, course_id)
        return _summarise(course, self.progress.list_course(owner_id, course_id))

    def overview(self, owner_id: str) -> ProgressOverview:
        counts: dict[str, CourseProgressCount] = {}
        for record in self.progress.list_owner(owner_id):
            entry = counts.setdefault(record.course_id, CourseProgressCount(course_id=record.course_id, completed=0))
            if record.completed_at:
                entry.completed += 1
            if record.opened_at and (entry.last_opened_at is None or record.opened_at > entry.last_opened_at):
                entry.last_opened_at = record.opened_at
        return ProgressOverview(courses=list(counts.values()))

    def forget_lessons(self, owner_id: str, course_id: str, lesson_ids: Sequence[str]) -> None:
        """After an outline edit removed them: their progress goes, so no count includes them."""
        if lesson_ids:
            self.progress.delete_lessons(owner_id, course_id, lesson_ids)

    def forget_course(self, owner_id: str, course_id: str) -> None:
        """After the course itself is deleted: its progress goes too."""
        self.progress.delete_course(owner_id, course_id)

    def _owned_course(self, owner_id: str, course_id: str) -> Course:
        if not is_course_id(course_id):
            raise InvalidRequest("courseId must be 32 lowercase hex characters", code="invalid_course_id")
        course = self.courses.get_course(owner_id, course_id)
        if course is None:
            raise NotFound("course not found", code="course_not_found")
        return course

    def _owned_lesson(self, owner_id: str, course_id: str, lesson_id: str) -> Lesson:
        if not is_course_id(course_id):
            raise InvalidRequest("courseId must be 32 lowercase hex characters", code="invalid_course_id")
        if not is_lesson_id(lesson_id):
            raise InvalidRequest("lessonId must look like m01-l02", code="invalid_lesson_id")
        lesson = self.courses.get_lesson(owner_id, course_id, lesson_id)
        if lesson is None:
            raise NotFound("lesson not found", code="lesson_not_found")
        return lesson
