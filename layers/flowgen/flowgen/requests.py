"""The API's request bodies. Unknown fields are refused (flowgen.schema.Request)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from flowgen.ids import LESSON_ID_PATTERN, MODULE_ID_PATTERN
from flowgen.library import MAX_COURSE_SOURCES, SOURCE_ID_PATTERN
from flowgen.records import Level
from flowgen.schema import Request
from flowgen.text_rules import (
    LANGUAGE_MAX_CHARS,
    LANGUAGE_MIN_CHARS,
    PROMPT_MAX_CHARS,
    Language,
    Prompt,
    one_visible,
)


def _a_boolean(value: object) -> object:
    """`true` itself: a strict `Literal[True]` still takes `1` and `1.0` (they equal True)."""
    if not isinstance(value, bool):
        raise ValueError("Input should be a valid boolean")
    return value


INSTRUCTION_MAX_CHARS = 500
QUESTION_MAX_CHARS = 1000
OUTLINE_MAX_MODULES, OUTLINE_MAX_LESSONS_PER_MODULE, OUTLINE_MAX_LESSONS = 12, 12, 60


SourceId = Annotated[str, StringConstraints(pattern=SOURCE_ID_PATTERN)]
CourseSources = Annotated[list[SourceId], Field(max_length=MAX_COURSE_SOURCES)]


class CreateCourseRequest(Request):
    prompt: Prompt = Field(description=f"The topic to learn, 3 to {PROMPT_MAX_CHARS} characters.")
    level: Level | None = Field(default=None, strict=False)  # one of its names: a string is how JSON says it
    size: Literal["short", "standard", "long"] | None = None
    language: Language | None = Field(
        default=None,
        description=f'The language to write the course in, as the learner names it ("German", "Hinglish"): '
        f"{LANGUAGE_MIN_CHARS}-{LANGUAGE_MAX_CHARS} letters, spaces, hyphens or parentheses. "
        "Omitted: the topic's language.",
    )
    sources: CourseSources | None = Field(
        default=None,
        description=f"Ids of the caller's READY sources (at most {MAX_COURSE_SOURCES}) to ground the course in: "
        "its outline is planned from them and its lessons written from their passages, with citations. "
        "An unknown or another user's id is 404 source_not_found, one not READY 409 source_not_ready.",
    )


class RegenerateLessonRequest(Request):
    instruction: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=INSTRUCTION_MAX_CHARS),
        AfterValidator(one_visible),
    ] = Field(
        description=f'What the new version should do differently ("simpler, with an analogy", "examples in Go"), '
        f"1 to {INSTRUCTION_MAX_CHARS} characters. It reaches the model as data, never as instructions to it."
    )
    version: int | None = Field(
        default=None,
        ge=1,
        description="The version the learner is looking at: when the lesson has moved on since, 409 (optional)",
    )


class SelectVersionRequest(Request):
    version: int = Field(ge=1, le=1_000_000, description="The number of an earlier version (from `versions`)")


OutlineTitle = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(one_visible)
]


class OutlineLessonEdit(Request):
    id: Annotated[str, StringConstraints(pattern=LESSON_ID_PATTERN)] | None = Field(
        default=None, description="An existing lesson's id (it keeps it, its content and progress); null: a new lesson"
    )
    title: OutlineTitle
    summary: Annotated[str, StringConstraints(strip_whitespace=True, max_length=400)] | None = Field(
        default=None, description="Omitted: unchanged (an empty one for a new lesson)"
    )


class OutlineModuleEdit(Request):
    id: Annotated[str, StringConstraints(pattern=MODULE_ID_PATTERN)] | None = Field(
        default=None, description="An existing module's id; null: a new module"
    )
    title: OutlineTitle
    lessons: Annotated[list[OutlineLessonEdit], Field(min_length=1, max_length=OUTLINE_MAX_LESSONS_PER_MODULE)]


class EditOutlineRequest(Request):
    """The whole outline as it should be, in order: lessons left out are removed, lessons without
    an id are added (and written when opened, like any other)."""

    version: int = Field(ge=1, le=1_000_000_000, description="The course's `version` this edit was made on")
    modules: Annotated[list[OutlineModuleEdit], Field(min_length=1, max_length=OUTLINE_MAX_MODULES)]


# ---- a learner's progress ---------------------------------------------------------------


class QuizAnswers(Request):
    answers: Annotated[list[int | None], Field(min_length=1, max_length=20)] = Field(
        description="The chosen option's index for each question of the lesson's quiz, in order; null for none."
    )
    reveal: bool = Field(
        default=False, description="Show the right answers and why, even if not passed (they are shown once passed)"
    )


READING_POSITION_MAX_BLOCK = 99


class ReadingPositionUpdate(Request):
    block: int = Field(
        ge=0, le=READING_POSITION_MAX_BLOCK, description="Index of the lesson's block at the top of the window."
    )
    percent: int = Field(ge=0, le=100, description="How far into that block, 0 to 100.")


class ProgressUpdate(Request):
    """PUT body: what to record. Every field is optional; sending the same body again changes nothing."""

    opened: Annotated[Literal[True], BeforeValidator(_a_boolean)] | None = Field(
        default=None, description="The learner opened it (the first time is kept)."
    )
    completed: bool | None = Field(default=None, description="Mark the lesson completed (true) or not (false).")
    quiz: QuizAnswers | None = Field(default=None, description="Answers to grade; the result replaces any earlier one.")
    position: ReadingPositionUpdate | None = Field(
        default=None,
        description="Where the learner is reading (replaces the last one): resumed on any device, and the lesson "
        "read last is the course's `resumeLessonId`.",
    )


# ---- questions about a lesson ---------------------------------------------------------


class AskQuestionRequest(Request):
    question: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=QUESTION_MAX_CHARS),
        AfterValidator(one_visible),
    ] = Field(
        description=f"The learner's question about the lesson, 1 to {QUESTION_MAX_CHARS} characters. It reaches "
        "the model as data, never as instructions to it."
    )
