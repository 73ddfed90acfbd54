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
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from flowgen.content import QuizBlock, QuizQuestion
from flowgen.errors import Conflict, InvalidRequest
from flowgen.ownership import owned_course, owned_lesson
from flowgen.ports import CourseStore, ProgressStore
from flowgen.records import (
    PASS_RATIO,
    QUIZ_TRIES_KEPT,
    CompletedBy,
    Course,
    Lesson,
    LessonStatus,
    ProgressRecord,
    QuizResult,
    QuizSolution,
    QuizTry,
    ReadingPosition,
)
from flowgen.requests import ProgressUpdate
from flowgen.views import CourseProgress, CourseProgressCount, LessonProgress, ProgressOverview

if TYPE_CHECKING:
    from flowgen.reviews import ReviewService


def pass_mark(total: int) -> int:
    return math.ceil(total * PASS_RATIO)


# ---- use cases ---------------------------------------------------------------------------


def quiz_questions(lesson: Lesson) -> list[QuizQuestion]:
    if lesson.content is None:
        return []
    return [q for block in lesson.content.blocks if isinstance(block, QuizBlock) for q in block.questions]


def grade(
    lesson: Lesson, answers: list[int | None], now: datetime, *, reveal: bool = False, before: QuizResult | None = None
) -> QuizResult:
    """The quiz graded against the stored lesson. A wrong answer gets the chosen option's feedback;
    the right answers and their explanations come only once passed (or asked for, or shown
    before on this version): the lesson as served has none. `before`: the previous result,
    whose tries on the same version are kept."""
    questions = _quiz(lesson)
    _check_answers(questions, answers)
    correct = [answer == q.answer_index for answer, q in zip(answers, questions, strict=True)]
    score = sum(correct)
    passed = score >= pass_mark(len(questions))
    earlier = before if before is not None and before.lesson_version == lesson.generated_at else None
    return QuizResult(
        score=score,
        total=len(questions),
        passed=passed,
        answers=answers,
        correct=correct,
        feedback=[None if right else _feedback(q, a) for q, a, right in zip(questions, answers, correct, strict=True)],
        solution=_solution(questions) if passed or reveal or _solution_shown(earlier) else None,
        tries=_tries(earlier),
        lesson_version=lesson.generated_at,
        taken_at=now,
    )


def _quiz(lesson: Lesson) -> list[QuizQuestion]:
    """The lesson's questions; a lesson not written yet, or without a quiz, has none to answer."""
    questions = quiz_questions(lesson)
    if lesson.status != LessonStatus.GENERATED or not questions:
        raise Conflict("this lesson has no quiz to answer yet", code="no_quiz")
    return questions


def _check_answers(questions: list[QuizQuestion], answers: list[int | None]) -> None:
    """One answer per question, each unanswered (None) or one of its question's options."""
    if len(answers) != len(questions):
        raise InvalidRequest(
            f"the quiz has {len(questions)} questions; send one answer for each", code="wrong_answer_count"
        )
    for answer, question in zip(answers, questions, strict=True):
        if answer is not None and not 0 <= answer < len(question.options):
            raise InvalidRequest("an answer is not one of its question's options", code="invalid_answer")


def _solution(questions: list[QuizQuestion]) -> list[QuizSolution]:
    return [QuizSolution(answer_index=q.answer_index, explanation=q.explanation) for q in questions]


def _solution_shown(earlier: QuizResult | None) -> bool:
    """Whether the previous result on this version already showed the solution."""
    return earlier is not None and earlier.solution is not None


def _tries(earlier: QuizResult | None) -> list[QuizTry]:
    """The tries kept: the previous result's on this version, and that result itself, the latest last."""
    if earlier is None:
        return []
    kept = [*earlier.tries, QuizTry(answers=earlier.answers, score=earlier.score, taken_at=earlier.taken_at)]
    return kept[-QUIZ_TRIES_KEPT:]


def _feedback(question: QuizQuestion, answer: int | None) -> str | None:
    """Why the chosen option is wrong, when the lesson has it (without naming the right one)."""
    if answer is None or answer >= len(question.option_feedback):
        return None
    return question.option_feedback[answer] or None


def _view(record: ProgressRecord) -> LessonProgress:
    return LessonProgress.model_validate(record.model_dump(include=set(LessonProgress.model_fields)))


def _completed(found: list[ProgressRecord]) -> set[str]:
    return {r.lesson_id for r in found if r.completed_at}


def _outline_order(course: Course) -> list[str]:
    return [lesson_id for module in course.modules for lesson_id in module.lesson_ids]


def _summarise(course: Course, found: list[ProgressRecord]) -> CourseProgress:
    """Counts only lessons in the outline now: progress on a lesson since removed is kept, unused."""
    order = _outline_order(course)
    done = _completed(found) & set(order)
    unfinished = [lesson_id for lesson_id in order if lesson_id not in done]
    next_lesson_id = unfinished[0] if unfinished else None
    return CourseProgress(
        course_id=course.id,
        lesson_count=len(order),
        completed=len(done),
        percent=len(done) * 100 // max(len(order), 1),
        finished=bool(order) and not unfinished,
        next_lesson_id=next_lesson_id,
        resume_lesson_id=_in_progress(found, order, done) or next_lesson_id,
        lessons=_views(found, order),
    )


def _views(found: list[ProgressRecord], order: list[str]) -> list[LessonProgress]:
    """The progress on the outline's lessons that have any, in outline order."""
    records = {r.lesson_id: r for r in found}
    return [_view(records[i]) for i in order if i in records]


def _in_progress(found: list[ProgressRecord], order: list[str], done: set[str]) -> str | None:
    """The lesson in the outline read last, unless it is completed."""
    read = [(r.position_at, r.lesson_id) for r in found if r.position_at is not None and r.lesson_id in order]
    last = max(read)[1] if read else None
    return last if last is not None and last not in done else None


@dataclass(frozen=True)
class ProgressService:
    courses: CourseStore
    progress: ProgressStore
    reviews: ReviewService | None = None  # the course view's flashcard mastery (issue 23)

    def update_lesson(
        self, owner_id: str, course_id: str, lesson_id: str, update: ProgressUpdate, now: datetime
    ) -> LessonProgress:
        lesson = owned_lesson(self.courses, owner_id, course_id, lesson_id)
        quiz = None
        if update.quiz is not None:
            before = self.progress.get(owner_id, course_id, lesson_id)
            earlier = before.quiz if before is not None else None
            quiz = grade(lesson, update.quiz.answers, now, reveal=update.quiz.reveal, before=earlier)
        completed: tuple[bool, CompletedBy] | None = None
        if update.completed is not None:
            completed = (update.completed, "learner")
        elif quiz is not None and quiz.passed:
            completed = (True, "quiz")
        position = ReadingPosition.model_validate(update.position.model_dump()) if update.position else None
        record = self.progress.record(
            owner_id,
            course_id,
            lesson_id,
            now,
            opened=bool(update.opened),
            completed=completed,
            quiz=quiz,
            position=position,
        )
        return _view(record)

    def lesson(self, owner_id: str, course_id: str, lesson_id: str) -> LessonProgress:
        owned_lesson(self.courses, owner_id, course_id, lesson_id)
        record = self.progress.get(owner_id, course_id, lesson_id)
        return _view(record) if record else LessonProgress(lesson_id=lesson_id)

    def course(self, owner_id: str, course_id: str, now: datetime | None = None) -> CourseProgress:
        course = owned_course(self.courses, owner_id, course_id)
        summary = _summarise(course, self.progress.list_course(owner_id, course_id))
        if self.reviews is not None and now is not None:
            summary.mastery = self.reviews.mastery(course, now)
        return summary

    def overview(self, owner_id: str) -> ProgressOverview:
        counts: dict[str, CourseProgressCount] = {}
        for record in self.progress.list_owner(owner_id):
            entry = counts.setdefault(record.course_id, CourseProgressCount(course_id=record.course_id, completed=0))
            if record.completed_at:
                entry.completed += 1
            if record.opened_at and (entry.last_opened_at is None or record.opened_at > entry.last_opened_at):
                entry.last_opened_at = record.opened_at
        return ProgressOverview(courses=list(counts.values()))
