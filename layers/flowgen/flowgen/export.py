"""A course as one Markdown file (issue 11): title, description, modules and lessons in order,
each lesson's blocks as Markdown, and every quiz's answers collected at the end.

The structure is the file's only `#`, `##` and `###` headings, so it can be read back:

    # <course title>
    ## Module <m>: <module title>
    ### Lesson <m>.<n>: <lesson title>
    ## Quiz answers
    ### Lesson <m>.<n>: <lesson title>

Headings the model wrote inside a lesson are pushed three levels down (at most `######`), and
code is fenced with a fence longer than any run of backticks in it, so lesson text never
passes for structure. Model text is written as it came (it is Markdown already), but never as
HTML: outside code, a `<` is escaped with a backslash, so a title, a summary or a lesson that holds
`<script>` or `<img onerror=...>` is text in any Markdown viewer, and a link to a `javascript:`,
`vbscript:` or `data:` address keeps its text and loses its address.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from flowgen.content import CodeBlock, DiagramBlock, KeyPointsBlock, LessonBlock, MarkdownBlock, QuizBlock, VideoBlock
from flowgen.records import Course, Lesson, LessonStatus

_HEADING = re.compile(r"^(#{1,6})(\s)")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_LANGUAGE = re.compile(r"[^\w+#.-]")
_CODE_SPAN = re.compile(r"(`+)(.*?)\1")
_SCRIPT_LINK = re.compile(
    r"\[([^\]]*)\]\(\s*<?\s*(?:javascript|vbscript|data)\s*:(?:[^()]|\([^()]*\))*\)", re.IGNORECASE
)
_NOT_WRITTEN = {
    LessonStatus.PENDING: "Not generated yet: open it in FlowGen to write it.",
    LessonStatus.GENERATING: "Being written: export again in a moment.",
    LessonStatus.FAILED: "Not generated: writing it failed; retry it in FlowGen.",
}


def course_markdown(course: Course, lessons: Sequence[Lesson]) -> str:
    """`lessons`: the course's lessons, with content where generated (any order)."""
    by_id = {lesson.id: lesson for lesson in lessons}
    out, answers = _front(course), []
    for m, module in enumerate(course.modules, start=1):
        out += [f"## Module {m}: {_line(module.title)}", ""]
        for n, lesson_id in enumerate(module.lesson_ids, start=1):
            lesson = by_id.get(lesson_id)
            if lesson is not None:
                heading = f"### Lesson {m}.{n}: {_line(lesson.title)}"
                out += _lesson(heading, lesson)
                answers += _lesson_answers(heading, lesson)
    if answers:
        out += ["## Quiz answers", "", *answers]
    return "\n".join(out).rstrip("\n") + "\n"


def lesson_markdown(lesson: Lesson) -> str:
    """One written lesson's blocks as Markdown (what a question about it is answered from). The
    model's blocks only: a video's title is a stranger's text (anyone can title a video), and it
    has no place in a prompt."""
    blocks = [b for b in lesson.content.blocks if b.type != "video"] if lesson.content else []
    return "\n".join(line for block in blocks for line in [*_block(block), ""]).strip()


def _front(course: Course) -> list[str]:
    out = [f"# {_line(course.title or course.prompt)}", ""]
    if course.description:
        out += [_paragraph(course.description), ""]
    if course.language:
        out += [f"*Language: {_line(course.language)}*", ""]
    if course.objectives:
        out += ["**Objectives**", "", *(f"- {_line(o)}" for o in course.objectives), ""]
    return out


def _lesson(heading: str, lesson: Lesson) -> list[str]:
    out = [heading, ""]
    if lesson.summary.strip():  # a lesson added in the outline editor may have none
        out += [f"*{_line(lesson.summary)}*", ""]
    if lesson.status != LessonStatus.GENERATED or lesson.content is None:
        return [*out, f"> {_NOT_WRITTEN.get(lesson.status, 'Not generated yet.')}", ""]
    for block in lesson.content.blocks:
        out += [*_block(block), ""]
    return out


def _lesson_answers(heading: str, lesson: Lesson) -> list[str]:
    blocks = lesson.content.blocks if lesson.status == LessonStatus.GENERATED and lesson.content else []
    quizzes = [block for block in blocks if isinstance(block, QuizBlock)]
    if not quizzes:
        return []
    return [heading, "", *(line for quiz in quizzes for line in [*_answers(quiz), ""])]


def _block(block: LessonBlock) -> Iterator[str]:
    if isinstance(block, MarkdownBlock):
        yield from _demoted(block.markdown)
        yield from _cited(block)
    elif isinstance(block, CodeBlock):
        yield from _code(block)
    elif isinstance(block, DiagramBlock):  # a Mermaid fence: viewers that know Mermaid draw it
        yield from _fenced("mermaid", block.source)
        yield ""
        yield f"*Diagram: {_line(block.caption)}*"
    elif isinstance(block, KeyPointsBlock):
        yield from ("**Key points**", "", *(f"- {_line(point)}" for point in block.points))
    elif isinstance(block, QuizBlock):
        yield from _quiz(block)
    elif isinstance(block, VideoBlock):
        yield f"Video: [{_line(block.title).replace(']', '\\]')}]({block.url.replace(')', '%29')})"


def _cited(block: MarkdownBlock) -> Iterator[str]:
    """A grounded lesson's checked citations, under the text that quotes them (issue 24)."""
    if block.citations:
        yield ""
        yield "*Sources:*"
        yield ""
        for citation in block.citations:
            where = f"page {citation.page}" if citation.page is not None else "a passage"
            yield f"- “{_line(citation.quote)}” ({where} of your source)"


def _code(block: CodeBlock) -> Iterator[str]:
    yield from _fenced(_LANGUAGE.sub("", block.language), block.code)
    if block.caption:
        yield ""
        yield f"*{_line(block.caption)}*"


def _quiz(block: QuizBlock) -> Iterator[str]:
    yield "**Quiz** (answers at the end)"
    yield ""
    for q, question in enumerate(block.questions, start=1):
        yield f"{q}. {_line(question.question)}"
        yield from (f"   - {_letter(o)}) {_line(option)}" for o, option in enumerate(question.options))


def _fenced(language: str, code: str) -> Iterator[str]:
    fence = "`" * max(3, _longest_backticks(code) + 1)
    yield f"{fence}{language}"
    yield from code.rstrip("\n").split("\n")
    yield fence


def _answers(quiz: QuizBlock) -> Iterator[str]:
    for q, question in enumerate(quiz.questions, start=1):
        answer = question.options[question.answer_index]
        line = f"{q}. {_line(question.question)} **{_letter(question.answer_index)}) {_line(answer)}**"
        explanation = _line(question.explanation)
        yield f"{line}: {explanation}" if explanation else line


def _demoted(markdown: str) -> Iterator[str]:
    """The model's Markdown with its headings moved down so its top level is `####` (at most
    `######`), outside fenced code: they nest under the lesson's `###` in order."""
    lines = markdown.rstrip("\n").split("\n")
    fenced, still_open = _fences(lines)
    headings = [_HEADING.match(line) if not inside else None for line, inside in zip(lines, fenced, strict=True)]
    shift = 4 - min((len(h.group(1)) for h in headings if h), default=4)
    for line, heading, inside in zip(lines, headings, fenced, strict=True):
        if inside:
            yield line
        elif heading:
            yield "#" * min(6, len(heading.group(1)) + shift) + _inert(line[len(heading.group(1)) :])
        else:
            yield _inert(line)
    if still_open is not None:  # an unclosed fence would swallow the rest of the file
        yield still_open


def _fences(lines: list[str]) -> tuple[list[bool], str | None]:
    """Whether each line belongs to a fenced code block (its fences included), and the fence
    left open at the end, if any."""
    fence: str | None = None
    inside: list[bool] = []
    for line in lines:
        opened = _FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)
            inside.append(True)
            continue
        if fence is not None and opened and opened.group(1).startswith(fence[0] * len(fence)):
            fence = None
            inside.append(True)
            continue
        inside.append(fence is not None)
    return inside, fence


def _longest_backticks(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def _letter(index: int) -> str:
    return "ABCDEFGHIJ"[index]


def _paragraph(text: str) -> str:
    """A line of its own that never reads as a heading."""
    line = _line(text)
    return "\\" + line if line.startswith("#") else line


def _line(text: str) -> str:
    """One line of inline text: line breaks become spaces, so a title stays one heading; never
    HTML (see `_inert`)."""
    return _inert(" ".join(text.split()))


def _inert(line: str) -> str:
    """A line of Markdown that no viewer reads as HTML or a script address: `<` escaped and
    script links reduced to their text, outside code spans (whose text is shown as it is)."""
    out, last = [], 0
    for span in _CODE_SPAN.finditer(line):
        out += [_escaped(line[last : span.start()]), span.group(0)]
        last = span.end()
    return "".join([*out, _escaped(line[last:])])


def _escaped(text: str) -> str:
    text = _SCRIPT_LINK.sub(lambda link: link.group(1), text)
    return re.sub(r"(?<!\\)<", r"\\<", text)
