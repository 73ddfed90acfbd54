"""What is stored in MongoDB, one class per document kind (design §3): courses, lessons (with
their earlier versions), a learner's progress, and questions about lessons. Field names are
camelCase in MongoDB (flowgen.schema)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from flowgen.content import LessonContent, PartialContent, PartialOutline, SourceCitation
from flowgen.schema import Model


class CourseStatus(StrEnum):
    PENDING = "PENDING"
    GENERATING = "GENERATING"
    READY = "READY"
    FAILED = "FAILED"  # retryable: the model or a dependency failed every attempt
    REFUSED = "REFUSED"  # final: the prompt is not a learnable topic; `error` says why


class LessonStatus(StrEnum):
    PENDING = "PENDING"
    GENERATING = "GENERATING"
    GENERATED = "GENERATED"
    FAILED = "FAILED"


class Priority(StrEnum):
    HIGH = "high"
    LOW = "low"


class Level(StrEnum):
    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"


class Usage(Model):
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Lease(Model):
    token: str
    expires_at: datetime


class LeaseExpiry(Model):
    """When the attempt holding a record stops holding it (its token stays in the store)."""

    expires_at: datetime


class ModuleOutline(Model):
    id: str
    title: str
    lesson_ids: list[str]


class Course(Model):
    id: str
    owner_id: str
    tier: str = "free"  # the owner's tier when the course was created: its budgets and reserve share
    prompt: str
    level: Level | None = None
    size: Literal["short", "standard", "long"] | None = None
    language: str | None = None  # the learner's choice at creation; None: the topic's language
    status: CourseStatus
    title: str | None = None
    description: str | None = None
    objectives: list[str] = []
    modules: list[ModuleOutline] = []
    lesson_count: int = 0
    usage: Usage = Usage()
    attempts: int = 0  # claims of the outline; at MaxReceiveCount a failure is final
    error: str | None = None  # for people: why the latest attempt failed (flowgen.failures)
    retry_at: datetime | None = None  # PENDING after a failed attempt: not claimed again before this
    idempotency_key: str | None = None  # the POST's Idempotency-Key, unique per owner (backstop)
    version: int = 1  # of the outline: every edit names the version it was made on (a stale one is a 409)
    retired_lesson_ids: list[str] = []  # removed by an edit: never given to a new lesson
    partial_outline: PartialOutline | None = None  # written so far by the latest attempt (cleared by the next)
    lease: LeaseExpiry | None = None  # read by get_course only: a dead attempt's partial outline is not shown
    forked_from: str | None = None  # a fork's original course (kept, never shown: views allow-list their fields)
    source_ids: list[str] = []  # the learner's sources it is grounded in (issue 24); never deleted with it
    created_at: datetime
    updated_at: datetime


LESSON_VERSIONS_KEPT = 10  # earlier versions kept per lesson; the oldest goes beyond that


class LessonVersion(Model):
    """An earlier version of a lesson, kept when it was regenerated (or switched away from)."""

    number: int
    generated_at: datetime | None = None
    instruction: str | None = None
    content: LessonContent
    usage: Usage = Usage()


class Lesson(Model):
    id: str
    course_id: str
    module_id: str
    owner_id: str
    order: int
    title: str
    summary: str
    status: LessonStatus
    priority: Priority | None = None
    content: LessonContent | None = None
    partial: PartialContent | None = None  # blocks written so far by the attempt holding the lease
    partial_writes: int = 0  # partial writes of the attempt that committed it (cost, for benchmarks)
    generation_seconds: float | None = None  # claim to commit of the attempt that wrote it (polling's estimate)
    block_count: int | None = None  # blocks the model wrote (lists carry no content; progress estimates from it)
    reading_minutes: int | None = None  # of the version in `content` (flowgen.reading), stored for lists
    attempts: int = 0  # claims of this version; at MaxReceiveCount a failure is final
    requested_at: datetime | None = None
    generated_at: datetime | None = None
    updated_at: datetime | None = None  # last promoted, re-queued or claimed
    usage: Usage = Usage()
    error: str | None = None  # for people: why the latest attempt failed (flowgen.failures)
    retry_at: datetime | None = None  # PENDING after a failed attempt: not claimed again before this
    lease: Lease | None = None
    version: int = 1  # the number of the version in `content` (or being written)
    instruction: str | None = None  # the learner's instruction this version was (or is being) written with
    versions: list[LessonVersion] = []  # earlier versions, oldest first


# ---- a learner's progress (the `progress` collection, beside the content: invariant 8) ------

PASS_RATIO = 0.6  # a quiz passed (at least 60 % right) completes its lesson

CompletedBy = Literal["learner", "quiz"]


QUIZ_TRIES_KEPT = 10


class QuizTry(Model):
    """One earlier try at a quiz: what was chosen and how it scored."""

    answers: list[int | None]
    score: int
    taken_at: datetime


class QuizSolution(Model):
    """A question's right option and why, shown once the quiz is passed or the learner asks."""

    answer_index: int
    explanation: str


class QuizResult(Model):
    score: int = Field(description="Questions answered right.")
    total: int = Field(description="Questions in the lesson's quiz.")
    passed: bool = Field(description=f"At least {int(PASS_RATIO * 100)} % right; passing completes the lesson.")
    answers: list[int | None] = Field(description="The option chosen for each question, in order (null: skipped).")
    correct: list[bool] = Field(description="Whether each answer was right.")
    feedback: list[str | None] = Field(
        default=[], description="For each wrong answer, why the chosen option is wrong (null: right, or none written)."
    )
    solution: list[QuizSolution] | None = Field(
        default=None,
        description="The right option and its explanation for each question: once passed or asked for (`reveal`)",
    )
    tries: list[QuizTry] = Field(default=[], description=f"Earlier tries on this version, at most {QUIZ_TRIES_KEPT}.")
    lesson_version: datetime | None = Field(description="The lesson's generatedAt when the quiz was taken.")
    taken_at: datetime


class ReadingPosition(Model):
    """Where the learner was in a lesson: the block at the top of the window and how far into it."""

    block: int = Field(description="Index of the lesson's block at the top of the window.")
    percent: int = Field(description="How far into that block, 0 to 100.")


class ProgressRecord(Model):
    """One document per (ownerId, courseId, lessonId) in the `progress` collection."""

    owner_id: str
    course_id: str
    lesson_id: str
    opened_at: datetime | None = None
    completed_at: datetime | None = None
    completed_by: CompletedBy | None = None
    quiz: QuizResult | None = None
    position: ReadingPosition | None = None  # the last reading position (follows the learner across devices)
    position_at: datetime | None = None  # when it was recorded: the lesson read last is the one in progress
    updated_at: datetime | None = None


# ---- questions about a lesson (the `questions` collection) ------------------------------


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
    retry_at: datetime | None = None  # QUEUED after a failed attempt: not claimed again before this
    lease: Lease | None = None
    citations: list[SourceCitation] = []  # a grounded course's passages the answer quotes, checked (issue 24)


# ---- share links (the `shares` collection: one live link per course, design invariant 11) -----


class Share(Model):
    """A course's live share link, one document per shared course. The token is never stored: only
    its SHA-256 (the viewer's lookup) and the random nonce it is derived from under the server's
    key (flowgen.sharing), so the owner is shown the same link again. Revoking deletes it."""

    course_id: str
    owner_id: str
    token_hash: str
    nonce: str
    created_at: datetime
