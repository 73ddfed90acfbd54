"""Persistence for the stand-in: a snapshot plus an append-only journal of after-images.

Both files are checksummed frames of BSON records (`flowgen_stand_in.frames`; see
`Engine.apply` for the records). Every command's changes are appended as one frame, with one
`write()`, before the client hears back, so an acknowledged write survives kill -9 (the page
cache outlives the process; power loss is out of scope, so no fsync per write).

At start the snapshot and then the journal are read and checked before anything is changed:

- a torn frame at the very end of the journal (an append interrupted by a kill: a frame cut
  short at the end of the file) was never acknowledged: it is dropped, said on stderr, and its
  bytes are kept in `journal.bson.torn-<time>`;
- any other damage (a checksum mismatch with more data after it, a frame without its marker, a
  snapshot cut short) stops the start with `JournalDamaged`, which names the file and the byte
  offset, and leaves every file as it was: `python -m flowgen_stand_in repair DIR` keeps every
  valid record, after a backup (`flowgen_stand_in.repair`).

Then a fresh snapshot is written (to a temporary file, fsynced, renamed) and the journal
truncated; files from before frames (bare BSON records) are rewritten in frames this way.
Replaying after-images is idempotent, so a crash between the rename and the truncation loses
nothing.

A failed append (a full disk, any OSError) cuts the journal back to its length before the append
(and fsyncs), so no later append lands after a partial frame, and raises `JournalWriteFailed`:
`Commands` then reloads the engine from the files (`Journal.reload`), so the command's changes
are gone from memory too, and answers the client an error (OutOfDiskSpace, 14031). A failed
compaction only leaves the journal longer.

The test hook: every byte the stand-in writes goes through `Disk`, which can be given a budget
of bytes the "disk" still holds (`FLOWGEN_STAND_IN_DISK_BYTES`, or the `flowgenDiskFull` fail
point); past it, a write is cut short and the next raises ENOSPC, as a full disk does.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import bson

from flowgen_stand_in import frames
from flowgen_stand_in.engine import Engine, Record

log = logging.getLogger(__name__)

SNAPSHOT = "snapshot.bson"
JOURNAL = "journal.bson"
LOCK = "LOCK"
COMPACT_AT_BYTES = 64 * 1024 * 1024
SNAPSHOT_FRAME_BYTES = 1 << 20
OUT_OF_DISK_SPACE = (14031, "OutOfDiskSpace")  # MongoDB's code for a full disk
FILE_STREAM_FAILED = (39, "FileStreamFailed")  # MongoDB's code for a file that cannot be written
_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_REPAIR = "python -m flowgen_stand_in repair {dir} (or: flowgen repair-journal --data-dir {dir})"


class DataDirInUse(RuntimeError):
    pass


class JournalDamaged(RuntimeError):
    """A file the stand-in will not load as it is: damage that is not a torn end."""

    def __init__(self, path: Path, offset: int, reason: str, following: int) -> None:
        self.path, self.offset, self.reason = path, offset, reason
        super().__init__(
            f"{path} is damaged at byte {offset}: {reason} ({following} bytes from there to its end). "
            f"Nothing was changed or dropped. To keep every intact record, run "
            f"{_REPAIR.format(dir=path.parent)}: it backs the file up first."
        )


class JournalWriteFailed(Exception):
    """An append that did not reach the journal: the journal is as it was before it."""

    def __init__(self, path: Path, error: OSError) -> None:
        self.path, self.error = path, error
        self.code, self.code_name = OUT_OF_DISK_SPACE if error.errno in _SPACE_ERRNOS else FILE_STREAM_FAILED
        super().__init__(f"cannot write the journal {path}: {error.strerror or error}")


class Disk:
    """Where the stand-in's bytes go: `os.write`, within a budget when one is set (a test hook:
    the bytes the disk still holds; a write past them is cut short, the next fails with ENOSPC,
    and truncating a file gives its bytes back)."""

    def __init__(self, budget: int | None = None) -> None:
        self.budget = budget

    def write(self, fd: int, data: memoryview) -> int:
        if self.budget is not None:
            if self.budget <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            data = data[: self.budget]
        written = os.write(fd, data)
        if self.budget is not None:
            self.budget -= written
        return written

    def freed(self, size: int) -> None:
        if self.budget is not None:
            self.budget += max(0, size)


class Journal:
    def __init__(self, data_dir: Path, compact_at_bytes: int = COMPACT_AT_BYTES, disk: Disk | None = None) -> None:
        self.data_dir = data_dir
        self.compact_at_bytes = compact_at_bytes
        self.disk = disk or Disk()
        self._fd = -1
        self._lock_fd = -1
        self._size = 0  # the journal's bytes that hold acknowledged frames
        self._compact_at = compact_at_bytes
        self._cut_pending = False  # a failed append's bytes are still to be cut off

    @property
    def path(self) -> Path:
        return self.data_dir / JOURNAL

    def open(self, engine: Engine) -> int:
        """Locks the directory, loads it into `engine` and compacts; the number of records replayed."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd = lock_data_dir(self.data_dir)
        snapshot = read_snapshot(self.data_dir / SNAPSHOT)
        data = _read_bytes(self.path)
        journal = read_journal(self.path, data)
        replayed = _replay(engine, [snapshot, journal])
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        torn = journal.torn
        if torn is not None:
            self._keep_torn(data, torn)
        self._size = len(data)
        try:
            self.compact(engine)
        except OSError as exc:
            if journal.legacy:
                raise JournalWriteFailed(self.path, exc) from exc  # an old journal cannot take frames
            log.warning("could not compact %s at start (%s): going on with the journal as it is", self.path, exc)
            self._size = journal.valid_end
            self._cut_back()
            if self._cut_pending:
                raise JournalWriteFailed(self.path, exc) from exc
        return replayed

    def append(self, records: list[Record], engine: Engine) -> None:
        """Call with the engine's lock held, so the journal's order is the order of changes.
        Raises JournalWriteFailed, with the journal as it was before the call."""
        data = frames.encode(records)
        if self._size == 0:
            data = frames.HEADER + data
        if self._cut_pending and not self._cut_back():
            raise JournalWriteFailed(self.path, OSError(errno.EIO, "a failed append could not be cut off"))
        try:
            self._write_all(self._fd, data)
        except OSError as exc:
            self._cut_back()
            raise JournalWriteFailed(self.path, exc) from exc
        self._size += len(data)
        if self._size >= self._compact_at:
            self._compact_quietly(engine)

    def compact(self, engine: Engine) -> None:
        """Writes the engine's state as the snapshot and empties the journal; raises OSError with
        the journal untouched when the snapshot cannot be written."""
        tmp = self.data_dir / (SNAPSHOT + ".tmp")
        snapshot = self.data_dir / SNAPSHOT
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                for chunk in _snapshot_chunks(engine.dump()):
                    self._write_all(fd, chunk)
                os.fsync(fd)
            finally:
                os.close(fd)
            replaced = _size_of(snapshot)
            os.replace(tmp, snapshot)
        except OSError:
            self.disk.freed(_size_of(tmp))
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        self.disk.freed(replaced)
        os.ftruncate(self._fd, 0)
        self.disk.freed(self._size)
        self._size = 0
        self._compact_at = self.compact_at_bytes

    def reload(self, engine: Engine) -> None:
        """Loads `engine` again from the snapshot and the journal's acknowledged frames: what a
        command that could not be journaled changed in memory is gone."""
        engine.reset()
        snapshot = read_snapshot(self.data_dir / SNAPSHOT)
        journal = read_journal(self.path, _read_bytes(self.path)[: self._size])
        _replay(engine, [snapshot, journal])

    def close(self) -> None:
        for fd in (self._fd, self._lock_fd):
            if fd >= 0:
                os.close(fd)
        self._fd = self._lock_fd = -1

    def _write_all(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = self.disk.write(fd, view)
            if written <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            view = view[written:]

    def _cut_back(self) -> bool:
        """Truncates the journal to its acknowledged frames (after a failed append)."""
        try:
            extra = os.fstat(self._fd).st_size - self._size
            os.ftruncate(self._fd, self._size)
            os.fsync(self._fd)
        except OSError as exc:
            log.error("cannot cut %s back to %d bytes (%s): no append until it can", self.path, self._size, exc)
            self._cut_pending = True
            return False
        self.disk.freed(extra)
        self._cut_pending = False
        return True

    def _compact_quietly(self, engine: Engine) -> None:
        """The append is journaled already: a compaction that fails only waits for more."""
        try:
            self.compact(engine)
        except OSError as exc:
            self._compact_at = self._size + max(1 << 20, self.compact_at_bytes // 4)
            log.warning("could not compact %s (%s): trying again at %d bytes", self.path, exc, self._compact_at)

    def _keep_torn(self, data: bytes, torn: frames.Gap) -> None:
        kept = self.path.with_name(f"{JOURNAL}.torn-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}")
        try:
            fd = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                self._write_all(fd, data[torn.offset :])
            finally:
                os.close(fd)
        except OSError as exc:
            log.warning("%s: could not keep the torn record's bytes (%s)", self.path.name, exc)
            kept = Path("(not kept)")
        log.warning(
            "%s: dropped a torn record at the end: %d bytes from byte %d (%s), an append a kill "
            "interrupted, never acknowledged; its bytes are in %s",
            self.path.name,
            torn.length,
            torn.offset,
            torn.reason,
            kept.name,
        )


def lock_data_dir(data_dir: Path) -> int:
    fd = os.open(data_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DataDirInUse(f"another stand-in is using {data_dir}") from None
    return fd


def read_journal(path: Path, data: bytes) -> frames.Scan:
    """The journal's frames; raises JournalDamaged for damage that is not a torn end."""
    scan = frames.read(data, frames.HEADER)
    damage = scan.damage
    if damage is not None:
        raise JournalDamaged(path, damage.offset, damage.reason, len(data) - damage.offset)
    return scan


def read_snapshot(path: Path) -> frames.Scan:
    """The snapshot's frames; any damage, a torn end included, raises JournalDamaged (a snapshot
    is renamed into place whole, so one cut short was damaged afterwards)."""
    data = _read_bytes(path)
    if not data:
        return frames.Scan(header=False)
    scan = frames.read(data, frames.SNAPSHOT_HEADER)
    problem = None if scan.legacy else check_snapshot_end(scan)
    gap = scan.gaps[0] if scan.gaps else None
    if gap is not None:
        raise JournalDamaged(path, gap.offset, gap.reason, len(data) - gap.offset)
    if problem is not None:
        raise JournalDamaged(path, len(data), problem, 0)
    return scan


def check_snapshot_end(scan: frames.Scan) -> str | None:
    last = scan.frames[-1].records[-1] if scan.frames else None
    if last is None or last["op"] != "end":
        return "the snapshot ends before its end record (cut short)"
    count = sum(len(f.records) for f in scan.frames) - 1
    if last["records"] != count:
        return f"the snapshot holds {count} records, its end record says {last['records']}"
    return None


def _replay(engine: Engine, scans: list[frames.Scan]) -> int:
    replayed = 0
    for scan in scans:
        for record in scan.records:
            if record["op"] != "end":
                engine.apply(record)
                replayed += 1
    engine.take_changes()  # loading is not news
    return replayed


def _snapshot_chunks(records: Iterator[Record]) -> Iterator[bytes]:
    """The snapshot's bytes, a frame of about SNAPSHOT_FRAME_BYTES at a time."""
    yield frames.SNAPSHOT_HEADER
    body: list[bytes] = []
    size = count = 0
    for record in records:
        encoded = bson.encode(record)
        body.append(encoded)
        size += len(encoded)
        count += 1
        if size >= SNAPSHOT_FRAME_BYTES:
            yield frames.frame(b"".join(body))
            body, size = [], 0
    body.append(bson.encode({"op": "end", "records": count}))
    yield frames.frame(b"".join(body))


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
