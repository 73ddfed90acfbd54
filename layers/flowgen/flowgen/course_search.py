"""Search in a course (issue 26): the caller's written lessons that mention a word, best first,
each with a plain-text snippet around its first mention and where the mention is in it.

What is searched is what a learner reads in the current version of each GENERATED lesson: its
title, prose (Markdown reduced to plain text), key points, code and its caption, a diagram's
caption and the labels it draws (not its Mermaid keywords or node ids, which nobody reads), and quiz
questions with their options (not their explanations, which give the answers away). A lesson not
written yet, one being rewritten (until its new version is written) and earlier versions are not
searched: the store's `written_lessons` reads the GENERATED ones with their current content, in
one query.

Ranking is BM25 (`flowgen.retrieval.PassageIndex`, over `bm25s`, the same light stemming and
English stopwords as a learner's sources), one document per lesson, built per request: a course
holds at most a few dozen lessons. A query of stopwords or one-letter words only ("C", "the")
has no BM25 terms; it falls back to exact (case-insensitive) word matches ranked by their count,
so "C" still finds the lessons that say C.

Snippets are plain text, never HTML: a client highlights `matches` (offsets in Unicode code
points, end exclusive) by building elements, so nothing in a lesson or a query is markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice

from flowgen.content import CodeBlock, DiagramBlock, KeyPointsBlock, LessonContent, MarkdownBlock, QuizBlock
from flowgen.errors import InvalidRequest
from flowgen.ownership import owned_course
from flowgen.ports import CourseStore
from flowgen.records import Lesson
from flowgen.retrieval import PassageIndex, tokens
from flowgen.schema import Model

QUERY_MAX_CHARS = 100
RESULTS_MAX = 20
SNIPPET_CHARS = 160  # a snippet's text, without the ellipses that say it was cut
_CONTEXT_BEFORE = 50  # characters kept before the first mention when a passage is cut
_ELLIPSIS = "…"

_WORD = re.compile(r"\w+", re.UNICODE)
_SPACE = re.compile(r"\s+")
# Markdown reduced to what shows: images and links keep their text, markers go.
_IMAGE_OR_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_LINE_MARKER = re.compile(r"^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+|\d{1,9}[.)]\s+)+")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_EMPHASIS = re.compile(r"(\*{1,3}|_{2,3}|~~|`+)")
# The text a Mermaid diagram draws: quoted labels, |edge labels|, unquoted shapes ([..], (..),
# {..}), what follows a sequence diagram's `:` and a participant's `as`; its entities (#quot;, #35;)
# decoded.
_DIAGRAM_LABEL = re.compile(
    r'"([^"]+)"|\|([^|"]+)\||[\[({>]+([^\])}\[({"|]+)[\])}]+|:\s*([^:]+)$|\bas\s+(.+)$', re.MULTILINE
)
_DIAGRAM_ENTITY = re.compile(r"#(\w+);")


class SearchMatch(Model):
    start: int  # offset of the mention in the snippet (Unicode code points)
    end: int  # exclusive


class SearchResult(Model):
    lesson_id: str
    lesson_title: str
    module_id: str
    module_title: str
    snippet: str
    matches: list[SearchMatch]  # the mentions in `snippet`, in order
    match_count: int  # mentions in the whole lesson


class CourseSearchResults(Model):
    query: str
    results: list[SearchResult]


@dataclass(frozen=True)
class _Document:
    lesson: Lesson
    passages: tuple[str, ...]  # the title first, then each piece of text a learner reads


def markdown_text(markdown: str) -> list[str]:
    """Markdown as the plain-text lines a reader sees (fence lines dropped, code kept)."""
    lines: list[str] = []
    for line in markdown.splitlines():
        if _FENCE.match(line):
            continue
        text = _EMPHASIS.sub("", _IMAGE_OR_LINK.sub(r"\1", _LINE_MARKER.sub("", line)))
        if text.strip():
            lines.append(text)
    return lines


def diagram_labels(source: str) -> list[str]:
    """The labels a Mermaid diagram draws, in order (its first line, the diagram's kind, has none)."""
    body = source.strip().partition("\n")[2]
    found = ("".join(groups) for groups in _DIAGRAM_LABEL.findall(body))
    return [html.unescape(_DIAGRAM_ENTITY.sub(_entity, label)) for label in found]


def _entity(match: re.Match[str]) -> str:
    name = match.group(1)
    return f"&#{name};" if name.isdigit() else f"&{name};"


def _paragraphs(lines: Sequence[str]) -> Iterator[str]:
    for line in lines:
        text = _SPACE.sub(" ", line).strip()
        if text:
            yield text


def passages(content: LessonContent) -> list[str]:
    """The readable text of a lesson's blocks, one passage per line or item (a video's title and
    block types this module does not know are not searched)."""
    found: list[str] = []
    for block in content.blocks:
        if isinstance(block, MarkdownBlock):
            found.extend(_paragraphs(markdown_text(block.markdown)))
        elif isinstance(block, CodeBlock):
            found.extend(_paragraphs([block.caption, *block.code.splitlines()]))
        elif isinstance(block, DiagramBlock):
            found.extend(_paragraphs([block.caption, *diagram_labels(block.source)]))
        elif isinstance(block, KeyPointsBlock):
            found.extend(_paragraphs(block.points))
        elif isinstance(block, QuizBlock):
            for question in block.questions:
                found.extend(_paragraphs([question.question, *question.options]))
    return found


def _matcher(query: str) -> tuple[Callable[[str], bool], bool]:
    """Whether a word of a lesson is a mention of the query, and whether BM25 can rank it (the
    query has a word that is not a stopword and has at least two letters)."""
    stems = frozenset(tokens(query))
    if stems:
        return (lambda word: bool(stems.intersection(_stems(word)))), True
    words = frozenset(w.casefold() for w in _WORD.findall(query))
    return (lambda word: word.casefold() in words), False


@lru_cache(maxsize=65536)
def _stems(word: str) -> tuple[str, ...]:
    return tuple(tokens(word))


def _mentions(text: str, is_mention: Callable[[str], bool]) -> list[tuple[int, int]]:
    return [m.span() for m in _WORD.finditer(text) if is_mention(m.group())]


def _window(text: str, first_start: int, first_end: int) -> tuple[int, int]:
    """Where a snippet of `text` starts and ends: SNIPPET_CHARS from a little before the first
    mention (all of a shorter text), moved to spaces so that no word is cut."""
    if len(text) <= SNIPPET_CHARS:
        return 0, len(text)
    start = max(0, min(first_start - _CONTEXT_BEFORE, len(text) - SNIPPET_CHARS))
    if start > 0 and (space := text.find(" ", start, first_start)) != -1:
        start = space + 1
    end = min(len(text), max(start + SNIPPET_CHARS, first_end))
    if end < len(text) and (space := text.rfind(" ", first_end, end)) != -1:
        end = space
    return start, end


def snippet(text: str, spans: Sequence[tuple[int, int]]) -> tuple[str, list[SearchMatch]]:
    """At most SNIPPET_CHARS of `text` around its first mention (cut at spaces, with ellipses),
    and the offsets of the mentions that lie wholly inside it."""
    start, end = _window(text, *spans[0])
    prefix = _ELLIPSIS if start > 0 else ""
    suffix = _ELLIPSIS if end < len(text) else ""
    shift = len(prefix) - start
    matches = [SearchMatch(start=s + shift, end=e + shift) for s, e in spans if s >= start and e <= end]
    return prefix + text[start:end] + suffix, matches


def check_query(query: str | None) -> str:
    """The query, trimmed: one visible word character at least, at most QUERY_MAX_CHARS."""
    text = (query or "").strip()
    if not text:
        raise InvalidRequest("q must hold a word to search for", code="invalid_query")
    if len(text) > QUERY_MAX_CHARS:
        raise InvalidRequest(f"q is longer than {QUERY_MAX_CHARS} characters", code="invalid_query")
    return text


class CourseSearch:
    """Searches an owner's course through the store's interface (any CourseStore)."""

    def __init__(self, store: CourseStore) -> None:
        self.store = store

    def _documents(self, owner_id: str, course_id: str) -> list[_Document]:
        return [
            _Document(lesson, (lesson.title, *passages(lesson.content)))
            for lesson in self.store.written_lessons(owner_id, course_id)  # GENERATED, current content
            if lesson.content is not None
        ]

    def search(self, owner_id: str, course_id: str, query: str | None, limit: int = RESULTS_MAX) -> CourseSearchResults:
        """The lessons of the caller's course that mention `query`, best first, at most `limit`.
        Another user's course is a 404 (NotFound), as an unknown one; a blank or too long query
        is a 400 (InvalidRequest, `invalid_query`)."""
        text = check_query(query)
        course = owned_course(self.store, owner_id, course_id)
        modules = {lesson_id: module.title for module in course.modules for lesson_id in module.lesson_ids}
        documents = self._documents(owner_id, course_id)
        is_mention, ranked = _matcher(text)
        mentions = _Mentions(documents, is_mention)
        order = _best_first(documents, text) if ranked else _most_first(mentions)
        found = ((i, mentions.of(i)) for i in order)  # scanned lazily: only as far as `limit` results
        results = list(islice((_result(documents[i], spans, modules) for i, spans in found if any(spans)), limit))
        return CourseSearchResults(query=text, results=results)


class _Mentions:
    """Each lesson's mentions of the query, per passage, found when first asked for."""

    def __init__(self, documents: Sequence[_Document], is_mention: Callable[[str], bool]) -> None:
        self.documents, self.is_mention = documents, is_mention
        self.found: dict[int, list[list[tuple[int, int]]]] = {}

    def of(self, i: int) -> list[list[tuple[int, int]]]:
        if i not in self.found:
            self.found[i] = [_mentions(p, self.is_mention) for p in self.documents[i].passages]
        return self.found[i]

    def count(self, i: int) -> int:
        return sum(len(spans) for spans in self.of(i))


def _best_first(documents: Sequence[_Document], query: str) -> list[int]:
    """The lessons sharing a term with the query, by BM25 score (one document per lesson)."""
    hits = PassageIndex(["\n".join(doc.passages) for doc in documents]).search(query, k=len(documents))
    return [hit.index for hit in hits]


def _most_first(mentions: _Mentions) -> list[int]:
    """The lessons that say the query's words, by how often (in course order when as often)."""
    counts = [mentions.count(i) for i in range(len(mentions.documents))]
    return sorted((i for i, n in enumerate(counts) if n), key=lambda i: -counts[i])


def _result(doc: _Document, found: Sequence[Sequence[tuple[int, int]]], modules: dict[str, str]) -> SearchResult:
    # the first mention in the lesson's body; in its title when only the title has one
    where = next((j for j in range(1, len(found)) if found[j]), 0)
    text, matches = snippet(doc.passages[where], found[where])
    return SearchResult(
        lesson_id=doc.lesson.id,
        lesson_title=doc.lesson.title,
        module_id=doc.lesson.module_id,
        module_title=modules.get(doc.lesson.id, ""),
        snippet=text,
        matches=matches,
        match_count=sum(len(spans) for spans in found),
    )
