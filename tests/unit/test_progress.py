"""Progress use cases on in-memory fakes: owner-scoped, idempotent, graded on the server, and
kept beside the content so a regenerated lesson loses none of it (design invariant 8)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flowgen.clock import utcnow
from flowgen.content import QuizBlock
from flowgen.errors import Conflict, InvalidRequest, NotFound
from flowgen.progress import pass_mark
from flowgen.records import LessonStatus
from flowgen.requests import QuizAnswers
from tests.fakes.world import Learner


@pytest.fixture
def learner() -> Learner:
    return Learner()


def test_opened_and_completed_are_idempotent(learner: Learner) -> None:
    first = learner.put(learner.ids[0], opened=True)
    again = learner.put(learner.ids[0], opened=True)
    assert first.opened_at == again.opened_at  # the first time is kept
    done = learner.put(learner.ids[0], completed=True)
    assert done.completed_by == "learner" and done.completed_at
    assert learner.put(learner.ids[0], completed=True).completed_at == done.completed_at
    assert len(learner.progress.records) == 1
    assert learner.put(learner.ids[0], completed=False).completed_at is None  # the learner may undo it


def test_course_progress_counts_completed_lessons_and_points_at_the_next(learner: Learner) -> None:
    empty = learner.service.course("alice", learner.course.id)
    assert (empty.completed, empty.percent, empty.next_lesson_id, empty.finished) == (0, 0, learner.ids[0], False)
    for lesson_id in learner.ids[:3]:
        learner.put(lesson_id, opened=True, completed=True)
    learner.put(learner.ids[3], opened=True)
    course = learner.service.course("alice", learner.course.id)
    assert course.completed == 3 and course.lesson_count == len(learner.ids)
    assert course.percent == 3 * 100 // len(learner.ids)
    assert course.next_lesson_id == learner.ids[3]
    assert [p.lesson_id for p in course.lessons] == learner.ids[:4]  # in course order
    overview = learner.service.overview("alice").courses
    assert [(c.course_id, c.completed) for c in overview] == [(learner.course.id, 3)]

    for lesson_id in learner.ids:
        learner.put(lesson_id, completed=True)
    finished = learner.service.course("alice", learner.course.id)
    assert finished.finished and finished.percent == 100 and finished.next_lesson_id is None


def test_a_quiz_is_graded_on_the_server_and_passing_completes_the_lesson(learner: Learner) -> None:
    lesson_id = learner.ids[0]
    learner.generate(lesson_id)
    right = learner.right_answers(lesson_id)
    assert 3 <= len(right) <= 5  # quizzes that count: 3 to 5 questions

    wrong = [(a + 1) % 3 for a in right if a is not None]
    failed = learner.put(lesson_id, quiz={"answers": wrong})
    assert failed.quiz is not None and (failed.quiz.score, failed.quiz.passed) == (0, False)
    assert failed.completed_at is None

    lesson = learner.world.store.get_lesson("alice", learner.course.id, lesson_id)
    assert lesson is not None
    passed = learner.put(lesson_id, quiz=QuizAnswers(answers=right).model_dump())
    assert passed.quiz is not None and passed.quiz.score == len(right) and passed.quiz.passed
    assert passed.quiz.correct == [True] * len(right) and passed.quiz.answers == right
    assert passed.quiz.lesson_version == lesson.generated_at  # which version it was taken on
    assert (passed.completed_by, bool(passed.completed_at)) == ("quiz", True)

    # the latest result replaces the last; a failed retake does not undo the completion
    retake = learner.put(lesson_id, quiz={"answers": wrong})
    assert retake.quiz is not None and retake.quiz.score == 0 and retake.completed_at == passed.completed_at


def test_pass_mark_is_sixty_percent() -> None:
    assert [pass_mark(n) for n in (3, 4, 5)] == [2, 3, 3]


def test_quiz_answers_must_fit_the_quiz(learner: Learner) -> None:
    lesson_id = learner.ids[0]
    with pytest.raises(Conflict) as not_ready:
        learner.put(lesson_id, quiz={"answers": [0, 0, 0]})  # not written yet
    assert not_ready.value.code == "no_quiz"
    learner.generate(lesson_id)
    count = len(learner.right_answers(lesson_id))
    with pytest.raises(InvalidRequest) as short:
        learner.put(lesson_id, quiz={"answers": [0] * (count - 1)})
    assert short.value.code == "wrong_answer_count"
    with pytest.raises(InvalidRequest) as bad:
        learner.put(lesson_id, quiz={"answers": [7] * count})
    assert bad.value.code == "invalid_answer"
    skipped = learner.put(lesson_id, quiz={"answers": [None] * count})
    assert skipped.quiz is not None and skipped.quiz.score == 0


def test_another_users_course_is_not_found_and_their_progress_is_their_own(learner: Learner) -> None:
    learner.put(learner.ids[0], completed=True)
    with pytest.raises(NotFound):
        learner.put(learner.ids[0], owner="bob", opened=True)
    with pytest.raises(NotFound):
        learner.service.course("bob", learner.course.id)
    assert learner.service.overview("bob").courses == []
    assert all(key[0] == "alice" for key in learner.progress.records)


def test_progress_survives_regenerating_the_lesson(learner: Learner) -> None:
    """Keyed by the stable lesson id beside the content: a new version of the lesson keeps it."""
    lesson_id = learner.ids[0]
    learner.generate(lesson_id)
    taken = learner.put(lesson_id, quiz={"answers": learner.right_answers(lesson_id)})
    store = learner.world.store
    key = (learner.course.id, lesson_id)
    store.lessons[key] = store.lessons[key].model_copy(
        update={"status": LessonStatus.GENERATED, "generated_at": utcnow() + timedelta(minutes=5)}
    )
    course = learner.service.course("alice", learner.course.id)
    assert course.completed == 1 and course.lessons[0].quiz == taken.quiz
    lesson = store.get_lesson("alice", *key)
    assert lesson is not None and lesson.content is not None
    assert all(not hasattr(block, "progress") for block in lesson.content.blocks if isinstance(block, QuizBlock))


def test_forgetting_a_course_drops_its_progress_only(learner: Learner) -> None:
    learner.put(learner.ids[0], completed=True)
    learner.progress.record("alice", "f" * 32, "m01-l01", utcnow(), opened=True)
    learner.progress.delete_course("alice", learner.course.id)
    assert list(learner.progress.records) == [("alice", "f" * 32, "m01-l01")]


def test_ids_are_checked(learner: Learner) -> None:
    with pytest.raises(InvalidRequest):
        learner.service.course("alice", "nope")
    with pytest.raises(InvalidRequest):
        learner.put("lesson-1", opened=True)
