"""The MongoDB stand-in's query planner (dev/flowgen_stand_in/indexes.py): a filter that
pins `_id` is looked up by `_id` alone (issue 13: a claim's `$or` on the status gathered every
PENDING lesson, 10,000 behind a deep backlog, on each claim)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowgen_stand_in.indexes import HashIndex, Planner

CLAIMABLE: dict[str, Any] = {"$or": [{"status": "PENDING"}, {"status": "GENERATING", "lease.expiresAt": {"$lt": 1}}]}


def _planner(docs: dict[str, Mapping[str, Any]], asked: list[str]) -> Planner:
    index = HashIndex("status", docs.items())

    def index_for(field: str) -> HashIndex | None:
        asked.append(field)
        return index if field == "status" else None

    return Planner(lambda ids: {i for i in ids if i in docs}, index_for, lambda key: docs.get(str(key)))


def test_a_claim_is_planned_from_its_id_alone() -> None:
    docs: dict[str, Mapping[str, Any]] = {f"c{i}/m01-l01": {"status": "PENDING"} for i in range(10_000)}
    asked: list[str] = []
    planner = _planner(docs, asked)
    assert planner.candidates({"_id": "c7/m01-l01", **CLAIMABLE}) == {"c7/m01-l01"}
    assert planner.candidates({"_id": {"$in": ["c1/m01-l01", "gone"]}, "status": "PENDING"}) == {"c1/m01-l01"}
    assert asked == []  # the status index was not consulted


def test_without_an_id_the_status_index_still_narrows() -> None:
    docs: dict[str, Mapping[str, Any]] = {"a": {"status": "PENDING"}, "b": {"status": "GENERATED"}}
    asked: list[str] = []
    assert _planner(docs, asked).candidates(CLAIMABLE) == {"a"}
    assert set(asked) == {"status"}
    assert _planner(docs, []).candidates({"_id": {"$gt": "a"}, "status": "GENERATED"}) == {"b"}  # no pin: status
