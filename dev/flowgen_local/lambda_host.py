"""The local Lambda service's execution host: one process per stack that forks one process per
function instance, as Lambda gives each instance its own sandbox.

The host imports the third-party libraries every function shares once (so an instance starts in
a fraction of a second), never the functions' own code. A forked instance then clears the
environment down to its function's variables, imports its handler module (its cold start, with
its own module state), and serves invocations one at a time over the connection it was forked
with. The stack stops an instance at its function's Timeout by killing the process.

SnapStart (a function whose template says `SnapStart: {ApplyOn: PublishedVersions}`): the host
forks one snapshot process per function and configuration, which runs init once and then the
before-snapshot hooks (`snapshot_restore_py`, as Lambda's runtime does); each new instance is a
fork of it that runs the after-restore hooks and reports a Restore Duration instead of an Init
Duration. A fork copies the memory init built, as a restore does; what it does not model is the
time Lambda takes to load a snapshot into a new microVM (its Restore Duration includes that).

Run as `python -m flowgen_local.lambda_host SOCKET_PATH [--no-preload]`; see lambda_pool.py for
the other side.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import math
import os
import resource
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from flowgen_local.function_logs import LineWriter, LogFile
from flowgen_local.services import die_with_parent

# Libraries whose import cost every instance would otherwise pay; none of them reads the
# environment or opens a connection at import time.
PRELOAD = (
    "pydantic",
    "aws_lambda_powertools.logging",
    "aws_lambda_powertools.metrics",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.parser",
    "boto3",
    "botocore.session",
    "pymongo",
    "redis",
    "openai",
    "jwt",
    "cryptography.hazmat.primitives.asymmetric.rsa",
    "httpx",
)
# The layer's modules that read no environment variable at import (so nothing of the host's
# environment is baked into an instance) and build no client: the content, record and view
# models, settings classes, ports, the domain that does not log. Their import was 150 ms of the
# api's 230 ms start after the libraries above, paid by every instance a test session starts
# (about 185). Modules that import flowgen.observability or flowgen.tracing (Powertools' Logger,
# Metrics and Tracer read the function's environment at import) are left to the instance;
# tests/emulator/test_lambda_host.py holds the list to that rule. A layer change reaches a
# running `flowgen local` at its next start.
LAYER_PRELOAD = tuple(
    f"flowgen.{name}"
    for name in (
        "errors", "settings", "content", "records", "requests", "views", "ports", "library",
        "sources", "citations", "grounding", "cards", "sharing", "course_search", "progress",
        "reviews", "streaming", "polling", "wiring",
    )
)  # fmt: skip


def send_message(sock: socket.socket, message: dict[str, Any]) -> None:
    data = json.dumps(message, default=str).encode()
    sock.sendall(struct.pack(">I", len(data)) + data)


def receive_message(sock: socket.socket) -> dict[str, Any] | None:
    header = _receive_exactly(sock, 4)
    if header is None:
        return None
    (length,) = struct.unpack(">I", header)
    body = _receive_exactly(sock, length)
    return None if body is None else dict(json.loads(body))


def _receive_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


class InvocationContext:
    """The Lambda context object, with the real deadline of this invocation."""

    def __init__(self, function_name: str, request_id: str, deadline: float, memory_mb: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def _load_handler(code_uri: str, handler: str) -> Any:
    module_name, function_name = handler.rsplit(".", 1)
    sys.path.insert(0, code_uri)
    spec = importlib.util.spec_from_file_location(module_name, Path(code_uri) / f"{module_name}.py")
    assert spec and spec.loader, f"cannot load {handler} from {code_uri}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # as the runtime's import does: pydantic resolves names through it
    spec.loader.exec_module(module)
    return getattr(module, function_name)


def _log_to(path: str | None) -> None:
    """The instance's stdout and stderr go to its function's log file (a pipe could fill and
    block every write; a file is never waited on), as Lambda sends them to CloudWatch Logs."""
    if path is None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        return
    log = LogFile(Path(path))
    os.dup2(log.fileno(), 1)  # what C code or a crashing interpreter writes lands there too
    os.dup2(log.fileno(), 2)
    sys.stdout = LineWriter(log)
    sys.stderr = LineWriter(log)


def _report(request_id: str, started: float, memory_mb: int, init_ms: float | None, restored: bool) -> None:
    ms = (time.perf_counter() - started) * 1000
    used_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    phase = "Restore" if restored else "Init"
    init = f"\t{phase} Duration: {init_ms:.2f} ms" if init_ms is not None else ""
    print(f"END RequestId: {request_id}")
    print(
        f"REPORT RequestId: {request_id}\tDuration: {ms:.2f} ms\tBilled Duration: {math.ceil(ms)} ms"
        f"\tMemory Size: {memory_mb} MB\tMax Memory Used: {used_mb} MB{init}",
        flush=True,
    )


def _enter_function(spec: dict[str, Any]) -> None:
    """The function's own log, environment and directory, as its sandbox has them."""
    _log_to(spec.get("log_path"))
    os.environ.clear()
    os.environ.update(spec["environment"])
    os.chdir(spec["code_uri"])


def _init(spec: dict[str, Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    return _load_handler(spec["code_uri"], spec["handler"]), (time.perf_counter() - started) * 1000


def _init_failed(conn: socket.socket, exc: BaseException) -> None:
    """Reported as Lambda reports Runtime.ImportModuleError: to the caller and in the log."""
    traceback.print_exception(exc)
    sys.stderr.flush()
    send_message(conn, {"ready": False, "error": _error(exc)})


def _serve_instance(conn: socket.socket, spec: dict[str, Any]) -> None:
    """The instance: its own environment, its own imports, one invocation at a time."""
    die_with_parent()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    _enter_function(spec)
    try:
        handler, init_ms = _init(spec)
    except BaseException as exc:
        _init_failed(conn, exc)
        return
    _serve_invocations(conn, spec, handler, init_ms, restored=False)


def _serve_invocations(
    conn: socket.socket, spec: dict[str, Any], handler: Any, init_ms: float | None, *, restored: bool
) -> None:
    memory_mb = int(spec.get("memory_mb", 512))
    send_message(conn, {"ready": True, "pid": os.getpid(), "init_ms": init_ms, "restored": restored})
    while True:
        request = receive_message(conn)
        if request is None:
            return
        if request.get("probe") == "environment":
            send_message(conn, {"result": dict(os.environ), "pid": os.getpid()})
            continue
        request_id = request["request_id"]
        context = InvocationContext(spec["function_name"], request_id, request["deadline"], memory_mb)
        print(f"START RequestId: {request_id} Version: $LATEST", flush=True)
        invoked = time.perf_counter()
        try:
            result = handler(request["event"], context)
        except Exception as exc:  # a function error: the instance stays warm, as on Lambda
            print(json.dumps({"requestId": request_id, **_error(exc)}))
            _report(request_id, invoked, memory_mb, init_ms, restored)
            send_message(conn, {"error": _error(exc)})
            init_ms = None
            continue
        _report(request_id, invoked, memory_mb, init_ms, restored)
        init_ms = None
        send_message(conn, {"result": result})


# ---- SnapStart ---------------------------------------------------------------------------------


def _hooks(kind: str) -> list[tuple[Any, tuple[Any, ...], dict[str, Any]]]:
    """What the function registered with snapshot_restore_py, in the order Lambda runs them:
    before the snapshot in reverse order of registration, after a restore in order."""
    try:
        import snapshot_restore_py
    except ImportError:
        return []
    if kind == "before":
        return list(reversed(snapshot_restore_py.get_before_snapshot()))
    return list(snapshot_restore_py.get_after_restore())


def _run_hooks(kind: str) -> None:
    for function, args, kwargs in _hooks(kind):
        function(*args, **kwargs)


def _settle_threads(seconds: float = 2.0) -> None:
    """A fork keeps only the thread that forks: wait for the threads the before-snapshot hooks
    stopped (pymongo's monitors) to end, so no restored instance inherits a lock one held."""
    deadline = time.monotonic() + seconds
    while threading.active_count() > 1 and time.monotonic() < deadline:
        time.sleep(0.01)


def _serve_snapshot(control: socket.socket, spec: dict[str, Any]) -> None:
    """The snapshot: init and the before-snapshot hooks once, then a restored instance forked for
    each connection the host passes (its file descriptor, over `control`)."""
    die_with_parent()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # restored instances are reaped by the kernel
    _enter_function(spec)
    try:
        handler, _ = _init(spec)
        _run_hooks("before")
    except BaseException as exc:
        # Lambda fails the publish; here the snapshot ends, refusing the instances waiting for
        # it, and the next instance takes it again (a new instance retries a failed init)
        traceback.print_exception(exc)
        sys.stderr.flush()
        _refuse_waiting(control, exc)
        return
    _settle_threads()
    while True:
        _, fds, _, _ = socket.recv_fds(control, 1, 1)
        if not fds:
            return  # the host is gone, or dropped this snapshot
        with socket.socket(fileno=fds[0]) as conn:
            try:
                if os.fork() == 0:
                    control.close()
                    try:
                        _serve_restored(conn, spec, handler)
                    finally:
                        os._exit(0)
            except OSError as exc:  # this instance fails; the snapshot and its other instances live on
                with contextlib.suppress(OSError):
                    _init_failed(conn, exc)


def _refuse_waiting(control: socket.socket, failure: BaseException) -> None:
    """Answers the instances already handed to this snapshot with its failure, after closing
    `control`: from then on the host's next hand-over fails at once and takes the snapshot again."""
    control.setblocking(False)
    waiting = []
    while True:
        try:
            _, fds, _, _ = socket.recv_fds(control, 1, 1)
        except BlockingIOError:
            break
        if not fds:
            break
        waiting.append(socket.socket(fileno=fds[0]))
    control.close()
    for conn in waiting:
        with conn, contextlib.suppress(OSError):
            send_message(conn, {"ready": False, "error": _error(failure)})


def _serve_restored(conn: socket.socket, spec: dict[str, Any], handler: Any) -> None:
    die_with_parent()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    started = time.perf_counter()
    try:
        _run_hooks("after")
    except BaseException as exc:
        _init_failed(conn, exc)
        return
    _serve_invocations(conn, spec, handler, (time.perf_counter() - started) * 1000, restored=True)


class Snapshots:
    """The host's snapshot processes, one per function and configuration (a new environment or
    code is a new published version: a new snapshot)."""

    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self.controls: dict[str, socket.socket] = {}

    @staticmethod
    def _key(spec: dict[str, Any]) -> str:
        return json.dumps([spec["function_name"], spec["code_uri"], spec["handler"], spec["environment"]])

    def restore(self, conn: socket.socket, spec: dict[str, Any]) -> None:
        """Hands `conn` to the function's snapshot, taken first if there is none, or if its
        process ended (killed, or its init failed). ConnectionError if it cannot be handed."""
        key = self._key(spec)
        for _ in range(2):
            control = self.controls.get(key) or self._take(key, spec, conn)
            try:
                socket.send_fds(control, [b"c"], [conn.fileno()])
                return
            except OSError:
                self.controls.pop(key).close()
        raise ConnectionError(f"no snapshot of {spec['function_name']} would take the instance")

    def publish(self, spec: dict[str, Any], conn: socket.socket) -> None:
        """Takes the snapshot now, as Lambda does when a version is published, not at the first
        invocation."""
        key = self._key(spec)
        if key not in self.controls:
            self._take(key, spec, conn)

    def drop(self, spec: dict[str, Any]) -> None:
        """The snapshot process ends (its control socket closed), and its instances with it."""
        control = self.controls.pop(self._key(spec), None)
        if control is not None:
            control.close()

    def close_inherited(self) -> None:
        """In a forked child: the host's ends of every snapshot's control socket, so that closing
        one in the host (drop) ends its snapshot's process, whatever else the host forked."""
        self.listener.close()
        for control in self.controls.values():
            control.close()

    def _take(self, key: str, spec: dict[str, Any], request: socket.socket) -> socket.socket:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.fork() == 0:
            self.close_inherited()
            ours.close()
            request.close()  # the host's connection to whoever asked: theirs to answer, not ours
            try:
                _serve_snapshot(theirs, spec)
            finally:
                os._exit(0)
        theirs.close()
        self.controls[key] = ours
        return ours


def _error(exc: BaseException) -> dict[str, Any]:
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc)[:2000],
        "stackTrace": traceback.format_exception(exc)[-8:],
    }


def serve(socket_path: str, preload: bool = True) -> None:
    die_with_parent()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # instances are reaped by the kernel
    for name in PRELOAD + LAYER_PRELOAD if preload else ():
        importlib.import_module(name)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(128)
    print("ready", flush=True)
    quiet = os.open(os.devnull, os.O_WRONLY)  # nothing more for the stack to read: never a pipe to fill
    os.dup2(quiet, 1)
    snapshots = Snapshots(listener)
    while True:
        conn, _ = listener.accept()
        spec = receive_message(conn)
        if spec is None:
            conn.close()
            continue
        if spec.get("publish"):
            snapshots.publish(spec, conn)
        elif spec.get("unpublish"):
            snapshots.drop(spec)
        elif spec.get("snapstart"):
            try:
                snapshots.restore(conn, spec)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    send_message(conn, {"ready": False, "error": _error(exc)})
        elif os.fork() == 0:
            snapshots.close_inherited()
            try:
                _serve_instance(conn, spec)
            finally:
                with contextlib.suppress(OSError):
                    conn.close()
                os._exit(0)
        conn.close()


if __name__ == "__main__":
    address = sys.argv[1]
    # @name: the abstract namespace
    serve("\0" + address[1:] if address.startswith("@") else address, preload="--no-preload" not in sys.argv[2:])
