"""Place and pace (issue 26): a lesson's reading time from its content, the reading position kept
with progress (so it follows the learner), and the lesson in progress as where Continue goes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from flowgen.clock import utcnow
from flowgen.content import CodeBlock, KeyPointsBlock, LessonContent, MarkdownBlock, QuizBlock, QuizQuestion
from flowgen.errors import NotFound
from flowgen.reading import reading_minutes, reading_seconds
from flowgen.requests import ProgressUpdate
from tests.fakes.world import Learner


@pytest.fixture
def learner() -> Learner:
    return Learner()


def _content(*blocks: object) -> LessonContent:
    return LessonContent.model_validate({"blocks": list(blocks), "generator": "offline"})


def test_reading_time_counts_prose_code_and_quiz() -> None:
    prose = MarkdownBlock(type="markdown", markdown=" ".join(["word"] * 400))  # 400 words: 2 minutes
    assert reading_seconds(_content(prose)) == pytest.approx(120)
    assert reading_minutes(_content(prose)) == 2
    code = CodeBlock(type="code", language="py", code="a = 1\n\nb = 2\nprint(a + b)\n", caption="")
    assert reading_seconds(_content(code)) == pytest.approx(3 * 4)  # blank lines are not read
    fenced = MarkdownBlock(type="markdown", markdown="Intro words here\n```\nx = 1\ny = 2\n```\n")
    assert reading_seconds(_content(fenced)) == pytest.approx(3 * 60 / 200 + 2 * 4)
    quiz = QuizBlock(
        type="quiz",
        questions=[QuizQuestion(question="Which one", options=["a", "b"], answer_index=0, explanation="")],
    )
    assert reading_seconds(_content(quiz)) == pytest.approx(20 + 4 * 60 / 200)
    points = KeyPointsBlock(type="key_points", points=["one two", "three"])
    assert reading_seconds(_content(points)) == pytest.approx(3 * 60 / 200)
    # rounded up, at least a minute; nothing to read without content
    assert reading_minutes(_content(points)) == 1
    assert reading_minutes(_content(prose, prose, code)) == 5
    assert reading_minutes(None) is None


def test_a_written_lesson_says_its_reading_time_in_the_lesson_and_in_the_outline(learner: Learner) -> None:
    lesson_id = learner.ids[0]
    before = learner.world.service.get_course("alice", learner.course.id)
    assert before.modules[0].lessons[0].reading_minutes is None  # not written yet
    learner.generate(lesson_id)
    view = learner.world.service.open_lesson("alice", learner.course.id, lesson_id, utcnow())
    stored = learner.world.store.get_lesson("alice", learner.course.id, lesson_id)
    assert stored is not None and view.reading_minutes == reading_minutes(stored.content) and view.reading_minutes
    listed = learner.world.service.get_course("alice", learner.course.id).modules[0].lessons[0]
    assert listed.reading_minutes == view.reading_minutes  # lists carry no content: stored at commit


def test_the_reading_position_is_kept_with_progress_and_continue_goes_to_the_lesson_in_progress(
    learner: Learner,
) -> None:
    first, second, third = learner.ids[:3]
    learner.put(first, opened=True, completed=True)
    start = learner.service.course("alice", learner.course.id)
    assert start.resume_lesson_id == second == start.next_lesson_id  # nothing read yet: the next one

    learner.put(third, opened=True, position={"block": 2, "percent": 40})
    saved = learner.put(second, opened=True, position={"block": 0, "percent": 10})
    assert saved.position is not None and (saved.position.block, saved.position.percent) == (0, 10)
    learner.put(third, position={"block": 4, "percent": 75})  # read last: the one in progress
    course = learner.service.course("alice", learner.course.id)
    assert course.next_lesson_id == second and course.resume_lesson_id == third
    mine = {p.lesson_id: p for p in course.lessons}
    kept = mine[third].position
    assert kept is not None and (kept.block, kept.percent) == (4, 75)
    assert mine[third].position_at is not None

    # a quiz or a completion leaves the position as it was; completing the lesson read last
    # sends Continue back to the first one not completed
    learner.put(third, completed=True)
    assert learner.service.lesson("alice", learner.course.id, third).position == mine[third].position
    assert learner.service.course("alice", learner.course.id).resume_lesson_id == second


def test_a_position_is_strict_and_owner_scoped(learner: Learner) -> None:
    for bad in (
        {"block": -1, "percent": 0},
        {"block": 0, "percent": 101},
        {"block": "1", "percent": 0},
        {"block": 1.5, "percent": 0},
        {"block": 0},
        {"block": 0, "percent": 0, "y": 900},
    ):
        with pytest.raises(ValidationError):
            ProgressUpdate.model_validate({"position": bad})
    with pytest.raises(NotFound):
        learner.put(learner.ids[0], owner="mallory", position={"block": 0, "percent": 0})
    assert learner.progress.records == {}
