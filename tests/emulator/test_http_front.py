"""The local HTTP front holds load as API Gateway does (issue 8): a deep listen backlog, and each
response written in one call on a socket without Nagle's delay. Python's defaults (a backlog of 5,
headers and body in two writes) dropped connections under 50 clients and added about 40 ms to
every keep-alive request; bench/http_front.py measures the load itself."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from flowgen_local import http_front
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


# ---- reading requests as a gateway must (issue 25) ---------------------------------------------


class _Echo:
    """A gateway that answers every request with what it received."""

    cors: dict[str, Any] = {}

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes | str | None]] = []

    def request(self, method: str, path: str, *, query: str, headers: dict[str, str], body: Any) -> Any:
        self.requests.append((method, path, body))
        text = body.decode() if isinstance(body, bytes) else body or ""
        return SimpleNamespace(status=200, headers={"content-type": "text/plain"}, body=f"{method} {path} {text}")

    def token(self, sub: str) -> str:
        return sub

    def jwks(self) -> dict[str, Any]:
        return {}


@pytest.fixture
def front(tmp_path: Path) -> Iterator[tuple[_Echo, int]]:
    gateway = _Echo()
    server = FrontServer(("127.0.0.1", 0), handler_for(gateway, tmp_path))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield gateway, server.server_address[1]
    server.shutdown()
    server.server_close()


def _exchange(port: int, raw: bytes, *, pause: float = 0.0, timeout: float = 15.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(raw)
        if pause:
            time.sleep(pause)
        received = b""
        with contextlib.suppress(TimeoutError):
            while chunk := conn.recv(65536):
                received += chunk
    return received


def test_a_chunked_body_is_decoded(front: tuple[_Echo, int]) -> None:
    gateway, port = front
    raw = (
        b"POST /courses HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n"
    )
    answer = _exchange(port, raw)
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"POST /courses hello, world")
    assert gateway.requests == [("POST", "/courses", b"hello, world")]


def test_a_length_and_a_transfer_encoding_together_are_refused_and_nothing_is_smuggled(
    front: tuple[_Echo, int],
) -> None:
    gateway, port = front
    smuggled = b"GET /admin HTTP/1.1\r\nHost: x\r\n\r\n"
    raw = (
        b"POST /courses HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\n" + smuggled
    )
    head, _, body = _exchange(port, raw).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and json.loads(body)["message"].startswith("a request has")
    assert gateway.requests == []  # neither the refused request nor the one behind it ran


def test_headers_too_large_are_a_431_in_json(front: tuple[_Echo, int]) -> None:
    _, port = front
    raw = b"GET /courses HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(120)) + b"\r\n"
    head, _, body = _exchange(port, raw).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431") and b"application/json" in head and json.loads(body)["message"]


def test_a_client_sending_its_headers_slowly_is_answered_408_and_dropped(
    front: tuple[_Echo, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway, port = front
    monkeypatch.setattr(http_front, "HEADER_SECONDS", 0.5)
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET /courses HTTP/1.1\r\n")
        for _ in range(6):  # a header line every 0.2 s: never done
            time.sleep(0.2)
            with contextlib.suppress(OSError):
                conn.sendall(b"X-Slow: 1\r\n")
        answer = conn.recv(65536)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408") and json.loads(body) == {"message": "Request Timeout"}
    assert time.monotonic() - started < 5 and gateway.requests == []
