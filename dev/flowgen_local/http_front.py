"""The local stack's HTTP front: API Gateway's HTTP API in front of the functions, the built web
app, its runtime config.json and the local-only token endpoint.

Tuned to hold load as API Gateway does: a deep listen backlog (Python's default of 5 drops
connections under 50 concurrent clients), TCP_NODELAY and each response written in one call
(headers then body in two writes meet Nagle and delayed ACKs: about 40 ms per keep-alive
request), and compressed static assets.
"""

from __future__ import annotations

import gzip
import json
import re
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

        def log_message(self, *args: Any) -> None:
            pass

        def _cors_headers(self) -> dict[str, str]:
            origin = self.headers.get("origin")
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
            length = int(self.headers.get("content-length") or 0)
            return self.rfile.read(length) if length else None

        def _handle(self) -> None:
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
            if int(self.headers.get("content-length") or 0) > MAX_BODY_BYTES:
                self._json(413, {"message": "Request Entity Too Large"})
                self.close_connection = True
                return
            body = self._read_body()
            response = stack.request(self.command, path, query=query, headers=dict(self.headers.items()), body=body)
            self._write(response.status, response.headers, response.body.encode())

        do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_OPTIONS = do_HEAD = _handle

        def __getattr__(self, name: str) -> Any:
            """Any other method (TRACE, QUERY...) reaches the routes too, as at API Gateway: the
            $default route's function answers 405 in the envelope, never a bare 501."""
            if name.startswith("do_"):
                return self._handle
            raise AttributeError(name)

    return Handler
