"""Model output is untrusted: the schemas reject what must never be stored."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pydantic import ValidationError

from flowgen.adapters.offline_model import OFFLINE_NOTICE, OfflineModel
from flowgen.content import CourseOutline, GeneratedLesson, LessonContent, MarkdownBlock, OutlineDecision, QuizQuestion
from flowgen.ports import OutlineBrief
from tests.fakes.records import BRIEF


def test_offline_model_produces_every_generated_block_type_and_labels_itself() -> None:
    # a lesson about how something works has a diagram too (one in three of the offline outline's)
    drawn, _ = OfflineModel().lesson(replace(BRIEF, lesson_title="How mutable borrows work"))
    assert {b.type for b in drawn.blocks} == {"markdown", "code", "diagram", "key_points", "quiz"}
    lesson, usage = OfflineModel().lesson(BRIEF)
    assert {b.type for b in lesson.blocks} == {"markdown", "code", "key_points", "quiz"}
    goal, body = lesson.blocks[0], lesson.blocks[1]
    assert isinstance(goal, MarkdownBlock) and isinstance(body, MarkdownBlock)
    assert len(goal.markdown.split()) < 30  # the short first block the prompt asks for: shown first
    assert OFFLINE_NOTICE in body.markdown
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert OfflineModel().lesson(BRIEF) == (lesson, usage)  # deterministic


@pytest.mark.parametrize(("size", "modules", "lessons"), [("short", 3, 2), (None, 4, 3), ("long", 6, 4)])
def test_offline_outline_follows_the_requested_size(size: str | None, modules: int, lessons: int) -> None:
    decision, _ = OfflineModel().outline(OutlineBrief(prompt="Category theory", level=None, size=size))
    outline = decision.course
    assert outline is not None and len(outline.modules) == modules
    assert all(len(m.lessons) == lessons for m in outline.modules)


def test_quiz_answer_must_point_at_an_option() -> None:
    with pytest.raises(ValidationError, match="answer_index"):
        QuizQuestion(question="q?", options=["a", "b"], answer_index=2, explanation="")


@pytest.mark.parametrize(
    "blocks",
    [
        [],  # no content
        [{"type": "html", "html": "<script>alert(1)</script>"}],  # not a block type
        [{"type": "markdown", "markdown": ""}],  # empty
        [{"type": "markdown", "markdown": "ok", "onclick": "x"}],  # extra fields
        [{"type": "video", "title": "t", "url": "https://youtube.com/x"}],  # the model never writes videos
    ],
)
def test_invalid_lessons_are_rejected(blocks: list[dict[str, str]]) -> None:
    cards = [{"front": f"Card {n}?", "back": "An answer.", "block": 0} for n in range(3)]  # valid ones
    with pytest.raises(ValidationError):
        GeneratedLesson.model_validate({"blocks": blocks, "flashcards": cards})


def test_stored_content_accepts_videos_but_only_https() -> None:
    ok = {"type": "video", "title": "Ownership explained", "url": "https://www.youtube.com/watch?v=x"}
    assert LessonContent.model_validate({"blocks": [ok], "generator": "openai:m"}).blocks[0].type == "video"
    with pytest.raises(ValidationError):
        LessonContent.model_validate({"blocks": [{**ok, "url": "javascript:alert(1)"}], "generator": "x"})


def test_outline_needs_modules_with_lessons() -> None:
    with pytest.raises(ValidationError):
        CourseOutline.model_validate({"title": "t", "description": "d", "objectives": ["o"], "modules": []})
    with pytest.raises(ValidationError):
        CourseOutline.model_validate(
            {"title": "t", "description": "d", "objectives": ["o"], "modules": [{"title": "m", "lessons": []}]}
        )


def test_committed_examples_match_the_schemas() -> None:
    import json
    from pathlib import Path

    examples = Path(__file__).resolve().parents[2] / "docs" / "examples"
    course = json.loads((examples / "course.json").read_text())
    lesson = json.loads((examples / "lesson.json").read_text())
    assert OutlineDecision.model_validate({k: course[k] for k in ("learnable", "refusal_reason", "course")}).learnable
    assert GeneratedLesson.model_validate({"blocks": lesson["blocks"], "flashcards": lesson["flashcards"]}).blocks
    assert course["usage"]["promptTokens"] > 0 and lesson["usage"]["completionTokens"] > 0
