"""An OpenAI-compatible chat completions server on loopback, for tests, the local stack and
benchmarks: realistic structured responses, latency, and injected faults, with a count of
calls, successful calls and tokens.

Fault kinds (`FaultKind`): "429" (with Retry-After), "500", "timeout" (a 500 after
`timeout_seconds`), "hang" (no answer for `hang_seconds`, then the connection is dropped),
"trickle" (a 200 whose body arrives a byte every `trickle_interval_seconds`, cut after
`trickle_seconds`), "malformed" or "truncated_json" (the JSON cut in half), "invalid_json"
(well-formed JSON that breaks the schema), "refusal", "truncated" (finish_reason length).

A call gets at most one fault, the first that applies: `scripted` (the next N calls), a
`FaultRule` whose `match` is in the call's key ("course title :: lesson title", or
"outline :: topic"; `times` calls, or every call when None), `poison_lessons` (always a 500),
then `rate` (that share of all calls, a kind drawn from `rate_kinds`).

Control it in-process (`FakeOpenAI.faults`, `.stats`) or over HTTP (`POST /_fake/faults` with
the Faults fields as JSON, `GET /_fake/faults`, `GET /_fake/stats`, `POST /_fake/reset`) when
it runs in another process.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, get_args

from pydantic import BaseModel

from flowgen.adapters.offline_model import OfflineModel
from flowgen.ports import LessonBrief, OutlineBrief

NOTICE = "_Written by the FlowGen fake model server, not a real model._"


FaultKind = Literal[
    "429", "500", "timeout", "hang", "trickle", "malformed", "truncated_json", "invalid_json", "refusal", "truncated"
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
Delivery = Literal["normal", "hang", "trickle"]


@dataclass
class FaultRule:
    """Calls whose key contains `match` fail as `kind`: the next `times` of them, or all (None)."""

    match: str
    kind: str
    times: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {FAULT_KINDS}")


@dataclass
class Faults:
    latency_seconds: float = 0.0
    # the next N calls fail this way, in order (any FaultKind)
    scripted: list[str] = field(default_factory=list)
    # lessons whose title contains one of these always fail with a 500 (poison jobs)
    poison_lessons: list[str] = field(default_factory=list)
    timeout_seconds: float = 5.0
    retry_after_seconds: int = 1
    rules: list[FaultRule] = field(default_factory=list)  # per lesson (or outline), see FaultRule
    rate: float = 0.0  # share of calls that fail, drawn from rate_kinds
    rate_kinds: list[str] = field(default_factory=lambda: ["500"])
    seed: int | None = None  # for `rate`: the same seed draws the same calls
    hang_seconds: float = 30.0  # bounded, so a test never waits on the server for ever
    trickle_seconds: float = 30.0
    trickle_interval_seconds: float = 1.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Faults:
        """From the JSON of `POST /_fake/faults` (rules as objects)."""
        rules = [FaultRule(**rule) for rule in data.get("rules", [])]
        faults = cls(**{**data, "rules": rules})
        for kind in [*faults.scripted, *faults.rate_kinds]:
            FaultRule("", kind)  # validates the kind
        return faults

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    """What the server does with one call: a status and body, delivered at once, never
    (hang) or a byte at a time (trickle)."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    delivery: Delivery = "normal"
    key: str = ""  # the call's key (see Stats.succeeded)


@dataclass
class Stats:
    calls: Counter[str] = field(default_factory=Counter)  # by schema name
    failures: Counter[str] = field(default_factory=Counter)  # by kind
    prompt_tokens: int = 0
    completion_tokens: int = 0
    lesson_titles: list[str] = field(default_factory=list)  # in call order
    lesson_keys: list[str] = field(default_factory=list)  # "course title :: lesson title", in call order
    # calls answered in full with usable content: lesson keys, and "outline :: topic" for outlines
    succeeded: list[str] = field(default_factory=list)
    last_messages: list[dict[str, Any]] = field(default_factory=list)  # of the latest request

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def duplicate_successes(self) -> dict[str, int]:
        """Keys answered in full more than once (a lesson or outline paid for twice)."""
        return {key: n for key, n in Counter(self.succeeded).items() if n > 1}

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
        self.stopping = threading.Event()  # ends hangs and trickles when the server stops
        self._random = random.Random()  # noqa: S311 - fault injection, not cryptography
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
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.faults = Faults()
            self.stats = Stats()

    def set_faults(self, faults: Faults) -> None:
        with self.lock:
            self.faults = faults
            self._random = random.Random(faults.seed)  # noqa: S311 - fault injection

    def _pick_fault(self, key: str, schema: str, lesson_title: str) -> str | None:
        """The fault for this call (called under the lock), by the order in the module doc."""
        faults = self.faults
        if faults.scripted:
            return faults.scripted.pop(0)
        for rule in faults.rules:
            if rule.match in key and rule.times != 0:
                if rule.times is not None:
                    rule.times -= 1
                return rule.kind
        if schema == "GeneratedLesson" and any(p in lesson_title for p in faults.poison_lessons):
            return "500"
        if faults.rate and self._random.random() < faults.rate:
            return self._random.choice(faults.rate_kinds)
        return None

    # ---- the completion itself ----------------------------------------------------------

    def complete(self, request: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        """The call's status, body and headers (a hang or a trickle is its would-be answer)."""
        answer = self.respond(request)
        return answer.status, answer.body, answer.headers

    def respond(self, request: dict[str, Any]) -> Answer:
        schema = request.get("response_format", {}).get("json_schema", {}).get("name", "")
        payload = _payload(request["messages"])
        lesson_title = payload.get("lesson", "")
        if schema == "GeneratedLesson":
            key = f"{payload.get('course', '')} :: {lesson_title}"
        else:
            key = f"outline :: {payload.get('topic', '')}"
        with self.lock:
            fault = self._pick_fault(key, schema, lesson_title)
            latency, timeout, retry_after = (
                self.faults.latency_seconds,
                self.faults.timeout_seconds,
                self.faults.retry_after_seconds,
            )
            self.stats.calls[schema] += 1
            self.stats.last_messages = request["messages"]
            if schema == "GeneratedLesson":
                self.stats.lesson_titles.append(lesson_title)
                self.stats.lesson_keys.append(key)
            if fault:
                self.stats.failures[fault] += 1
        if latency:
            time.sleep(latency)
        if fault == "timeout":
            time.sleep(timeout)
        if fault == "429":
            return Answer(429, _error("rate_limit_exceeded", "Rate limit reached"), {"retry-after": str(retry_after)})
        if fault in ("500", "timeout"):
            return Answer(500, _error("server_error", "The server had an error"))
        if fault == "hang":
            return Answer(500, _error("server_error", "no answer (hang)"), delivery="hang")

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
            return Answer(400, _error("invalid_request_error", f"unknown response_format {schema!r}"))
        full = result.model_dump_json()
        content: str | None = full
        refusal: str | None = None
        finish_reason = "stop"
        if fault in ("malformed", "truncated_json"):
            content = full[: len(full) // 2]
        elif fault == "invalid_json":
            content = json.dumps({"unexpected": "well-formed JSON that is not the requested schema"})
        elif fault == "refusal":
            content, refusal = None, "I can't help with that."
        elif fault == "truncated":
            content, finish_reason = full[: len(full) // 3], "length"
        with self.lock:
            self.stats.prompt_tokens += usage.prompt_tokens
            self.stats.completion_tokens += usage.completion_tokens
            if fault is None:
                self.stats.succeeded.append(key)
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
        return Answer(200, body, delivery="trickle" if fault == "trickle" else "normal", key=key)

    def hang(self) -> None:
        self.stopping.wait(self.faults.hang_seconds)

    def trickle(self, data: bytes, write: Any) -> bool:
        """Writes `data` a byte per interval until it is all sent (True) or `trickle_seconds`
        have passed or the client went away (False)."""
        interval, limit = self.faults.trickle_interval_seconds, self.faults.trickle_seconds
        started = time.monotonic()
        for i in range(len(data)):
            if time.monotonic() - started >= limit or self.stopping.wait(interval if i else 0):
                return False
            try:
                write(data[i : i + 1])
            except OSError:  # the client gave up (its deadline)
                return False
        return True


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
            body: dict[str, Any] = json.loads(self.rfile.read(length) or b"{}")
            return body

        def _answer(self, answer: Answer) -> None:
            if answer.delivery == "hang":
                fake.hang()
                self.close_connection = True
                return
            if answer.delivery == "normal":
                self._send(answer.status, answer.body, answer.headers)
                return
            data = json.dumps(answer.body).encode()
            self.send_response(answer.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.flush()
            self.close_connection = True
            if fake.trickle(data, self._write_flush):  # slow, but all of it arrived
                with fake.lock:
                    fake.stats.succeeded.append(answer.key)

        def _write_flush(self, chunk: bytes) -> None:
            self.wfile.write(chunk)
            self.wfile.flush()

        def do_GET(self) -> None:
            if self.path == "/_fake/stats":
                self._send(200, fake.stats.as_dict())
            elif self.path == "/_fake/faults":
                self._send(200, fake.faults.as_dict())
            else:
                self._send(404, _error("not_found", self.path))

        def do_POST(self) -> None:
            body = self._body()
            if self.path.endswith("/chat/completions"):
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client gave up (timeout)
                    self._answer(fake.respond(body))
            elif self.path == "/_fake/faults":
                try:
                    faults = Faults.from_dict(body)
                except (TypeError, ValueError) as exc:
                    self._send(400, _error("invalid_request_error", str(exc)))
                    return
                fake.set_faults(faults)
                self._send(200, faults.as_dict())
            elif self.path == "/_fake/reset":
                fake.reset()
                self._send(200, {})
            else:
                self._send(404, _error("not_found", self.path))

    return Handler
