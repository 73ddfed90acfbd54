"""The stand-in's journal never lies (issue 28): a damaged record stops the start instead of
silently losing every write after it, a torn end is dropped and said, a failed append (a full
disk) leaves the journal and the data as they were and answers an error, and data directories
from before checksums still load. See docs/stand-in-journal.md."""

from __future__ import annotations

import resource
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import bson
import pymongo
import pytest
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError, OperationFailure

from flowgen_ops import cli
from flowgen_stand_in import frames
from flowgen_stand_in.commands import Commands
from flowgen_stand_in.engine import Engine
from flowgen_stand_in.journal import Disk, Journal, JournalDamaged, read_journal
from flowgen_stand_in.launcher import MongoStandIn, StandInFailed
from tests.narrow import present

Client = pymongo.MongoClient[dict[str, Any]]
OUT_OF_DISK_SPACE = 14031


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "mongo"


@pytest.fixture
def server(data_dir: Path) -> Iterator[MongoStandIn]:
    stand_in = MongoStandIn(data_dir, test_commands=True)
    yield stand_in
    stand_in.stop()


def _client(server: MongoStandIn) -> Client:
    return pymongo.MongoClient(server.uri, serverSelectionTimeoutMS=10_000)  # retryable writes on, as the app's


def _ids(client: Client) -> set[str]:
    return {doc["_id"] for doc in client.flowgen.courses.find({}, {"_id": 1})}


def _stored_ids(engine: Engine) -> list[Any]:
    reply = Commands(engine).run("flowgen", {"find": "courses", "projection": {"_id": 1}, "batchSize": 1000})
    return [doc["_id"] for doc in reply["cursor"]["firstBatch"]]


def _journal_frames(data: bytes) -> list[frames.Frame]:
    scan = frames.scan(data, frames.HEADER)
    assert not scan.gaps
    return scan.frames


# ---- (1) damage in the middle: refuse, change nothing; repair keeps every other record -----


def test_a_flipped_byte_in_the_middle_stops_the_start_and_repair_keeps_every_other_record(
    server: MongoStandIn, data_dir: Path
) -> None:
    server.start()
    client = _client(server)
    try:
        for i in range(40):  # one command, one frame each
            client.flowgen.courses.insert_one({"_id": f"c{i:02}", "title": f"course {i}", "body": "x" * 200})
        server.kill()
        journal = data_dir / "journal.bson"
        written = journal.read_bytes()
        flipped = len(written) // 2
        damaged = bytearray(written)
        damaged[flipped] ^= 0x01
        journal.write_bytes(damaged)
        before = {p.name: p.read_bytes() for p in data_dir.iterdir()}

        with pytest.raises(StandInFailed, match=r"journal\.bson is damaged at byte \d+") as refused:
            server.start()

        damaged_frame = next(f for f in _journal_frames(written) if f.offset <= flipped < f.end)
        lost = damaged_frame.records[0]["doc"]["_id"]
        assert f"{journal} is damaged at byte {damaged_frame.offset}" in str(refused.value)
        assert "repair" in str(refused.value)
        assert {p.name: p.read_bytes() for p in data_dir.iterdir()} == before  # untouched: no compaction

        repaired = subprocess.run(
            [sys.executable, "-m", "flowgen_stand_in", "repair", str(data_dir)],
            capture_output=True,
            text=True,
            check=True,
        )
        backups = list(data_dir.glob("journal.bson.bak-*"))
        assert len(backups) == 1 and backups[0].read_bytes() == bytes(damaged)
        assert f"kept 39 records; the damaged file is in {backups[0]}" in repaired.stdout
        assert f"at byte {damaged_frame.offset}" in repaired.stdout

        server.start()
        assert _ids(client) == {f"c{i:02}" for i in range(40)} - {lost}  # before and after the damaged one
        assert present(client.flowgen.courses.find_one({"_id": "c39"}))["title"] == "course 39"
    finally:
        client.close()


def test_flowgen_repair_journal_repairs_the_stacks_data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mongo = tmp_path / "data" / "mongo"  # the stack's layout: --data-dir holds mongo/ and redis/
    journal = Journal(mongo)
    journal.open(Engine())
    engine = Engine()
    for i in range(5):
        journal.append([{"op": "put", "db": "flowgen", "c": "courses", "doc": {"_id": f"c{i}"}}], engine)
    journal.close()
    data = bytearray((mongo / "journal.bson").read_bytes())
    second = _journal_frames(bytes(data))[1]
    data[second.offset] ^= 0xFF  # its marker
    (mongo / "journal.bson").write_bytes(data)

    assert cli.main(["repair-journal", "--data-dir", str(tmp_path / "data")]) == 0

    out = capsys.readouterr().out
    assert f"dropped {second.end - second.offset} bytes at byte {second.offset}: no frame marker" in out
    reopened, engine = Journal(mongo), Engine()
    assert reopened.open(engine) == 4
    reopened.close()
    assert _stored_ids(engine) == ["c0", "c2", "c3", "c4"]


def test_no_flipped_byte_is_ever_read_as_valid_and_repair_keeps_every_undamaged_frame() -> None:
    records = [[{"op": "put", "db": "d", "c": "c", "doc": {"_id": i, "v": "v" * i}}] for i in range(6)]
    data = frames.HEADER + b"".join(frames.encode(r) for r in records)
    framed = _journal_frames(data)
    last = framed[-1]
    for pos in range(len(data)):
        damaged = bytearray(data)
        damaged[pos] ^= 0x20
        scan = frames.read(bytes(damaged), frames.HEADER)
        assert scan.gaps, f"a flip at byte {pos} went unseen"
        if pos < last.offset:  # damage, not a torn end: the start refuses
            with pytest.raises(JournalDamaged):
                read_journal(Path("journal.bson"), bytes(damaged))
        kept = frames.read(bytes(damaged), frames.HEADER, resync=True).frames
        hit = next((f for f in framed if f.offset <= pos < f.end), None)
        assert [f.offset for f in kept] == [f.offset for f in framed if f is not hit], f"flip at byte {pos}"


# ---- (2) a torn end: dropped, said, kept aside; everything before it loads -----------------


def test_a_torn_last_record_is_dropped_and_reported_and_every_earlier_record_is_kept(
    server: MongoStandIn, data_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    server.start()
    client = _client(server)
    try:
        for i in range(30):
            client.flowgen.courses.insert_one({"_id": f"c{i:02}", "status": "READY"})
        client.flowgen.courses.insert_many([{"_id": f"torn{i}", "body": "y" * 100} for i in range(3)])  # one frame
        server.kill()
        journal = data_dir / "journal.bson"
        written = journal.read_bytes()
        cut = len(written) - 50  # the kill came while the last command's changes were being written
        journal.write_bytes(written[:cut])
        capfd.readouterr()

        server.start()

        assert _ids(client) == {f"c{i:02}" for i in range(30)}  # and none of the torn command's documents
        last = _journal_frames(written)[-1]
        err = capfd.readouterr().err
        assert f"journal.bson: dropped a torn record at the end: {cut - last.offset} bytes from byte {last.offset}" in (
            err
        )
        kept = list(data_dir.glob("journal.bson.torn-*"))
        assert len(kept) == 1 and kept[0].read_bytes() == written[last.offset : cut]
    finally:
        client.close()


def test_every_cut_inside_the_last_frame_is_a_torn_end() -> None:
    data = frames.HEADER + b"".join(
        frames.encode([{"op": "put", "db": "d", "c": "c", "doc": {"_id": i}}]) for i in range(4)
    )
    last = _journal_frames(data)[-1]
    for cut in range(last.offset + 1, last.end):
        scan = read_journal(Path("journal.bson"), data[:cut])
        assert present(scan.torn).offset == last.offset
        assert [r["doc"]["_id"] for r in scan.records] == [0, 1, 2]
    assert read_journal(Path("journal.bson"), frames.HEADER[:7]).torn is not None  # the header itself cut short


# ---- (3) a failed append: the journal and the data as they were, an error, then recovery ----


def _disk(client: Client, bytes_left: int | None) -> None:
    mode = {"mode": "off"} if bytes_left is None else {"mode": "alwaysOn", "data": {"bytesLeft": bytes_left}}
    client.admin.command({"configureFailPoint": "flowgenDiskFull", **mode})


def test_a_full_disk_fails_the_write_leaves_the_journal_as_it_was_and_later_writes_survive(
    server: MongoStandIn, data_dir: Path
) -> None:
    server.start()
    client = _client(server)
    courses = client.flowgen.courses
    try:
        courses.create_index([("ownerId", ASCENDING), ("key", ASCENDING)], unique=True)
        courses.insert_many([{"_id": f"c{i}", "ownerId": "alice", "key": i, "status": "PENDING"} for i in range(10)])
        client.scratch.things.insert_one({"_id": 1})
        journal = data_dir / "journal.bson"
        before = journal.read_bytes()

        _disk(client, 7)  # room for part of a frame: the append is cut short, as on a full disk
        failing: list[Callable[[], object]] = [
            lambda: courses.insert_one({"_id": "lost1", "ownerId": "alice", "key": 100}),
            lambda: courses.insert_many([{"_id": "lost2", "ownerId": "bob", "key": 1}, {"_id": "lost3"}]),
            lambda: courses.update_one({"_id": "c1"}, {"$set": {"status": "GENERATING"}}),
            lambda: courses.find_one_and_update({"_id": "c2"}, {"$set": {"status": "GENERATING"}}),
            lambda: courses.delete_one({"_id": "c3"}),
            lambda: courses.create_index("status"),
            lambda: client.drop_database("scratch"),
        ]
        for write in failing:
            with pytest.raises(OperationFailure) as failed:
                write()
            assert failed.value.code == OUT_OF_DISK_SPACE
            assert present(failed.value.details)["codeName"] == "OutOfDiskSpace"
            assert journal.read_bytes() == before  # cut back: no partial frame for later appends to follow
            # reads go on, and see nothing of the failed write
            assert courses.count_documents({}) == 10
            assert courses.count_documents({"status": "PENDING"}) == 10
        assert "status_1" not in courses.index_information()
        assert client.scratch.things.count_documents({}) == 1

        _disk(client, None)  # space again
        courses.insert_one({"_id": "after1", "ownerId": "alice", "key": 100})  # the key a failed insert had
        courses.update_one({"_id": "c1"}, {"$set": {"status": "READY"}})
        courses.delete_one({"_id": "c3"})
        server.kill()
        server.start()

        assert _ids(client) == {f"c{i}" for i in range(10)} - {"c3"} | {"after1"}
        assert present(courses.find_one({"_id": "c1"}))["status"] == "READY"
        assert present(courses.find_one({"_id": "c2"}))["status"] == "PENDING"
        assert "status_1" not in courses.index_information()
        with pytest.raises(DuplicateKeyError):  # the unique index held throughout
            courses.insert_one({"_id": "dup", "ownerId": "alice", "key": 5})
    finally:
        client.close()


def test_a_real_short_write_past_a_file_size_limit_is_cut_back_too(server: MongoStandIn, data_dir: Path) -> None:
    server.start()
    client = _client(server)
    courses = client.flowgen.courses
    try:
        courses.insert_many([{"_id": f"c{i}"} for i in range(5)])
        journal = data_dir / "journal.bson"
        before = journal.read_bytes()
        pid = present(server.process).pid
        limits = resource.prlimit(pid, resource.RLIMIT_FSIZE)
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (len(before) + 40, limits[1]))  # the kernel writes 40 bytes

        with pytest.raises(OperationFailure) as failed:
            courses.insert_one({"_id": "lost", "body": "z" * 1000})

        assert failed.value.code == OUT_OF_DISK_SPACE  # EFBIG
        assert journal.read_bytes() == before
        resource.prlimit(pid, resource.RLIMIT_FSIZE, limits)
        courses.insert_one({"_id": "after"})
        server.stop()
        server.start()
        assert _ids(client) == {f"c{i}" for i in range(5)} | {"after"}
    finally:
        client.close()


def test_a_compaction_without_room_does_not_fail_the_write_it_follows(tmp_path: Path) -> None:
    journal = Journal(tmp_path, compact_at_bytes=1, disk=Disk())
    engine = Engine()
    journal.open(engine)
    commands = Commands(engine, journal)
    commands.run("flowgen", {"insert": "courses", "documents": [{"_id": f"c{i}", "b": "x" * 500} for i in range(20)]})
    snapshot = (tmp_path / "snapshot.bson").read_bytes()
    journal.disk.budget = 200  # the append fits; the snapshot of everything does not

    reply = commands.run("flowgen", {"insert": "courses", "documents": [{"_id": "small"}]})

    assert reply["ok"] == 1.0 and reply["n"] == 1
    assert (tmp_path / "snapshot.bson").read_bytes() == snapshot and not (tmp_path / "snapshot.bson.tmp").exists()
    journal.close()
    reopened, engine = Journal(tmp_path), Engine()
    reopened.open(engine)
    reopened.close()
    assert len(_stored_ids(engine)) == 21


# ---- (4) data directories from before frames ---------------------------------------------


def _legacy(records: list[dict[str, Any]]) -> bytes:
    return b"".join(bson.encode(r) for r in records)  # how the stand-in wrote them before frames


def _legacy_data_dir(data_dir: Path) -> None:
    engine = Engine()
    commands = Commands(engine)
    commands.run("flowgen", {"createIndexes": "courses", "indexes": [{"key": {"k": 1}, "name": "k_1", "unique": True}]})
    commands.run("flowgen", {"insert": "courses", "documents": [{"_id": f"c{i}", "k": i} for i in range(5)]})
    data_dir.mkdir(parents=True)
    (data_dir / "snapshot.bson").write_bytes(_legacy(list(engine.dump())))
    put = [{"op": "put", "db": "flowgen", "c": "courses", "doc": {"_id": f"j{i}", "k": 100 + i}} for i in range(5)]
    journal = _legacy([*put, {"op": "del", "db": "flowgen", "c": "courses", "id": "c0"}])
    torn = _legacy([{"op": "put", "db": "flowgen", "c": "courses", "doc": {"_id": "torn"}}])[:-9]
    (data_dir / "journal.bson").write_bytes(journal + torn)


def test_a_data_dir_from_before_frames_loads_and_is_rewritten_in_frames(server: MongoStandIn, data_dir: Path) -> None:
    _legacy_data_dir(data_dir)
    server.start()
    client = _client(server)
    courses = client.flowgen.courses
    try:
        assert _ids(client) == {f"c{i}" for i in range(1, 5)} | {f"j{i}" for i in range(5)}
        with pytest.raises(DuplicateKeyError):
            courses.insert_one({"_id": "dup", "k": 3})
        assert (data_dir / "snapshot.bson").read_bytes().startswith(frames.SNAPSHOT_HEADER)
        courses.insert_one({"_id": "new", "k": 1000})
        assert (data_dir / "journal.bson").read_bytes().startswith(frames.HEADER)
        server.kill()
        server.start()
        assert "new" in _ids(client) and len(_ids(client)) == 10
    finally:
        client.close()


def test_a_data_dir_from_before_frames_damaged_in_the_middle_is_refused_and_repaired(
    server: MongoStandIn, data_dir: Path
) -> None:
    _legacy_data_dir(data_dir)
    journal = data_dir / "journal.bson"
    data = bytearray(journal.read_bytes())
    second = len(bson.encode({"op": "put", "db": "flowgen", "c": "courses", "doc": {"_id": "j0", "k": 100}}))
    data[second : second + 4] = (3).to_bytes(4, "little")  # j1's length: no record is 3 bytes
    journal.write_bytes(data)

    with pytest.raises(StandInFailed, match=f"journal.bson is damaged at byte {second}"):
        server.start()
    assert journal.read_bytes() == data

    subprocess.run([sys.executable, "-m", "flowgen_stand_in", "repair", str(data_dir)], check=True)
    assert journal.read_bytes().startswith(frames.HEADER)
    server.start()
    client = _client(server)
    try:
        assert _ids(client) == {f"c{i}" for i in range(1, 5)} | {"j0", "j2", "j3", "j4"}
    finally:
        client.close()


def test_the_fail_point_is_a_test_command_off_unless_asked(tmp_path: Path) -> None:
    with MongoStandIn(tmp_path / "mongo") as plain:
        client = _client(plain)
        with pytest.raises(OperationFailure) as refused:
            _disk(client, 0)
        client.close()
    assert refused.value.code == 59  # CommandNotFound, as MongoDB without enableTestCommands
