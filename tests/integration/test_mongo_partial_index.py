"""The stand-in keeps MongoDB's rules for a partial unique index (the Idempotency-Key backstop):
creating it again is a no-op, and it holds only among the documents its filter selects. Every
new function instance runs ensure_indexes at its cold start, over a collection that has data."""

from __future__ import annotations

from typing import Any

import pymongo
import pytest

KEY = [("ownerId", 1), ("idempotencyKey", 1)]
ONLY_KEYED = {"idempotencyKey": {"$exists": True}}


def test_a_partial_unique_index_over_existing_data(mongo_uri: tuple[str, str]) -> None:
    uri, db = mongo_uri
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(uri)
    courses = client[db]["courses"]
    courses.insert_many([{"ownerId": "a"}, {"ownerId": "a"}, {"ownerId": "a", "idempotencyKey": "k"}])
    for _ in range(2):  # a second cold start creates it again
        assert (
            courses.create_index(KEY, unique=True, partialFilterExpression=ONLY_KEYED) == "ownerId_1_idempotencyKey_1"
        )
    with pytest.raises(pymongo.errors.DuplicateKeyError):
        courses.insert_one({"ownerId": "a", "idempotencyKey": "k"})
    courses.insert_one({"ownerId": "a"})  # documents without a key are outside the index
    assert courses.count_documents({"ownerId": "a"}) == 4
