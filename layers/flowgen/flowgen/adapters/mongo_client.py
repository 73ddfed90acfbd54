"""Connects to MongoDB, or to the in-process stand-in for local runs and tests.

`MONGO_URI=mongomock://<name>` selects mongomock (a dev dependency, never in the layer):
one process-wide instance per name, so every function of the local stack shares it.
Real MongoDB applies each single-document update atomically; mongomock does not, so the
stand-in serialises calls with one lock to keep the compare-and-set claims honest.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

from pymongo import MongoClient
from pymongo.database import Database

STAND_IN_SCHEME = "mongomock://"


def connect(uri: str, db_name: str) -> Database:
    if uri.startswith(STAND_IN_SCHEME):
        return _stand_in(uri.removeprefix(STAND_IN_SCHEME) or "default")[db_name]
    # fail fast inside a Lambda's budget; options written in the URI take precedence
    defaults: dict[str, Any] = {"serverSelectionTimeoutMS": 3000, "connectTimeoutMS": 3000}
    options = {k: v for k, v in defaults.items() if k.lower() not in uri.lower()}
    client: MongoClient = MongoClient(uri, tz_aware=True, appname="flowgen", **options)
    return client[db_name]


@cache
def _stand_in(name: str) -> Any:
    import mongomock  # dev dependency: only the local stack and the tests take this path

    return _Serialised(mongomock.MongoClient(tz_aware=True), threading.RLock())


class _Serialised:
    """Wraps client, database and collection so each call runs under one lock."""

    def __init__(self, target: Any, lock: threading.RLock) -> None:
        self._target = target
        self._lock = lock

    def __getitem__(self, name: str) -> _Serialised:
        return _Serialised(self._target[name], self._lock)

    def bulk_write(self, requests: list[Any], ordered: bool = True) -> None:
        # mongomock's bulk_write predates pymongo 4.9's UpdateOne; replay the updates one by one
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
                # cursors are lazy: materialise them while the lock is held
                return list(result) if hasattr(result, "next") else result

        return locked
