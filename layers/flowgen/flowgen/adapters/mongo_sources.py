"""SourceStore on MongoDB (issue 24): `sources` (one document per source, `_id` its id) and
`chunks` (`_id` `<sourceId>/<chunkId>`, so re-ingesting upserts the same documents).

An UPLOADING record carries `expiresAt` and a TTL index removes it a day after no file came;
claiming it unsets the field. A claim is one conditional `find_one_and_update` (UPLOADING, or
INGESTING under an expired lease), and finishing is conditioned on the claim's token."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.database import Database

from flowgen.adapters.mongo_store import _unavailable_on_outage
from flowgen.library import Source, SourceOutcome, SourceStatus, StoredChunk
from flowgen.ports import Claim
from flowgen.sources import Chunk


def _source(doc: dict[str, Any]) -> Source:
    doc["id"] = doc.pop("_id")
    return Source.model_validate(doc)


def _chunk(doc: dict[str, Any]) -> StoredChunk:
    doc.pop("_id")
    doc["id"] = doc.pop("chunkId")
    return StoredChunk.model_validate(doc)


class MongoSourceStore:
    def __init__(self, db: Database[dict[str, Any]]) -> None:
        self.sources = db["sources"]
        self.chunk_docs = db["chunks"]

    @_unavailable_on_outage
    def ensure_indexes(self) -> None:
        self.sources.create_index([("ownerId", ASCENDING), ("createdAt", DESCENDING)], name="owner_created")
        self.sources.create_index([("expiresAt", ASCENDING)], expireAfterSeconds=0, name="unfinished_upload_ttl")
        self.chunk_docs.create_index([("sourceId", ASCENDING), ("ordinal", ASCENDING)], name="source_order")

    @_unavailable_on_outage
    def insert_source(self, source: Source) -> None:
        doc = source.model_dump(by_alias=True, mode="python", exclude={"id"}, exclude_none=True)
        doc["_id"] = source.id
        self.sources.insert_one(doc)

    @_unavailable_on_outage
    def get_source(self, owner_id: str, source_id: str) -> Source | None:
        doc = self.sources.find_one({"_id": source_id, "ownerId": owner_id})
        return _source(doc) if doc else None

    @_unavailable_on_outage
    def find_source(self, source_id: str) -> Source | None:
        doc = self.sources.find_one({"_id": source_id})
        return _source(doc) if doc else None

    @_unavailable_on_outage
    def list_sources(self, owner_id: str) -> list[Source]:
        cursor = self.sources.find({"ownerId": owner_id}, sort=[("createdAt", DESCENDING), ("_id", ASCENDING)])
        return [_source(doc) for doc in cursor]

    @_unavailable_on_outage
    def stored_bytes(self, owner_id: str) -> int:
        total = {"$group": {"_id": None, "n": {"$sum": "$size"}}}
        rows = list(self.sources.aggregate([{"$match": {"ownerId": owner_id}}, total]))
        return int(rows[0]["n"]) if rows else 0

    @_unavailable_on_outage
    def claim_source(self, source_id: str, claim: Claim, now: datetime) -> Source | None:
        doc = self.sources.find_one_and_update(
            {
                "_id": source_id,
                "$or": [
                    {"status": SourceStatus.UPLOADING.value},
                    {"status": SourceStatus.INGESTING.value, "lease.expiresAt": {"$lt": now}},
                ],
            },
            {
                "$set": {
                    "status": SourceStatus.INGESTING.value,
                    "lease": {"token": claim.token, "expiresAt": claim.expires_at},
                    "updatedAt": now,
                },
                "$unset": {"expiresAt": ""},
                "$inc": {"attempts": 1},
            },
            return_document=ReturnDocument.AFTER,
        )
        return _source(doc) if doc else None

    @_unavailable_on_outage
    def finish_source(self, source_id: str, claim: Claim, update: SourceOutcome, now: datetime) -> bool:
        fields: dict[str, Any] = {"status": update.status.value, "updatedAt": now}
        if update.pages is not None:
            fields["pages"] = update.pages
        if update.chunk_count is not None:
            fields["chunkCount"] = update.chunk_count
        if update.error is not None:
            fields["error"] = update.error.model_dump(by_alias=True)
        result = self.sources.update_one(
            {"_id": source_id, "status": SourceStatus.INGESTING.value, "lease.token": claim.token},
            {"$set": fields, "$unset": {"lease": ""}},
        )
        return result.modified_count == 1

    @_unavailable_on_outage
    def put_chunks(self, owner_id: str, source_id: str, chunks: Sequence[Chunk]) -> None:
        writes = [
            UpdateOne(
                {"_id": f"{source_id}/{chunk.id}"},
                {
                    "$set": {
                        "sourceId": source_id,
                        "ownerId": owner_id,
                        "chunkId": chunk.id,
                        "ordinal": chunk.ordinal,
                        "text": chunk.text,
                        "page": chunk.page,
                        "heading": chunk.heading,
                    }
                },
                upsert=True,
            )
            for chunk in chunks
        ]
        for start in range(0, len(writes), 500):
            self.chunk_docs.bulk_write(writes[start : start + 500], ordered=False)
        self.chunk_docs.delete_many({"sourceId": source_id, "ordinal": {"$gte": len(chunks)}})

    @_unavailable_on_outage
    def chunks(self, owner_id: str, source_ids: Sequence[str]) -> list[StoredChunk]:
        order = {source_id: i for i, source_id in enumerate(source_ids)}
        docs = self.chunk_docs.find({"ownerId": owner_id, "sourceId": {"$in": list(source_ids)}})
        found = [_chunk(doc) for doc in docs]
        return sorted(found, key=lambda c: (order[c.source_id], c.ordinal))

    @_unavailable_on_outage
    def delete_source(self, owner_id: str, source_id: str) -> Source | None:
        doc = self.sources.find_one_and_delete({"_id": source_id, "ownerId": owner_id})
        if doc is None:
            return None
        self.chunk_docs.delete_many({"sourceId": source_id})
        return _source(doc)

    @_unavailable_on_outage
    def delete_chunks(self, source_id: str) -> None:
        self.chunk_docs.delete_many({"sourceId": source_id})
