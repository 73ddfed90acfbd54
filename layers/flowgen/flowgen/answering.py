"""Answering a question about a lesson: the lesson worker's side of flowgen.questions.

`QuestionAnswerer.answer` claims the question (QUEUED -> ANSWERING, one compare-and-set with a
lease), reads the lesson it is about, and runs `_QuestionWork` through the skeleton every model
call shares (`Generator._run`: admit against the budget and, at high priority, the limiter; call
under the invocation's deadline; defer or release; commit conditioned on the lease). The answer
streams into `partial` through an `AnswerWriter` (at most one write per `partial_write_seconds`,
only while the lease is held); the commit replaces it with the whole answer, once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from aws_lambda_powertools.metrics import MetricUnit

from flowgen.citations import Passage
from flowgen.deadline import Attempt
from flowgen.errors import CallAbandoned
from flowgen.export import lesson_markdown
from flowgen.generation import Generator, Outcome
from flowgen.grounding import checked_answer, passages_of, question_passages
from flowgen.messages import LessonJob
from flowgen.observability import logger, metrics
from flowgen.ports import Claim, QuestionBrief, QuestionStore
from flowgen.questions import THREAD_MAX
from flowgen.records import Priority, Question, QuestionStatus, Usage
from flowgen.streaming import LeaseLost

EARLIER_IN_PROMPT = 3  # answered questions of the thread the model sees with a new one


@dataclass
class AnswerWriter:
    """`writer(text)` with the answer so far, as often as the stream likes: written under the
    lease when it changed and `interval` has passed since the last write (the first at once).
    A write the lease no longer allows lands nowhere and stops the stream (`LeaseLost`); after
    `close()` nothing is written, even by a model thread abandoned at the deadline."""

    store: QuestionStore
    question_id: str
    claim: Claim
    interval: float = 1.0
    monotonic: Callable[[], float] = time.monotonic
    writes: int = 0
    _text: str = ""
    _last: float | None = None
    _closed: bool = False
    _lost: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, text: str) -> None:
        with self._lock:
            if self._closed:  # the attempt ended: a call still streaming is told to stop
                raise CallAbandoned(f"question {self.question_id}: the attempt has ended")
            if self._lost:
                raise LeaseLost(self.question_id)
            now = self.monotonic()
            if text == self._text or (self._last is not None and now - self._last < self.interval):
                return
            if not self.store.write_partial(self.question_id, self.claim, text):
                self._lost = True
                raise LeaseLost(self.question_id)
            self.writes += 1
            self._text, self._last = text, now

    def close(self) -> None:
        with self._lock:
            self._closed = True


@dataclass(frozen=True)
class QuestionAnswerer:
    """The worker's use case for a question job; the model call runs in `Generator._run`."""

    gen: Generator
    questions: QuestionStore

    def answer(self, job: LessonJob, attempt: Attempt) -> Outcome:
        if job.question_id is None:
            raise ValueError("not a question job")
        claim = self.gen._claim(attempt)
        question = self.questions.claim(job.question_id, claim, self.gen.clock())
        self.gen.scheduler.forget_question(job.question_id)  # taken (or finished): its key goes
        if question is None:
            logger.info("question not claimable, acknowledging", extra={"question_id": job.question_id})
            return Outcome.SKIPPED
        brief = self._brief(question)
        if brief is None:
            reason = "the lesson is gone or being written again: ask once it is written"
            self.questions.release(question.id, claim, reason, failed=True)
            return Outcome.SKIPPED
        return self.gen._run(_QuestionWork(self, job, question, brief, claim), attempt)

    def _brief(self, question: Question) -> QuestionBrief | None:
        """What the model answers from: the lesson's content and the thread's latest answers
        (None when the lesson is gone or has no content now)."""
        owner, course_id = question.owner_id, question.course_id
        course = self.gen.store.get_course(owner, course_id)
        lesson = self.gen.store.get_lesson(owner, course_id, question.lesson_id)
        if course is None or lesson is None or lesson.content is None:
            return None
        thread = self.questions.thread(owner, course_id, question.lesson_id, limit=THREAD_MAX)
        answered = [q for q in thread if q.status == QuestionStatus.ANSWERED and q.id != question.id]
        return QuestionBrief(
            passages=self._passages(course.source_ids, question, lesson.title),
            course_title=course.title or course.prompt,
            lesson_title=lesson.title,
            lesson_text=lesson_markdown(lesson),
            question=question.question,
            language=course.language,
            earlier=tuple((q.question, q.answer or "") for q in answered[-EARLIER_IN_PROMPT:]),
        )

    def _passages(self, source_ids: Sequence[str], question: Question, lesson_title: str) -> tuple[Passage, ...]:
        """A grounded course's passages for this question (issue 24); none for another course."""
        if not source_ids or self.gen.sources is None:
            return ()
        chunks = passages_of(self.gen.sources, question.owner_id, source_ids)
        return tuple(question_passages(chunks, question.question, lesson_title))


@dataclass
class _QuestionWork:
    answerer: QuestionAnswerer
    job: LessonJob
    question: Question
    brief: QuestionBrief
    claim: Claim
    priority: Priority = Priority.HIGH  # a learner is waiting for every answer
    writer: AnswerWriter = field(init=False)

    def __post_init__(self) -> None:
        interval = self.gen.tunables.partial_write_seconds
        self.writer = AnswerWriter(self.answerer.questions, self.question.id, self.claim, interval=interval)

    @property
    def gen(self) -> Generator:
        return self.answerer.gen

    @property
    def owner_id(self) -> str:
        return self.question.owner_id

    @property
    def course_id(self) -> str:
        return self.question.course_id

    @property
    def estimate(self) -> int:
        return self.gen.tunables.question_token_estimate

    @property
    def tier(self) -> str:
        return self.question.tier

    @property
    def attempts(self) -> int:
        return self.question.attempts

    @property
    def last_error(self) -> str | None:
        return self.question.error

    def call(self) -> tuple[str, Usage]:
        if not self.gen.tunables.stream_lessons:
            return self.gen.model.answer(self.brief)
        return self.gen.model.answer_stream(self.brief, self.writer)

    def release(self, error: str, *, failed: bool) -> None:
        self.writer.close()  # a model thread abandoned at the deadline writes nothing after this
        self.answerer.questions.release(self.question.id, self.claim, error, failed=failed)

    def retry_later(self, error: str, seconds: float) -> None:
        self.writer.close()
        retry_at = self.gen.clock() + timedelta(seconds=seconds)
        self.answerer.questions.release(self.question.id, self.claim, error, failed=False, retry_at=retry_at)
        self.gen.scheduler.schedule_lessons([self.job], Priority.HIGH, force=True, delay_seconds=seconds)

    def defer(self, seconds: float) -> None:
        self.writer.close()
        self.answerer.questions.unclaim(self.question.id, self.claim)
        self.gen.scheduler.defer_lesson(self.job, Priority.HIGH, seconds)

    def commit(self, result: str, usage: Usage) -> Outcome:
        self.writer.close()
        now = self.gen.clock()
        # its citations held to the lessons' rule: a quote found in the passage it names (invariant 12)
        checked = checked_answer(result, self.brief.passages)
        if checked.dropped:
            metrics.add_metric(name="CitationsDropped", unit=MetricUnit.Count, value=checked.dropped)
        if checked.citations:
            metrics.add_metric(name="CitationsKept", unit=MetricUnit.Count, value=len(checked.citations))
        questions, writes = self.answerer.questions, self.writer.writes
        if not questions.commit(self.question.id, self.claim, checked.text, usage, now, writes, checked.citations):
            logger.warning("question lease lost, answer discarded", extra={"question_id": self.question.id})
            return Outcome.LEASE_LOST
        self.gen.store.add_course_usage(self.course_id, usage)
        metrics.add_metric(name="QuestionTokens", unit=MetricUnit.Count, value=usage.total_tokens)
        seconds = (now - self.question.asked_at).total_seconds()
        metrics.add_metric(name="TimeToAnswer", unit=MetricUnit.Seconds, value=seconds)
        return Outcome.DONE
