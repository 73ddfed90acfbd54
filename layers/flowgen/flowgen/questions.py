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
from dataclasses import dataclass
from datetime import datetime, timedelta

from aws_lambda_powertools.metrics import MetricUnit

from flowgen.errors import Conflict
from flowgen.messages import LessonJob
from flowgen.observability import logger, metrics
from flowgen.ownership import owned_lesson
from flowgen.ports import CourseStore, QuestionStore
from flowgen.records import LessonStatus, Priority, Question, QuestionStatus
from flowgen.requests import AskQuestionRequest
from flowgen.scheduling import JobScheduler
from flowgen.settings import ApiTunables
from flowgen.views import QuestionThread, QuestionView

THREAD_MAX = 200  # questions listed per lesson (the oldest first); the hourly limit keeps threads short


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
        lesson = owned_lesson(self.courses, owner_id, course_id, lesson_id)
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
        owned_lesson(self.courses, owner_id, course_id, lesson_id)
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

    def _send(self, question: Question, *, force: bool = False) -> None:
        try:
            self.scheduler.schedule_lessons([question_job(question)], Priority.HIGH, force=force)
        except Exception:
            # Recorded in MongoDB; a later poll of the thread or the reconciler sends it again.
            logger.exception("question enqueue failed", extra={"question_id": question.id})
