"""Quizzes that teach (issue 26): a wrong answer says why that choice is wrong, the right answers
stay hidden while the learner tries again, and the result keeps the earlier tries."""

from __future__ import annotations

import pytest

from flowgen.adapters.offline_model import OfflineModel
from flowgen.progress import quiz_questions
from flowgen.prompts import LESSON_SYSTEM
from tests.fakes.world import Learner


@pytest.fixture
def learner() -> Learner:
    return Learner()


def test_the_offline_model_writes_why_each_option_is_right_or_wrong(learner: Learner) -> None:
    assert isinstance(learner.world.model.inner, OfflineModel)  # the offline model writes the lesson
    lesson_id = learner.ids[0]
    learner.generate(lesson_id)
    lesson = learner.world.store.get_lesson("alice", learner.course.id, lesson_id)
    assert lesson is not None
    for question in quiz_questions(lesson):
        assert len(question.option_feedback) == len(question.options)
        right = question.options[question.answer_index]
        for i, line in enumerate(question.option_feedback):
            assert right not in line  # a wrong option's line never names the right one
            assert bool(line) == (i != question.answer_index)  # the right one's says nothing more
    assert "option_feedback" in LESSON_SYSTEM  # the model is asked for it too


def test_a_wrong_answer_teaches_then_another_try_is_kept(learner: Learner) -> None:
    lesson_id = learner.ids[0]
    learner.generate(lesson_id)
    right = learner.right_answers(lesson_id)
    wrong = [(a + 1) % 3 if a is not None else 0 for a in right]
    failed = learner.put(lesson_id, quiz={"answers": wrong})
    assert failed.quiz is not None and not failed.quiz.passed
    assert failed.quiz.solution is None  # not revealed: the learner may try again first
    assert all(failed.quiz.feedback)  # why each choice is wrong

    passed = learner.put(lesson_id, quiz={"answers": right})
    assert passed.quiz is not None and passed.quiz.passed and passed.quiz.solution is not None
    assert [t.answers for t in passed.quiz.tries] == [wrong]  # the failed try is kept
    assert passed.quiz.feedback == [None] * len(right)
