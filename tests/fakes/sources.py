"""In-memory SourceStore and SourceObjects with the adapters' semantics (issue 24):
tests/unit/test_library.py holds the store and MongoSourceStore to one contract."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from flowgen.errors import DependencyUnavailable
from flowgen.library import FileTooLarge, Source, SourceOutcome, SourceStatus, StoredChunk
from flowgen.ports import Claim
from flowgen.records import Lease
from flowgen.sources import Chunk


class MemorySourceStore:
    def __init__(self) -> None:
        self.sources: dict[str, Source] = {}
        self.chunk_rows: dict[str, list[StoredChunk]] = {}
        self.lock = threading.RLock()
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise DependencyUnavailable("mongo")

    def insert_source(self, source: Source) -> None:
        with self.lock:
            self._check()
            self.sources[source.id] = source.model_copy(deep=True)

    def get_source(self, owner_id: str, source_id: str) -> Source | None:
        with self.lock:
            self._check()
            found = self.sources.get(source_id)
            return found.model_copy(deep=True) if found and found.owner_id == owner_id else None

    def find_source(self, source_id: str) -> Source | None:
        with self.lock:
            self._check()
            found = self.sources.get(source_id)
            return found.model_copy(deep=True) if found else None

    def list_sources(self, owner_id: str) -> list[Source]:
        with self.lock:
            self._check()
            mine = [s.model_copy(deep=True) for s in self.sources.values() if s.owner_id == owner_id]
            return sorted(sorted(mine, key=lambda s: s.id), key=lambda s: s.created_at, reverse=True)

    def stored_bytes(self, owner_id: str) -> int:
        with self.lock:
            self._check()
            return sum(s.size for s in self.sources.values() if s.owner_id == owner_id)

    def claim_source(self, source_id: str, claim: Claim, now: datetime) -> Source | None:
        with self.lock:
            self._check()
            source = self.sources.get(source_id)
            if source is None:
                return None
            expired = source.lease is not None and source.lease.expires_at < now
            if not (source.status is SourceStatus.UPLOADING or (source.status is SourceStatus.INGESTING and expired)):
                return None
            updated = source.model_copy(
                update={
                    "status": SourceStatus.INGESTING,
                    "lease": Lease(token=claim.token, expires_at=claim.expires_at),
                    "attempts": source.attempts + 1,
                    "updated_at": now,
                    "expires_at": None,
                }
            )
            self.sources[source_id] = updated
            return updated.model_copy(deep=True)

    def finish_source(self, source_id: str, claim: Claim, update: SourceOutcome, now: datetime) -> bool:
        with self.lock:
            self._check()
            source = self.sources.get(source_id)
            if (
                source is None
                or source.status is not SourceStatus.INGESTING
                or source.lease is None
                or source.lease.token != claim.token
            ):
                return False
            changes: dict[str, object] = {"status": update.status, "lease": None, "updated_at": now}
            if update.pages is not None:
                changes["pages"] = update.pages
            if update.chunk_count is not None:
                changes["chunk_count"] = update.chunk_count
            if update.error is not None:
                changes["error"] = update.error
            self.sources[source_id] = source.model_copy(update=changes)
            return True

    def put_chunks(self, owner_id: str, source_id: str, chunks: Sequence[Chunk]) -> None:
        with self.lock:
            self._check()
            self.chunk_rows[source_id] = [
                StoredChunk(
                    source_id=source_id,
                    owner_id=owner_id,
                    id=c.id,
                    ordinal=c.ordinal,
                    text=c.text,
                    page=c.page,
                    heading=c.heading,
                )
                for c in chunks
            ]

    def chunks(self, owner_id: str, source_ids: Sequence[str]) -> list[StoredChunk]:
        with self.lock:
            self._check()
            return [
                c.model_copy()
                for source_id in source_ids
                for c in sorted(self.chunk_rows.get(source_id, []), key=lambda c: c.ordinal)
                if c.owner_id == owner_id
            ]

    def delete_source(self, owner_id: str, source_id: str) -> Source | None:
        with self.lock:
            self._check()
            source = self.sources.get(source_id)
            if source is None or source.owner_id != owner_id:
                return None
            del self.sources[source_id]
            self.chunk_rows.pop(source_id, None)
            return source

    def delete_chunks(self, source_id: str) -> None:
        with self.lock:
            self._check()
            self.chunk_rows.pop(source_id, None)


class MemoryObjects:
    """A bucket: forms handed out are recorded; `put` stands for the browser's upload."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.forms: list[tuple[str, str, int, int]] = []
        self.reads = 0

    def upload_form(self, key: str, content_type: str, size: int, expires_in: int) -> tuple[str, dict[str, str]]:
        self.forms.append((key, content_type, size, expires_in))
        return "https://bucket.example/", {"key": key, "Content-Type": content_type}

    def put(self, key: str, data: bytes) -> None:
        self.objects[key] = data

    def read(self, key: str, max_bytes: int) -> bytes | None:
        self.reads += 1
        data = self.objects.get(key)
        if data is not None and len(data) > max_bytes:
            raise FileTooLarge(key)
        return data

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)
