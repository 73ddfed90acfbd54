"""The commands pymongo sends, dispatched to their handlers.

Every data command runs under the engine's lock, which makes each one atomic (the workers'
compare-and-set claims rely on it), and its changes reach the journal before the reply is
sent. A command whose changes cannot be journaled (a full disk) is undone: the engine is loaded
again from the files, which hold everything but that command, and the client gets
OutOfDiskSpace (14031; FileStreamFailed, 39, for another I/O error). Reads that change nothing
never touch the journal, so they go on working. Handshake commands need no lock.

With test commands on (`--enable-test-commands`, or `FLOWGEN_STAND_IN_DISK_BYTES` set), the
`configureFailPoint` command, as MongoDB's `enableTestCommands` has it, sets the fail point
`flowgenDiskFull`: `{"configureFailPoint": "flowgenDiskFull", "mode": "alwaysOn",
"data": {"bytesLeft": N}}` gives the disk N more bytes (0: full now), `"mode": "off"` frees it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime

from flowgen_stand_in import reads, writes
from flowgen_stand_in.call import Call
from flowgen_stand_in.cursors import Cursors
from flowgen_stand_in.engine import SERVER_VERSION, Engine
from flowgen_stand_in.journal import Journal, JournalWriteFailed
from flowgen_stand_in.replies import Doc, error_reply, failure_reply

MAX_WIRE_VERSION = 21  # MongoDB 7.0; pymongo 4.20 accepts 9 to 29
_OURS = "(FlowGen's MongoDB stand-in)"
DISK_FULL_FAIL_POINT = "flowgenDiskFull"
_EX_SOFTWARE = 70

log = logging.getLogger(__name__)


class Commands:
    def __init__(self, engine: Engine, journal: Journal | None = None, *, test_commands: bool = False) -> None:
        self.engine = engine
        self.journal = journal
        self.cursors = Cursors()
        self.test_commands = test_commands

    def run(self, db: str, cmd: Doc) -> Doc:
        name = next(iter(cmd), "")
        handshake = _handshake(name)
        if handshake is not None:
            return handshake
        if name == "configureFailPoint" and self.test_commands:
            return self._configure_fail_point(cmd)
        handler = _HANDLERS.get(name)
        if handler is None:
            return error_reply(59, "CommandNotFound", f"no such command: '{name}' {_OURS}")
        if _asks_for_collation(cmd):  # mongomock compares binary: say so rather than answer differently
            return error_reply(238, "NotImplemented", f"{name}: collation is not supported {_OURS}")
        with self.engine.lock:
            try:
                reply = handler(Call(self.engine, self.cursors, db, cmd))
            except Exception as exc:  # every failure is an answer, never a dropped connection
                reply = failure_reply(name, exc)
            failed = self._journal(name)
        return failed or reply

    def _journal(self, command: str) -> Doc | None:
        """Journals the command's changes; if they cannot be, undoes them and says why."""
        changes = self.engine.take_changes()
        if not changes or self.journal is None:
            return None
        try:
            self.journal.append(changes, self.engine)
        except JournalWriteFailed as exc:
            self._undo(exc)
            return error_reply(exc.code, exc.code_name, f"{command}: {exc}; the command changed nothing {_OURS}")
        except Exception as exc:
            self._undo(exc)
            return failure_reply(command, exc)
        return None

    def _undo(self, cause: Exception) -> None:
        assert self.journal is not None
        try:
            self.journal.reload(self.engine)
        except Exception:  # memory and the files disagree: stop rather than answer from either
            log.critical("a command could not be journaled (%s) nor undone: stopping", cause, exc_info=True)
            os._exit(_EX_SOFTWARE)

    def _configure_fail_point(self, cmd: Doc) -> Doc:
        mode, data = cmd.get("mode"), cmd.get("data") or {}
        if cmd["configureFailPoint"] != DISK_FULL_FAIL_POINT:
            return error_reply(2, "BadValue", f"no fail point '{cmd['configureFailPoint']}' {_OURS}")
        if self.journal is None:
            return error_reply(2, "BadValue", f"{DISK_FULL_FAIL_POINT} needs a data directory {_OURS}")
        bytes_left = data.get("bytesLeft", 0)
        if mode not in ("alwaysOn", "off") or not isinstance(bytes_left, int) or bytes_left < 0:
            return error_reply(2, "BadValue", f"{DISK_FULL_FAIL_POINT}: mode alwaysOn or off, data.bytesLeft >= 0")
        with self.engine.lock:
            self.journal.disk.budget = bytes_left if mode == "alwaysOn" else None
        return {"count": 0, "ok": 1.0}


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
