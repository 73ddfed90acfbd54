"""The Markdown export: lesson text never passes for structure, and quizzes are answered at the end."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flowgen.content import (
    CodeBlock,
    KeyPointsBlock,
    LessonContent,
    MarkdownBlock,
    QuizBlock,
    QuizQuestion,
    SourceCitation,
    VideoBlock,
)
from flowgen.export import course_markdown, lesson_markdown
from flowgen.records import Course, CourseStatus, Lesson, LessonStatus, ModuleOutline
from tests.markdown_export import parse

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def _lesson(lesson_id: str, module_id: str, order: int, title: str, content: LessonContent | None) -> Lesson:
    status = LessonStatus.GENERATED if content else LessonStatus.PENDING
    return Lesson(
        id=lesson_id,
        course_id="c" * 32,
        module_id=module_id,
        owner_id="alice",
        order=order,
        title=title,
        summary="What it is\nand why",
        status=status,
        content=content,
    )


TRICKY = LessonContent(
    generator="offline",
    blocks=[
        MarkdownBlock(
            type="markdown",
            markdown="# Module 9: not a module\n\n## Lesson 1.1: nor a lesson\n\n"
            "```\n## Module inside a fence\n```\ntext",
        ),
        MarkdownBlock(type="markdown", markdown="## Top\n\n### Below"),
        CodeBlock(type="code", language="py<script>", code="s = '```'\n# Quiz answers\n", caption="Fences in code"),
        KeyPointsBlock(type="key_points", points=["one", "two\nlines"]),
        QuizBlock(
            type="quiz",
            questions=[
                QuizQuestion(question="Which?", options=["a", "b", "c"], answer_index=2, explanation="Because."),
                QuizQuestion(question="And?", options=["x", "y"], answer_index=0, explanation=""),
            ],
        ),
        VideoBlock(type="video", title="A [talk]", url="https://example.com/v?(1)"),
    ],
)


def test_a_course_reads_back_whatever_its_lessons_hold() -> None:
    course = Course(
        id="c" * 32,
        owner_id="alice",
        prompt="p",
        status=CourseStatus.READY,
        title="Tricky\ncourse",
        description="## Module 1: a description that looks like structure",
        modules=[
            ModuleOutline(id="m01", title="First", lesson_ids=["m01-l01", "m01-l02"]),
            ModuleOutline(id="m02", title="Second", lesson_ids=["m02-l01"]),
        ],
        created_at=NOW,
        updated_at=NOW,
    )
    lessons = [
        _lesson("m02-l01", "m02", 2, "Third", None),
        _lesson("m01-l01", "m01", 0, "One", TRICKY),
        _lesson("m01-l02", "m01", 1, "Two", None),
    ]
    text = course_markdown(course, lessons)
    doc = parse(text)
    assert doc.title == "Tricky course"
    assert [(m, [lesson.title for lesson in ls]) for m, ls in doc.modules] == [
        ("First", ["One", "Two"]),
        ("Second", ["Third"]),
    ]
    assert [lesson.generated for _, ls in doc.modules for lesson in ls] == [True, False, False]
    assert doc.answers == {"One": [("Which?", "C", "c"), ("And?", "A", "x")]}
    assert "#### Module 9: not a module" in text and "##### Lesson 1.1: nor a lesson" in text
    assert "\n#### Top\n\n##### Below\n" in text  # the block's top level nests under the lesson's ###
    assert "````pyscript\ns = '```'\n# Quiz answers\n````" in text
    assert "- two lines" in text
    assert "Video: [A [talk\\]](https://example.com/v?(1%29)" in text
    assert "<" not in text


def test_what_a_question_is_answered_from_leaves_the_video_title_out() -> None:
    """A video's title is anyone's text (its uploader's): it never reaches the model's prompt."""
    text = lesson_markdown(_lesson("m01-l01", "m01", 0, "Lesson", TRICKY))
    assert "A [talk]" not in text and "A \\[talk\\]" not in text and "example.com" not in text
    assert "## Top" in text and "Which?" in text  # the model's own blocks are all there


# ---- never HTML, nothing for a lesson without a summary (issue 25) -------------------------------


def test_html_and_script_links_are_text_in_the_export() -> None:
    hostile = LessonContent(
        generator="offline",
        blocks=[
            MarkdownBlock(
                type="markdown",
                markdown='Read <img src=x onerror="alert(1)"> and [this](javascript:alert(document.cookie)) '
                "or [that](JavaScript:void(0)) but `<div>` is code and [docs](https://example.com) a link.",
            ),
            CodeBlock(type="code", language="html", code="<script>alert(1)</script>\n", caption="<b>bold</b>"),
        ],
    )
    course = Course(
        id="c" * 32,
        owner_id="alice",
        prompt="p",
        title="<script>alert('title')</script>",
        description='<a href="javascript:alert(1)">click</a>',
        status=CourseStatus.READY,
        modules=[ModuleOutline(id="m01", title="<iframe src=x>", lesson_ids=["m01-l01"])],
        created_at=NOW,
        updated_at=NOW,
    )
    lesson = _lesson("m01-l01", "m01", 0, "<svg onload=alert(1)>", hostile).model_copy(
        update={"summary": "<img src=y onerror=alert(2)>"}
    )
    text = course_markdown(course, [lesson])
    outside_code = "\n".join(line for line in text.split("```")[::2])  # the fenced code left out
    assert not re.search(r"(?<!\\)<(script|img|iframe|svg|a |b>)", outside_code), text
    assert not re.search(r"\]\(\s*javascript:", text, re.IGNORECASE) and "[this]" not in text  # no script link
    assert "this or that" in text  # the links' text stays
    assert "<script>alert(1)</script>" in text  # inside a fence, code is shown as it is
    assert "`<div>`" in text and "[docs](https://example.com)" in text


def test_a_lesson_without_a_summary_gets_no_empty_emphasis() -> None:
    course = Course(
        id="c" * 32,
        owner_id="alice",
        prompt="p",
        title="T",
        status=CourseStatus.READY,
        modules=[ModuleOutline(id="m01", title="M", lesson_ids=["m01-l01"])],
        created_at=NOW,
        updated_at=NOW,
    )
    added = _lesson("m01-l01", "m01", 0, "Added in the editor", None).model_copy(update={"summary": ""})
    text = course_markdown(course, [added])
    assert "**" not in text.replace("**Objectives**", "") and "\n*\n" not in text


def test_a_grounded_lessons_checked_citations_are_exported_under_their_text() -> None:
    cited = MarkdownBlock(
        type="markdown",
        markdown="Units are inspected weekly.",
        citations=[SourceCitation(source_id="a" * 32, chunk_id="c00002", quote="inspected every 7\ndays", page=3)],
    )
    plain = MarkdownBlock(type="markdown", markdown="No sources here.")
    text = lesson_markdown(_lesson("m01-l01", "m01", 0, "Units", LessonContent(blocks=[cited], generator="offline")))
    assert "*Sources:*\n\n- “inspected every 7 days” (page 3 of your source)" in text
    other = lesson_markdown(_lesson("m01-l02", "m01", 1, "Other", LessonContent(blocks=[plain], generator="offline")))
    assert "Sources:" not in other
