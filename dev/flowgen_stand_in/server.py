"""The stand-in's process: a threaded TCP server on 127.0.0.1 speaking the wire protocol."""

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
from flowgen_stand_in.journal import DataDirInUse, Journal
from flowgen_stand_in.protocol import OP_MSG, ProtocolError, legacy_reply, msg_reply, read_request
from flowgen_stand_in.replies import error_reply

log = logging.getLogger("flowgen_stand_in")

READY_PREFIX = "mongo stand-in ready on port "
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


def open_engine(data_dir: Path | None, *, use_indexes: bool = True) -> Commands:
    engine = Engine(use_indexes=use_indexes)
    journal = None
    if data_dir is not None:
        journal = Journal(data_dir)
        replayed = journal.open(engine)
        log.info("loaded %d records from %s", replayed, data_dir)
    return Commands(engine, journal)


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
    parser = argparse.ArgumentParser(prog="python -m flowgen_stand_in", description=__doc__)
    parser.add_argument("--port", type=int, default=27017, help="0 picks a free port (printed when ready)")
    parser.add_argument("--data-dir", type=Path, default=None, help="persist here; without it, data is in memory")
    parser.add_argument("--scan", action="store_true", help="every query scans, as mongomock does (for benchmarks)")
    parser.add_argument(
        "--outlive-parent", action="store_true", help="keep running when the parent exits (by-hand use)"
    )
    parser.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)  # set by MongoStandIn
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="mongo stand-in: %(message)s")
    if not args.outlive_parent:
        die_with_parent(args.parent_pid)
    try:
        commands = open_engine(args.data_dir, use_indexes=not args.scan)
    except DataDirInUse as exc:
        sys.exit(f"mongo stand-in: {exc}")
    server = WireServer(args.port, commands)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        with commands.engine.lock:  # no command is half-journaled when we go
            os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"{READY_PREFIX}{server.port}", flush=True)
    server.serve_forever(poll_interval=0.5)
