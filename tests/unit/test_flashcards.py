"""Flashcards (issue 23): written with every lesson, grounded in the lesson's own blocks, kept
with the stored content; the offline model and the fake server write them too."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from flowgen.adapters.offline_model import OfflineModel
from flowgen.content import FLASHCARDS_MAX, FLASHCARDS_MIN, GeneratedLesson, GeneratedQuizBlock, MarkdownBlock
from flowgen.generation import Outcome
from flowgen.records import Usage
from flowgen.streaming import BlockReader
from flowgen_local.fake_openai import _padded
from tests.fakes.records import BRIEF
from tests.fakes.world import FIRST, World, ids_of, job_for
from tests.narrow import present


def _lesson() -> GeneratedLesson:
    return OfflineModel().lesson(BRIEF)[0]


def test_the_offline_model_writes_3_to_8_cards_each_grounded_in_the_block_it_names() -> None:
    lesson = _lesson()
    assert FLASHCARDS_MIN <= len(lesson.flashcards) <= FLASHCARDS_MAX
    assert len({card.front for card in lesson.flashcards}) == len(lesson.flashcards)  # no two alike
    for card in lesson.flashcards:
        block = lesson.blocks[card.block]
        if isinstance(block, MarkdownBlock):
            assert card.back.lower() in block.markdown.lower()
        else:
            assert isinstance(block, GeneratedQuizBlock)
            question = next(q for q in block.questions if q.question == card.front)
            assert card.back.startswith(question.options[question.answer_index])


def test_a_lesson_rewritten_with_an_instruction_keeps_its_quiz_cards_and_retires_the_goal_card() -> None:
    from dataclasses import replace

    first = {card.front for card in _lesson().flashcards}
    again = {card.front for card in OfflineModel().lesson(replace(BRIEF, instruction="simpler"))[0].flashcards}
    assert len(first & again) == len(first) - 1 and len(again - first) == 1


@pytest.mark.parametrize(
    "cards",
    [
        [],  # none
        [{"front": "f", "back": "b", "block": 0}] * 2,  # too few
        [{"front": f"f{n}", "back": "b", "block": 0} for n in range(9)],  # too many
        [{"front": f"f{n}", "back": "b", "block": 99} for n in range(3)],  # not one of the lesson's blocks
        [{"front": f"f{n}", "back": "b", "block": -1} for n in range(3)],
        [{"front": "", "back": "b", "block": 0}] * 3,  # empty
        [{"front": f"f{n}", "back": "b", "block": 0, "due": "now"} for n in range(3)],  # extra fields
    ],
)
def test_a_lesson_whose_cards_break_the_rules_is_rejected(cards: list[dict[str, object]]) -> None:
    blocks = [block.model_dump() for block in _lesson().blocks]
    with pytest.raises(ValidationError):
        GeneratedLesson.model_validate({"blocks": blocks, "flashcards": cards})
    GeneratedLesson.model_validate({"blocks": blocks, "flashcards": [c.model_dump() for c in _lesson().flashcards]})


def test_the_fake_servers_padding_keeps_each_card_on_its_block() -> None:
    lesson = _lesson()
    padded, _ = _padded(lesson, Usage(prompt_tokens=10, completion_tokens=10), tokens=3000)
    assert len(padded.blocks) > len(lesson.blocks)
    assert [padded.blocks[c.block] for c in padded.flashcards] == [lesson.blocks[c.block] for c in lesson.flashcards]


def test_the_reader_sees_every_block_finished_once_the_model_writes_the_cards() -> None:
    lesson = _lesson()
    text = lesson.model_dump_json()
    at_cards = text.index(',"flashcards"')
    for cut in (at_cards + 1, at_cards + 6, at_cards + len(',"flashcards"'), at_cards + len(',"flashcards":[')):
        assert BlockReader().read(text[:cut]) == (list(lesson.blocks), ""), text[at_cards:cut]
    # cut inside the last block's text: the quiz is not finished
    inside = text.rindex('"explanation"', 0, at_cards) + 5
    assert len(BlockReader().read(text[:inside])[0]) == len(lesson.blocks) - 1


def test_a_written_lesson_stores_its_cards() -> None:
    world = World()
    course = world.ready_course()
    target = ids_of(course)[0]
    assert world.generator.write_lesson(job_for(course, target), FIRST) == Outcome.DONE
    stored = present(present(world.store.get_lesson("alice", course.id, target)).content)
    assert FLASHCARDS_MIN <= len(stored.flashcards) <= FLASHCARDS_MAX
    quiz = next(block for block in stored.blocks if block.type == "quiz")
    assert {q.question for q in quiz.questions} <= {card.front for card in stored.flashcards}
