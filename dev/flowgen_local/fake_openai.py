"""An OpenAI-compatible chat completions server on loopback, for tests, the local stack and
benchmarks: realistic structured responses, latency, and injected faults, with a count of
calls, successful calls and tokens.

Fault kinds (`FaultKind`): "429" (with Retry-After), "500", "timeout" (a 500 after
`timeout_seconds`), "hang" (no answer for `hang_seconds`, then the connection is dropped),
"trickle" (a 200 whose body arrives a byte every `trickle_interval_seconds`, cut after
`trickle_seconds`), "malformed" or "truncated_json" (the JSON cut in half), "invalid_json"
(well-formed JSON that breaks the schema), "prose" (a sentence before the JSON, as a server that
does not enforce the schema writes), "refusal", "truncated" (finish_reason length).

A call gets at most one fault, the first that applies: `scripted` (the next N calls), a
`FaultRule` whose `match` is in the call's key ("course title :: lesson title", or
"outline :: topic"; `times` calls, or every call when None), `poison_lessons` (always a 500),
then `rate` (that share of all calls, a kind drawn from `rate_kinds`).

A learner's question about a lesson (no `response_format`; a user message whose JSON has a
`question`) is answered by the offline model in plain text: the fake's notice, then the question
quoted ("You asked: ..."), counted in `calls["Question"]`, streamed like any other answer.

Streaming (`"stream": true`): the answer is sent as server-sent `chat.completion.chunk` events,
the content cut into tokens of 4 characters: the first after `first_token_seconds`, then
`tokens_per_second` of them (0: all at once), then the finish chunk, the usage chunk (when
`stream_options.include_usage`) and `[DONE]`. A non-streaming answer at the same settings
waits as long as the stream would take, so the two compare fairly. `lesson_tokens` pads a
lesson with markdown sections (after its first block) to about that many tokens. Faults apply
to streams too: statuses before the stream, content faults (truncated, refusal...) in it.
`ignore_stream` answers a streamed request with a plain JSON body, as some compatible servers do.
A request with `sources` (a course grounded in a learner's documents, issue 24) is answered from
them by the offline model, quoting them verbatim; `fabricate_citations` also cites a quote none of
them holds (a lesson's block, an answer's "..." [1]), which the worker must drop.
Usage counts the request's prompt tokens from its size (`prompt_tokens`: 4 characters a token).

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
from flowgen.citations import Passage
from flowgen.content import GeneratedLesson, MarkdownBlock
from flowgen.ports import LessonBrief, OutlineBrief, QuestionBrief
from flowgen.records import Usage

NOTICE = "_Written by the FlowGen fake model server, not a real model._"
QUESTION = "Question"  # the `calls` key of a learner's question (a plain-text answer, no response_format)


FaultKind = Literal[
    "429",
    "500",
    "timeout",
    "hang",
    "trickle",
    "malformed",
    "truncated_json",
    "invalid_json",
    "prose",
    "refusal",
    "truncated",
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
    first_token_seconds: float = 0.0  # a model's time to first token (streams and, in total, plain calls)
    tokens_per_second: float = 0.0  # 0: the whole answer at once
    lesson_tokens: int = 0  # pad lessons to about this many completion tokens (0: as the offline model writes)
    ignore_stream: bool = False  # answer a streamed request with one plain JSON body (as some servers do)
    omit_usage: bool = False  # no usage chunk in a stream, even when asked (as some servers do)
    # a grounded lesson also cites a quote found in none of its passages, which the worker must drop (issue 24)
    fabricate_citations: bool = False

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
    stream: bool = False  # sent as server-sent chunks, paced by first_token_seconds and tokens_per_second
    pace: tuple[float, float] = (0.0, 0.0)  # (first_token_seconds, tokens_per_second)
    include_usage: bool = False
    clean: bool = False  # no fault: counted in Stats.succeeded once all of it has been written


@dataclass
class Stats:
    calls: Counter[str] = field(default_factory=Counter)  # by schema name
    failures: Counter[str] = field(default_factory=Counter)  # by kind
    prompt_tokens: int = 0
    completion_tokens: int = 0
    lesson_titles: list[str] = field(default_factory=list)  # in call order
    lesson_keys: list[str] = field(default_factory=list)  # "course title :: lesson title", in call order
    # calls answered in full with usable content, the whole answer written to a caller still
    # there (one that gave up at its deadline got nothing): lesson keys, "outline :: topic"
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
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, tokens_per_chunk: int = 1) -> None:
        """`tokens_per_chunk`: tokens in each streamed chunk. OpenAI sends about one, and so does
        the fake by default; the test session's fake sends 8 (tests/conftest.py), the same text
        at the same pace in an eighth of the chunks, because the openai SDK builds an object for
        every chunk it reads, and the workers' instances were the suite's largest CPU consumer."""
        self.tokens_per_chunk = tokens_per_chunk
        self.faults = Faults()
        self.stats = Stats()
        self.lock = threading.Lock()
        self.model = OfflineModel(notice=NOTICE)
        self.stopping = threading.Event()  # ends hangs and trickles when the server stops
        self._random = random.Random()
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

    def reset_stats(self) -> None:
        """Counts from now on; the faults set stay."""
        with self.lock:
            self.stats = Stats()

    def set_faults(self, faults: Faults) -> None:
        with self.lock:
            self.faults = faults
            self._random = random.Random(faults.seed)

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
        if answer.clean:
            self.delivered(answer)
        return answer.status, answer.body, answer.headers

    def delivered(self, answer: Answer) -> None:
        with self.lock:
            self.stats.succeeded.append(answer.key)

    def respond(self, request: dict[str, Any]) -> Answer:
        schema = request.get("response_format", {}).get("json_schema", {}).get("name", "")
        payload = _payload(request["messages"])
        lesson_title = payload.get("lesson", "")
        if not schema and "question" in payload:  # a learner's question: plain text, no schema
            schema = QUESTION
            key = f"question :: {payload['question']}"
        elif schema == "GeneratedLesson":
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
            pace = (self.faults.first_token_seconds, self.faults.tokens_per_second)
            lesson_tokens = self.faults.lesson_tokens
            fabricate = self.faults.fabricate_citations
            streams = not self.faults.ignore_stream
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

        result: BaseModel | str
        if schema == QUESTION:
            result, usage = self.model.answer(
                QuestionBrief(
                    course_title=payload.get("course", ""),
                    lesson_title=payload.get("lesson_title", ""),
                    lesson_text=payload.get("lesson_content", ""),
                    question=payload["question"],
                    language=payload.get("language"),
                    earlier=tuple((e["question"], e["answer"]) for e in payload.get("earlier", [])),
                    passages=_passages(payload),
                )
            )
            if fabricate and payload.get("sources"):
                result += f'\n\n> "{FABRICATED_QUOTE}" [1]'
        elif schema == "OutlineDecision":
            result, usage = self.model.outline(
                OutlineBrief(
                    prompt=payload["topic"],
                    level=payload.get("level"),
                    size=_size(payload),
                    language=payload.get("language"),
                    passages=_passages(payload),
                )
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
                    language=payload.get("language"),
                    instruction=payload.get("instruction"),
                    grounded="sources" in payload,
                    passages=_passages(payload),
                )
            )
            if fabricate:
                result = _fabricated(result)
        else:
            return Answer(400, _error("invalid_request_error", f"unknown response_format {schema!r}"))
        usage = Usage(prompt_tokens=prompt_tokens(request), completion_tokens=usage.completion_tokens)
        if isinstance(result, GeneratedLesson) and lesson_tokens:
            result, usage = _padded(result, usage, lesson_tokens)
        full = result if isinstance(result, str) else result.model_dump_json()
        content: str | None = full
        refusal: str | None = None
        finish_reason = "stop"
        if fault in ("malformed", "truncated_json"):
            content = full[: len(full) // 2]
        elif fault == "invalid_json":
            content = json.dumps({"unexpected": "well-formed JSON that is not the requested schema"})
        elif fault == "prose":
            content = "Sure! Here is the lesson you asked for.\n\n" + full
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
        stream = bool(request.get("stream")) and streams
        if not stream and pace[1] and content:  # as long as the same answer streamed would take
            time.sleep(pace[0] + len(_tokens_of(content)) / pace[1])
        include_usage = bool((request.get("stream_options") or {}).get("include_usage")) and not self.faults.omit_usage
        delivery: Delivery = "trickle" if fault == "trickle" else "normal"
        return Answer(
            200, body, delivery=delivery, key=key, stream=stream, pace=pace, include_usage=include_usage,
            clean=fault is None,
        )  # fmt: skip

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


def prompt_tokens(request: dict[str, Any]) -> int:
    """What the request costs in prompt tokens, as a provider counts it: the messages' text and
    the response format's schema (sent to the model too) at 4 characters a token, plus 3 a
    message and 3 to prime the answer (OpenAI's count for chat formatting). The offline model's
    own estimate counts only a few fields of the brief, an eighth of a real request (issue 27)."""
    chars = sum(len(m.get("content") or "") for m in request.get("messages", []) if isinstance(m.get("content"), str))
    if "response_format" in request:
        chars += len(json.dumps(request["response_format"], separators=(",", ":")))
    return -(-chars // 4) + 3 * len(request.get("messages", [])) + 3


def _tokens_of(content: str) -> list[str]:
    """The fake's tokens: 4 characters each (about what a real tokenizer averages on English)."""
    return [content[i : i + 4] for i in range(0, len(content), 4)]


def _padded(lesson: GeneratedLesson, usage: Usage, tokens: int) -> tuple[GeneratedLesson, Usage]:
    """The lesson with markdown sections after its first block, to about `tokens` tokens."""
    missing = tokens * 4 - len(lesson.model_dump_json())
    sections: list[MarkdownBlock] = []
    room = 20 - len(lesson.blocks)
    for n in range(max(0, min(room, -(-missing // 600)))):
        text = f"### Part {n + 1}\n\n" + ("This section of the fake lesson stands in for real prose. " * 12)
        sections.append(MarkdownBlock(type="markdown", markdown=text[: max(40, min(600, missing)) - 40]))
        missing -= len(sections[-1].model_dump_json()) + 1
    shift = len(sections)  # the cards still point at the blocks they came from
    cards = [card.model_copy(update={"block": card.block + shift if card.block else 0}) for card in lesson.flashcards]
    padded = GeneratedLesson(blocks=[lesson.blocks[0], *sections, *lesson.blocks[1:]], flashcards=cards)
    spent = Usage(prompt_tokens=usage.prompt_tokens, completion_tokens=len(_tokens_of(padded.model_dump_json())))
    return padded, spent


def _chunks(answer: Answer, tokens_per_chunk: int) -> list[tuple[float, bytes]]:
    """The stream of one answer: (seconds after the request to send it, its SSE bytes)."""
    body = answer.body
    first, per_second = answer.pace
    message = body["choices"][0]["message"]

    def event(delta: dict[str, Any], finish: str | None = None, usage: Any = None, choices: bool = True) -> bytes:
        chunk = {
            "id": body["id"],
            "object": "chat.completion.chunk",
            "created": body["created"],
            "model": body["model"],
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}] if choices else [],
        }
        if usage is not None:
            chunk["usage"] = usage
        return f"data: {json.dumps(chunk)}\n\n".encode()

    out = [(0.0, event({"role": "assistant", "content": ""}))]
    at = first
    if message.get("refusal"):
        out.append((at, event({"refusal": message["refusal"]})))
    tokens, size = _tokens_of(message.get("content") or ""), max(1, tokens_per_chunk)
    for i in range(0, len(tokens), size):  # a chunk is sent when its first token is due
        out.append((at + (i / per_second if per_second else 0.0), event({"content": "".join(tokens[i : i + size])})))
    if len(out) > 1:
        at = out[-1][0]
    out.append((at, event({}, body["choices"][0]["finish_reason"])))
    if answer.include_usage:
        out.append((at, event({}, usage=body["usage"], choices=False)))
    out.append((at, b"data: [DONE]\n\n"))
    return out


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


def _passages(payload: dict[str, Any]) -> tuple[Passage, ...]:
    """The passages of a grounded request (its `sources` field), as the offline model takes them."""
    return tuple(
        Passage(
            source_id=str(p.get("source_id", "")),
            chunk_id=str(p.get("chunk_id", "")),
            text=str(p.get("text", "")),
            page=p.get("page"),
            heading=p.get("heading"),
        )
        for p in payload.get("sources") or []
        if isinstance(p, dict)
    )


FABRICATED_QUOTE = "A sentence the fake model made up, found in none of the passages."


def _fabricated(lesson: GeneratedLesson) -> GeneratedLesson:
    """The first cited block also cites its first passage with a quote that passage does not hold."""
    blocks = list(lesson.blocks)
    for n, block in enumerate(blocks):
        if isinstance(block, MarkdownBlock) and block.citations:
            wrong = block.citations[0].model_copy(update={"quote": FABRICATED_QUOTE})
            blocks[n] = block.model_copy(update={"citations": [*block.citations, wrong]})
            break
    return lesson.model_copy(update={"blocks": blocks})


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
            if answer.stream and answer.status == 200:
                self._stream(answer)
                return
            if answer.delivery == "normal":
                self._send(answer.status, answer.body, answer.headers)
                if answer.clean:  # written: a caller that had gone would have broken the pipe
                    fake.delivered(answer)
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

        def _stream(self, answer: Answer) -> None:
            """Server-sent chunks at their pace (or a byte at a time: trickle); the end of the
            body is the connection's close."""
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("connection", "close")
            self.end_headers()
            self.wfile.flush()
            self.close_connection = True
            chunks = _chunks(answer, fake.tokens_per_chunk)
            if answer.delivery == "trickle":
                if fake.trickle(b"".join(data for _, data in chunks), self._write_flush):
                    with fake.lock:
                        fake.stats.succeeded.append(answer.key)
                return
            started = time.monotonic()
            for at, data in chunks:
                wait = at - (time.monotonic() - started)
                if wait > 0 and fake.stopping.wait(wait):
                    return
                self._write_flush(data)
            if answer.clean:
                fake.delivered(answer)

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
