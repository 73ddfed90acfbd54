"""What the model produces: outlines and typed lesson blocks.

Model output is untrusted input: every field is validated here before it is stored,
and clients render it as text (no raw HTML).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

Text = Annotated[str, Field(min_length=1, max_length=400)]
LongText = Annotated[str, Field(min_length=1, max_length=20_000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OutlineLesson(_Strict):
    title: Text
    summary: Text


class OutlineModule(_Strict):
    title: Text
    lessons: Annotated[list[OutlineLesson], Field(min_length=2, max_length=6)]


class CourseOutline(_Strict):
    title: Text
    description: Annotated[str, Field(min_length=1, max_length=2000)]
    objectives: Annotated[list[Text], Field(min_length=1, max_length=8)]
    modules: Annotated[list[OutlineModule], Field(min_length=3, max_length=8)]


class OutlineDecision(_Strict):
    """The structured output of the outline call: a course, or a reasoned refusal when the
    prompt is not a learnable topic (empty, gibberish, disallowed). Never a fake outline."""

    learnable: bool
    refusal_reason: str
    course: CourseOutline | None

    @model_validator(mode="after")
    def _course_or_reason(self) -> OutlineDecision:
        if self.learnable and self.course is None:
            raise ValueError("a learnable topic needs a course")
        if not self.learnable and not self.refusal_reason.strip():
            raise ValueError("a refusal needs a reason")
        return self


class SourceCitation(_Strict):
    """A passage of a learner's source a block quotes (issue 24): the model writes the ids and the
    quote; the worker keeps it only if the quote is found in that chunk (flowgen.citations) and
    sets `page` from the chunk, never from the model."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    source_id: Annotated[str, Field(min_length=1, max_length=64)]
    chunk_id: Annotated[str, Field(min_length=1, max_length=64)]
    quote: Annotated[str, Field(min_length=1, max_length=600, description="Words copied exactly from the passage")]
    page: int | None = Field(default=None, description="The cited chunk's page (set by the server)")


MAX_BLOCK_CITATIONS = 8


class MarkdownBlock(_Strict):
    type: Literal["markdown"]
    markdown: LongText
    # a grounded course's passages this block quotes; empty (and left out) otherwise
    citations: list[SourceCitation] = Field(
        default_factory=list, max_length=MAX_BLOCK_CITATIONS, exclude_if=lambda v: not v
    )


class CodeBlock(_Strict):
    type: Literal["code"]
    language: Annotated[str, Field(min_length=1, max_length=40)]
    code: LongText
    caption: str


DIAGRAM_SOURCE_MAX = 4_000
# what the first line of a diagram's source may name: the prompt asks for flowcharts and sequence
# diagrams; other text-only kinds are accepted rather than costing a repair call; kinds that fetch
# icons or run layout plug-ins (architecture, C4) are not
DIAGRAM_KINDS = frozenset(
    {"flowchart", "graph", "sequenceDiagram", "classDiagram", "stateDiagram", "stateDiagram-v2", "erDiagram",
     "timeline", "mindmap", "pie", "journey"}
)  # fmt: skip


class DiagramBlock(_Strict):
    """A small Mermaid diagram (issue 26), where a picture explains better than prose: a process,
    a structure, a sequence. Clients render it as SVG with Mermaid's strict security level, and its
    source as text when it does not parse; the caption is its text alternative, always given."""

    type: Literal["diagram"]
    source: Annotated[
        str,
        Field(
            min_length=1,
            max_length=DIAGRAM_SOURCE_MAX,
            description="Mermaid source, its first line naming the kind: `flowchart TD` or `sequenceDiagram`",
        ),
    ]
    caption: Annotated[
        str,
        Field(min_length=1, max_length=400, description="What the diagram shows, in a sentence: its text alternative"),
    ]

    @model_validator(mode="after")
    def _mermaid_kind(self) -> DiagramBlock:
        if not self.caption.strip():
            raise ValueError("a diagram needs a caption: its text alternative")
        first = next((line.split() for line in self.source.splitlines() if line.strip()), [""])
        if first[0] not in DIAGRAM_KINDS:
            raise ValueError(f"a diagram's source starts with its kind: one of {', '.join(sorted(DIAGRAM_KINDS))}")
        return self


class KeyPointsBlock(_Strict):
    type: Literal["key_points"]
    points: Annotated[list[Text], Field(min_length=1, max_length=12)]


class QuizQuestion(_Strict):
    question: Text
    options: Annotated[list[Text], Field(min_length=2, max_length=6)]
    answer_index: int
    explanation: Annotated[str, Field(max_length=2000)]
    # for each option, why it is right or wrong, without naming the right one (a learner who
    # chose a wrong option reads its line); lessons written before it have none
    option_feedback: Annotated[list[Annotated[str, Field(max_length=400)]], Field(max_length=6)] = []

    @model_validator(mode="after")
    def _answer_is_an_option(self) -> QuizQuestion:
        if not 0 <= self.answer_index < len(self.options):
            raise ValueError("answer_index must point at one of the options")
        if self.option_feedback and len(self.option_feedback) != len(self.options):
            raise ValueError("option_feedback has one line per option")
        return self


QUIZ_MIN_QUESTIONS, QUIZ_MAX_QUESTIONS = 3, 5


class QuizBlock(_Strict):
    """As stored and served: lessons written before quizzes counted may hold 1 to 10 questions."""

    type: Literal["quiz"]
    questions: Annotated[list[QuizQuestion], Field(min_length=1, max_length=10)]


class GeneratedQuizBlock(QuizBlock):
    """What the model must write: 3 to 5 questions, so a score means something."""

    questions: Annotated[list[QuizQuestion], Field(min_length=QUIZ_MIN_QUESTIONS, max_length=QUIZ_MAX_QUESTIONS)]


class VideoBlock(_Strict):
    """Never produced by the model; added from a video search when one is configured."""

    type: Literal["video"]
    title: Text
    url: Annotated[str, Field(pattern=r"^https://")]


class Flashcard(_Strict):
    """A card for spaced review (issue 23), written with its lesson and grounded in it: `block` is
    the index of the lesson's block it comes from. Its id is derived from its front (flowgen.cards),
    so a rewritten lesson that keeps a card keeps its review history."""

    front: Annotated[str, Field(min_length=1, max_length=300)]
    back: Annotated[str, Field(min_length=1, max_length=600)]
    block: int


FLASHCARDS_MIN, FLASHCARDS_MAX = 3, 8

GeneratedBlock = MarkdownBlock | CodeBlock | DiagramBlock | KeyPointsBlock | GeneratedQuizBlock
StoredBlock = MarkdownBlock | CodeBlock | DiagramBlock | KeyPointsBlock | QuizBlock | VideoBlock
LessonBlock = Annotated[StoredBlock, Field(discriminator="type")]


class GeneratedLesson(_Strict):
    """The structured output of the lesson call: one quiz, of 3 to 5 questions, and 3 to 8
    flashcards, each pointing at one of the blocks (after them: the model writes in this order)."""

    blocks: Annotated[list[GeneratedBlock], Field(min_length=1, max_length=20)]
    flashcards: Annotated[list[Flashcard], Field(min_length=FLASHCARDS_MIN, max_length=FLASHCARDS_MAX)]

    @model_validator(mode="after")
    def _one_quiz(self) -> GeneratedLesson:
        if sum(isinstance(block, QuizBlock) for block in self.blocks) != 1:
            raise ValueError("a lesson has exactly one quiz block")
        return self

    @model_validator(mode="after")
    def _cards_from_blocks(self) -> GeneratedLesson:
        if any(not 0 <= card.block < len(self.blocks) for card in self.flashcards):
            raise ValueError("a flashcard's block must be the index of one of the lesson's blocks")
        return self


class LessonContent(BaseModel):
    """What is stored and served: the blocks plus where they came from."""

    blocks: list[LessonBlock]
    generator: str  # "openai:<model>" or "offline": offline content is labelled as such
    flashcards: list[Flashcard] = []  # the lesson's cards (none in lessons written before them)


class PartialContent(BaseModel):
    """The finished blocks of a lesson still being written (design invariant 9): served beside
    a GENERATING lesson, never as its content; cleared by every claim, release and commit."""

    blocks: list[LessonBlock] = []
    writing: str | None = Field(None, description="the text so far of a markdown block still being written")
    writes: int = Field(0, description="partial writes so far in this attempt")
    restarts: int = Field(0, description="times this attempt asked the model again (a repair), dropping blocks")


class PartialOutline(BaseModel):
    """The outline as far as the model has written it (design invariant 9): the course's title,
    description and objectives once written, and the modules finished so far. Served beside a
    course whose outline is being written, never as its outline; cleared by every claim,
    release and commit."""

    title: str | None = None
    description: str | None = None
    objectives: list[str] = []
    modules: list[OutlineModule] = []
    writes: int = Field(0, description="partial writes so far in this attempt")
    restarts: int = Field(0, description="times this attempt asked the model again (a repair), dropping modules")
