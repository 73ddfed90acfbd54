"""Reads a course's Markdown export back into its structure (tests only)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_MODULE = re.compile(r"^## Module (\d+): (.*)$")
_LESSON = re.compile(r"^### Lesson (\d+)\.(\d+): (.*)$")
_ANSWER = re.compile(r"^(\d+)\. (.*) \*\*([A-J])\) (.*?)\*\*(?:: .*)?$")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")


@dataclass
class ExportedLesson:
    title: str
    lines: list[str] = field(default_factory=list)

    @property
    def generated(self) -> bool:
        return not any(line.startswith("> Not generated") or line.startswith("> Being") for line in self.lines)


@dataclass
class Exported:
    title: str
    modules: list[tuple[str, list[ExportedLesson]]] = field(default_factory=list)
    answers: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)  # lesson -> (question, letter, text)


def parse(markdown: str) -> Exported:
    lines = markdown.split("\n")
    assert lines[0].startswith("# "), lines[0]
    doc = Exported(title=lines[0][2:])
    section, fence, lesson_key = "body", None, ""
    for line in lines[1:]:
        opened = _FENCE.match(line)
        if fence is not None:
            if opened and opened.group(1) == fence:
                fence = None
            if doc.modules and doc.modules[-1][1]:
                doc.modules[-1][1][-1].lines.append(line)
            continue
        if opened:
            fence = opened.group(1)
        if line == "## Quiz answers":
            section = "answers"
            continue
        module, lesson, answer = _MODULE.match(line), _LESSON.match(line), _ANSWER.match(line)
        assert not (line.startswith("# ") or line.startswith("## ")) or module, f"stray heading: {line}"
        if section == "body" and module:
            assert int(module.group(1)) == len(doc.modules) + 1
            doc.modules.append((module.group(2), []))
        elif section == "body" and lesson:
            assert (int(lesson.group(1)), int(lesson.group(2))) == (len(doc.modules), len(doc.modules[-1][1]) + 1)
            doc.modules[-1][1].append(ExportedLesson(lesson.group(3)))
        elif section == "answers" and lesson:
            lesson_key = lesson.group(3)
            doc.answers[lesson_key] = []
        elif section == "answers" and answer:
            doc.answers[lesson_key].append((answer.group(2), answer.group(3), answer.group(4)))
        elif section == "body" and doc.modules and doc.modules[-1][1]:
            doc.modules[-1][1][-1].lines.append(line)
    assert fence is None, "an unclosed fence"
    return doc
