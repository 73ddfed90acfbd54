"""Query planning for the stand-in: which documents a filter can match, without a scan.

mongomock scans every document for every query. Here a filter that pins `_id`, or the first
field of a declared index, to one or a few values (equality, `$eq`, `$in`; through `$and`
and `$or` too) gets its candidates from hash tables (a filter that pins `_id` from `_id` alone,
so a claim's `$or` on the status does not gather every PENDING lesson); mongomock's own matcher then decides
on each candidate as before, so results are the same as a scan's, in the same (natural)
order. A candidate set may be larger than the result, never smaller: documents whose
indexed value is an array, or of a type whose Python equality differs from MongoDB's, are
candidates for every value.

The hash indexes are kept lazily: a write marks the document stale; the next query that uses
the index re-reads the stale documents first.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

from bson import ObjectId

_ALWAYS = object()  # an array or an unindexable value: a candidate for any value
_MISSING = object()  # no such field: matches no indexable value

Key = Hashable  # how the store keys a document (see engine.store_key)


def indexable(value: Any) -> bool:
    """Types whose Python equality and hash agree with MongoDB's (True == 1 in Python only)."""
    return isinstance(value, str | ObjectId) or (isinstance(value, int) and not isinstance(value, bool))


def wanted_values(condition: Any) -> list[Any] | None:
    """The values an equality-like condition on one field accepts, or None."""
    if isinstance(condition, Mapping):
        if len(condition) != 1:
            return None
        ((operator, argument),) = condition.items()
        if operator == "$eq":
            values = [argument]
        elif operator == "$in" and isinstance(argument, list):
            values = list(argument)
        else:
            return None
    else:
        values = [condition]
    return values if all(indexable(v) for v in values) else None


class HashIndex:
    def __init__(self, field: str, docs: Iterable[tuple[Key, Mapping[str, Any]]]) -> None:
        self.field = field
        self._path = field.split(".")
        self._buckets: dict[Any, set[Key]] = {}
        self._always: set[Key] = set()
        self._entry: dict[Key, Any] = {}
        self.stale: set[Key] = set()
        for key, doc in docs:
            self._add(key, doc)

    def candidates(self, values: list[Any], lookup: Callable[[Key], Mapping[str, Any] | None]) -> set[Key]:
        self._refresh(lookup)
        found = set(self._always)
        for value in values:
            found.update(self._buckets.get(value, ()))
        return found

    def _refresh(self, lookup: Callable[[Key], Mapping[str, Any] | None]) -> None:
        stale, self.stale = self.stale, set()
        for key in stale:
            self._remove(key)
            doc = lookup(key)
            if doc is not None:
                self._add(key, doc)

    def _value(self, doc: Mapping[str, Any]) -> Any:
        value: Any = doc
        for part in self._path:
            if isinstance(value, list):
                return _ALWAYS
            if not isinstance(value, Mapping) or part not in value:
                return _MISSING
            value = value[part]
        return value if indexable(value) else _ALWAYS

    def _add(self, key: Key, doc: Mapping[str, Any]) -> None:
        value = self._entry[key] = self._value(doc)
        if value is _ALWAYS:
            self._always.add(key)
        elif value is not _MISSING:
            self._buckets.setdefault(value, set()).add(key)

    def _remove(self, key: Key) -> None:
        value = self._entry.pop(key, _MISSING)
        if value is _ALWAYS:
            self._always.discard(key)
        elif value is not _MISSING:
            bucket = self._buckets[value]
            bucket.discard(key)
            if not bucket:
                del self._buckets[value]


class Planner:
    """Candidate keys for a filter, from `_id` and the collection's hash indexes."""

    def __init__(
        self,
        id_keys: Callable[[list[Any]], set[Key]],
        index_for: Callable[[str], HashIndex | None],
        lookup: Callable[[Key], Mapping[str, Any] | None],
    ) -> None:
        self._id_keys = id_keys
        self._index_for = index_for
        self._lookup = lookup

    def candidates(self, query: Any) -> set[Key] | None:
        """None: no index narrows this filter down, scan."""
        if not isinstance(query, Mapping):
            return None
        if "_id" in query:  # unique: nothing narrows it further, so the other conditions are not looked up
            pinned = self._field("_id", query["_id"])
            if pinned is not None:
                return pinned
        return _smallest(self._condition(field, condition) for field, condition in query.items())

    def _condition(self, field: str, condition: Any) -> set[Key] | None:
        if field == "$and" and isinstance(condition, list):
            return _smallest(self.candidates(branch) for branch in condition)
        if field == "$or" and isinstance(condition, list):
            return self._any_of(condition)
        return None if field.startswith("$") else self._field(field, condition)

    def _any_of(self, branches: list[Any]) -> set[Key] | None:
        """Candidates for an `$or`, when every branch has some; else None (scan)."""
        found = [c for c in (self.candidates(branch) for branch in branches) if c is not None]
        return set().union(*found) if branches and len(found) == len(branches) else None

    def _field(self, field: str, condition: Any) -> set[Key] | None:
        values = wanted_values(condition)
        if values is None:
            return None
        if field == "_id":
            return self._id_keys(values)
        index = self._index_for(field)
        return index.candidates(values, self._lookup) if index else None


def _smallest(candidate_sets: Iterable[set[Key] | None]) -> set[Key] | None:
    """Conditions that must all hold: any of their candidate sets will do; the smallest is cheapest."""
    found = [c for c in candidate_sets if c is not None]
    return min(found, key=len) if found else None
