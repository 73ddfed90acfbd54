"""The local Lambda service's invoke side: a pool of instances per function, one invocation per
instance at a time, a cold start when a new instance is needed, and the function's Timeout
enforced by killing the instance's process."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowgen_local.function_logs import LogFile, now_stamp
from flowgen_local.lambda_host import receive_message, send_message
from flowgen_local.services import die_with_parent, stop_process


class InvocationError(Exception):
    """The invocation failed as a Lambda invocation fails: a function error, an init error or a
    timeout. `kind` is Lambda's errorType ("Sandbox.Timedout" for a timeout)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    code_uri: Path
    handler: str
    timeout: int
    environment: dict[str, str]
    memory_mb: int = 512
    max_instances: int = 10
    log_path: Path | None = None  # where its instances' stdout and stderr go (None: nowhere)
    snapstart: bool = False  # instances restored from a snapshot taken after init (lambda_host.py)


@dataclass
class Instance:
    conn: socket.socket
    pid: int
    init_ms: float  # its Restore Duration when restored from a snapshot
    restored: bool = False
    invocations: int = 0

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self.conn.close()


@dataclass
class InvocationStats:
    invocations: int = 0
    cold_starts: int = 0
    restores: int = 0  # the cold starts that were restores of a snapshot (SnapStart)
    timeouts: int = 0
    errors: int = 0
    init_ms: list[float] = field(default_factory=list)
    recent_errors: deque[str] = field(default_factory=lambda: deque(maxlen=20))  # for people debugging


class LambdaHost:
    """Starts the host process (see lambda_host.py) and asks it for new instances. They meet on
    a socket in Linux's abstract namespace: it has no file, so a `kill -9` leaves nothing behind."""

    def __init__(self, *, preload: bool = True) -> None:
        """`preload=False`: the host imports nothing ahead, so an instance's cold start imports
        every library as on Lambda (benchmarks of cold starts); by default the libraries every
        function shares are imported once, in the host (lambda_host.PRELOAD)."""
        name = f"flowgen-lambda-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.socket_path = "\0" + name
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flowgen_local.lambda_host", "@" + name, *([] if preload else ["--no-preload"])],
            stdout=subprocess.PIPE,
            preexec_fn=die_with_parent,
            start_new_session=True,  # the stack stops it in order; a Ctrl-C at the terminal reaches the stack only
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != b"ready":
            raise RuntimeError("the local Lambda host did not start")

    @staticmethod
    def _spec(config: FunctionConfig) -> dict[str, Any]:
        return {
            "function_name": config.name,
            "code_uri": str(config.code_uri),
            "handler": config.handler,
            "environment": config.environment,
            "memory_mb": config.memory_mb,
            "log_path": str(config.log_path) if config.log_path else None,
            "snapstart": config.snapstart,
        }

    def publish(self, config: FunctionConfig) -> None:
        """SnapStart: the snapshot is taken now (init in its own process), as Lambda takes it when
        a version is published; the first instance is then a restore, not an init."""
        self._tell(config, "publish")

    def unpublish(self, config: FunctionConfig) -> None:
        """The snapshot's process ends, and its instances with it (the stack using it stopped)."""
        self._tell(config, "unpublish")

    def _tell(self, config: FunctionConfig, what: str) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(self.socket_path)
            send_message(conn, {**self._spec(config), what: True})

    def spawn(self, config: FunctionConfig) -> Instance:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(self.socket_path)
        send_message(conn, self._spec(config))
        conn.settimeout(120)
        ready = receive_message(conn)
        if not ready or not ready.get("ready"):
            conn.close()
            error = (ready or {}).get("error") or {"errorType": "Runtime.Unknown", "errorMessage": "no answer"}
            raise InvocationError(f"Runtime.InitError.{error['errorType']}", error["errorMessage"])
        return Instance(conn, int(ready["pid"]), float(ready["init_ms"]), restored=bool(ready.get("restored")))

    def stop(self) -> None:
        stop_process(self.process)


class FunctionPool:
    """One function's instances. Like Lambda, a new instance starts only when every warm one is
    busy; unlike Lambda, a local pool is capped (`max_instances`) and callers wait for a turn."""

    def __init__(self, host: LambdaHost, config: FunctionConfig) -> None:
        self.host = host
        self.config = config
        self.stats = InvocationStats()
        self._idle: list[Instance] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(config.max_instances)
        self._closed = False
        self._busy = 0
        self._idle_again = threading.Condition(self._lock)
        self._log = LogFile(config.log_path) if config.log_path else None
        if config.snapstart:
            host.publish(config)

    def _acquire(self) -> Instance:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            self.stats.cold_starts += 1
        try:
            instance = self.host.spawn(self.config)
        except Exception as exc:
            with self._lock:
                self.stats.recent_errors.append(f"init: {type(exc).__name__}: {exc}")
            raise
        with self._lock:
            self.stats.init_ms.append(instance.init_ms)
            self.stats.restores += instance.restored
        return instance

    def _release(self, instance: Instance) -> None:
        with self._lock:
            if self._closed:
                instance.kill()
            else:
                self._idle.append(instance)

    def invoke(self, event: dict[str, Any]) -> Any:
        """Runs one invocation; raises InvocationError for a function error or a timeout."""
        with self._slots, self._counted():
            instance = self._acquire()
            deadline = time.time() + self.config.timeout
            request_id = str(uuid.uuid4())
            try:
                send_message(instance.conn, {"event": event, "deadline": deadline, "request_id": request_id})
                instance.conn.settimeout(max(0.01, deadline - time.time()) + 0.05)
                reply = receive_message(instance.conn)
            except TimeoutError:
                instance.kill()  # Lambda stops the sandbox: whatever it was doing stops with it
                with self._lock:
                    self.stats.timeouts += 1
                self._write_log(f"{now_stamp()} {request_id} Task timed out after {self.config.timeout:.2f} seconds")
                raise InvocationError("Sandbox.Timedout", f"Task timed out after {self.config.timeout}s") from None
            except OSError as exc:
                instance.kill()
                raise InvocationError("Runtime.ExitError", str(exc)) from exc
            if reply is None:
                instance.kill()
                raise InvocationError("Runtime.ExitError", "the instance exited")
            instance.invocations += 1
            with self._lock:
                self.stats.invocations += 1
            self._release(instance)
            if "error" in reply:
                error = reply["error"]
                with self._lock:
                    self.stats.errors += 1
                    self.stats.recent_errors.append(f"{error['errorType']}: {error['errorMessage']}")
                raise InvocationError(error["errorType"], error["errorMessage"])
            return reply.get("result")

    @contextlib.contextmanager
    def _counted(self) -> Iterator[None]:
        with self._lock:
            self._busy += 1
        try:
            yield
        finally:
            with self._lock:
                self._busy -= 1
                self._idle_again.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Until no invocation runs (True), or `timeout` seconds (False)."""
        with self._lock:
            return self._idle_again.wait_for(lambda: self._busy == 0, timeout=timeout)

    def probe_environment(self) -> tuple[int, dict[str, str]]:
        """(pid, os.environ) of a warm instance: what the function's code really sees."""
        with self._slots:
            instance = self._acquire()
            send_message(instance.conn, {"probe": "environment"})
            instance.conn.settimeout(10)
            reply = receive_message(instance.conn)
            self._release(instance)
        assert reply is not None
        return int(reply["pid"]), dict(reply["result"])

    def retire_idle(self) -> int:
        """Stops every idle instance, as Lambda does with an environment idle for some minutes: the
        next invocation starts cold (benchmarks of the first open). Returns how many stopped."""
        with self._lock:
            idle, self._idle = self._idle, []
        for instance in idle:
            instance.kill()
        return len(idle)

    def instance_pids(self) -> list[int]:
        with self._lock:
            return [i.pid for i in self._idle]

    def _write_log(self, line: str) -> None:
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.write(f"{line}\n".encode())

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for instance in idle:
            instance.kill()
        if self.config.snapstart and self.host.process.poll() is None:
            with contextlib.suppress(OSError):
                self.host.unpublish(self.config)
        if self._log is not None:
            self._log.close()
