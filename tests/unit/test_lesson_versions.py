"""Reading one version of a lesson (issue 26, CourseService.lesson_version): an earlier one the
lesson keeps, the current one, a dropped one (a 404 that says so), someone else's (a 404 like an
unknown lesson), and nothing written, queued or promoted by reading."""

from __future__ import annotations

from functools import partial

from flowgen.content import LessonContent, MarkdownBlock, QuizBlock, QuizQuestion
from flowgen.records import LESSON_VERSIONS_KEPT, LessonStatus, LessonVersion, Priority
from tests.unit.test_course_service import EARLIER, NOW, Courses, _content, _refused, _says

ONE = LessonContent(
    blocks=[
        MarkdownBlock(type="markdown", markdown="One."),
        QuizBlock(
            type="quiz",
            questions=[QuizQuestion(question="Who owns it?", options=["a", "b"], answer_index=1, explanation="b")],
        ),
    ],
    generator="offline",
)


def _three_versions(c: Courses) -> str:
    """m01-l01 at version 3 ("Three.", rewritten "shorter"), keeping 1 (with a quiz) and 2."""
    course_id = c.ready()
    earlier = [
        LessonVersion(number=1, generated_at=EARLIER, content=ONE),
        LessonVersion(number=2, generated_at=EARLIER, instruction="simpler", content=_content("Two.")),
    ]
    c.written(course_id, "m01-l01", "Three.", version=3, instruction="shorter", generated_at=NOW, versions=earlier)
    return course_id


def test_a_kept_version_is_served_as_written_and_its_quiz_without_answers() -> None:
    c = Courses()
    course_id = _three_versions(c)
    one = c.service.lesson_version("alice", course_id, "m01-l01", 1)
    assert (one.lesson_id, one.number, one.instruction, one.generated_at) == ("m01-l01", 1, None, EARLIER)
    assert _says(one.content) == ["One.", "None"]
    quiz = one.model_dump(by_alias=True)["content"]["blocks"][1]
    assert quiz == {"type": "quiz", "questions": [{"question": "Who owns it?", "options": ["a", "b"]}]}
    two = c.service.lesson_version("alice", course_id, "m01-l01", 2)
    assert (two.number, two.instruction, _says(two.content)) == (2, "simpler", ["Two."])


def test_the_current_version_is_readable_too_and_matches_the_lesson_view() -> None:
    c = Courses()
    course_id = _three_versions(c)
    current = c.service.lesson_version("alice", course_id, "m01-l01", 3)
    assert (current.number, current.instruction, current.generated_at, _says(current.content)) == (
        3,
        "shorter",
        NOW,
        ["Three."],
    )
    assert current.content == c.service.open_lesson("alice", course_id, "m01-l01", NOW).content


def test_a_version_no_longer_kept_is_a_404_that_says_so_and_one_never_written_a_404() -> None:
    c = Courses()
    course_id = c.ready()
    kept = [LessonVersion(number=n, content=_content(f"Version {n}.")) for n in range(3, 3 + LESSON_VERSIONS_KEPT)]
    c.written(course_id, "m01-l01", "Current.", version=3 + LESSON_VERSIONS_KEPT, versions=kept)
    for dropped in (1, 2):
        read = partial(c.service.lesson_version, "alice", course_id, "m01-l01", dropped)
        refusal = _refused(read, "version_not_kept")
        assert "no longer kept" in refusal.message and str(LESSON_VERSIONS_KEPT) in refusal.message
    assert _says(c.service.lesson_version("alice", course_id, "m01-l01", 3).content) == ["Version 3."]
    _refused(lambda: c.service.lesson_version("alice", course_id, "m01-l01", 99), "version_not_found")
    # a rewrite being written: its number is not readable until it is written; the one before is
    c.lesson(course_id, "m01-l02", status=LessonStatus.PENDING, version=2, versions=[
        LessonVersion(number=1, content=_content("First."))
    ])  # fmt: skip
    refusal = _refused(lambda: c.service.lesson_version("alice", course_id, "m01-l02", 2), "version_not_found")
    assert "not written" in refusal.message
    assert _says(c.service.lesson_version("alice", course_id, "m01-l02", 1).content) == ["First."]


def test_someone_elses_version_and_an_unknown_lesson_are_the_same_404() -> None:
    c = Courses()
    course_id = _three_versions(c)
    _refused(lambda: c.service.lesson_version("bob", course_id, "m01-l01", 1), "lesson_not_found")
    _refused(lambda: c.service.lesson_version("bob", course_id, "m01-l01", 3), "lesson_not_found")
    _refused(lambda: c.service.lesson_version("alice", course_id, "m09-l09", 1), "lesson_not_found")
    _refused(lambda: c.service.lesson_version("alice", "0" * 32, "m01-l01", 1), "lesson_not_found")
    _refused(lambda: c.service.lesson_version("alice", course_id, "lesson-1", 1), "invalid_lesson_id")


def test_reading_a_version_writes_queues_and_promotes_nothing() -> None:
    """Unlike opening the lesson, which asks for a lesson not written yet at high priority."""
    c = Courses()
    course_id = _three_versions(c)
    c.lesson(course_id, "m01-l02", status=LessonStatus.PENDING, version=2, versions=[
        LessonVersion(number=1, content=_content("First."))
    ])  # fmt: skip
    before = dict(c.store.lessons)
    for lesson_id, number in (("m01-l01", 1), ("m01-l01", 3), ("m01-l02", 1)):
        c.service.lesson_version("alice", course_id, lesson_id, number)
    assert c.store.lessons == before
    assert c.queue.lesson_ids(Priority.HIGH) == [] and c.queue.lesson_ids(Priority.LOW) == []
    assert c.dedupe.keys == set()
