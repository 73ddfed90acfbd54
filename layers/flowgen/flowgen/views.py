"""What the API answers: the views of courses, lessons, a learner's progress and questions, and
the error envelope. A view is built from records and never carries what the caller should not see."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from flowgen.cards import CourseMastery
from flowgen.content import (
    CodeBlock,
    DiagramBlock,
    KeyPointsBlock,
    MarkdownBlock,
    PartialOutline,
    SourceCitation,
    VideoBlock,
)
from flowgen.records import (
    CompletedBy,
    Course,
    CourseStatus,
    LessonStatus,
    Level,
    Priority,
    Question,
    QuestionStatus,
    QuizResult,
    QuizSolution,
    ReadingPosition,
    Usage,
)
from flowgen.schema import Model

# ---- a lesson's content as a learner gets it: a quiz without its answers ---------------------
# Built from the stored content: what is not declared here (a quiz's answer_index, explanation
# and option_feedback) is left out; grading answers with them (flowgen.progress).


class _Served(BaseModel):
    model_config = ConfigDict(extra="ignore")


class QuizQuestionView(_Served):
    question: str
    options: list[str]


class QuizBlockView(_Served):
    type: Literal["quiz"]
    questions: list[QuizQuestionView]


BlockView = Annotated[
    MarkdownBlock | CodeBlock | DiagramBlock | KeyPointsBlock | QuizBlockView | VideoBlock, Field(discriminator="type")
]


class LessonContentView(_Served):
    blocks: list[BlockView]
    generator: str


class PartialContentView(_Served):
    blocks: list[BlockView] = []
    writing: str | None = Field(None, description="the text so far of a markdown block still being written")
    writes: int = Field(0, description="partial writes so far in this attempt")
    restarts: int = Field(0, description="times this attempt asked the model again (a repair), dropping blocks")


class LessonSummary(Model):
    id: str
    title: str
    summary: str
    order: int
    status: LessonStatus
    priority: Priority | None = None
    error: str | None = Field(default=None, description="Why the latest attempt failed (retried while PENDING)")
    attempts: int = 0
    retry_at: datetime | None = None
    reading_minutes: int | None = Field(
        default=None, description="Estimated minutes to read and do it (flowgen.reading); null: not written yet"
    )


class ModuleView(Model):
    id: str
    title: str
    lessons: list[LessonSummary]


class CourseView(Model):
    id: str
    prompt: str
    level: Level | None = None
    size: str | None = None
    language: str | None = None
    status: CourseStatus
    title: str | None = None
    description: str | None = None
    objectives: list[str] = []
    lesson_count: int
    lessons_generated: int = Field(description="Lessons written now (each counted once, however often rewritten)")
    usage: Usage
    error: str | None = Field(
        default=None,
        description="Why the latest attempt failed, for people: while PENDING it is being retried (see retryAt), "
        "once FAILED it is final until retried",
    )
    attempts: int = Field(default=0, description="Attempts at writing the outline so far")
    retry_at: datetime | None = Field(
        default=None, description="While PENDING after a failed attempt: when the next attempt starts"
    )
    version: int = Field(default=1, description="The outline's version: send it with an edit")
    source_ids: list[str] = Field(default=[], description="The learner's sources the course is grounded in (issue 24)")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, course: Course, lessons_generated: int) -> CourseView:
        fields = course.model_dump(include=set(cls.model_fields))
        return cls.model_validate({**fields, "lessons_generated": lessons_generated})


class CourseDetail(CourseView):
    modules: list[ModuleView] = []
    partial_outline: PartialOutline | None = Field(
        default=None,
        description="While GENERATING: the outline written so far (finished modules only). Never final; "
        "`modules` is, once READY.",
    )
    retry_after: int | None = Field(default=None, description="Seconds to wait before polling again, while written")
    share: ShareView | None = Field(default=None, description="The course's live share link; null: not shared")


class CoursePage(Model):
    items: list[CourseView]
    next_cursor: str | None = None


class WritingProgress(Model):
    """How far the writing of a lesson has got, while it is not GENERATED."""

    blocks_written: int = Field(description="blocks in `partial` (finished blocks only)")
    blocks_expected: int | None = Field(
        default=None,
        description="about how many blocks the lesson will have: the median of the course's latest written "
        "lessons (an estimate: the model decides); null before the course has any",
    )
    restarts: int = Field(
        description="times the writing started again from nothing (a failed or lost attempt, or a repair): "
        "blocks shown before may have gone"
    )


class LessonView(Model):
    id: str
    course_id: str
    module_id: str
    order: int
    title: str
    summary: str
    status: LessonStatus
    priority: Priority | None = None
    content: LessonContentView | None = None
    partial: PartialContentView | None = Field(
        default=None, description="While GENERATING: the blocks written so far. Never final; `content` is."
    )
    progress: WritingProgress | None = None
    error: str | None = Field(
        default=None,
        description="Why the latest attempt failed, for people: while PENDING it is being retried (see retryAt), "
        "once FAILED it is final until retried",
    )
    attempts: int = Field(default=0, description="Attempts at writing this version so far")
    max_attempts: int = Field(default=3, description="Attempts before a failure is final")
    retry_at: datetime | None = Field(
        default=None, description="While PENDING after a failed attempt: when the next attempt starts"
    )
    requested_at: datetime | None = None
    generated_at: datetime | None = None
    usage: Usage
    previous_lesson_id: str | None = None
    next_lesson_id: str | None = None
    reading_minutes: int | None = Field(
        default=None, description="Estimated minutes to read the version in `content` and do its quiz (flowgen.reading)"
    )
    retry_after: int | None = Field(
        default=None, description="Seconds to wait before polling again, while not generated (as Retry-After)."
    )
    retry_after_ms: int | None = Field(
        default=None,
        description="The same wait in milliseconds: shorter than a second when the lesson is expected sooner",
    )
    version: int = Field(default=1, description="The number of the version in `content` (or being written)")
    instruction: str | None = Field(default=None, description="The instruction this version was written with")
    versions: list[LessonVersionSummary] = Field(
        default=[], description="Every version kept, oldest first, the current one included (when written)"
    )


class LessonVersionSummary(Model):
    number: int
    generated_at: datetime | None = None
    instruction: str | None = None
    current: bool = False


class LessonVersionView(Model):
    """One version of a lesson as it was written (GET .../versions/{version}): an earlier one the
    lesson keeps, or the current one; its blocks as the lesson's `content` serves them (a quiz
    without its answers). Nothing here changes once the version is written (its number is never
    reused), so whether it is the current one is the lesson's to say (`LessonView.versions`)."""

    lesson_id: str
    number: int
    instruction: str | None = Field(default=None, description="The instruction it was written with; null: none")
    generated_at: datetime | None = Field(default=None, description="When it was written")
    content: LessonContentView


class ErrorDetail(Model):
    field: str
    problem: str


class ApiError(Model):
    code: str = Field(description="Stable, machine-readable: e.g. invalid_request, course_not_found, rate_limited.")
    message: str = Field(description="For people; may change.")
    details: list[ErrorDetail] | None = Field(default=None, description="Each invalid field (400 invalid_request).")
    resets_at: datetime | None = Field(default=None, description="When a spent daily budget renews (429).")


class ErrorResponse(Model):
    """Every 4xx and 5xx the API answers: `{"error": {"code", "message"}}`."""

    error: ApiError


# ---- a learner's progress ---------------------------------------------------------------


class LessonProgress(Model):
    lesson_id: str
    opened_at: datetime | None = None
    completed_at: datetime | None = None
    completed_by: CompletedBy | None = None
    quiz: QuizResult | None = None
    position: ReadingPosition | None = Field(default=None, description="Where the learner was reading, last.")
    position_at: datetime | None = None
    updated_at: datetime | None = None


class CourseProgress(Model):
    course_id: str
    lesson_count: int = Field(description="Lessons in the course's outline now.")
    completed: int = Field(description="Of those, lessons completed.")
    percent: int = Field(description="completed / lessonCount, rounded down.")
    finished: bool = Field(description="Every lesson completed.")
    next_lesson_id: str | None = Field(description="The first lesson, in course order, not completed yet.")
    resume_lesson_id: str | None = Field(
        default=None,
        description="Where Continue goes: the lesson read last (latest `positionAt`) if it is not completed, "
        "else `nextLessonId`.",
    )
    lessons: list[LessonProgress] = Field(description="Every lesson with any progress, in course order.")
    mastery: CourseMastery | None = Field(
        default=None,
        description="Flashcards (issue 23): per lesson and for the course, how many are learned and when the next "
        "review is due",
    )


class CourseProgressCount(Model):
    course_id: str
    completed: int
    last_opened_at: datetime | None = None


class ProgressOverview(Model):
    """Completed lessons per course, for the course list (its lessonCount gives the percent)."""

    courses: list[CourseProgressCount]


# ---- questions about a lesson ---------------------------------------------------------


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
    citations: list[SourceCitation] = Field(
        default_factory=list,
        description="Once ANSWERED, in a course grounded in sources: the passages the answer quotes, each found in "
        "its chunk (page from the chunk); the answer marks them [1], [2]... in this order",
    )

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
            citations=question.citations if question.status == QuestionStatus.ANSWERED else [],
        )


class QuestionThread(Model):
    items: list[QuestionView] = Field(description="The caller's questions on this lesson, oldest first")
    retry_after: int | None = Field(
        default=None, description="Seconds to wait before polling again, while a question is queued or answered"
    )


# ---- share links and the shared view (design invariant 11: an explicit allow-list) ----------
# What a link's viewer gets is built field by field from these models: never the owner, the
# prompt, progress, questions, instructions, versions, usage, attempts or timestamps.


class ShareView(Model):
    """A course's share link, for its owner."""

    token: str | None = Field(
        description="The link's token (256 bits). Null only when the link was made under an earlier server key: "
        "it still works, and sharing again replaces it with a new one (the old one then stops working)"
    )
    url: str | None = Field(description="The link to send: the web app's page of the shared course")
    created_at: datetime


SharedLessonStatus = Literal["GENERATED", "PENDING"]


class SharedLessonSummary(Model):
    id: str
    title: str
    summary: str
    order: int
    status: SharedLessonStatus = Field(description="GENERATED: written, readable; PENDING: not written yet")


class SharedModuleView(Model):
    id: str
    title: str
    lessons: list[SharedLessonSummary]


class SharedCourseView(Model):
    """A shared course as anyone with its link sees it."""

    title: str | None = None
    description: str | None = None
    language: str | None = None
    level: Level | None = None
    objectives: list[str] = []
    lesson_count: int
    lessons_written: int = Field(description="Lessons written now, readable at the link")
    modules: list[SharedModuleView]


class SharedLessonView(Model):
    """A lesson of a shared course: its content once written (the quiz without its answers)."""

    id: str
    module_id: str
    order: int
    title: str
    summary: str
    status: SharedLessonStatus = Field(
        description="PENDING: not written yet; a viewer never starts its writing (its owner's reading does)"
    )
    content: LessonContentView | None = None
    previous_lesson_id: str | None = None
    next_lesson_id: str | None = None


class QuizGrade(Model):
    """A quiz graded for a viewer of a shared course: nothing is recorded."""

    score: int
    total: int
    passed: bool
    answers: list[int | None]
    correct: list[bool]
    feedback: list[str | None] = []
    solution: list[QuizSolution] | None = Field(
        default=None, description="Each question's right option and why: once passed or asked for (`reveal`)"
    )
