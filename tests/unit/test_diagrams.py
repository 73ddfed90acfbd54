"""Diagrams (issue 26): a `diagram` block of Mermaid source and its caption (the text
alternative), validated like every block the model writes, produced by the offline model (so the
fake server too) for lessons about how something works, and walked by everything that walks
blocks: the export (a fenced mermaid block), reading time, course search, streaming."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from flowgen.adapters.offline_model import OfflineModel
from flowgen.content import DIAGRAM_SOURCE_MAX, DiagramBlock, GeneratedLesson, LessonContent, MarkdownBlock
from flowgen.course_search import diagram_labels, passages
from flowgen.export import lesson_markdown
from flowgen.ports import LessonBrief
from flowgen.prompts import LESSON_SYSTEM
from flowgen.reading import SECONDS_PER_DIAGRAM, WORDS_PER_MINUTE, reading_seconds
from flowgen.records import Lesson, LessonStatus
from flowgen.streaming import BlockReader
from flowgen.views import LessonContentView

SOURCE = 'flowchart TD\n  A["Claim the lesson"] --> B{"Lease held?"}\n  B -->|yes| C["Write it"]\n'
CARDS = [{"front": f"Card {n}?", "back": "An answer.", "block": 0} for n in range(3)]
QUIZ = {
    "type": "quiz",
    "questions": [
        {"question": f"Q{n}?", "options": ["a", "b"], "answer_index": 0, "explanation": ""} for n in range(3)
    ],
}


def _lesson_with(diagram: dict[str, Any]) -> GeneratedLesson:
    return GeneratedLesson.model_validate({"blocks": [diagram, QUIZ], "flashcards": CARDS})


def test_a_valid_diagram_is_a_generated_and_a_served_block() -> None:
    block = {"type": "diagram", "source": SOURCE, "caption": "A worker claims a lesson, then writes it."}
    lesson = _lesson_with(block)
    assert lesson.blocks[0] == DiagramBlock(**block)
    served = LessonContentView.model_validate({"blocks": [block], "generator": "openai:m"}).model_dump(mode="json")
    assert served["blocks"][0] == block  # served as stored: source and caption
    assert "diagram" in json.dumps(GeneratedLesson.model_json_schema())  # structured outputs accept it


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"source": "flowchart TD\n" + "  A --> B\n" * (DIAGRAM_SOURCE_MAX // 10)}, "at most 4000"),
        ({"source": ""}, "at least 1"),
        ({"caption": ""}, "at least 1"),
        ({"caption": "   "}, "caption"),
        ({"caption": None}, "string"),
        ({"source": "%%{init: {'securityLevel': 'loose'}}%%\nflowchart TD\n  A --> B"}, "kind"),
        ({"source": "architecture-beta\n  service db(database)[DB]"}, "kind"),
        ({"onclick": "alert(1)"}, "Extra inputs"),
    ],
)
def test_an_invalid_diagram_is_refused(change: dict[str, Any], problem: str) -> None:
    block = {"type": "diagram", "source": SOURCE, "caption": "A worker claims a lesson.", **change}
    with pytest.raises(ValidationError, match=problem):
        _lesson_with(block)


def test_a_missing_caption_is_refused() -> None:
    with pytest.raises(ValidationError, match="caption"):
        _lesson_with({"type": "diagram", "source": SOURCE})


def test_the_prompt_asks_for_small_diagrams_with_a_caption() -> None:
    assert "diagram block only where a picture explains better" in LESSON_SYSTEM
    assert "`flowchart TD`" in LESSON_SYSTEM and "`sequenceDiagram`" in LESSON_SYSTEM
    assert "always its `caption`" in LESSON_SYSTEM


def _brief(title: str, previous: list[str] | None = None) -> LessonBrief:
    return LessonBrief("Rust", "", None, "Basics", title, "summary", previous or [], ["Lifetimes"])


def test_the_offline_model_draws_a_diagram_for_a_lesson_about_how_something_works() -> None:
    lesson, _ = OfflineModel().lesson(_brief('Core ideas: how "borrowing" works', ["Moves <and> C#"]))
    diagrams = [b for b in lesson.blocks if isinstance(b, DiagramBlock)]
    assert len(diagrams) == 1 and diagrams[0].source.startswith("flowchart TD\n")
    # titles become quoted labels, whatever they hold, and read back as they were
    assert diagram_labels(diagrams[0].source) == [
        "Moves <and> C#",
        'Core ideas: how "borrowing" works',
        "Try a small example",
        "Lifetimes",
    ]
    assert "Lifetimes" in diagrams[0].caption
    # the quiz cards still point at the quiz
    quiz_at = next(i for i, b in enumerate(lesson.blocks) if b.type == "quiz")
    assert {card.block for card in lesson.flashcards} == {0, quiz_at}
    # the last lesson of a long offline course (the one `make demo` opens) has one too
    last, _ = OfflineModel().lesson(_brief("Mastery: common mistakes"))
    assert "diagram" in {b.type for b in last.blocks}
    # not every lesson has one: one about what something is does not
    other, _ = OfflineModel().lesson(_brief("Core ideas: what it is and why it matters"))
    assert "diagram" not in {b.type for b in other.blocks}


def _stored(lesson: GeneratedLesson) -> Lesson:
    return Lesson(
        id="m01-l01",
        course_id="c" * 32,
        module_id="m01",
        owner_id="alice",
        order=0,
        title="t",
        summary="s",
        status=LessonStatus.GENERATED,
        content=LessonContent(blocks=list(lesson.blocks), generator="offline"),
    )


def test_the_export_has_a_fenced_mermaid_block_and_its_caption() -> None:
    source = "sequenceDiagram\n  W->>M: claim ```x```\n"  # backticks in the source cannot close the fence
    lesson = _lesson_with({"type": "diagram", "source": source, "caption": "A <b>claim</b>"})
    text = lesson_markdown(_stored(lesson))
    assert "````mermaid\nsequenceDiagram\n  W->>M: claim ```x```\n````\n\n*Diagram: A \\<b>claim\\</b>*" in text


def test_reading_time_counts_a_diagram_and_its_caption_not_its_source() -> None:
    caption = "one two three four five six seven eight nine ten"
    short = LessonContent(blocks=[DiagramBlock(type="diagram", source=SOURCE, caption=caption)], generator="x")
    long_source = SOURCE + "".join(f'  C --> N{n}["word word word"]\n' for n in range(50))
    long = LessonContent(blocks=[DiagramBlock(type="diagram", source=long_source, caption=caption)], generator="x")
    assert reading_seconds(short) == pytest.approx(SECONDS_PER_DIAGRAM + 10 * 60 / WORDS_PER_MINUTE)
    assert reading_seconds(long) == reading_seconds(short)


def test_search_finds_a_diagrams_caption_and_labels_not_its_mermaid_keywords() -> None:
    source = (
        "flowchart LR\n  worker([Lesson worker]) -->|claims| store[(Mongo store)]\n"
        '  store --> done{"Lease #quot;held#quot;?"}\n'
    )
    content = LessonContent(
        blocks=[DiagramBlock(type="diagram", source=source, caption="How a papaya is claimed")], generator="x"
    )
    found = passages(content)
    assert found == ["How a papaya is claimed", "Lesson worker", "claims", "Mongo store", 'Lease "held"?']
    text = " ".join(found)
    assert "flowchart" not in text and "worker(" not in text and "done" not in text
    sequence = "sequenceDiagram\n  participant W as Lesson worker\n  W->>M: Claim it\n  Note over W,M: lease held\n"
    assert diagram_labels(sequence) == ["Lesson worker", "Claim it", "lease held"]


def test_a_diagram_being_streamed_is_not_shown_until_it_is_finished() -> None:
    lesson, _ = OfflineModel().lesson(_brief("Basics: how it works"))
    text = lesson.model_dump_json()
    at = next(i for i, b in enumerate(lesson.blocks) if b.type == "diagram")
    reader = BlockReader()
    inside = text.index('"source":"') + len('"source":"') + 20  # half a source
    finished, writing = reader.read(text[:inside])
    assert len(finished) == at and writing == ""  # neither as a block nor as text being written
    finished, writing = reader.read(text[: text.index('"type":"key_points"')])
    assert finished == lesson.blocks[: at + 1] and isinstance(finished[-1], DiagramBlock)
    assert all(not isinstance(b, MarkdownBlock) or "flowchart" not in b.markdown for b in finished)


def test_make_demo_prints_a_diagrams_caption_and_source() -> None:
    from flowgen_local.demo import render_lesson

    block = {"type": "diagram", "source": SOURCE, "caption": "A worker claims a lesson."}
    text = render_lesson({"title": "t", "summary": "s", "content": {"blocks": [block]}})
    assert "--- diagram (mermaid) --- A worker claims a lesson." in text
    assert '    A["Claim the lesson"] --> B{"Lease held?"}' in text
