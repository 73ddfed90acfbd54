"""Persistence for the stand-in: a snapshot plus an append-only journal of after-images.

Both files are sequences of BSON records (see `Engine.apply`). Every command's changes are
appended with one `write()` before the client hears back, so an acknowledged write survives
kill -9 (the page cache outlives the process; power loss is out of scope, so no fsync per
write). At start the snapshot and then the journal are replayed; a torn record at the end
of the journal (a kill in the middle of a write) is dropped. Then a fresh snapshot is written
(to a temporary file, fsynced, renamed) and the journal truncated. Replaying after-images is
idempotent, so a crash between the rename and the truncation loses nothing.
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
from collections.abc import Iterator
from pathlib import Path

import bson
from bson.errors import InvalidBSON

from flowgen_stand_in.engine import Engine, Record

log = logging.getLogger(__name__)

SNAPSHOT = "snapshot.bson"
JOURNAL = "journal.bson"
LOCK = "LOCK"
COMPACT_AT_BYTES = 64 * 1024 * 1024


class DataDirInUse(RuntimeError):
    pass


class Journal:
    def __init__(self, data_dir: Path, compact_at_bytes: int = COMPACT_AT_BYTES) -> None:
        self.data_dir = data_dir
        self.compact_at_bytes = compact_at_bytes
        self._fd = -1
        self._lock_fd = -1
        self._size = 0

    def open(self, engine: Engine) -> int:
        """Locks the directory, loads it into `engine` and compacts; the number of records replayed."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.data_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataDirInUse(f"another stand-in is using {self.data_dir}") from None
        replayed = 0
        for name in (SNAPSHOT, JOURNAL):
            for record in _read_records(self.data_dir / name):
                engine.apply(record)
                replayed += 1
        engine.take_changes()  # loading is not news
        self._fd = os.open(self.data_dir / JOURNAL, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.compact(engine)
        return replayed

    def append(self, records: list[Record], engine: Engine) -> None:
        """Call with the engine's lock held, so the journal's order is the order of changes."""
        data = b"".join(bson.encode(r) for r in records)
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._size += len(data)
        if self._size >= self.compact_at_bytes:
            self.compact(engine)

    def compact(self, engine: Engine) -> None:
        tmp = self.data_dir / (SNAPSHOT + ".tmp")
        with open(tmp, "wb", buffering=1 << 20) as out:
            for record in engine.dump():
                out.write(bson.encode(record))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.data_dir / SNAPSHOT)
        os.ftruncate(self._fd, 0)
        self._size = 0

    def close(self) -> None:
        for fd in (self._fd, self._lock_fd):
            if fd >= 0:
                os.close(fd)
        self._fd = self._lock_fd = -1


def _read_records(path: Path) -> Iterator[Record]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    pos = 0
    while pos < len(data):
        if len(data) - pos < 5:
            break
        (size,) = struct.unpack_from("<i", data, pos)
        if size < 5 or pos + size > len(data):
            break
        try:
            record = bson.decode(data[pos : pos + size])
        except InvalidBSON:
            break
        yield record
        pos += size
    if pos < len(data):
        log.warning("%s: dropped %d bytes of a torn record at the end", path.name, len(data) - pos)
