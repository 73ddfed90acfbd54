"""mongomock behind the pymongo interface the store uses, for unit tests that run without a
socket. (The local stack and the integration tests use the wire-protocol stand-in instead.)

Real MongoDB applies each single-document update atomically; mongomock does not, so every call
runs under one lock to keep compare-and-set claims honest. Cursors are materialised under the
lock, and `bulk_write` is replayed as single updates (mongomock's predates pymongo 4.9's UpdateOne).
"""

from __future__ import annotations

import threading
from typing import Any

import mongomock


def mongomock_database(name: str = "flowgen") -> Any:
    return _Serialised(mongomock.MongoClient(tz_aware=True), threading.RLock())[name]


class _Serialised:
    def __init__(self, target: Any, lock: threading.RLock) -> None:
        self._target = target
        self._lock = lock

    def __getitem__(self, name: str) -> _Serialised:
        return _Serialised(self._target[name], self._lock)

    def bulk_write(self, requests: list[Any], ordered: bool = True) -> None:
        with self._lock:
            for op in requests:
                self._target.update_one(op._filter, op._doc, upsert=bool(op._upsert))

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                result = attr(*args, **kwargs)
                return list(result) if hasattr(result, "next") else result

        return locked
