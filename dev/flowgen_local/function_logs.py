"""Function logs, as CloudWatch Logs keeps them for Lambda: one log per function, in files.

Every instance of a function appends its stdout and stderr (Powertools' JSON lines, prints,
the runtime's START/END/REPORT lines) to `<log dir>/<FunctionId>.log`. A file never fills the
way a pipe nobody reads does: an instance that writes is never blocked by a reader. Writers
take an advisory lock around each append, so instances and the stack itself (which adds the
"Task timed out" line) never interleave inside a line and one of them rotates the file when it
passes `MAX_BYTES` (`.log.1`, `.log.2`, ...; the oldest dropped). A writer that finds the file
rotated under it reopens it.

`follow` tails every function's log (across rotations) for the console of `flowgen local`;
`read` serves `flowgen logs FUNCTION [--tail]`.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 3


def log_path(log_dir: Path, function: str) -> Path:
    return log_dir / f"{function}.log"


class LogFile:
    """Appends whole lines to a function's log, rotating it when it grows past `max_bytes`."""

    def __init__(self, path: Path, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self._fd: int | None = None
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(path.parent / f".{path.name}.lock", os.O_RDWR | os.O_CREAT, 0o644)

    def fileno(self) -> int:
        """The current file's descriptor (opened if need be), for redirecting fds 1 and 2."""
        with self._lock, self._locked():
            return self._current()

    def write(self, data: bytes) -> None:
        if not data:
            return
        with self._lock, self._locked():
            fd = self._current()
            if os.fstat(fd).st_size + len(data) > self.max_bytes and os.fstat(fd).st_size > 0:
                self._rotate()
                fd = self._current()
            os.write(fd, data)

    def close(self) -> None:
        with self._lock:
            for fd in (self._fd, self._lock_fd):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._fd = None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _current(self) -> int:
        """The descriptor of the file now at `path`: another writer may have rotated it."""
        try:
            on_disk = os.stat(self.path).st_ino
        except FileNotFoundError:
            on_disk = None
        if self._fd is not None and os.fstat(self._fd).st_ino == on_disk:
            return self._fd
        if self._fd is not None:
            os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return self._fd

    def _rotate(self) -> None:
        for n in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{n + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))


class LineWriter(io.TextIOBase):
    """A text stream for sys.stdout and sys.stderr that appends whole lines to a LogFile."""

    def __init__(self, log: LogFile) -> None:
        self.log = log
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            complete, _, self._pending = self._pending.rpartition("\n")
            self.log.write((complete + "\n").encode("utf-8", "replace"))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, ""
            self.log.write((pending + "\n").encode("utf-8", "replace"))

    def fileno(self) -> int:
        return self.log.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"


def _generations(path: Path) -> list[Path]:
    """The rotated files oldest first (the highest number), then the current one."""
    numbered = [p for p in path.parent.glob(f"{path.name}.*") if p.suffix[1:].isdigit()]
    older = sorted(numbered, key=lambda p: int(p.suffix[1:]), reverse=True)
    return older + ([path] if path.exists() else [])


def read(path: Path, *, text_filter: str | None = None) -> Iterator[str]:
    """Every line kept for one function, oldest first."""
    for generation in _generations(path):
        with generation.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if text_filter is None or text_filter in line:
                    yield line.rstrip("\n")


class _Tail:
    """Reads what is appended to one path, reopening it when it is rotated."""

    def __init__(self, path: Path, from_start: bool) -> None:
        self.path = path
        self._file: io.BufferedReader | None = None
        self._inode: int | None = None
        self._from_start = from_start
        self._partial = b""

    def lines(self) -> list[str]:
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            return []
        found: list[str] = []
        if self._file is not None and inode != self._inode:
            found += self._drain()  # the rest of the rotated file, then the new one from its start
            self._file.close()
            self._file, self._from_start = None, True
        if self._file is None:
            self._file = self.path.open("rb")
            self._inode = os.fstat(self._file.fileno()).st_ino
            if not self._from_start:
                self._file.seek(0, os.SEEK_END)
        return found + self._drain()

    def _drain(self) -> list[str]:
        assert self._file is not None
        self._partial += self._file.read()
        *complete, self._partial = self._partial.split(b"\n")
        return [line.decode("utf-8", "replace") for line in complete]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def follow(
    paths: Callable[[], dict[str, Path]],
    on_line: Callable[[str, str], None],
    stop: threading.Event,
    *,
    from_start: bool = False,
    period: float = 0.2,
) -> None:
    """Calls `on_line(function, line)` for each line appended to any of `paths()` until `stop`."""
    tails: dict[str, _Tail] = {}
    try:
        while True:
            for function, path in paths().items():
                tail = tails.setdefault(function, _Tail(path, from_start))
                for line in tail.lines():
                    on_line(function, line)
            if stop.wait(period):
                return
    finally:
        for tail in tails.values():
            tail.close()


def now_stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"
