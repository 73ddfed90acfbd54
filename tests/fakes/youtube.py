"""A fake YouTube Data API search endpoint for the lesson worker's video suggestions."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeYouTube:
    """The YouTube Data API's search, on loopback: one video, or `status` when it is not 200."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                fake.requests.append(self.path)
                body = json.dumps(
                    {"items": [{"id": {"videoId": "abc123"}, "snippet": {"title": "Borrowing, visually"}}]}
                )
                self.send_response(fake.status)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode() if fake.status == 200 else b'{"error": "quota"}')

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
