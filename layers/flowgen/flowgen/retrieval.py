"""The passages of a learner's sources most relevant to a question or a lesson (issue 24): BM25
over the chunks with `bm25s` (docs/decisions.md, 2026-12-06, says why not embeddings).

An index is built from the chunks it is asked about, in memory, for one use: the passages of a
course's sources (at most 5 sources of 300 pages) index in milliseconds, so nothing is stored
beside the chunks and nothing goes stale when a source is deleted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

_WORD = re.compile(r"\w\w+", re.UNICODE)
# Suffixes stripped so that "inspected", "inspection" and "inspects" meet: longest first, and
# only where at least three letters of stem remain. A light stemmer, not Porter's: enough for
# the inflections a question and a passage differ by, and no dependency.
_SUFFIXES = ("ations", "ation", "ments", "ment", "ings", "ing", "ions", "ion", "edly", "ies", "ed", "es", "ly", "s")


@dataclass(frozen=True)
class Hit:
    index: int  # position in the passages the index was built from
    score: float


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN  # type: ignore[import-untyped]

    return frozenset(STOPWORDS_EN)


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            return stem + "y" if suffix == "ies" else stem
    return word


def tokens(text: str) -> list[str]:
    stop = _stopwords()
    return [_stem(w) for w in _WORD.findall(text.casefold()) if w not in stop]


def searchable(text: str, heading: str | None = None) -> str:
    """What a passage is found by: its words and its section's heading path (a Markdown chunk's
    text does not repeat the heading it sits under)."""
    return f"{heading}\n{text}" if heading else text


class PassageIndex:
    """BM25 (Lucene's variant, bm25s's default) over passages' searchable text (`searchable`)."""

    def __init__(self, texts: Sequence[str]) -> None:
        import bm25s  # type: ignore[import-untyped]

        self._count = len(texts)
        self._bm25 = bm25s.BM25()
        if self._count:
            self._bm25.index([tokens(text) or ["\x00"] for text in texts], show_progress=False)

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """At most `k` passages sharing a word with the query, best first."""
        words = tokens(query)
        if not self._count or not words:
            return []
        documents, scores = self._bm25.retrieve([words], k=min(k, self._count), show_progress=False, n_threads=1)
        return [Hit(int(d), float(s)) for d, s in zip(documents[0], scores[0], strict=True) if s > 0]
