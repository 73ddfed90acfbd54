"""Ask about this lesson: a learner's question, answered by the model from the lesson's content.

A question is its own record (the `questions` collection), keyed by owner, course and stable
lesson id beside the content (design invariant 8), so a learner's thread on a lesson survives a
regeneration. Asking records the intent (QUEUED) before its job goes to the high lesson queue,
guarded by a dedupe key per question (invariants 2 and 5). The lesson worker answers it with the
skeleton every model call shares (`Generator._run`, in flowgen.answering, so the API never
loads the generation code): a claim that is a compare-and-set
QUEUED -> ANSWERING with a lease, admission (budget, limiter at high priority), the call under
the invocation's deadline, then a commit conditioned on the lease: exactly one answer per
question however often SQS delivers it. While the answer streams, the text so far is written as
`partial` under the lease, at most once per `partial_write_seconds`; it is never shown as the
answer, and a failed or lost attempt's partial text goes with its lease (invariant 9).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Protocol

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import AfterValidator, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from flowgen.errors import Conflict, InvalidRequest, NotFound
from flowgen.models import (
    Lease,
    Lesson,
    LessonJob,
    LessonStatus,
    Model,
    Priority,
    Usage,
    is_course_id,
    is_lesson_id,
    visible_length,
)
from flowgen.observability import logger, metrics
from flowgen.ports import Claim, CourseStore
from flowgen.scheduling import JobScheduler
from flowgen.settings import ApiTunables

QUESTION_MAX_CHARS = 1000
THREAD_MAX = 200  # questions listed per lesson (the oldest first); the hourly limit keeps threads short


class QuestionStatus(StrEnum):
    QUEUED = "QUEUED"
    ANSWERING = "ANSWERING"
    ANSWERED = "ANSWERED"
    FAILED = "FAILED"


class Question(Model):
    """As stored: one document per question in the `questions` collection."""

    id: str
    owner_id: str
    course_id: str
    lesson_id: str
    tier: str = "free"  # the asker's when asked: its reserve share of the model's limits
    question: str
    status: QuestionStatus
    answer: str | None = None
    partial: str | None = None  # the answer so far, written by the attempt holding the lease
    partial_writes: int = 0
    error: str | None = None
    asked_at: datetime
    answered_at: datetime | None = None
    updated_at: datetime | None = None  # asked, re-sent or claimed: the stranded clock
    usage: Usage = Usage()
    attempts: int = 0
    lease: Lease | None = None


# ---- API shapes --------------------------------------------------------------------------


def _one_visible(value: str) -> str:
    if visible_length(value) < 1:
        raise ValueError("the question needs a visible character")
    return value


class AskQuestionRequest(Model):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    question: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=QUESTION_MAX_CHARS),
        AfterValidator(_one_visible),
    ] = Field(
        description=f"The learner's question about the lesson, 1 to {QUESTION_MAX_CHARS} characters. It reaches "
        "the model as data, never as instructions to it."
    )


class QuestionView(Model):
    id: str
    course_id: str
    lesson_id: str
    question: str
    status: QuestionStatus
    answer: str | None = Field(default=None, description="Markdown, once ANSWERED")
    partial: str | None = Field(
        default=None, description="While ANSWERING: the answer so far. Never final; `answer` is."
    )
    error: str | None = Field(default=None, description="Why, when FAILED")
    asked_at: datetime
    answered_at: datetime | None = None
    usage: Usage | None = None

    @classmethod
    def of(cls, question: Question, now: datetime) -> QuestionView:
        lease = question.lease
        live = question.status == QuestionStatus.ANSWERING and lease is not None and lease.expires_at >= now
        return cls(
            id=question.id,
            course_id=question.course_id,
            lesson_id=question.lesson_id,
            question=question.question,
            status=question.status,
            answer=question.answer if question.status == QuestionStatus.ANSWERED else None,
            partial=(question.partial or None) if live else None,
            error=question.error if question.status == QuestionStatus.FAILED else None,
            asked_at=question.asked_at,
            answered_at=question.answered_at,
            usage=question.usage if question.status == QuestionStatus.ANSWERED else None,
        )


class QuestionThread(Model):
    items: list[QuestionView] = Field(description="The caller's questions on this lesson, oldest first")
    retry_after: int | None = Field(
        default=None, description="Seconds to wait before polling again, while a question is queued or answered"
    )


# ---- the port ----------------------------------------------------------------------------


class QuestionStore(Protocol):
    def insert(self, question: Question) -> None: ...
    def thread(self, owner_id: str, course_id: str, lesson_id: str, *, limit: int) -> list[Question]:
        """The owner's questions on a lesson, oldest first."""
        ...

    def claim(self, question_id: str, claim: Claim, now: datetime) -> Question | None:
        """QUEUED (or ANSWERING with an expired lease) -> ANSWERING under `claim`, in one
        compare-and-set; an attempt starts with no partial text. None when not claimable."""
        ...

    def write_partial(self, question_id: str, claim: Claim, text: str) -> bool:
        """The answer so far, while `claim` holds the question; False when it does not."""
        ...

    def commit(self, question_id: str, claim: Claim, answer: str, usage: Usage, now: datetime, writes: int) -> bool:
        """ANSWERED with `answer`, only while `claim` holds it; False (nothing written) otherwise."""
        ...

    def release(self, question_id: str, claim: Claim, error: str, *, failed: bool) -> None:
        """FAILED (or QUEUED again, for SQS's next delivery) while `claim` holds it; partial text goes."""
        ...

    def unclaim(self, question_id: str, claim: Claim) -> None:
        """Back to QUEUED unused (rate limited): no attempt spent."""
        ...

    def stuck(self, older_than: datetime, now: datetime, limit: int) -> list[Question]:
        """QUEUED since before `older_than`, or ANSWERING with a lease expired before `now`."""
        ...

    def mark_requeued(self, question_ids: Sequence[str], now: datetime) -> None: ...
    def delete_course(self, owner_id: str, course_id: str, lesson_ids: Sequence[str] | None = None) -> None:
        """The owner's questions on the course (only on `lesson_ids`, when given) are deleted."""
        ...


# ---- asking and reading (the API) --------------------------------------------------------


def question_job(question: Question) -> LessonJob:
    return LessonJob(
        course_id=question.course_id, lesson_id=question.lesson_id, owner_id=question.owner_id, question_id=question.id
    )


@dataclass(frozen=True)
class QuestionService:
    courses: CourseStore
    questions: QuestionStore
    scheduler: JobScheduler
    tunables: ApiTunables

    def ask(
        self,
        owner_id: str,
        course_id: str,
        lesson_id: str,
        request: AskQuestionRequest,
        now: datetime,
        tier: str = "free",
    ) -> QuestionView:
        """Records the question QUEUED, then sends its job to the high queue. Only a written
        lesson can be asked about (409 `lesson_not_ready`): the answer comes from its content."""
        lesson = self._owned_lesson(owner_id, course_id, lesson_id)
        if lesson.status != LessonStatus.GENERATED:
            raise Conflict(
                f"lesson is {lesson.status.value}: questions can be asked once it is written", code="lesson_not_ready"
            )
        question = Question(
            id=uuid.uuid4().hex,
            owner_id=owner_id,
            course_id=course_id,
            lesson_id=lesson_id,
            tier=tier,
            question=request.question,
            status=QuestionStatus.QUEUED,
            asked_at=now,
            updated_at=now,
        )
        self.questions.insert(question)  # the intent is durable before its job is sent
        self._send(question)
        metrics.add_metric(name="QuestionsAsked", unit=MetricUnit.Count, value=1)
        return QuestionView.of(question, now)

    def thread(self, owner_id: str, course_id: str, lesson_id: str, now: datetime) -> QuestionThread:
        """The caller's questions on the lesson, oldest first; `retry_after` while one is waiting
        (1 s while an answer streams). A question whose job was evidently lost is sent again."""
        self._owned_lesson(owner_id, course_id, lesson_id)
        found = self.questions.thread(owner_id, course_id, lesson_id, limit=THREAD_MAX)
        lost_before = now - timedelta(seconds=self.tunables.stuck_after_seconds)
        for question in found:
            if question.status == QuestionStatus.QUEUED and (question.updated_at or question.asked_at) < lost_before:
                logger.info("question job evidently lost, sending it again", extra={"question_id": question.id})
                self.questions.mark_requeued([question.id], now)
                self._send(question, force=True)
        statuses = {question.status for question in found}
        retry_after = None
        if QuestionStatus.ANSWERING in statuses:
            retry_after = self.tunables.poll_seconds
        elif QuestionStatus.QUEUED in statuses:
            retry_after = self.tunables.poll_seconds + 1
        return QuestionThread(items=[QuestionView.of(q, now) for q in found], retry_after=retry_after)

    def forget_course(self, owner_id: str, course_id: str) -> None:
        """After the course itself is deleted: its questions go too."""
        self.questions.delete_course(owner_id, course_id)

    def forget_lessons(self, owner_id: str, course_id: str, lesson_ids: Sequence[str]) -> None:
        """After an outline edit removed lessons: their questions go too (nothing could reach them)."""
        if lesson_ids:
            self.questions.delete_course(owner_id, course_id, lesson_ids)

    def _send(self, question: Question, *, force: bool = False) -> None:
        try:
            self.scheduler.schedule_lessons([question_job(question)], Priority.HIGH, force=force)
        except Exception:
            # Recorded in MongoDB; a later poll of the thread or the reconciler sends it again.
            logger.exception("question enqueue failed", extra={"question_id": question.id})

    def _owned_lesson(self, owner_id: str, course_id: str, lesson_id: str) -> Lesson:
        if not is_course_id(course_id):
            raise InvalidRequest("courseId must be 32 lowercase hex characters", code="invalid_course_id")
        if not is_lesson_id(lesson_id):
            raise InvalidRequest("lessonId must look like m01-l02", code="invalid_lesson_id")
        lesson = self.courses.get_lesson(owner_id, course_id, lesson_id)
        if lesson is None:
            raise NotFound("lesson not found", code="lesson_not_found")
        return lesson
