"""The MongoDB stand-in as a process of its own, and a launcher for it.

    python -m flowgen_stand_in --port 27017 --data-dir .flowgen/mongo

    with MongoStandIn(data_dir) as mongo:
        client = pymongo.MongoClient(mongo.uri)

Every process of the local stack (one per Lambda function) connects to the same server over
loopback, as it would to MongoDB; with a data directory, what was acknowledged survives a
restart, kill -9 included. See `flowgen_stand_in` for what it implements.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from flowgen_stand_in.server import FAILED_PREFIX, READY_PREFIX


class StandInFailed(RuntimeError):
    """The stand-in refused to start, and said why (a damaged journal, a data directory in use)."""


class MongoStandIn:
    """Spawns `python -m flowgen_stand_in` and waits until it answers a ping.

    `port=None` lets the server pick a free port; a restart (`start()` after `stop()` or
    `kill()`) keeps the port, so clients' URIs stay valid.
    """

    def __init__(
        self, data_dir: Path | None = None, port: int | None = None, *, scan: bool = False, test_commands: bool = False
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.scan = scan  # every query scans, as mongomock does: the baseline for benchmarks
        self.test_commands = test_commands  # configureFailPoint (flowgenDiskFull): see flowgen_stand_in.commands
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        if self.port is None:
            raise RuntimeError("the stand-in has not been started")
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def start(self, timeout: float = 30.0) -> MongoStandIn:
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("the stand-in is already running")
        command = [sys.executable, "-m", "flowgen_stand_in", "--port", str(self.port or 0)]
        command += ["--parent-pid", str(os.getpid())]
        if self.data_dir is not None:
            command += ["--data-dir", str(self.data_dir)]
        if self.scan:
            command.append("--scan")
        if self.test_commands:
            command.append("--enable-test-commands")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, start_new_session=True)  # the owner stops it
        try:
            self.port = self._wait_ready(self.process, time.monotonic() + timeout)
            self._ping(timeout)
        except BaseException:
            self.kill()
            raise
        return self

    def stop(self) -> None:
        """SIGTERM: the server finishes the command in hand and exits."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL, as a crash would: only what the journal holds survives."""
        self._end(signal.SIGKILL)

    def __enter__(self) -> MongoStandIn:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def _end(self, signum: signal.Signals) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signum)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout:
            process.stdout.close()

    @staticmethod
    def _wait_ready(process: subprocess.Popen[bytes], deadline: float) -> int:
        if process.stdout is None:
            raise RuntimeError("the stand-in's stdout is not a pipe")
        fd = process.stdout.fileno()
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the MongoDB stand-in did not start in time")
            readable, _, _ = select.select([fd], [], [], remaining)
            if readable:
                chunk = os.read(fd, 256)
                if not chunk:
                    raise RuntimeError(f"the MongoDB stand-in exited during start (code {process.wait()})")
                line += chunk
        text = line.decode().strip()
        if text.startswith(FAILED_PREFIX):
            process.wait()
            raise StandInFailed(text)
        if not text.startswith(READY_PREFIX):
            raise RuntimeError(f"unexpected output from the MongoDB stand-in: {text!r}")
        return int(text.removeprefix(READY_PREFIX))

    def _ping(self, timeout: float) -> None:
        import pymongo

        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            self.uri, serverSelectionTimeoutMS=int(timeout * 1000)
        )
        try:
            client.admin.command("ping")
        finally:
            client.close()
