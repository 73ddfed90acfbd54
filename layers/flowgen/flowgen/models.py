"""Domain records and the shapes the API and queues exchange.

Field names are camelCase on the wire and in MongoDB (design §3); Python uses snake_case.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from flowgen.content import LessonContent, PartialContent, PartialOutline

PROMPT_MAX_CHARS = 2000
COURSE_ID_PATTERN = r"^[0-9a-f]{32}$"
LESSON_ID_PATTERN = r"^m\d{2}-l\d{2}$"
_COURSE_ID_RE = re.compile(COURSE_ID_PATTERN)
_LESSON_ID_RE = re.compile(LESSON_ID_PATTERN)


def is_course_id(value: str) -> bool:
    return bool(_COURSE_ID_RE.match(value))


def is_lesson_id(value: str) -> bool:
    return bool(_LESSON_ID_RE.match(value))


def lesson_key(module_index: int, lesson_index: int) -> str:
    """Deterministic from position, so a retried outline upserts instead of duplicating."""
    return f"m{module_index + 1:02d}-l{lesson_index + 1:02d}"


class Model(BaseModel):
    # defer_build: a model's validator is built on its first use, so a function pays only for
    # the models it touches, not all of them at import (cold start; bench/cold_start.py)
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)


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
    lessons_generated: int = 0
    usage: Usage = Usage()
    attempts: int = 0
    error: str | None = None
    idempotency_key: str | None = None  # the POST's Idempotency-Key, unique per owner (backstop)
    version: int = 1  # of the outline: every edit names the version it was made on (a stale one is a 409)
    retired_lesson_ids: list[str] = []  # removed by an edit: never given to a new lesson
    partial_outline: PartialOutline | None = None  # written so far by the latest attempt (cleared by the next)
    lease: LeaseExpiry | None = None  # read by get_course only: a dead attempt's partial outline is not shown
    created_at: datetime
    updated_at: datetime


LESSON_VERSIONS_KEPT = 10  # earlier versions kept per lesson; the oldest goes beyond that
INSTRUCTION_MAX_CHARS = 500


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
    attempts: int = 0
    requested_at: datetime | None = None
    generated_at: datetime | None = None
    updated_at: datetime | None = None  # last promoted, re-queued or claimed
    usage: Usage = Usage()
    error: str | None = None
    lease: Lease | None = None
    version: int = 1  # the number of the version in `content` (or being written)
    instruction: str | None = None  # the learner's instruction this version was (or is being) written with
    versions: list[LessonVersion] = []  # earlier versions, oldest first


# ---- API requests -------------------------------------------------------------------

PROMPT_MIN_VISIBLE = 3
# Characters that do not show: controls, format characters (zero-width, bidi marks), lone
# surrogates, spaces, line and paragraph separators.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})


def visible_length(text: str) -> int:
    return sum(1 for char in text if unicodedata.category(char) not in INVISIBLE_CATEGORIES)


def visible_prompt_pattern(minimum: int = PROMPT_MIN_VISIBLE) -> str:
    """The same rule as a regular expression, for the OpenAPI document: three characters outside
    INVISIBLE_CATEGORIES, each run of invisible ones before them skipped (linear to match).
    Surrogates (Cs) are left out: no UTF-8 text holds one, and JSON Schema validators built on
    Unicode scalar values (jsonschema-rs) refuse a pattern that names them."""
    ranges: list[tuple[int, int]] = []
    for code in range(0x110000):
        if unicodedata.category(chr(code)) in INVISIBLE_CATEGORIES - {"Cs"}:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))

    def char(code: int) -> str:
        return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)

    invisible = "".join(char(a) if a == b else f"{char(a)}-{char(b)}" for a, b in ranges)
    return "^" + f"[{invisible}]*[^{invisible}]" * minimum


def _one_visible(value: str) -> str:
    if visible_length(value) < 1:
        raise ValueError("the text needs a visible character")
    return value


def _visible_prompt(value: str) -> str:
    if visible_length(value) < PROMPT_MIN_VISIBLE:
        raise ValueError(f"the prompt needs at least {PROMPT_MIN_VISIBLE} visible characters")
    return value


Prompt = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=PROMPT_MAX_CHARS),
    AfterValidator(_visible_prompt),
]

LANGUAGE_MIN_CHARS, LANGUAGE_MAX_CHARS = 2, 40
_LANGUAGE_PUNCTUATION = " ()-"


def language_pattern() -> str:
    """A language's name: letters (any script), spaces, hyphens and parentheses, 2-40 characters,
    starting with a letter and ending with a letter or `)` ("German", "Hinglish", "Portuguese
    (Brazil)"). One pattern for pydantic and the OpenAPI document (so a fuzzer generates valid ones)."""
    ranges: list[tuple[int, int]] = []
    for code in range(0x110000):
        if chr(code).isalpha() and not 0xD800 <= code <= 0xDFFF:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))

    def char(code: int) -> str:
        return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)

    letters = "".join(char(a) if a == b else f"{char(a)}-{char(b)}" for a, b in ranges)
    middle = LANGUAGE_MAX_CHARS - 2
    return f"^[{letters}][{letters} ()\\-]{{0,{middle}}}[{letters})]$"


def _language(value: str) -> str:
    if not LANGUAGE_MIN_CHARS <= len(value) <= LANGUAGE_MAX_CHARS:
        raise ValueError(f"the language needs {LANGUAGE_MIN_CHARS} to {LANGUAGE_MAX_CHARS} characters")
    if not (value[0].isalpha() and (value[-1].isalpha() or value[-1] == ")")):
        raise ValueError("the language starts with a letter and ends with a letter or `)`")
    if any(not (c.isalpha() or c in _LANGUAGE_PUNCTUATION) for c in value):
        raise ValueError("the language holds only letters, spaces, hyphens and parentheses")
    return value


Language = Annotated[str, AfterValidator(_language)]


class CreateCourseRequest(Model):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    prompt: Prompt = Field(description=f"The topic to learn, 3 to {PROMPT_MAX_CHARS} characters.")
    level: Level | None = None
    size: Literal["short", "standard", "long"] | None = None
    language: Language | None = Field(
        default=None,
        description=f'The language to write the course in, as the learner names it ("German", "Hinglish"): '
        f"{LANGUAGE_MIN_CHARS}-{LANGUAGE_MAX_CHARS} letters, spaces, hyphens or parentheses. "
        "Omitted: the topic's language.",
    )


class RegenerateLessonRequest(Model):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    instruction: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=INSTRUCTION_MAX_CHARS),
        AfterValidator(_one_visible),
    ] = Field(
        description=f'What the new version should do differently ("simpler, with an analogy", "examples in Go"), '
        f"1 to {INSTRUCTION_MAX_CHARS} characters. It reaches the model as data, never as instructions to it."
    )
    version: int | None = Field(
        default=None,
        ge=1,
        description="The version the learner is looking at: when the lesson has moved on since, 409 (optional)",
    )


class SelectVersionRequest(Model):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    version: int = Field(ge=1, le=1_000_000, description="The number of an earlier version (from `versions`)")


MODULE_ID_PATTERN = r"^m\d{2}$"
OUTLINE_MAX_MODULES, OUTLINE_MAX_LESSONS_PER_MODULE, OUTLINE_MAX_LESSONS = 12, 12, 60
OutlineTitle = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_one_visible)
]


class OutlineLessonEdit(Model):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    id: Annotated[str, StringConstraints(pattern=LESSON_ID_PATTERN)] | None = Field(
        default=None, description="An existing lesson's id (it keeps it, its content and progress); null: a new lesson"
    )
    title: OutlineTitle
    summary: Annotated[str, StringConstraints(strip_whitespace=True, max_length=400)] | None = Field(
        default=None, description="Omitted: unchanged (an empty one for a new lesson)"
    )


class OutlineModuleEdit(Model):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    id: Annotated[str, StringConstraints(pattern=MODULE_ID_PATTERN)] | None = Field(
        default=None, description="An existing module's id; null: a new module"
    )
    title: OutlineTitle
    lessons: Annotated[list[OutlineLessonEdit], Field(min_length=1, max_length=OUTLINE_MAX_LESSONS_PER_MODULE)]


class EditOutlineRequest(Model):
    """The whole outline as it should be, in order: lessons left out are removed, lessons without
    an id are added (and written when opened, like any other)."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    version: int = Field(ge=1, le=1_000_000_000, description="The course's `version` this edit was made on")
    modules: Annotated[list[OutlineModuleEdit], Field(min_length=1, max_length=OUTLINE_MAX_MODULES)]


# ---- API responses ------------------------------------------------------------------


class LessonSummary(Model):
    id: str
    title: str
    summary: str
    order: int
    status: LessonStatus
    priority: Priority | None = None
    error: str | None = None


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
    lessons_generated: int
    usage: Usage
    error: str | None = None
    version: int = Field(default=1, description="The outline's version: send it with an edit")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, course: Course) -> CourseView:
        return cls.model_validate(course.model_dump(include=set(cls.model_fields)))


class CourseDetail(CourseView):
    modules: list[ModuleView] = []
    partial_outline: PartialOutline | None = Field(
        default=None,
        description="While GENERATING: the outline written so far (finished modules only). Never final; "
        "`modules` is, once READY.",
    )
    retry_after: int | None = Field(default=None, description="Seconds to wait before polling again, while written")


class CoursePage(Model):
    items: list[CourseView]
    next_cursor: str | None = None


class LessonProgress(Model):
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
    content: LessonContent | None = None
    partial: PartialContent | None = Field(
        default=None, description="While GENERATING: the blocks written so far. Never final; `content` is."
    )
    progress: LessonProgress | None = None
    error: str | None = None
    requested_at: datetime | None = None
    generated_at: datetime | None = None
    usage: Usage
    previous_lesson_id: str | None = None
    next_lesson_id: str | None = None
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


# ---- queue messages -----------------------------------------------------------------


class CourseJob(Model):
    course_id: str
    owner_id: str


class LessonJob(Model):
    """The lesson's priority is not here: MongoDB's record holds it (the worker reads it there).
    With `question_id`, the job answers that question about the lesson (always high priority)."""

    course_id: str
    lesson_id: str
    owner_id: str
    question_id: str | None = None
