"""Courses grounded in a learner's sources (issue 24, design invariant 12): what the model is
given from them and what is kept of what it cites.

- `outline_digest`: the passages an outline is planned from: each source's opening passage, a
  passage under each heading not yet shown, then the passages most relevant to the course's
  topic (BM25, flowgen.retrieval), within a character budget.
- `lesson_passages`: the passages most relevant to one lesson's title and summary.
- `keep_checked`: the lesson's blocks with only the citations whose quote is in the cited
  passage (flowgen.citations), their page from the chunk; the number dropped.

Passages reach the model as data (flowgen.prompts), never as instructions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from flowgen.citations import Citation, Passage, check_citations, cited_chunks, normalise
from flowgen.content import GeneratedBlock, MarkdownBlock, SourceCitation

if TYPE_CHECKING:  # type-only: a worker that reads chunks needs none of the library module
    from flowgen.library import StoredChunk

LESSON_PASSAGES = 6  # passages retrieved for a lesson (about 6,000 characters of a 160-word chunking)
QUESTION_PASSAGES = 4
DIGEST_PASSAGES = 16
DIGEST_CHARS = 12_000  # what an outline's prompt carries of its sources at most
PASSAGE_CHARS = 1_200  # a digest passage is cut here (a lesson's are whole: they are quoted)


class ChunkReader(Protocol):
    """The part of the sources store a grounded course reads (flowgen.library.SourceStore)."""

    def chunks(self, owner_id: str, source_ids: Sequence[str]) -> Sequence[StoredChunk]: ...


def passages_of(reader: ChunkReader, owner_id: str, source_ids: Sequence[str]) -> list[Passage]:
    """The owner's chunks of these sources (a deleted source has none), in source then document order."""
    if not source_ids:
        return []
    order = {source_id: n for n, source_id in enumerate(source_ids)}
    chunks = [c for c in reader.chunks(owner_id, list(source_ids)) if c.source_id in order]
    return [
        Passage(source_id=c.source_id, chunk_id=c.id, text=c.text, page=c.page, heading=c.heading)
        for c in sorted(chunks, key=lambda c: order[c.source_id])
    ]


def relevant(passages: Sequence[Passage], query: str, k: int) -> list[Passage]:
    """At most `k` passages sharing a word with `query`, best first (BM25 over text and heading)."""
    return _searcher(passages)(query, k)


def _searcher(passages: Sequence[Passage]) -> Callable[[str, int], list[Passage]]:
    """One index over `passages` for as many queries as a use needs (it is most of the cost)."""
    if not passages:
        return lambda _query, _k: []
    from flowgen.retrieval import PassageIndex, searchable

    index = PassageIndex([searchable(p.text, p.heading) for p in passages])
    return lambda query, k: [passages[hit.index] for hit in index.search(query, k=k)]


def lesson_passages(passages: Sequence[Passage], title: str, summary: str, k: int = LESSON_PASSAGES) -> list[Passage]:
    """The passages a lesson is written from: those most relevant to its title and summary, best first."""
    return relevant(passages, f"{title}\n{summary}", k)


def question_passages(passages: Sequence[Passage], question: str, lesson_title: str) -> list[Passage]:
    """The passages a question is answered from: those about the question first, then about its lesson."""
    search = _searcher(passages)
    found = search(question, QUESTION_PASSAGES)
    ids = {(p.source_id, p.chunk_id) for p in found}
    more = [p for p in search(lesson_title, QUESTION_PASSAGES) if (p.source_id, p.chunk_id) not in ids]
    return [*found, *more][:QUESTION_PASSAGES]


def outline_digest(passages: Sequence[Passage], topic: str) -> list[Passage]:
    """What an outline is planned from: each source's first passage, one passage per heading not
    yet covered, then the passages nearest the topic, each cut to PASSAGE_CHARS, DIGEST_CHARS in all."""
    chosen: dict[tuple[str, str], Passage] = {}  # insertion-ordered, each passage once
    for passage in [
        *_openings_and_headings(passages),
        *relevant(passages, topic, DIGEST_PASSAGES),
        # spread over the document when nothing else picks: a PDF without headings, a topic its words miss
        *passages[:: max(1, len(passages) // DIGEST_PASSAGES)],
    ]:
        chosen.setdefault((passage.source_id, passage.chunk_id), passage)
    return _within_budget(list(chosen.values())[: DIGEST_PASSAGES * 2])


def _openings_and_headings(passages: Sequence[Passage]) -> list[Passage]:
    """Each source's first passage, and the first passage under each heading."""
    picked: list[Passage] = []
    sources: set[str] = set()
    headings: set[tuple[str, str]] = set()
    for passage in passages:
        heading = (passage.source_id, passage.heading or "")
        if passage.source_id not in sources or (passage.heading and heading not in headings):
            picked.append(passage)
        sources.add(passage.source_id)
        headings.add(heading)
    return picked


def _within_budget(chosen: Sequence[Passage]) -> list[Passage]:
    """The passages in order, each cut to PASSAGE_CHARS, until DIGEST_CHARS or DIGEST_PASSAGES."""
    digest: list[Passage] = []
    budget = DIGEST_CHARS
    for passage in chosen:
        text = passage.text if len(passage.text) <= PASSAGE_CHARS else passage.text[: PASSAGE_CHARS - 3] + "..."
        if budget - len(text) < 0 or len(digest) >= DIGEST_PASSAGES:
            break
        budget -= len(text)
        digest.append(Passage(passage.source_id, passage.chunk_id, text, passage.page, passage.heading))
    return digest


@dataclass(frozen=True)
class CheckedBlocks:
    blocks: list[GeneratedBlock]
    kept: int
    dropped: int


def keep_checked(blocks: Sequence[GeneratedBlock], passages: Sequence[Passage]) -> CheckedBlocks:
    """Each markdown block keeps only the citations whose quote is found in the passage it cites,
    one the lesson was written from; the page comes from that passage."""
    chunks = cited_chunks(passages)
    out: list[GeneratedBlock] = []
    kept = dropped = 0
    for block in blocks:
        if not isinstance(block, MarkdownBlock) or not block.citations:
            out.append(block)
            continue
        checked = check_citations((Citation(c.source_id, c.chunk_id, c.quote) for c in block.citations), chunks)
        kept += len(checked.kept)
        dropped += checked.dropped
        out.append(block.model_copy(update={"citations": [_served(c) for c in checked.kept]}))
    return CheckedBlocks(out, kept, dropped)


def checked_citations(
    citations: Sequence[SourceCitation], passages: Sequence[Passage]
) -> tuple[list[SourceCitation], int]:
    """An answer's citations held to the same rule: (kept, dropped)."""
    written = (Citation(c.source_id, c.chunk_id, c.quote) for c in citations)
    checked = check_citations(written, cited_chunks(passages))
    return [_served(c) for c in checked.kept], checked.dropped


def _served(citation: Citation) -> SourceCitation:
    c = citation
    return SourceCitation(source_id=c.source_id, chunk_id=c.chunk_id, quote=c.quote, page=c.page)


# ---- an answer's citations (Ask about this lesson) ------------------------------------------

# "quoted words" [2]: straight or typographic quotes, then the passage's ref (prompts.QUESTION_SOURCES_RULE)
_CITED = re.compile(r"(?P<open>[\"“])(?P<quote>[^\"“”\n]{1,600})(?P<close>[\"”])\s*\[(?P<ref>\d{1,2})\]")


@dataclass(frozen=True)
class CheckedAnswer:
    text: str  # kept citations marked [1], [2]... in the order of `citations`; the rest unmarked
    citations: list[SourceCitation]
    dropped: int


def checked_answer(text: str, passages: Sequence[Passage]) -> CheckedAnswer:
    """An answer's `"quote" [ref]` marks held to the lessons' rule: a mark stays (renumbered) only if
    its quote is found in passage `ref`, with that chunk's page; another loses its mark, is counted."""
    kept: list[SourceCitation] = []
    number: dict[tuple[str, str, str], int] = {}
    dropped = 0

    def mark(match: re.Match[str]) -> str:
        nonlocal dropped
        quoted = f"{match['open']}{match['quote']}{match['close']}"
        ref = int(match["ref"])
        passage = passages[ref - 1] if 1 <= ref <= len(passages) else None
        if passage is None:
            dropped += 1
            return quoted
        written = SourceCitation(source_id=passage.source_id, chunk_id=passage.chunk_id, quote=match["quote"])
        key = (passage.source_id, passage.chunk_id, normalise(match["quote"]))
        if key not in number:
            checked, lost = checked_citations([written], [passage])
            if lost:
                dropped += 1
                return quoted
            kept.append(checked[0])
            number[key] = len(kept)
        return f"{quoted} [{number[key]}]"

    return CheckedAnswer(_CITED.sub(mark, text), kept, dropped)
