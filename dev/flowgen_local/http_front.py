"""The local stack's HTTP front: API Gateway's HTTP API in front of the functions, the built web
app, its runtime config.json and the local-only token endpoint.

Tuned to hold load as API Gateway does: a deep listen backlog (Python's default of 5 drops
connections under 50 concurrent clients), TCP_NODELAY and each response written in one call
(headers then body in two writes meet Nagle and delayed ACKs: about 40 ms per keep-alive
request), and compressed static assets.

And to read requests as a gateway must: a chunked body is decoded (a body with both a length and
a transfer encoding is refused, so nothing after it can pass for a second request on the
socket), a client has `HEADER_SECONDS` to send its request line and headers (then a 408), and
every refusal the server itself makes (400, 408, 413, 414, 431, 501) is JSON like the API's.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import time
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}
_COMPRESSIBLE = {".html", ".js", ".css", ".svg", ".json", ".txt"}
LOCAL_SUB = re.compile(r"^[A-Za-z0-9_.@|-]{1,64}$")
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
HEADER_SECONDS = 10.0  # to send the request line and the headers, however slowly (then a 408)
IDLE_SECONDS = 30.0  # a keep-alive connection with nothing to read is closed after this


class _HeaderDeadline:
    """The request's reader while its head is read: each line must come before the deadline."""

    def __init__(self, reader: Any, deadline: float) -> None:
        self._reader, self._deadline = reader, deadline

    def readline(self, limit: int = -1) -> bytes:
        if time.monotonic() > self._deadline:
            raise TimeoutError("the request's headers took too long")
        line: bytes = self._reader.readline(limit)
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class GatewayResponse(Protocol):
    status: int
    headers: dict[str, str]
    body: str


class Gateway(Protocol):
    """What the front needs of the stack behind it: its routes (API Gateway), its CORS settings
    and its identity provider."""

    @property
    def cors(self) -> dict[str, Any]: ...
    def request(
        self, method: str, path: str, *, query: str, headers: dict[str, str], body: bytes | str | None
    ) -> GatewayResponse: ...
    def token(self, sub: str) -> str: ...
    def jwks(self) -> dict[str, Any]: ...


class FrontServer(ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True


@cache
def _compressed(path: Path, mtime: float) -> bytes:  # noqa: ARG001 - the mtime keys the cache: a rebuilt file
    return gzip.compress(path.read_bytes(), compresslevel=6)


def handler_for(stack: Gateway, web_dist: Path) -> type[BaseHTTPRequestHandler]:
    cors = stack.cors

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        timeout = IDLE_SECONDS  # the socket's, per read

        def log_message(self, *args: Any) -> None:
            pass

        def handle_one_request(self) -> None:
            """The standard library's, with a deadline on the request's head (a client sending
            its headers a byte at a time is answered 408 and dropped) and JSON refusals."""
            reader = self.rfile
            try:
                self.raw_requestline = reader.readline(65537)
                if not self.raw_requestline:
                    self.close_connection = True
                    return
                self.rfile = _HeaderDeadline(reader, time.monotonic() + HEADER_SECONDS)  # type: ignore[assignment]
                if len(self.raw_requestline) > 65536:
                    self.send_error(414)
                    return
                parsed = self.parse_request()
                self.rfile = reader
                if not parsed:
                    return
                getattr(self, "do_" + self.command)()
                self.wfile.flush()
            except TimeoutError:
                self.rfile = reader
                self.command = self.command if hasattr(self, "command") else ""
                with contextlib.suppress(OSError):
                    self._json(408, {"message": "Request Timeout"})
                self.close_connection = True

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:  # noqa: ARG002
            """The server's own refusals (a malformed request, a line or headers too long) in JSON."""
            phrase = self.responses.get(code, ("Error",))[0]
            self._json(code, {"message": message or phrase})
            self.close_connection = True

        def _cors_headers(self) -> dict[str, str]:
            received = getattr(self, "headers", None)  # none yet when the request's head was refused
            origin = received.get("origin") if received is not None else None
            allowed = cors.get("AllowOrigins", [])
            headers = {"vary": "Origin"} if allowed else {}
            if not origin or (origin not in allowed and "*" not in allowed):
                return headers
            return {
                **headers,
                "access-control-allow-origin": origin,
                "access-control-expose-headers": ",".join(cors.get("ExposeHeaders", [])),
            }

        def _write(self, status: int, headers: dict[str, str], body: bytes) -> None:
            lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}"]
            for key, value in {**headers, **self._cors_headers()}.items():
                if key.lower() not in ("content-length", "connection"):
                    lines.append(f"{key}: {value}")
            lines.append(f"content-length: {len(body)}")
            self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

        def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            self._write(status, {"content-type": "application/json", **(headers or {})}, json.dumps(body).encode())

        def _local_token(self) -> None:
            body = self._read_body() or b"{}"
            try:
                sub = json.loads(body).get("sub", "")
            except (ValueError, AttributeError):
                sub = ""
            if not isinstance(sub, str) or not LOCAL_SUB.match(sub):
                message = "a user name of 1-64 letters, digits or . _ @ | - (no spaces)"
                self._json(400, {"error": {"code": "invalid_user", "message": message}})
            else:
                self._json(200, {"token": stack.token(sub)})

        def _static(self, path: str) -> bool:
            """The web app at the root URL, its runtime config, and the local-only token endpoint."""
            if self.command == "GET" and path == "/config.json":
                config = {"apiUrl": "", "auth": {"mode": "local", "tokenUrl": "/_local/token"}}
                self._json(200, config, {"cache-control": "no-store"})
                return True
            if self.command == "POST" and path == "/_local/token":
                self._local_token()
                return True
            if self.command == "GET" and path == "/_local/.well-known/jwks.json":
                self._json(200, stack.jwks())
                return True
            static = path == "/" or path.startswith("/assets/") or path in ("/favicon.ico", "/favicon.svg")
            if self.command != "GET" or not static:
                return False
            target = (web_dist / ("index.html" if path == "/" else path.lstrip("/"))).resolve()
            if not target.is_relative_to(web_dist.resolve()) or not target.is_file():
                if path == "/":
                    body = b"<!doctype html><p>The web app is not built yet: run <code>make web</code>.</p>"
                    self._write(200, {"content-type": "text/html; charset=utf-8"}, body)
                else:
                    self._write(404, {"content-type": "text/plain"}, b"not found")
                return True
            headers = {
                "content-type": CONTENT_TYPES.get(target.suffix, "application/octet-stream"),
                "cache-control": "no-cache" if path == "/" else "public, max-age=31536000, immutable",
            }
            accepts_gzip = "gzip" in (self.headers.get("accept-encoding") or "")
            if accepts_gzip and target.suffix in _COMPRESSIBLE:
                headers.update({"content-encoding": "gzip", "vary": "Accept-Encoding"})
                self._write(200, headers, _compressed(target, target.stat().st_mtime))
            else:
                self._write(200, headers, target.read_bytes())
            return True

        def _read_body(self) -> bytes | None:
            encoding = (self.headers.get("transfer-encoding") or "").strip().lower()
            if encoding and self.headers.get("content-length") is not None:
                raise _Refused(400, "a request has a Content-Length or a Transfer-Encoding, not both")
            if encoding:
                if encoding != "chunked":
                    raise _Refused(400, f"unsupported Transfer-Encoding {encoding!r}")
                return self._read_chunked()
            try:
                length = int(self.headers.get("content-length") or 0)
            except ValueError:
                raise _Refused(400, "Content-Length is not a number") from None
            if length > MAX_BODY_BYTES:
                raise _Refused(413, "Request Entity Too Large")
            return self.rfile.read(length) if length > 0 else None

        def _read_chunked(self) -> bytes:
            body = bytearray()
            while True:
                size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
                try:
                    size = int(size_line, 16)
                except ValueError:
                    raise _Refused(400, "a chunk's size is not hexadecimal") from None
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):  # trailers
                        pass
                    return bytes(body)
                if len(body) + size > MAX_BODY_BYTES:
                    raise _Refused(413, "Request Entity Too Large")
                body += self.rfile.read(size)
                self.rfile.readline(3)  # the chunk's CRLF

        def _handle(self) -> None:
            try:
                self._route()
            except _Refused as refused:
                self._json(refused.status, {"message": str(refused)})
                self.close_connection = True  # what follows on the socket is not read as a request

        def _route(self) -> None:
            path, _, query = self.path.partition("?")
            if self._static(path):
                return
            if self.command == "OPTIONS" and self.headers.get("access-control-request-method"):
                self._write(
                    204,
                    {
                        "access-control-allow-methods": ",".join(cors.get("AllowMethods", [])),
                        "access-control-allow-headers": ",".join(cors.get("AllowHeaders", [])),
                        "access-control-max-age": str(cors.get("MaxAge", 0)),
                    },
                    b"",
                )
                return
            body = self._read_body()
            headers = {k: v for k, v in self.headers.items() if k.lower() != "transfer-encoding"}
            response = stack.request(self.command, path, query=query, headers=headers, body=body)
            self._write(response.status, response.headers, response.body.encode())

        do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_OPTIONS = do_HEAD = _handle

        def __getattr__(self, name: str) -> Any:
            """Any other method (TRACE, QUERY...) reaches the routes too, as at API Gateway: the
            $default route's function answers 405 in the envelope, never a bare 501."""
            if name.startswith("do_"):
                return self._handle
            raise AttributeError(name)

    return Handler
