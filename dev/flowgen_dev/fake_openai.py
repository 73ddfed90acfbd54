"""An OpenAI-compatible chat completions server on loopback, for tests, the local stack and
benchmarks: realistic structured responses, latency, and injected faults (429, 500, timeout,
malformed JSON), with a count of calls and tokens.

Control it in-process (`FakeOpenAI.faults`, `.stats`) or over HTTP (`POST /_fake/faults`,
`GET /_fake/stats`, `POST /_fake/reset`) when it runs in another process.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydantic import BaseModel

from flowgen.adapters.offline_model import OfflineModel
from flowgen.ports import LessonBrief, OutlineBrief

NOTICE = "_Written by the FlowGen fake model server, not a real model._"


@dataclass
class Faults:
    latency_seconds: float = 0.0
    # the next N calls fail this way, in order:
    # "429", "500", "timeout", "malformed" (cut JSON), "refusal" (message.refusal), "truncated" (finish_reason length)
    scripted: list[str] = field(default_factory=list)
    # lessons whose title contains one of these always fail with a 500 (poison jobs)
    poison_lessons: list[str] = field(default_factory=list)
    timeout_seconds: float = 5.0
    retry_after_seconds: int = 1


@dataclass
class Stats:
    calls: Counter = field(default_factory=Counter)  # by schema name
    failures: Counter = field(default_factory=Counter)  # by kind
    prompt_tokens: int = 0
    completion_tokens: int = 0
    lesson_titles: list[str] = field(default_factory=list)  # in call order
    lesson_keys: list[str] = field(default_factory=list)  # "course title :: lesson title", in call order
    last_messages: list[dict[str, Any]] = field(default_factory=list)  # of the latest request

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "calls": dict(self.calls),
            "failures": dict(self.failures),
            "total_calls": self.total_calls,
        }


class FakeOpenAI:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.faults = Faults()
        self.stats = Stats()
        self.lock = threading.Lock()
        self.model = OfflineModel(notice=NOTICE)
        self.server = ThreadingHTTPServer((host, port), _handler_for(self))
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = str(self.server.server_address[0]), self.server.server_address[1]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAI:
        self._thread = threading.Thread(target=self.server.serve_forever, name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.faults = Faults()
            self.stats = Stats()

    # ---- the completion itself ----------------------------------------------------------

    def complete(self, request: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        schema = request.get("response_format", {}).get("json_schema", {}).get("name", "")
        payload = _payload(request["messages"])
        with self.lock:
            fault = self.faults.scripted.pop(0) if self.faults.scripted else None
            if schema == "GeneratedLesson" and any(p in payload.get("lesson", "") for p in self.faults.poison_lessons):
                fault = "500"
            latency, timeout, retry_after = (
                self.faults.latency_seconds,
                self.faults.timeout_seconds,
                self.faults.retry_after_seconds,
            )
            self.stats.calls[schema] += 1
            self.stats.last_messages = request["messages"]
            if schema == "GeneratedLesson":
                self.stats.lesson_titles.append(payload.get("lesson", ""))
                self.stats.lesson_keys.append(f"{payload.get('course', '')} :: {payload.get('lesson', '')}")
            if fault:
                self.stats.failures[fault] += 1
        if latency:
            time.sleep(latency)
        if fault == "timeout":
            time.sleep(timeout)
        if fault == "429":
            return 429, _error("rate_limit_exceeded", "Rate limit reached"), {"retry-after": str(retry_after)}
        if fault in ("500", "timeout"):
            return 500, _error("server_error", "The server had an error"), {}

        result: BaseModel
        if schema == "OutlineDecision":
            result, usage = self.model.outline(
                OutlineBrief(prompt=payload["topic"], level=payload.get("level"), size=_size(payload))
            )
        elif schema == "GeneratedLesson":
            result, usage = self.model.lesson(
                LessonBrief(
                    course_title=payload["course"],
                    course_description=payload.get("course_description", ""),
                    level=payload.get("level"),
                    module_title=payload.get("module", ""),
                    lesson_title=payload["lesson"],
                    lesson_summary=payload.get("lesson_summary", ""),
                    previous_titles=payload.get("previous_lessons", []),
                    next_titles=payload.get("next_lessons", []),
                )
            )
        else:
            return 400, _error("invalid_request_error", f"unknown response_format {schema!r}"), {}
        full = result.model_dump_json()
        content: str | None = full
        refusal: str | None = None
        finish_reason = "stop"
        if fault == "malformed":
            content = full[: len(full) // 2]
        elif fault == "refusal":
            content, refusal = None, "I can't help with that."
        elif fault == "truncated":
            content, finish_reason = full[: len(full) // 3], "length"
        with self.lock:
            self.stats.prompt_tokens += usage.prompt_tokens
            self.stats.completion_tokens += usage.completion_tokens
        body = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "fake"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": refusal},
                    "finish_reason": finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
            },
        }
        return 200, body, {}


def _payload(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The request's JSON payload: the first user message (a repair request follows it as text)."""
    for message in messages:
        if message.get("role") == "user":
            try:
                value = json.loads(message["content"])
            except (TypeError, ValueError):
                continue
            if isinstance(value, dict):
                return value
    return {}


def _size(payload: dict[str, Any]) -> str:
    return {3: "short", 4: "standard", 6: "long"}.get(payload.get("modules", 4), "standard")


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": kind}}


def _handler_for(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("content-length", 0))
            return json.loads(self.rfile.read(length) or b"{}")

        def do_GET(self) -> None:
            if self.path == "/_fake/stats":
                self._send(200, fake.stats.as_dict())
            else:
                self._send(404, _error("not_found", self.path))

        def do_POST(self) -> None:
            body = self._body()
            if self.path.endswith("/chat/completions"):
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client gave up (timeout)
                    self._send(*fake.complete(body))
            elif self.path == "/_fake/faults":
                with fake.lock:
                    fake.faults = Faults(**body)
                self._send(200, asdict(fake.faults))
            elif self.path == "/_fake/reset":
                fake.reset()
                self._send(200, {})
            else:
                self._send(404, _error("not_found", self.path))

    return Handler
