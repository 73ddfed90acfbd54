"""The stand-in's process: a threaded TCP server on 127.0.0.1 speaking the wire protocol.

It prints `READY_PREFIX` and its port once it answers, or `FAILED_PREFIX` and why it cannot
start (a damaged journal, a data directory in use) and exits; `MongoStandIn` reads either.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import socket
import socketserver
import sys
from pathlib import Path
from types import FrameType

from flowgen_stand_in.commands import Commands
from flowgen_stand_in.engine import Engine
from flowgen_stand_in.journal import DataDirInUse, Disk, Journal, JournalDamaged, JournalWriteFailed
from flowgen_stand_in.protocol import OP_MSG, ProtocolError, legacy_reply, msg_reply, read_request
from flowgen_stand_in.replies import error_reply

log = logging.getLogger("flowgen_stand_in")

READY_PREFIX = "mongo stand-in ready on port "
FAILED_PREFIX = "mongo stand-in cannot start: "
DISK_BYTES_ENV = "FLOWGEN_STAND_IN_DISK_BYTES"  # test hook: the bytes the data directory's disk holds
_PR_SET_PDEATHSIG = 1


class _Connection(socketserver.BaseRequestHandler):
    server: WireServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            try:
                request = read_request(sock)
            except ProtocolError as exc:
                log.warning("closing a connection: %s", exc)
                return
            except OSError:
                return
            if request is None:
                return
            reply = self.server.commands.run(request.db, request.command)
            if request.more_to_come:
                continue
            encode = msg_reply if request.opcode == OP_MSG else legacy_reply
            try:
                data = encode(request.request_id, reply)
            except Exception as exc:  # a value BSON cannot carry: say so rather than hang up
                data = encode(request.request_id, error_reply(1, "InternalError", f"reply not encodable: {exc}"))
            try:
                sock.sendall(data)
            except OSError:
                return


class WireServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, port: int, commands: Commands) -> None:
        self.commands = commands
        super().__init__(("127.0.0.1", port), _Connection)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


def open_engine(
    data_dir: Path | None, *, use_indexes: bool = True, test_commands: bool = False, disk_bytes: int | None = None
) -> Commands:
    """The engine, loaded from `data_dir` when given. `disk_bytes` (a test hook) is a budget of
    bytes the disk holds: past it, writes fail with ENOSPC; it turns the test commands on."""
    engine = Engine(use_indexes=use_indexes)
    journal = None
    if data_dir is not None:
        journal = Journal(data_dir, disk=Disk(disk_bytes))
        replayed = journal.open(engine)
        log.info("loaded %d records from %s", replayed, data_dir)
    return Commands(engine, journal, test_commands=test_commands or disk_bytes is not None)


def die_with_parent(parent: int | None) -> None:
    """SIGKILL this process when its parent goes (Linux): no stand-in outlives its stack.
    The signal follows the parent *thread* that spawned us, so spawn from a long-lived one."""
    if not sys.platform.startswith("linux"):
        return
    parent = parent or os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    if os.getppid() != parent:  # the parent died before the prctl took effect
        os._exit(1)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["repair"]:
        from flowgen_stand_in.repair import main as repair

        sys.exit(repair(argv[1:]))
    parser = argparse.ArgumentParser(
        prog="python -m flowgen_stand_in",
        description=__doc__,
        epilog="`python -m flowgen_stand_in repair DATA_DIR` repairs a damaged journal (see --help there).",
    )
    parser.add_argument("--port", type=int, default=27017, help="0 picks a free port (printed when ready)")
    parser.add_argument("--data-dir", type=Path, default=None, help="persist here; without it, data is in memory")
    parser.add_argument("--scan", action="store_true", help="every query scans, as mongomock does (for benchmarks)")
    parser.add_argument(
        "--outlive-parent", action="store_true", help="keep running when the parent exits (by-hand use)"
    )
    parser.add_argument(
        "--enable-test-commands",
        action="store_true",
        help="answer configureFailPoint (the flowgenDiskFull fail point), as MongoDB's enableTestCommands",
    )
    parser.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)  # set by MongoStandIn
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="mongo stand-in: %(message)s")
    if not args.outlive_parent:
        die_with_parent(args.parent_pid)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past a file size limit, a write fails (EFBIG) rather than kill us
    disk_bytes = os.environ.get(DISK_BYTES_ENV)
    try:
        commands = open_engine(
            args.data_dir,
            use_indexes=not args.scan,
            test_commands=args.enable_test_commands,
            disk_bytes=int(disk_bytes) if disk_bytes else None,
        )
    except (DataDirInUse, JournalDamaged, JournalWriteFailed) as exc:
        print(FAILED_PREFIX + " ".join(str(exc).split()), flush=True)
        sys.exit(f"mongo stand-in: {exc}")
    server = WireServer(args.port, commands)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        with commands.engine.lock:  # no command is half-journaled when we go
            os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"{READY_PREFIX}{server.port}", flush=True)
    server.serve_forever(poll_interval=0.5)
