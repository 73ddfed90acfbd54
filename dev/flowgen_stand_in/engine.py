# mypy: disallow-untyped-calls=False
# (mongomock has no types; this package is its only user)
"""The data behind the wire: mongomock, with what the stand-in adds to it.

- Change tracking: every document a command inserts, updates (mongomock updates the stored
  dict in place) or deletes is remembered, so its after-image can be journaled.
- Hash lookups instead of a scan of the collection, for filters that pin `_id` or the first
  field of a declared index (see `flowgen_stand_in.indexes`).
- Unique indexes as MongoDB keeps them: a violation says which index and key (E11000); a
  sparse or partial index holds only among the documents it covers; creating an identical
  index again is a no-op (every function instance ensures its indexes at cold start).

Nothing here is thread-safe: the server runs every command under `Engine.lock`, which is also
what makes each single-document update atomic, as in MongoDB.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import Any

import mongomock
from mongomock import helpers
from mongomock.collection import Collection
from mongomock.database import Database
from mongomock.filtering import filter_applies
from mongomock.store import CollectionStore, DatabaseStore, ServerStore
from pymongo.errors import DuplicateKeyError, InvalidName, OperationFailure

from flowgen_stand_in.indexes import HashIndex, Planner

SERVER_VERSION = "7.0.0"
Record = dict[str, Any]  # a journal record: see `flowgen_stand_in.journal`


def store_key(doc_id: Any) -> Hashable:
    """How mongomock keys a document in its store."""
    return helpers.hashdict(doc_id) if isinstance(doc_id, dict) else doc_id


class _TrackedCollectionStore(CollectionStore):
    def __init__(self, db: str, name: str, changed: set[_TrackedCollectionStore]) -> None:
        super().__init__(name)
        self.db = db
        self.dirty: dict[Hashable, None] = {}  # keys written since the last journal append
        self._changed = changed
        self._hash_indexes: dict[str, HashIndex] = {}
        self._position: dict[Hashable, int] = {}  # natural order, for candidates found by hash
        self._positions = itertools.count()

    def mark(self, key: Hashable) -> None:
        self.dirty[key] = None
        self._changed.add(self)
        for index in self._hash_indexes.values():
            index.stale.add(key)

    def __setitem__(self, key: Hashable, val: Any) -> None:
        if key not in self._documents:
            self._position[key] = next(self._positions)
        super().__setitem__(key, val)
        self.mark(key)

    def __delitem__(self, key: Hashable) -> None:
        super().__delitem__(key)
        self._position.pop(key, None)
        self.mark(key)

    def drop(self) -> None:
        super().drop()
        self._hash_indexes.clear()
        self._position.clear()

    def lookup(self, key: Hashable) -> dict[str, Any] | None:
        try:
            return self[key]  # type: ignore[no-any-return]
        except KeyError:
            return None

    def raw(self, key: Hashable) -> dict[str, Any] | None:
        return self._documents.get(key)

    def present(self, keys: Iterable[Hashable]) -> set[Hashable]:
        return {k for k in keys if k in self._documents}

    def hash_index(self, field: str) -> HashIndex | None:
        """The hash index on `field`, built on first use, if a declared index starts with it."""
        index = self._hash_indexes.get(field)
        if index is None and any(spec["key"][0][0] == field for spec in self.indexes.values()):
            index = self._hash_indexes[field] = HashIndex(field, self._documents.items())
        return index

    def in_natural_order(self, keys: Iterable[Hashable]) -> list[dict[str, Any]]:
        ordered = sorted(self.present(keys), key=self._position.__getitem__)
        return [self._documents[k] for k in ordered]


class _TrackedDatabaseStore(DatabaseStore):
    def __init__(self, name: str, changed: set[_TrackedCollectionStore]) -> None:
        super().__init__()
        self.name = name
        self._changed = changed

    def __getitem__(self, col_name: str) -> _TrackedCollectionStore:
        col = self._collections.get(col_name)
        if col is None:
            col = self._collections[col_name] = _TrackedCollectionStore(self.name, col_name, self._changed)
        return col

    def collections(self) -> dict[str, _TrackedCollectionStore]:
        return self._collections


class _TrackedServerStore(ServerStore):
    def __init__(self) -> None:
        super().__init__()
        self.changed: set[_TrackedCollectionStore] = set()

    def __getitem__(self, db_name: str) -> _TrackedDatabaseStore:
        db = self._databases.get(db_name)
        if db is None:
            db = self._databases[db_name] = _TrackedDatabaseStore(db_name, self.changed)
        return db

    def databases(self) -> dict[str, _TrackedDatabaseStore]:
        return self._databases


class TrackedCollection(Collection):
    """A mongomock collection that reports in-place updates and uses hash indexes."""

    use_indexes = True

    @property
    def store(self) -> _TrackedCollectionStore:
        return self._store  # type: ignore[no-any-return]

    def create_index(self, key_or_list: Any, cache_for: int = 300, session: Any = None, **kwargs: Any) -> str:
        """As MongoDB: creating an identical index again is a no-op (every function instance
        ensures its indexes at cold start), and a unique index must hold among the documents it
        covers: with a partial filter, only those the filter selects (mongomock checks all)."""
        unique = bool(kwargs.pop("unique", False))
        name = str(kwargs.pop("name", None) or helpers.gen_index_name(helpers.create_index_list(key_or_list)))
        existing = self.store.indexes.pop(name, None)
        try:  # mongomock builds the index's description; uniqueness is checked below
            super().create_index(key_or_list, cache_for, session, name=name, **kwargs)
        finally:
            built = self.store.indexes.pop(name, None)
            self.store._ttl_indexes.pop(name, None)  # store.create_index below puts it back
            if existing is not None:
                self.store.create_index(name, existing)
        index = {**built, "unique": True} if unique else built
        if existing is not None and existing != index:
            raise OperationFailure(f"An existing index has the same name ({name}) but different options", 86)
        clash = self._first_clash(name, index) if existing is None and unique else None
        if clash is not None:
            raise clash
        self.store.create_index(name, index)
        return name

    def _first_clash(self, name: str, index: dict[str, Any]) -> DuplicateKeyError | None:
        seen: set[Any] = set()
        for doc in self._iter_documents(index.get("partialFilterExpression") or {}):
            values = _key_values(index, doc)
            if not _covers(index, values, doc):
                continue
            marker = tuple(_hashable(v) for v in values.values())
            if marker in seen:
                return self._duplicate(name, index["key"], values)
            seen.add(marker)
        return None

    def _iter_documents(self, filter: Any) -> Iterator[dict[str, Any]]:
        store = self.store
        planner = Planner(lambda ids: store.present(store_key(i) for i in ids), store.hash_index, store.raw)
        keys = planner.candidates(filter) if self.use_indexes else None
        if keys is None or len(keys) > len(store._documents) // 2:  # a scan is cheaper than sorting most keys
            return super()._iter_documents(filter)  # type: ignore[no-any-return]
        store._remove_expired_documents()  # as a scan would (TTL indexes)
        found = store.in_natural_order(keys)
        if not found:
            filter_applies(filter, {})  # still reject an invalid filter, as a scan would
        return (doc for doc in found if filter_applies(filter, doc))

    def _apply_update_document(self, existing_document: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        self.store.mark(store_key(existing_document.get("_id")))
        return super()._apply_update_document(existing_document, *args, **kwargs)

    def _apply_update_pipeline(self, existing_document: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        self.store.mark(store_key(existing_document.get("_id")))
        return super()._apply_update_pipeline(existing_document, *args, **kwargs)

    def _insert(self, data: Any, session: Any = None, ordered: bool = True) -> Any:
        if isinstance(data, Mapping) and "_id" in data and store_key(data["_id"]) in self.store:
            raise self._duplicate("_id_", [("_id", 1)], {"_id": data["_id"]})
        return super()._insert(data, session, ordered)

    def _ensure_uniques(self, new_data: dict[str, Any]) -> None:
        """mongomock's check after a write (new_data is already stored), with MongoDB's details."""
        for name, index in self.store.indexes.items():
            if not index.get("unique"):
                continue
            values = _key_values(index, new_data)
            if not _covers(index, values, new_data):
                continue
            partial = index.get("partialFilterExpression")
            query = values if partial is None else {"$and": [partial, values]}
            if sum(1 for _ in self._iter_documents(query)) > 1:
                raise self._duplicate(name, index["key"], values)

    def _duplicate(self, index: str, key: Iterable[tuple[str, Any]], values: dict[str, Any]) -> DuplicateKeyError:
        shown = ", ".join(f"{k}: {v!r}" for k, v in values.items())
        message = f"E11000 duplicate key error collection: {self.full_name} index: {index} dup key: {{ {shown} }}"
        return DuplicateKeyError(message, 11000, {"keyPattern": dict(key), "keyValue": values, "index": index})


class Engine:
    """All databases, and the changes commands made since the journal last took them."""

    def __init__(self, *, use_indexes: bool = True) -> None:
        self.lock = threading.Lock()
        self.use_indexes = use_indexes
        self.reset()

    def reset(self) -> None:
        """Forgets every database: the state before anything was loaded (see `Journal.reload`)."""
        self._store = _TrackedServerStore()
        client: Any = mongomock.MongoClient(_store=self._store)
        client._server_version = SERVER_VERSION
        self._client = client
        self._collections: dict[tuple[str, str], TrackedCollection] = {}
        self._structural: list[Record] = []

    def database(self, db: str) -> Database:
        return self._client[db]  # type: ignore[no-any-return]

    def collection(self, db: str, name: Any) -> TrackedCollection:
        if not isinstance(name, str):
            raise InvalidName(f"collection name has invalid type {type(name).__name__}")
        coll = self._collections.get((db, name))
        if coll is None:
            database = self.database(db)
            database._ensure_valid_collection_name(name)
            coll = TrackedCollection(database, name, _db_store=database._store)
            coll.use_indexes = self.use_indexes
            self._collections[(db, name)] = coll
        return coll

    def collection_names(self, db: str) -> list[str]:
        return list(self._store[db].list_created_collection_names())

    def database_names(self) -> list[str]:
        return list(self._store.list_created_database_names())

    def exists(self, db: str, name: str) -> bool:
        return bool(self._store[db][name].is_created)

    # ---- structural changes, journaled as they happen ------------------------------

    def create_collection(self, db: str, name: str) -> None:
        self.collection(db, name).store.create()
        self.indexes_changed(db, name)

    def indexes_changed(self, db: str, name: str) -> None:
        indexes = self._store[db][name].indexes
        self._structural.append({"op": "coll", "db": db, "c": name, "indexes": _index_records(indexes)})

    def drop_collection(self, db: str, name: str) -> int:
        store = self._store[db][name]
        count = len(store.indexes) + 1
        store.drop()
        store.dirty.clear()
        self._structural.append({"op": "drop", "db": db, "c": name})
        return count

    def drop_database(self, db: str) -> None:
        dropped = self._store.databases().pop(db, None)
        self._client._database_accesses.pop(db, None)
        for key in [k for k in self._collections if k[0] == db]:
            del self._collections[key]
        if dropped is not None:
            self._store.changed.difference_update(dropped.collections().values())
        self._structural.append({"op": "dropdb", "db": db})

    # ---- journal ----------------------------------------------------------------------

    def take_changes(self) -> list[Record]:
        """Records of what changed since the last call: structural ones first, then the
        after-image (or deletion) of every document written."""
        records, self._structural = self._structural, []
        for store in list(self._store.changed):
            for key in list(store.dirty):
                doc = store.lookup(key)
                if doc is None:
                    records.append({"op": "del", "db": store.db, "c": store.name, "id": key})
                else:
                    records.append({"op": "put", "db": store.db, "c": store.name, "doc": doc})
            store.dirty.clear()
        self._store.changed.clear()
        return records

    def dump(self) -> Iterator[Record]:
        """Every collection and document, as records that `apply` turns back into this state."""
        for db_name, db in self._store.databases().items():
            for name, store in db.collections().items():
                if not store.is_created:
                    continue
                yield {"op": "coll", "db": db_name, "c": name, "indexes": _index_records(store.indexes)}
                for doc in store.documents:
                    yield {"op": "put", "db": db_name, "c": name, "doc": doc}

    def apply(self, record: Record) -> None:
        """Replays one journal or snapshot record (no index checks: the data was valid)."""
        op, db = record["op"], record["db"]
        if op == "dropdb":
            self.drop_database(db)
        elif op == "drop":
            self.drop_collection(db, record["c"])
        elif op == "coll":
            store = self._store[db][record["c"]]
            store.create()
            store.indexes = {}
            for index in record["indexes"]:
                spec = dict(index["spec"], key=[tuple(pair) for pair in index["spec"]["key"]])
                store.create_index(index["name"], spec)
        elif op == "put":
            self._store[db][record["c"]][store_key(record["doc"]["_id"])] = record["doc"]
        elif op == "del":
            store = self._store[db][record["c"]]
            key = store_key(record["id"])
            if key in store:
                del store[key]
        else:
            raise ValueError(f"unknown journal record {op!r}")


def _index_records(indexes: dict[str, dict[str, Any]]) -> list[Record]:
    return [{"name": name, "spec": spec} for name, spec in indexes.items()]


def _key_values(index: dict[str, Any], doc: Mapping[str, Any]) -> dict[str, Any]:
    """The document's values for the index's keys; a missing field counts as null, as in MongoDB."""
    values: dict[str, Any] = {}
    for key, _direction in index["key"]:
        try:
            values[key] = helpers.get_value_by_dot(doc, key)
        except KeyError:
            values[key] = None
    return values


def _covers(index: dict[str, Any], values: dict[str, Any], doc: Mapping[str, Any]) -> bool:
    """Whether the index holds this document: a sparse one skips it without the keys, a partial
    one unless its filter selects it."""
    if index.get("sparse") and all(v is None for v in values.values()):
        return False
    partial = index.get("partialFilterExpression")
    return partial is None or bool(filter_applies(partial, doc))


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value
