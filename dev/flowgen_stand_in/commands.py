"""The commands pymongo sends, dispatched to their handlers.

Every data command runs under the engine's lock, which makes each one atomic (the workers'
compare-and-set claims rely on it), and its changes reach the journal before the reply is
sent. Handshake commands need no lock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flowgen_stand_in import reads, writes
from flowgen_stand_in.call import Call
from flowgen_stand_in.cursors import Cursors
from flowgen_stand_in.engine import SERVER_VERSION, Engine
from flowgen_stand_in.journal import Journal
from flowgen_stand_in.replies import Doc, error_reply, failure_reply

MAX_WIRE_VERSION = 21  # MongoDB 7.0; pymongo 4.20 accepts 9 to 29
_OURS = "(FlowGen's MongoDB stand-in)"


class Commands:
    def __init__(self, engine: Engine, journal: Journal | None = None) -> None:
        self.engine = engine
        self.journal = journal
        self.cursors = Cursors()

    def run(self, db: str, cmd: Doc) -> Doc:
        name = next(iter(cmd), "")
        handshake = _handshake(name)
        if handshake is not None:
            return handshake
        handler = _HANDLERS.get(name)
        if handler is None:
            return error_reply(59, "CommandNotFound", f"no such command: '{name}' {_OURS}")
        if _asks_for_collation(cmd):  # mongomock compares binary: say so rather than answer differently
            return error_reply(238, "NotImplemented", f"{name}: collation is not supported {_OURS}")
        try:
            with self.engine.lock:
                try:
                    return handler(Call(self.engine, self.cursors, db, cmd))
                finally:
                    changes = self.engine.take_changes()
                    if changes and self.journal:
                        self.journal.append(changes, self.engine)
        except Exception as exc:  # every failure is an answer, never a dropped connection
            return failure_reply(name, exc)


def _asks_for_collation(cmd: Doc) -> bool:
    statements = [*cmd.get("updates", []), *cmd.get("deletes", [])]
    return "collation" in cmd or any(isinstance(s, dict) and "collation" in s for s in statements)


def _handshake(name: str) -> Doc | None:
    """Commands answered without the lock: the server stays responsive to monitors."""
    if name in ("hello", "isMaster", "ismaster"):
        return _hello(primary="isWritablePrimary" if name == "hello" else "ismaster")
    if name in ("buildInfo", "buildinfo"):
        return {
            "version": SERVER_VERSION,
            "versionArray": [int(p) for p in SERVER_VERSION.split(".")] + [0],
            "gitVersion": "flowgen-mongo-stand-in",
            "bits": 64,
            "maxBsonObjectSize": 16 * 1024 * 1024,
            "ok": 1.0,
        }
    if name in ("ping", "endSessions"):
        return {"ok": 1.0}
    return None


def _hello(primary: str) -> Doc:
    return {
        "helloOk": True,
        primary: True,
        "maxBsonObjectSize": 16 * 1024 * 1024,
        "maxMessageSizeBytes": 48_000_000,
        "maxWriteBatchSize": 100_000,
        "localTime": datetime.now(UTC),
        "minWireVersion": 0,
        "maxWireVersion": MAX_WIRE_VERSION,
        "readOnly": False,
        "ok": 1.0,
    }


_HANDLERS: dict[str, Callable[[Call], Doc]] = {
    "find": reads.find,
    "getMore": reads.get_more,
    "killCursors": reads.kill_cursors,
    "aggregate": reads.aggregate,
    "count": reads.count,
    "distinct": reads.distinct,
    "insert": writes.insert,
    "update": writes.update,
    "delete": writes.delete,
    "findAndModify": writes.find_and_modify,
    "findandmodify": writes.find_and_modify,
    "create": writes.create,
    "createIndexes": writes.create_indexes,
    "listIndexes": reads.list_indexes,
    "dropIndexes": writes.drop_indexes,
    "listCollections": reads.list_collections,
    "listDatabases": reads.list_databases,
    "drop": writes.drop,
    "dropDatabase": writes.drop_database,
}
