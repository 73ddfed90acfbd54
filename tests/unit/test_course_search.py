"""Search in a course (issue 26): what is searched (the current version of written lessons, as a
learner reads them), how results are ordered, and snippets a client highlights from offsets."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import pytest

from flowgen.clock import utcnow
from flowgen.content import CodeBlock, KeyPointsBlock, LessonContent, MarkdownBlock, QuizBlock, QuizQuestion, VideoBlock
from flowgen.course_search import RESULTS_MAX, SNIPPET_CHARS, CourseSearch, passages, snippet
from flowgen.errors import InvalidRequest, NotFound
from flowgen.records import Course, CourseStatus, Lesson, LessonStatus, LessonVersion, ModuleOutline
from tests.fakes.store import MemoryStore


def _content(*markdown: str) -> LessonContent:
    made = [MarkdownBlock(type="markdown", markdown=m) for m in markdown]
    return LessonContent(generator="offline", blocks=list(made))


def _lesson(course_id: str, lesson_id: str, title: str, content: LessonContent | None, **fields: object) -> Lesson:
    status = fields.pop("status", LessonStatus.GENERATED if content else LessonStatus.PENDING)
    return Lesson(
        id=lesson_id,
        course_id=course_id,
        module_id=lesson_id[:3],
        owner_id="alice",
        order=int(lesson_id[1:3]) * 10 + int(lesson_id[-2:]),
        title=title,
        summary="",
        status=status,
        content=content,
        **fields,
    )


def _course(
    store: MemoryStore,
    lessons: Sequence[tuple[str, str, LessonContent | None]],
    extra: dict[str, dict[str, Any]] | None = None,
) -> Course:
    course_id = uuid.uuid4().hex
    rows = [_lesson(course_id, lid, title, content, **(extra or {}).get(lid, {})) for lid, title, content in lessons]
    modules = sorted({row.module_id for row in rows})
    course = Course(
        id=course_id,
        owner_id="alice",
        prompt="Rust",
        status=CourseStatus.READY,
        title="Rust",
        modules=[
            ModuleOutline(id=m, title=f"Module {m}", lesson_ids=[r.id for r in rows if r.module_id == m])
            for m in modules
        ],
        lesson_count=len(rows),
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    store.insert_copy(course, rows)
    return course


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def test_finds_written_lessons_best_first_with_inflections(store: MemoryStore) -> None:
    course = _course(
        store,
        [
            ("m01-l01", "Moves", _content("A value is moved once. The borrow checker is mentioned here.")),
            ("m01-l02", "Borrowing", _content("To borrow is to lend a reference. Borrowing rules: one borrow writes.")),
            ("m02-l01", "Lifetimes", _content("Nothing about the word we look for.")),
        ],
    )
    found = CourseSearch(store).search("alice", course.id, "borrows")
    assert [r.lesson_id for r in found.results] == ["m01-l02", "m01-l01"]  # three mentions beat one
    best = found.results[0]
    assert best.lesson_title == "Borrowing" and best.module_title == "Module m01" and best.module_id == "m01"
    assert best.match_count == 4  # the title's and the body's three ("borrow", "Borrowing", "borrow")
    assert found.query == "borrows"


def test_only_the_current_version_of_generated_lessons_is_searched(store: MemoryStore) -> None:
    old = LessonVersion(number=1, content=_content("An earlier version spoke of ferris the crab."))
    course = _course(
        store,
        [
            ("m01-l01", "Written", _content("Here ferris appears.")),
            ("m01-l02", "Rewritten", _content("The current text says nothing.")),
            ("m01-l03", "Not written: ferris", None),
            ("m01-l04", "Failed", _content("ferris again")),
        ],
        extra={
            "m01-l02": {"versions": [old], "version": 2},
            "m01-l04": {"status": LessonStatus.FAILED},
        },
    )
    found = CourseSearch(store).search("alice", course.id, "Ferris")
    assert [r.lesson_id for r in found.results] == ["m01-l01"]


def test_a_snippet_is_plain_text_with_the_mentions_offsets(store: MemoryStore) -> None:
    long_before = "Words before it. " * 12
    course = _course(
        store,
        [("m01-l01", "Intro", _content(f"## Heading\n\n{long_before}The **Ownership** rule: `ownership` moves."))],
    )
    result = CourseSearch(store).search("alice", course.id, "ownership").results[0]
    assert "*" not in result.snippet and "`" not in result.snippet  # Markdown reduced to what shows
    assert result.snippet.startswith("…") and len(result.snippet) <= SNIPPET_CHARS + 2
    assert [result.snippet[m.start : m.end] for m in result.matches] == ["Ownership", "ownership"]


def test_snippet_offsets_count_code_points_and_cut_at_spaces() -> None:
    text = "🦀 " * 100 + "the crab word " + "tail " * 60
    start = text.index("crab")
    shown, matches = snippet(text, [(start, start + 4)])
    assert shown.startswith("…") and shown.endswith("…")
    assert [shown[m.start : m.end] for m in matches] == ["crab"]
    assert not shown[1:].startswith(" ") and len(shown) <= SNIPPET_CHARS + 2


def test_blocks_a_learner_reads_are_searched_and_quiz_explanations_are_not() -> None:
    content = LessonContent(
        generator="offline",
        blocks=[
            CodeBlock(type="code", language="rust", code="let kiwi = 1;", caption="A binding"),
            KeyPointsBlock(type="key_points", points=["mango is a point"]),
            QuizBlock(
                type="quiz",
                questions=[
                    QuizQuestion(
                        question="Which fig?", options=["papaya", "b"], answer_index=0, explanation="secret lime"
                    )
                ],
            ),
            VideoBlock(type="video", title="guava talk", url="https://example.com/v"),
        ],
    )
    text = " ".join(passages(content))
    for word in ("kiwi", "binding", "mango", "fig", "papaya"):
        assert word in text
    assert "lime" not in text and "guava" not in text


def test_a_query_of_stopwords_or_one_letter_still_finds_exact_words(store: MemoryStore) -> None:
    course = _course(
        store,
        [
            ("m01-l01", "Languages", _content("C and C again, and C once more.")),
            ("m01-l02", "Others", _content("Rust is not C.")),
            ("m01-l03", "None", _content("Nothing here.")),
        ],
    )
    found = CourseSearch(store).search("alice", course.id, "C")
    assert [r.lesson_id for r in found.results] == ["m01-l01", "m01-l02"]  # by count
    assert found.results[0].match_count == 3


def test_results_are_limited(store: MemoryStore) -> None:
    rows = [(f"m{m:02d}-l{i:02d}", f"L{m}{i}", _content("tokio runtime")) for m in range(1, 6) for i in range(1, 6)]
    course = _course(store, rows)
    assert len(CourseSearch(store).search("alice", course.id, "tokio").results) == RESULTS_MAX


def test_another_users_course_is_not_found_and_a_blank_query_is_invalid(store: MemoryStore) -> None:
    course = _course(store, [("m01-l01", "Intro", _content("text"))])
    with pytest.raises(NotFound):
        CourseSearch(store).search("bob", course.id, "text")
    with pytest.raises(NotFound):
        CourseSearch(store).search("alice", "0" * 32, "text")
    for bad in ("", "   ", "x" * 101, None):
        with pytest.raises(InvalidRequest) as refused:
            CourseSearch(store).search("alice", course.id, bad)
        assert refused.value.code == "invalid_query"
    assert CourseSearch(store).search("alice", course.id, "absent").results == []
