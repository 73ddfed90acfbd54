"""The local HTTP front holds load as API Gateway does (issue 8): a deep listen backlog, and each
response written in one call on a socket without Nagle's delay. Python's defaults (a backlog of 5,
headers and body in two writes) dropped connections under 50 clients and added about 40 ms to
every keep-alive request; bench/http_front.py measures the load itself."""

from __future__ import annotations

import io
from email.message import Message
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from flowgen_local.http_front import FrontServer, handler_for


class _Writes(io.BytesIO):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def write(self, data: Any) -> int:
        self.calls += 1
        return super().write(data)


def test_the_listen_backlog_takes_fifty_clients_at_once() -> None:
    assert FrontServer.request_queue_size >= 128


def test_a_response_is_one_write_on_a_socket_without_nagle(tmp_path: Path) -> None:
    stack: Any = SimpleNamespace(cors={"AllowOrigins": ["http://app.example"]})
    handler_class = handler_for(stack, tmp_path)
    assert handler_class.disable_nagle_algorithm is True
    handler: Any = handler_class.__new__(handler_class)  # no socket: only the response writing is exercised
    handler.headers = Message()
    handler.headers["origin"] = "http://app.example"
    handler.wfile = written = _Writes()
    handler._json(200, {"ready": True})
    head, _, body = written.getvalue().partition(b"\r\n\r\n")
    assert written.calls == 1 and body == b'{"ready": true}'
    assert head.startswith(b"HTTP/1.1 200 OK") and b"content-length: 15" in head
    assert b"access-control-allow-origin: http://app.example" in head
