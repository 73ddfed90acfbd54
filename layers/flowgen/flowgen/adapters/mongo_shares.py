"""ShareStore on MongoDB: the `shares` collection, beside `courses` and `lessons`.

One document per shared course (`_id` its course id), so a course has one live link however many
ask at once: the first insert wins and the others read it. A viewer's token is looked up by its
SHA-256 through a unique index (`tokenHash`): one indexed read, whether the token is unknown or
was revoked (a revoked share is deleted, not flagged)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from flowgen.adapters.mongo_store import _unavailable_on_outage
from flowgen.records import Share


def _share(doc: dict[str, Any]) -> Share:
    doc["courseId"] = doc.pop("_id")
    return Share.model_validate(doc)


def _doc(share: Share) -> dict[str, Any]:
    doc = share.model_dump(by_alias=True, mode="python", exclude={"course_id"})
    doc["_id"] = share.course_id
    return doc


class MongoShareStore:
    def __init__(self, db: Database[dict[str, Any]]) -> None:
        self.shares = db["shares"]

    @_unavailable_on_outage
    def ensure_indexes(self) -> None:
        self.shares.create_index([("tokenHash", ASCENDING)], unique=True, name="token_hash_unique")

    @_unavailable_on_outage
    def create(self, share: Share) -> Share:
        for _ in range(3):
            try:
                self.shares.insert_one(_doc(share))
                return share
            except DuplicateKeyError:
                found = self.shares.find_one({"_id": share.course_id})
                if found is not None:
                    return _share(found)
                # revoked between the insert and the read: insert again
        raise RuntimeError(f"could not share course {share.course_id}: its link kept changing")

    @_unavailable_on_outage
    def replace(self, current: Share, new: Share) -> bool:
        fields = {k: v for k, v in _doc(new).items() if k != "_id"}
        result = self.shares.update_one({"_id": current.course_id, "tokenHash": current.token_hash}, {"$set": fields})
        return result.modified_count == 1

    @_unavailable_on_outage
    def get(self, owner_id: str, course_id: str) -> Share | None:
        doc = self.shares.find_one({"_id": course_id, "ownerId": owner_id})
        return _share(doc) if doc else None

    @_unavailable_on_outage
    def find(self, token_hash: str) -> Share | None:
        doc = self.shares.find_one({"tokenHash": token_hash})
        return _share(doc) if doc else None

    @_unavailable_on_outage
    def delete_course(self, owner_id: str, course_id: str, lesson_ids: Sequence[str] | None = None) -> None:
        if lesson_ids is None:  # a share is the whole course's: removing lessons leaves it
            self.shares.delete_one({"_id": course_id, "ownerId": owner_id})
