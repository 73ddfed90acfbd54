"""An in-memory ShareStore with the MongoDB adapter's semantics: one share per course (the first
create wins), a unique token hash, a replace conditioned on the current hash, revoking deletes.
tests/unit/test_sharing.py holds both to the same contract."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from flowgen.errors import DependencyUnavailable
from flowgen.records import Share


class MemoryShareStore:
    def __init__(self) -> None:
        self.shares: dict[str, Share] = {}  # by course id
        self.lock = threading.RLock()
        self.down = False
        self.lookups = 0  # reads by token hash (a viewer's only read of this store)

    def _check(self) -> None:
        if self.down:
            raise DependencyUnavailable("mongo")

    def create(self, share: Share) -> Share:
        with self.lock:
            self._check()
            return self.shares.setdefault(share.course_id, share.model_copy())

    def replace(self, current: Share, new: Share) -> bool:
        with self.lock:
            self._check()
            live = self.shares.get(current.course_id)
            if live is None or live.token_hash != current.token_hash:
                return False
            self.shares[current.course_id] = new.model_copy()
            return True

    def get(self, owner_id: str, course_id: str) -> Share | None:
        with self.lock:
            self._check()
            share = self.shares.get(course_id)
            return share if share is not None and share.owner_id == owner_id else None

    def find(self, token_hash: str) -> Share | None:
        with self.lock:
            self._check()
            self.lookups += 1
            return next((s for s in self.shares.values() if s.token_hash == token_hash), None)

    def delete_course(self, owner_id: str, course_id: str, lesson_ids: Sequence[str] | None = None) -> None:
        with self.lock:
            self._check()
            share = self.shares.get(course_id)
            if lesson_ids is None and share is not None and share.owner_id == owner_id:
                del self.shares[course_id]
