"""How long a lesson takes to read, estimated from its content (issue 26).

The estimate counts what a learner reads and does, block by block:

- prose (markdown, key points, a code block's caption, each quiz question and its options) at
  `WORDS_PER_MINUTE` words a minute: a learner's pace on technical text, slower than the ~240 of
  light reading;
- code at `CODE_SECONDS_PER_LINE` seconds a non-empty line: code is read, not skimmed;
- each quiz question `SECONDS_PER_QUESTION` seconds to think about and answer;
- a diagram `SECONDS_PER_DIAGRAM` seconds to follow, plus its caption as prose (its Mermaid source
  is not read: the picture is);
- a suggested video nothing: it is optional, and its length is unknown.

The sum is rounded up to whole minutes, at least 1. A course's time left is the sum over its
lessons not completed; a lesson not written yet counts as the mean of its written siblings
(`ASSUMED_MINUTES` while none is written). Stored on the lesson when its content is written
(`readingMinutes`), so lists, which carry no content, still know it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from flowgen.content import CodeBlock, DiagramBlock, KeyPointsBlock, LessonContent, MarkdownBlock, QuizBlock

WORDS_PER_MINUTE = 200
CODE_SECONDS_PER_LINE = 4
SECONDS_PER_QUESTION = 20
SECONDS_PER_DIAGRAM = 20
ASSUMED_MINUTES = 6

_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*", re.UNICODE)
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _markdown_seconds(markdown: str) -> float:
    """Prose words, with lines inside a fenced code block read as code."""
    prose: list[str] = []
    code_lines = 0
    fenced = False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif fenced:
            code_lines += bool(line.strip())
        else:
            prose.append(line)
    return _prose_seconds(prose) + code_lines * CODE_SECONDS_PER_LINE


def _prose_seconds(texts: Iterable[str]) -> float:
    return sum(_words(t) for t in texts) * 60 / WORDS_PER_MINUTE


def reading_seconds(content: LessonContent) -> float:
    seconds = 0.0
    for block in content.blocks:
        if isinstance(block, MarkdownBlock):
            seconds += _markdown_seconds(block.markdown)
        elif isinstance(block, CodeBlock):
            lines = sum(1 for line in block.code.splitlines() if line.strip())
            seconds += lines * CODE_SECONDS_PER_LINE + _prose_seconds([block.caption])
        elif isinstance(block, DiagramBlock):
            seconds += SECONDS_PER_DIAGRAM + _prose_seconds([block.caption])
        elif isinstance(block, KeyPointsBlock):
            seconds += _prose_seconds(block.points)
        elif isinstance(block, QuizBlock):
            for question in block.questions:
                seconds += SECONDS_PER_QUESTION + _prose_seconds([question.question, *question.options])
    return seconds


def reading_minutes(content: LessonContent | None) -> int | None:
    """Whole minutes, rounded up, at least 1; None without content."""
    if content is None:
        return None
    return max(1, math.ceil(reading_seconds(content) / 60))
