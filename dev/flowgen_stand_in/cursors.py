"""Server-side cursors: a query's results are computed at once (under the engine's lock) and
handed out in batches, as `find`/`aggregate` and then `getMore` ask for them."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

import bson
from bson.int64 import Int64
from bson.raw_bson import RawBSONDocument

FIRST_BATCH_DOCS = 101  # MongoDB's default first batch
MAX_BATCH_BYTES = 16 * 1024 * 1024  # MongoDB's cap on one reply's documents
IDLE_TIMEOUT_SECONDS = 600.0  # as MongoDB's cursorTimeoutMillis


class CursorNotFound(LookupError):
    pass


@dataclass
class _Cursor:
    namespace: str
    remaining: list[dict[str, Any]]
    used_at: float


class Cursors:
    """Not thread-safe: used under the engine's lock."""

    def __init__(self) -> None:
        self._open: dict[int, _Cursor] = {}
        self._ids = itertools.count(1)

    def open(
        self, namespace: str, docs: list[dict[str, Any]], batch_size: int | None, single_batch: bool = False
    ) -> dict[str, Any]:
        self._expire_idle()
        batch, rest = _take(docs, FIRST_BATCH_DOCS if batch_size is None else batch_size)
        cursor_id = 0
        if rest and not single_batch:
            cursor_id = next(self._ids)
            self._open[cursor_id] = _Cursor(namespace, rest, time.monotonic())
        return {"cursor": {"firstBatch": batch, "id": Int64(cursor_id), "ns": namespace}, "ok": 1.0}

    def get_more(self, cursor_id: int, batch_size: int | None) -> dict[str, Any]:
        cursor = self._open.get(cursor_id)
        if cursor is None:
            raise CursorNotFound(f"cursor id {cursor_id} not found")
        batch, cursor.remaining = _take(cursor.remaining, batch_size or len(cursor.remaining))
        cursor.used_at = time.monotonic()
        if not cursor.remaining:
            del self._open[cursor_id]
            cursor_id = 0
        return {"cursor": {"nextBatch": batch, "id": Int64(cursor_id), "ns": cursor.namespace}, "ok": 1.0}

    def kill(self, cursor_ids: list[int]) -> dict[str, Any]:
        killed = [i for i in cursor_ids if self._open.pop(int(i), None) is not None]
        not_found = [i for i in cursor_ids if i not in killed]
        return {"cursorsKilled": killed, "cursorsNotFound": not_found, "cursorsAlive": [], "cursorsUnknown": []}

    def _expire_idle(self) -> None:
        cutoff = time.monotonic() - IDLE_TIMEOUT_SECONDS
        for cursor_id in [i for i, c in self._open.items() if c.used_at < cutoff]:
            del self._open[cursor_id]


def _take(docs: list[dict[str, Any]], count: int) -> tuple[list[RawBSONDocument], list[dict[str, Any]]]:
    """Up to `count` documents, encoded once, within MAX_BATCH_BYTES (at least one)."""
    batch: list[RawBSONDocument] = []
    size = 0
    for doc in docs[:count]:
        raw = bson.encode(doc)
        if batch and size + len(raw) > MAX_BATCH_BYTES:
            break
        batch.append(RawBSONDocument(raw))
        size += len(raw)
    return batch, docs[len(batch) :]
