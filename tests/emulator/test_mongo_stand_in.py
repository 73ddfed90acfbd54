"""The MongoDB stand-in (`flowgen_stand_in`) through real pymongo over the wire."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pymongo
import pytest
from pymongo import ASCENDING, DESCENDING, DeleteOne, InsertOne, ReturnDocument, UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure
from pymongo.monitoring import CommandFailedEvent, CommandListener, CommandStartedEvent, CommandSucceededEvent

from flowgen_stand_in import frames
from flowgen_stand_in.launcher import MongoStandIn
from tests.narrow import present


class _Succeeded(CommandListener):
    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: CommandSucceededEvent) -> None:
        self.names.append(event.command_name)

    def failed(self, event: CommandFailedEvent) -> None:
        pass


@pytest.fixture(scope="module")
def stand_in() -> Iterator[MongoStandIn]:
    server = MongoStandIn().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def scanning() -> Iterator[MongoStandIn]:
    """Every query scans, as mongomock does: the baseline."""
    server = MongoStandIn(scan=True).start()
    yield server
    server.stop()


@pytest.fixture
def db(stand_in: MongoStandIn) -> Iterator[Database[dict[str, Any]]]:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(stand_in.uri, tz_aware=True)
    name = f"t_{uuid.uuid4().hex[:8]}"
    yield client[name]
    client.drop_database(name)
    client.close()


def test_one_of_twenty_concurrent_claims_wins(stand_in: MongoStandIn) -> None:
    # separate connection pools
    clients: list[pymongo.MongoClient[dict[str, Any]]] = [pymongo.MongoClient(stand_in.uri) for _ in range(4)]
    lessons = [c.cas.lessons for c in clients]
    # big documents: copying one takes milliseconds, a window that a missing lock would show through
    blocks = [{"type": "markdown", "text": f"block {k}"} for k in range(5_000)]
    lessons[0].insert_many([{"_id": f"c/{i}", "status": "PENDING", "attempts": 0, "draft": blocks} for i in range(10)])

    def claim(worker: int, lesson_id: str, barrier: threading.Barrier, won: list[str]) -> None:
        barrier.wait()
        doc = lessons[worker % 4].find_one_and_update(
            {"_id": lesson_id, "status": "PENDING"},
            {"$set": {"status": "GENERATING", "lease": {"token": f"w{worker}"}}, "$inc": {"attempts": 1}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is not None:
            won.append(doc["lease"]["token"])

    for i in range(10):
        barrier = threading.Barrier(20)
        won: list[str] = []
        threads = [threading.Thread(target=claim, args=(w, f"c/{i}", barrier, won)) for w in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1, f"lesson c/{i}: {len(won)} claims won"
        stored = lessons[0].find_one({"_id": f"c/{i}"})
        assert stored is not None
        assert stored["lease"]["token"] == won[0] and stored["attempts"] == 1

    clients[0].drop_database("cas")
    for c in clients:
        c.close()


_CLAIMER = """
import sys, time, pymongo
uri, name, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
lessons = pymongo.MongoClient(uri).shared.lessons
lessons.find_one({})  # connected before the start line
time.sleep(max(0.0, start - time.time()))
claim = {"$set": {"status": "GENERATING", "by": name}}
print(sum(1 for i in range(200) if lessons.find_one_and_update({"_id": i, "status": "PENDING"}, claim)))
"""


def test_processes_share_one_server_and_each_lesson_is_claimed_once(stand_in: MongoStandIn) -> None:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(stand_in.uri)
    client.shared.lessons.insert_many([{"_id": i, "status": "PENDING"} for i in range(200)])
    start = str(time.time() + 3)  # all three race for the same lessons in the same order
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _CLAIMER, stand_in.uri, f"p{n}", start], stdout=subprocess.PIPE, text=True
        )
        for n in range(3)
    ]
    claimed = [int(w.communicate(timeout=60)[0]) for w in workers]
    assert sum(claimed) == 200  # as three Lambda instances would see one MongoDB
    assert client.shared.lessons.count_documents({"status": "GENERATING"}) == 200
    print(f"\nclaims won by each of three processes: {claimed}")
    client.drop_database("shared")
    client.close()


def test_a_unique_index_refuses_duplicates_from_insert_and_upsert(db: Database[dict[str, Any]]) -> None:
    courses = db.courses
    courses.create_index([("ownerId", ASCENDING), ("idempotencyKey", ASCENDING)], unique=True)
    courses.insert_one({"_id": "c1", "ownerId": "alice", "idempotencyKey": "k1"})

    with pytest.raises(DuplicateKeyError) as insert:
        courses.insert_one({"_id": "c2", "ownerId": "alice", "idempotencyKey": "k1"})
    assert present(insert.value.details)["keyValue"] == {"ownerId": "alice", "idempotencyKey": "k1"}
    assert "ownerId_1_idempotencyKey_1" in present(insert.value.details)["errmsg"]
    with pytest.raises(DuplicateKeyError):
        courses.update_one({"_id": "c3"}, {"$set": {"ownerId": "alice", "idempotencyKey": "k1"}}, upsert=True)
    with pytest.raises(DuplicateKeyError):
        courses.find_one_and_update({"_id": "c4"}, {"$set": {"ownerId": "alice", "idempotencyKey": "k1"}}, upsert=True)
    courses.update_one({"_id": "c1"}, {"$set": {"idempotencyKey": "k2"}})
    with pytest.raises(DuplicateKeyError):
        courses.insert_one({"_id": "c5", "ownerId": "alice", "idempotencyKey": "k2"})
    with pytest.raises(DuplicateKeyError):
        courses.insert_one({"_id": "c1"})  # the _id index

    assert courses.count_documents({}) == 1
    assert present(courses.find_one({"_id": "c1"}))["idempotencyKey"] == "k2"  # the update before the failed insert
    courses.insert_one({"_id": "c6", "ownerId": "bob", "idempotencyKey": "k1"})  # another owner: fine


def test_a_partial_unique_index_holds_among_the_documents_it_selects(db: Database[dict[str, Any]]) -> None:
    key, keyed = [("ownerId", ASCENDING), ("idempotencyKey", ASCENDING)], {"idempotencyKey": {"$exists": True}}
    db.courses.insert_many([{"ownerId": "a"}, {"ownerId": "a"}, {"ownerId": "a", "idempotencyKey": "k"}])
    for _ in range(2):  # each cold start ensures its indexes again: a no-op
        assert db.courses.create_index(key, unique=True, partialFilterExpression=keyed, name="backstop") == "backstop"
    with pytest.raises(DuplicateKeyError):
        db.courses.insert_one({"ownerId": "a", "idempotencyKey": "k"})
    db.courses.insert_one({"ownerId": "a"})  # outside the index
    with pytest.raises(OperationFailure):  # the same name with other options
        db.courses.create_index(key, unique=True, name="backstop")

    db.courses.insert_one({"ownerId": "b", "idempotencyKey": "k", "v": 1})
    db.courses.update_one({"ownerId": "b"}, {"$set": {"idempotencyKey": "j"}})
    db.courses.insert_one({"ownerId": "b", "idempotencyKey": "k"})  # freed by the update
    with pytest.raises(DuplicateKeyError):  # duplicates among the covered documents
        db.courses.create_index([("ownerId", ASCENDING)], unique=True, partialFilterExpression=keyed)
    assert sorted(db.courses.index_information()) == ["_id_", "backstop"]  # the failed index is not left behind


def test_bulk_upserts_report_what_they_did(db: Database[dict[str, Any]]) -> None:
    def outline(titles: int) -> list[UpdateOne]:
        return [
            UpdateOne(
                {"_id": f"c/{i}"},
                {"$set": {"title": f"lesson {i}"}, "$setOnInsert": {"status": "PENDING"}},
                upsert=True,
            )
            for i in range(titles)
        ]

    first = db.lessons.bulk_write(outline(3), ordered=False)
    assert (first.upserted_count, first.matched_count, first.modified_count) == (3, 0, 0)
    assert first.upserted_ids == {0: "c/0", 1: "c/1", 2: "c/2"}

    db.lessons.update_one({"_id": "c/1"}, {"$set": {"status": "GENERATED", "title": "lesson 1 (edited)"}})
    second = db.lessons.bulk_write(outline(4), ordered=False)
    assert (second.upserted_count, second.matched_count, second.modified_count) == (1, 3, 1)
    assert second.upserted_ids == {3: "c/3"}
    assert db.lessons.find_one({"_id": "c/1"}) == {"_id": "c/1", "title": "lesson 1", "status": "GENERATED"}

    mixed = db.lessons.bulk_write(
        [InsertOne({"_id": "x"}), DeleteOne({"_id": "c/0"}), UpdateOne({"_id": "x"}, {"$inc": {"n": 2}})]
    )
    assert (mixed.inserted_count, mixed.deleted_count, mixed.modified_count) == (1, 1, 1)

    with pytest.raises(BulkWriteError) as failed:
        db.lessons.bulk_write([InsertOne({"_id": "x"}), InsertOne({"_id": "y"})], ordered=False)
    assert failed.value.details["nInserted"] == 1
    assert [e["code"] for e in failed.value.details["writeErrors"]] == [11000]


def test_find_with_filter_sort_skip_limit_and_projection(db: Database[dict[str, Any]]) -> None:
    created = datetime(2026, 11, 28, 12, tzinfo=UTC)
    db.courses.insert_many(
        [
            {"_id": f"c{i:02}", "ownerId": "alice" if i % 2 else "bob", "createdAt": created + timedelta(minutes=i)}
            | {"modules": [{"id": "m1", "lessonIds": ["a", "b"]}], "lease": {"token": "t"}}
            for i in range(20)
        ]
    )
    page = list(
        db.courses.find(
            {"ownerId": "alice", "createdAt": {"$lt": created + timedelta(minutes=15)}},
            {"lease": 0, "modules": 0},
            sort=[("createdAt", DESCENDING), ("_id", DESCENDING)],
            skip=1,
            limit=3,
        )
    )
    assert [d["_id"] for d in page] == ["c11", "c09", "c07"]
    assert set(page[0]) == {"_id", "ownerId", "createdAt"}
    assert page[0]["createdAt"] == created + timedelta(minutes=11)  # datetimes round-trip, aware

    assert db.courses.find_one({"_id": "c03"}, {"ownerId": 1, "_id": 0}) == {"ownerId": "alice"}
    assert db.courses.count_documents({"ownerId": "bob"}) == 10
    assert db.courses.count_documents({"ownerId": "bob"}, skip=2, limit=5) == 5
    assert db.courses.estimated_document_count() == 20
    assert sorted(db.courses.distinct("ownerId")) == ["alice", "bob"]
    or_query = {"$or": [{"ownerId": "bob", "createdAt": {"$gte": created + timedelta(minutes=16)}}, {"_id": "c01"}]}
    assert sorted(d["_id"] for d in db.courses.find(or_query)) == ["c01", "c16", "c18"]


def test_array_and_positional_updates(db: Database[dict[str, Any]]) -> None:
    db.courses.insert_one({"_id": "c", "modules": [{"id": "m1", "done": 0}, {"id": "m2", "done": 0}], "tags": ["a"]})
    db.courses.update_one({"_id": "c", "modules.id": "m2"}, {"$inc": {"modules.$.done": 1}})
    after = db.courses.find_one_and_update(
        {"_id": "c", "modules.id": "m1"},
        {"$set": {"modules.$.title": "One"}, "$addToSet": {"tags": "b"}, "$push": {"log": 1}},
        return_document=ReturnDocument.AFTER,
    )
    assert after is not None
    assert after["modules"] == [{"id": "m1", "done": 0, "title": "One"}, {"id": "m2", "done": 1}]
    assert after["tags"] == ["a", "b"] and after["log"] == [1]
    db.courses.update_one({"_id": "c"}, {"$pull": {"tags": "a"}, "$unset": {"log": ""}})
    assert db.courses.find_one({"_id": "c"}, {"tags": 1, "log": 1}) == {"_id": "c", "tags": ["b"]}


def _parity_docs() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for i in range(300):
        kinds: list[Any] = [i % 7, i % 7, i % 7, i % 7, str(i % 7), str(i % 7), str(i % 7), float(i % 7)]
        kinds += [bool(i % 2), [i % 7, 99]]
        doc: dict[str, Any] = {"_id": i if i % 3 else f"s{i}", "k": None if i % 13 == 0 else kinds[i % 10], "n": i}
        if i % 11 == 0:
            del doc["k"]
        if i % 5 == 0:
            doc["nested"] = [{"v": "a"}, {"v": "b"}]
        elif i % 5 in (1, 2):
            doc["nested"] = {"v": "a" if i % 2 else "b"}
        docs.append(doc)
    return docs


_PARITY_QUERIES: list[dict[str, Any]] = [
    {"k": 3},
    {"k": "3"},
    {"k": 1},
    {"k": {"$in": [1, 2, "3", 99]}},
    {"k": {"$eq": 0}},
    {"k": 3, "n": {"$gt": 100}},
    {"$or": [{"k": 1}, {"k": "2"}]},
    {"$or": [{"k": 1}, {"n": 5}]},
    {"$and": [{"k": 4}, {"n": {"$lt": 200}}]},
    {"nested.v": "a"},
    {"nested.v": {"$in": ["b"]}},
    {"_id": {"$in": [1, 2, "s3", "s6", 7, 400]}},
    {"_id": "s9", "k": {"$exists": True}},
    {"_id": {"$in": [1, 2, 3, 4, 5, "s3", "s6"]}, "$or": [{"k": 3}, {"k": "2"}, {"n": 5}]},  # a claim's shape
    {"_id": 2.0},
]


def test_indexed_queries_return_what_a_scan_returns(stand_in: MongoStandIn, scanning: MongoStandIn) -> None:
    clients: list[pymongo.MongoClient[dict[str, Any]]] = [pymongo.MongoClient(s.uri) for s in (stand_in, scanning)]
    colls = [c.parity.items for c in clients]
    for coll in colls:
        coll.create_index([("k", ASCENDING), ("n", ASCENDING)])
        coll.create_index("nested.v")
        coll.insert_many(_parity_docs())

    def same(query: dict[str, Any]) -> list[Any]:
        indexed, scanned = ([d["_id"] for d in c.find(query)] for c in colls)
        assert indexed == scanned, query  # the same documents, in the same order
        return indexed

    assert all(same(q) for q in _PARITY_QUERIES[:-1])
    for coll in colls:  # writes move documents between hash buckets
        coll.update_many({"k": 3}, {"$set": {"k": "moved"}})
        coll.delete_many({"k": 1})
        coll.insert_one({"_id": "new", "k": 3})
        coll.update_one({"_id": 4}, {"$set": {"nested": {"v": "a"}}})
    assert same({"k": 3}) == ["new"] and len(same({"k": "moved"})) > 10
    for query in _PARITY_QUERIES:
        same(query)
    for client in clients:
        client.drop_database("parity")
        client.close()


def test_a_result_larger_than_one_batch_is_fetched_with_get_more(stand_in: MongoStandIn) -> None:
    listener = _Succeeded()
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(stand_in.uri, event_listeners=[listener])
    coll = client.batches.docs
    coll.insert_many([{"_id": i, "payload": "x" * 100} for i in range(1000)])

    assert [d["_id"] for d in coll.find({}, sort=[("_id", ASCENDING)], batch_size=150)] == list(range(1000))
    assert listener.names.count("getMore") == 6
    assert len(list(coll.find())) == 1000  # the default first batch (101), then the rest
    assert len(list(coll.aggregate([{"$match": {"_id": {"$gte": 500}}}], batchSize=10))) == 500

    cursor = coll.find({}, batch_size=10)
    next(cursor)
    cursor.close()
    assert "killCursors" in listener.names

    client.drop_database("batches")
    client.close()


def test_an_unknown_command_is_a_clear_error(db: Database[dict[str, Any]]) -> None:
    with pytest.raises(OperationFailure) as unknown:
        db.command("frobnicate")
    assert unknown.value.code == 59 and "frobnicate" in str(unknown.value)
    assert db.command("ping")["ok"] == 1.0
    db.command("create", "empty")
    assert "empty" in db.list_collection_names()
    with pytest.raises(OperationFailure) as exists:
        db.command("create", "empty")
    assert exists.value.code == 48


def test_data_survives_kill_9_and_restart(tmp_path: Path) -> None:
    server = MongoStandIn(tmp_path / "mongo").start()
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(server.uri, serverSelectionTimeoutMS=10_000)
    try:
        courses = client.flowgen.courses
        courses.create_index([("ownerId", ASCENDING), ("idempotencyKey", ASCENDING)], unique=True)
        courses.insert_many([{"_id": f"c{i}", "ownerId": "alice", "idempotencyKey": f"k{i}"} for i in range(50)])
        courses.delete_one({"_id": "c0"})
        courses.update_one({"_id": "c1"}, {"$set": {"status": "READY"}})
        client.scratch.things.insert_one({"_id": 1})
        client.drop_database("scratch")
        courses.find_one_and_update({"_id": "c2"}, {"$set": {"status": "GENERATING"}})  # right before the kill
        server.kill()

        server.start()  # same directory, same port: the client reconnects
        assert courses.count_documents({}) == 49
        assert courses.find_one({"_id": "c0"}) is None
        assert present(courses.find_one({"_id": "c1"}))["status"] == "READY"
        assert present(courses.find_one({"_id": "c2"}))["status"] == "GENERATING"
        assert "scratch" not in client.list_database_names()
        with pytest.raises(DuplicateKeyError):  # the unique index came back too
            courses.insert_one({"_id": "new", "ownerId": "alice", "idempotencyKey": "k5"})

        courses.update_one({"_id": "c3"}, {"$set": {"status": "FAILED"}})
        server.kill()
        with open(tmp_path / "mongo" / "journal.bson", "ab") as journal:  # a record torn by the kill
            journal.write(frames.encode([{"op": "put", "db": "flowgen", "c": "courses", "doc": {"_id": "c4"}}])[:20])
        server.start()
        assert present(courses.find_one({"_id": "c3"}))["status"] == "FAILED"
        assert courses.count_documents({"status": {"$exists": True}}) == 3

        server.stop()
        server.start()  # from the snapshot alone
        assert courses.count_documents({}) == 49
    finally:
        client.close()
        server.stop()


def _ops_per_second(op: Callable[[int], object], seconds: float = 1.0) -> float:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        op(count)
        count += 1
    return count / (time.perf_counter() - start)


def _lookup_rates(server: MongoStandIn) -> tuple[float, float, float]:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(server.uri)
    lessons = client.bench.lessons
    lessons.create_index([("courseId", ASCENDING), ("order", ASCENDING)])
    lessons.insert_many(
        [
            {"_id": f"c{i // 25}/{i % 25}", "courseId": f"c{i // 25}", "order": i % 25, "status": "PENDING"}
            for i in range(10_000)
        ]
    )

    def lesson_id(n: int) -> str:
        return f"c{n * 7919 % 400}/{n % 25}"

    finds = _ops_per_second(lambda n: lessons.find_one({"_id": lesson_id(n)}))
    claims = _ops_per_second(
        lambda n: lessons.find_one_and_update(
            {"_id": lesson_id(n), "status": "PENDING"}, {"$inc": {"attempts": 1}}, return_document=ReturnDocument.AFTER
        )
    )
    outlines = _ops_per_second(lambda n: list(lessons.find({"courseId": f"c{n % 400}"}, sort=[("order", 1)])))
    assert present(lessons.find_one({"_id": "c0/0"}))["attempts"] >= 1
    assert [d["order"] for d in lessons.find({"courseId": "c7"}, sort=[("order", 1)])] == list(range(25))
    client.drop_database("bench")
    client.close()
    return finds, claims, outlines


def test_lookups_do_not_scan_a_10000_document_collection(stand_in: MongoStandIn, scanning: MongoStandIn) -> None:
    scan = _lookup_rates(scanning)
    hashed = _lookup_rates(stand_in)
    print(
        "\n10,000 lessons, ops/s, scan -> hash: "
        f"find_one by _id {scan[0]:.0f} -> {hashed[0]:.0f}, "
        f"find_one_and_update by _id {scan[1]:.0f} -> {hashed[1]:.0f}, "
        f"a course's 25 lessons by courseId {scan[2]:.0f} -> {hashed[2]:.0f}"
    )
    assert all(h > 5 * s for h, s in zip(hashed, scan, strict=True))
