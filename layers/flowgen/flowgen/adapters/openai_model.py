"""ModelClient on the openai SDK with structured outputs (any compatible server via base_url)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

import openai
import pydantic
from openai import OpenAI
from openai.lib import type_to_response_format_param

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

from flowgen.content import GeneratedLesson, OutlineDecision
from flowgen.deadline import raise_if_abandoned
from flowgen.errors import ModelError
from flowgen.observability import logger
from flowgen.ports import LessonBrief, OnBlocks, OnOutline, OnText, OutlineBrief, QuestionBrief
from flowgen.prompts import lesson_messages, outline_messages, question_messages, repair_message
from flowgen.records import Usage
from flowgen.streaming import BlockReader, read_outline

Schema = TypeVar("Schema", bound=pydantic.BaseModel)
Messages = list[dict[str, str]]
OnSnapshot = Callable[[str | None], None]  # the streamed text so far; None when it starts again (a repair)


class OpenAIModel:
    """Structured outputs parsed into the pydantic schemas. A refusal, a truncated answer or a
    schema violation gets one repair attempt; then a retryable ModelError. Rate limits and
    server errors are not repaired: they carry the provider's Retry-After back to the worker."""

    def __init__(self, client: OpenAI, *, outline_model: str, lesson_model: str) -> None:
        self.client = client
        self.outline_model = outline_model
        self.lesson_model = lesson_model
        self.name = f"openai:{lesson_model}"
        self.streams = True  # False once the server answered a structured stream in one body

    def outline(self, brief: OutlineBrief) -> tuple[OutlineDecision, Usage]:
        return self._parse(self.outline_model, outline_messages(brief), OutlineDecision)

    def lesson(self, brief: LessonBrief) -> tuple[GeneratedLesson, Usage]:
        return self._parse(self.lesson_model, lesson_messages(brief), GeneratedLesson)

    def outline_stream(self, brief: OutlineBrief, on_outline: OnOutline) -> tuple[OutlineDecision, Usage]:
        """The outline streamed with structured outputs: each delta hands the outline finished so
        far (title, description, objectives, whole modules) to `on_outline`."""

        def on_snapshot(snapshot: str | None) -> None:
            on_outline(read_outline(snapshot) if snapshot is not None else None)

        return self._parse(self.outline_model, outline_messages(brief), OutlineDecision, on_snapshot)

    def lesson_stream(self, brief: LessonBrief, on_blocks: OnBlocks) -> tuple[GeneratedLesson, Usage]:
        """The lesson streamed with structured outputs: each delta of the text hands the finished
        blocks so far, and the markdown being written, to `on_blocks`."""
        readers = [BlockReader()]

        def on_snapshot(snapshot: str | None) -> None:
            if snapshot is None:  # the repair starts again from nothing
                readers.append(BlockReader())
                on_blocks([], "")
            else:
                on_blocks(*readers[-1].read(snapshot))

        return self._parse(self.lesson_model, lesson_messages(brief), GeneratedLesson, on_snapshot)

    def answer(self, brief: QuestionBrief) -> tuple[str, Usage]:
        """A learner's question: plain Markdown text, no schema (an empty or filtered answer is a
        retryable ModelError)."""
        with _provider_errors():
            completion = self.client.chat.completions.create(
                model=self.lesson_model, messages=cast("list[ChatCompletionMessageParam]", question_messages(brief))
            )
        choice = completion.choices[0] if completion.choices else None
        counted = completion.usage
        usage = Usage(
            prompt_tokens=counted.prompt_tokens if counted else 0,
            completion_tokens=counted.completion_tokens if counted else 0,
        )
        text = (choice.message.content or "") if choice else ""
        return _usable_answer(text, choice.finish_reason if choice else None), usage

    def answer_stream(self, brief: QuestionBrief, on_text: OnText) -> tuple[str, Usage]:
        """The answer streamed: `on_text` gets the text so far after each delta."""
        with _provider_errors():
            stream = self.client.chat.completions.create(
                model=self.lesson_model,
                messages=cast("list[ChatCompletionMessageParam]", question_messages(brief)),
                stream=True,
                stream_options={"include_usage": True},
            )
            with stream:
                plain = _plain_body(stream.response)
                if plain is not None:  # a server that does not stream answered in one body
                    return _plain_answer(plain, on_text)
                progress = _Progress(structured=False)
                progress.follow(stream, on_text)
        return _usable_answer(progress.snapshot, progress.finish_reason), progress.spent()

    def _parse(
        self, model: str, messages: Messages, schema: type[Schema], on_snapshot: OnSnapshot | None = None
    ) -> tuple[Schema, Usage]:
        spent = Usage()
        problem = ""
        for attempt in range(2):
            sent = messages if attempt == 0 else [*messages, repair_message(problem)]
            if on_snapshot is None or not self.streams:
                parsed, usage, problem = self._once(model, sent, schema)
            else:
                if attempt:
                    on_snapshot(None)
                parsed, usage, problem = self._once_streamed(model, sent, schema, on_snapshot)
            spent = Usage(
                prompt_tokens=spent.prompt_tokens + usage.prompt_tokens,
                completion_tokens=spent.completion_tokens + usage.completion_tokens,
            )
            if parsed is not None:
                return parsed, spent
            logger.warning("unusable model output", extra={"schema": schema.__name__, "problem": problem})
            raise_if_abandoned()  # no repair call for a call its caller gave up on
        raise ModelError(f"unusable output after one repair attempt: {problem}", public=_UNUSABLE_PUBLIC)

    def _once(self, model: str, messages: Messages, schema: type[Schema]) -> tuple[Schema | None, Usage, str]:
        with _provider_errors():
            # the raw response keeps the usage of an answer that then fails to parse: it was paid for
            raw = self.client.chat.completions.with_raw_response.parse(
                model=model, messages=cast("list[ChatCompletionMessageParam]", messages), response_format=schema
            )
        usage = _usage_of(raw.http_response)
        try:
            completion = raw.parse()
        except _UNUSABLE as exc:
            return None, usage, _unusable(exc, schema)
        message = completion.choices[0].message
        problem = _problem_of(message.refusal, message.parsed)
        return (None if problem else message.parsed), usage, problem

    def _once_streamed(
        self, model: str, messages: Messages, schema: type[Schema], on_snapshot: OnSnapshot
    ) -> tuple[Schema | None, Usage, str]:
        progress = _Progress()
        try:
            with (
                _provider_errors(),
                self.client.chat.completions.create(
                    model=model,
                    messages=cast("list[ChatCompletionMessageParam]", messages),
                    response_format=type_to_response_format_param(schema),
                    stream=True,
                    stream_options={"include_usage": True},
                ) as chunks,
            ):
                # the raw stream (not the SDK's `.stream()` helper, which keeps its response private)
                # shows the response before any iteration: a server may answer in one JSON body
                plain = _plain_body(chunks.response)
                if plain is not None:  # a server that ignores `stream`: its answer is this body, paid once
                    logger.warning("the model server ignores `stream`: plain calls from now on", extra={"model": model})
                    self.streams = False
                    return _read_body(plain, schema, on_snapshot)
                # our own accumulation, checked once at the end as a one-body answer is: the SDK's
                # stream helper parsed the whole text so far as partial JSON at every chunk
                # (about half the client's CPU of a streamed lesson), and nothing here reads it
                progress.follow(chunks, on_snapshot)
                raise_if_abandoned()  # cut at the deadline, perhaps before any chunk: no other call
                if not progress.chunks:
                    raise ModelError("the model stream ended before its first event", public=_FAILED_PUBLIC)
        except _UNUSABLE as exc:
            return None, progress.spent(), _unusable(exc, schema)
        parsed, problem = _checked(progress.finish_reason, progress.snapshot, progress.refusal, schema)
        return parsed, progress.spent(), problem


@dataclass
class _Progress:
    """What a stream has delivered so far: its text (or refusal), its finish reason, and its usage
    once the last chunk says. A `structured` answer is one JSON object; a question's answer is
    plain text."""

    structured: bool = True
    usage: Usage = field(default_factory=Usage)
    snapshot: str = ""
    refusal: str = ""
    finish_reason: str | None = None
    chunks: int = 0

    def follow(self, stream: Iterable[Any], on_text: OnText) -> None:
        for chunk in stream:
            self.chunks += 1
            raise_if_abandoned()  # leaving the `with` closes the connection
            if chunk.usage is not None:
                counted = chunk.usage
                self.usage = Usage(prompt_tokens=counted.prompt_tokens, completion_tokens=counted.completion_tokens)
            for choice in chunk.choices:
                if choice.index == 0:
                    self._take(choice, on_text)

    def _take(self, choice: Any, on_text: OnText) -> None:
        self.finish_reason = choice.finish_reason or self.finish_reason
        if choice.delta.refusal:
            self.refusal += choice.delta.refusal
        if not choice.delta.content:
            return
        self.snapshot += choice.delta.content
        begun = self.snapshot.lstrip()
        if self.structured and begun and not begun.startswith("{"):
            # stop reading (and paying for) an answer that is not JSON: repair it now
            raise ValueError(f"the answer is not JSON: it begins {begun[:40]!r}")
        on_text(self.snapshot)

    def spent(self) -> Usage:
        """A stream cut before its usage chunk was still paid for: about 4 characters a token."""
        if self.usage.total_tokens:
            return self.usage
        return Usage(completion_tokens=len(self.snapshot) // 4)


@contextmanager
def _provider_errors() -> Iterator[None]:
    """The provider's failures as ModelError, with its Retry-After when it gave one."""
    try:
        yield
    except openai.RateLimitError as exc:
        raise ModelError("rate limited by the model provider", retry_after=_retry_after(exc)) from exc
    except openai.APIStatusError as exc:
        raise ModelError(
            f"model provider answered {exc.status_code}", retry_after=_retry_after(exc), public=_FAILED_PUBLIC
        ) from exc
    except (openai.APIConnectionError, openai.APITimeoutError) as exc:
        raise ModelError("model provider unreachable or timed out", public=_UNREACHABLE_PUBLIC) from exc


_FAILED_PUBLIC = "The writing service had a problem and gave no answer."
_UNREACHABLE_PUBLIC = "The writing service could not be reached, or did not answer in time."
_UNUSABLE_PUBLIC = "The writing service's answer could not be used, even after asking it again."


ANSWER_MAX_CHARS = 20_000


def _usable_answer(text: str, finish_reason: str | None) -> str:
    """The answer as stored: whole (a cut or filtered one is never kept), not empty, bounded."""
    answer = text.strip()
    if finish_reason == "content_filter":
        raise ModelError("the answer was filtered", public="The writing service's content filter stopped this answer.")
    if finish_reason == "length":
        raise ModelError("the answer was cut short", public="The answer was cut short before it was complete.")
    if not answer:
        raise ModelError("the model gave an empty answer", public="The writing service gave an empty answer.")
    return answer[:ANSWER_MAX_CHARS]


# An answer that arrived but cannot be used: one repair attempt, not a provider failure.
_UNUSABLE = (
    openai.LengthFinishReasonError,
    openai.ContentFilterFinishReasonError,
    pydantic.ValidationError,
    ValueError,
)


def _unusable(exc: Exception, schema: type[pydantic.BaseModel]) -> str:
    if isinstance(exc, openai.LengthFinishReasonError):
        return "the answer was cut short"
    if isinstance(exc, openai.ContentFilterFinishReasonError):
        return "the answer was filtered"
    return f"it did not match the {schema.__name__} schema: {str(exc)[:200]}"


def _problem_of(refusal: str | None, parsed: object) -> str:
    if refusal:
        return f"the model refused: {refusal[:200]}"
    return "no structured output" if parsed is None else ""


def _plain_body(response: Any) -> dict[str, Any] | None:
    """The JSON body of a streamed request's answer when the server sent one body instead of
    server-sent events (some OpenAI-compatible servers ignore `stream`); None when it streams."""
    content_type = str(response.headers.get("content-type", ""))
    if content_type.startswith("text/event-stream"):
        return None
    try:
        body = json.loads(response.read())
    except ValueError:
        raise ModelError(
            "a streamed request was answered with neither events nor JSON", public=_FAILED_PUBLIC
        ) from None
    logger.warning("the model server answered a streamed request in one body", extra={"type": content_type})
    return body if isinstance(body, dict) else {}


def _read_body[Parsed: pydantic.BaseModel](
    body: dict[str, Any], schema: type[Parsed], on_snapshot: OnSnapshot
) -> tuple[Parsed | None, Usage, str]:
    """A structured answer sent as one JSON body (a completion), read as `_once` reads it: a cut,
    filtered or refused answer, or one off the schema, is a problem for the repair attempt."""
    usage = _usage_from(body.get("usage"))
    choice, message = _first_choice(body)
    content = str(message.get("content") or "")
    if content:
        on_snapshot(content)
    parsed, problem = _checked(choice.get("finish_reason"), content, str(message.get("refusal") or ""), schema)
    return parsed, usage, problem


def _checked[Parsed: pydantic.BaseModel](
    finish_reason: object, content: str, refusal: str, schema: type[Parsed]
) -> tuple[Parsed | None, str]:
    """A whole structured answer, streamed or in one body, as the schema or as the problem the
    repair attempt is told (cut, filtered, refused, off the schema)."""
    problem = _FINISH_PROBLEMS.get(str(finish_reason)) or (_problem_of(refusal, None) if refusal else "")
    if problem:
        return None, problem
    try:
        return schema.model_validate_json(content), ""
    except pydantic.ValidationError as exc:
        return None, _unusable(exc, schema)


def _first_choice(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A completion body's first choice and its message; empty where the body lacks them."""
    choices = body.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message: dict[str, Any] = choice["message"] if isinstance(choice.get("message"), dict) else {}
    return choice, message


# A structured answer's finish reasons that make it unusable (`_unusable` says the same of the SDK's errors).
_FINISH_PROBLEMS = {"length": "the answer was cut short", "content_filter": "the answer was filtered"}


def _plain_answer(body: dict[str, Any], on_text: OnText) -> tuple[str, Usage]:
    """A question's answer sent as one JSON body by a server that does not stream."""
    choice = (body.get("choices") or [{}])[0]
    text = str((choice.get("message") or {}).get("content") or "")
    on_text(text)
    return _usable_answer(text, choice.get("finish_reason")), _usage_from(body.get("usage"))


def _usage_from(counted: Any) -> Usage:
    counted = counted if isinstance(counted, dict) else {}
    return Usage(prompt_tokens=counted.get("prompt_tokens", 0), completion_tokens=counted.get("completion_tokens", 0))


def _usage_of(response: Any) -> Usage:
    try:
        usage = response.json().get("usage") or {}
    except ValueError:
        return Usage()
    return Usage(prompt_tokens=usage.get("prompt_tokens", 0), completion_tokens=usage.get("completion_tokens", 0))


def _retry_after(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after") if exc.response is not None else None
    try:
        return float(value) if value else None
    except ValueError:
        return None
