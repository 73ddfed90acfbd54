"""Citations that check out (issue 24, design invariant 12): a citation the model writes is kept
only if its quote is found, whitespace and case normalised, in the chunk it cites; the page is
taken from that chunk, never from the model; the rest are dropped and counted.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# A quote shorter than this proves nothing ("the", "it is"): it is dropped like a wrong one.
MIN_QUOTE_CHARS = 12
MAX_QUOTE_CHARS = 600

_SPACE = re.compile(r"\s+")
# Typographic marks a model (or pypdf) writes for their plain forms.
_PLAIN = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00ad": None,  # a soft hyphen is not text
    }
)


def normalise(text: str) -> str:
    """Compatibility forms folded (ligatures, full-width), typographic quotes and dashes plain,
    case folded, every run of whitespace one space, trimmed."""
    folded = unicodedata.normalize("NFKC", text).translate(_PLAIN).casefold()
    return _SPACE.sub(" ", folded).strip()


@dataclass(frozen=True)
class Citation:
    source_id: str
    chunk_id: str
    quote: str
    page: int | None = None


@dataclass(frozen=True)
class Passage:
    """A chunk of a learner's source as a model gets it: data to teach from and quote, with the
    ids a citation names and the page or heading it sits on."""

    source_id: str
    chunk_id: str
    text: str
    page: int | None = None
    heading: str | None = None


@dataclass(frozen=True)
class CitedChunk:
    """What a citation is checked against: a chunk's text and its page."""

    text: str
    page: int | None = None


@dataclass(frozen=True)
class CheckedCitations:
    kept: tuple[Citation, ...]
    dropped: int


def cited_chunks(passages: Iterable[Passage]) -> dict[tuple[str, str], CitedChunk]:
    """What citations written from `passages` are checked against."""
    return {(p.source_id, p.chunk_id): CitedChunk(p.text, p.page) for p in passages}


def check_citations(citations: Iterable[Citation], chunks: Mapping[tuple[str, str], CitedChunk]) -> CheckedCitations:
    """Each citation kept if `chunks[(source_id, chunk_id)]` holds its quote; kept ones carry the
    chunk's page and the quote as the model wrote it; a repeat of a kept citation is dropped."""
    kept: list[Citation] = []
    seen: set[tuple[str, str, str]] = set()
    dropped = 0
    for citation in citations:
        quote = normalise(citation.quote)
        chunk = chunks.get((citation.source_id, citation.chunk_id))
        key = (citation.source_id, citation.chunk_id, quote)
        if (
            chunk is None
            or not MIN_QUOTE_CHARS <= len(quote) <= MAX_QUOTE_CHARS
            or quote not in normalise(chunk.text)
            or key in seen
        ):
            dropped += 1
            continue
        seen.add(key)
        kept.append(Citation(citation.source_id, citation.chunk_id, citation.quote.strip(), chunk.page))
    return CheckedCitations(tuple(kept), dropped)
