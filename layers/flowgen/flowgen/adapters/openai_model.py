"""ModelClient on the openai SDK with structured outputs (any compatible server via base_url)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

import openai
import pydantic
from openai import OpenAI

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

from flowgen.content import GeneratedLesson, OutlineDecision
from flowgen.errors import ModelError
from flowgen.models import Usage
from flowgen.observability import logger
from flowgen.ports import LessonBrief, OnBlocks, OutlineBrief
from flowgen.prompts import lesson_messages, outline_messages, repair_message
from flowgen.streaming import BlockReader

Schema = TypeVar("Schema", bound=pydantic.BaseModel)
Messages = list[dict[str, str]]


class OpenAIModel:
    """Structured outputs parsed into the pydantic schemas. A refusal, a truncated answer or a
    schema violation gets one repair attempt; then a retryable ModelError. Rate limits and
    server errors are not repaired: they carry the provider's Retry-After back to the worker."""

    def __init__(self, client: OpenAI, *, outline_model: str, lesson_model: str) -> None:
        self.client = client
        self.outline_model = outline_model
        self.lesson_model = lesson_model
        self.name = f"openai:{lesson_model}"

    def outline(self, brief: OutlineBrief) -> tuple[OutlineDecision, Usage]:
        return self._parse(self.outline_model, outline_messages(brief), OutlineDecision)

    def lesson(self, brief: LessonBrief) -> tuple[GeneratedLesson, Usage]:
        return self._parse(self.lesson_model, lesson_messages(brief), GeneratedLesson)

    def lesson_stream(self, brief: LessonBrief, on_blocks: OnBlocks) -> tuple[GeneratedLesson, Usage]:
        """The lesson streamed with structured outputs: the SDK accumulates the text, and each
        delta that may close a block hands the finished blocks so far to `on_blocks`."""
        return self._parse(self.lesson_model, lesson_messages(brief), GeneratedLesson, on_blocks)

    def _parse(
        self, model: str, messages: Messages, schema: type[Schema], on_blocks: OnBlocks | None = None
    ) -> tuple[Schema, Usage]:
        spent = Usage()
        problem = ""
        for attempt in range(2):
            sent = messages if attempt == 0 else [*messages, repair_message(problem)]
            if on_blocks is None:
                parsed, usage, problem = self._once(model, sent, schema)
            else:
                if attempt:
                    on_blocks([], "")  # the repair starts again from nothing
                parsed, usage, problem = self._once_streamed(model, sent, schema, on_blocks)
            spent = Usage(
                prompt_tokens=spent.prompt_tokens + usage.prompt_tokens,
                completion_tokens=spent.completion_tokens + usage.completion_tokens,
            )
            if parsed is not None:
                return parsed, spent
            logger.warning("unusable model output", extra={"schema": schema.__name__, "problem": problem})
        raise ModelError(f"unusable output after one repair attempt: {problem}")

    def _once(self, model: str, messages: Messages, schema: type[Schema]) -> tuple[Schema | None, Usage, str]:
        try:
            # the raw response keeps the usage of an answer that then fails to parse: it was paid for
            raw = self.client.chat.completions.with_raw_response.parse(
                model=model, messages=cast("list[ChatCompletionMessageParam]", messages), response_format=schema
            )
        except openai.RateLimitError as exc:
            raise ModelError("rate limited by the model provider", retry_after=_retry_after(exc)) from exc
        except openai.APIStatusError as exc:
            raise ModelError(f"model provider answered {exc.status_code}", retry_after=_retry_after(exc)) from exc
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            raise ModelError("model provider unreachable or timed out") from exc
        usage = _usage_of(raw.http_response)
        try:
            completion = raw.parse()
        except openai.LengthFinishReasonError:
            return None, usage, "the answer was cut short"
        except openai.ContentFilterFinishReasonError:
            return None, usage, "the answer was filtered"
        except (pydantic.ValidationError, ValueError) as exc:
            return None, usage, f"it did not match the {schema.__name__} schema: {str(exc)[:200]}"
        message = completion.choices[0].message
        if message.refusal:
            return None, usage, f"the model refused: {message.refusal[:200]}"
        if message.parsed is None:
            return None, usage, "no structured output"
        return message.parsed, usage, ""

    def _once_streamed(
        self, model: str, messages: Messages, schema: type[Schema], on_blocks: OnBlocks
    ) -> tuple[Schema | None, Usage, str]:
        progress = _Progress()
        try:
            with self.client.chat.completions.stream(
                model=model,
                messages=cast("list[ChatCompletionMessageParam]", messages),
                response_format=schema,
                stream_options={"include_usage": True},
            ) as stream:
                progress.follow(stream, on_blocks)
                completion = stream.get_final_completion()
        except openai.RateLimitError as exc:
            raise ModelError("rate limited by the model provider", retry_after=_retry_after(exc)) from exc
        except openai.APIStatusError as exc:
            raise ModelError(f"model provider answered {exc.status_code}", retry_after=_retry_after(exc)) from exc
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            raise ModelError("model provider unreachable or timed out") from exc
        except openai.LengthFinishReasonError:
            return None, progress.spent(), "the answer was cut short"
        except openai.ContentFilterFinishReasonError:
            return None, progress.spent(), "the answer was filtered"
        except (pydantic.ValidationError, ValueError) as exc:
            return None, progress.spent(), f"it did not match the {schema.__name__} schema: {str(exc)[:200]}"
        message = completion.choices[0].message
        problem = _problem_of(message.refusal, message.parsed)
        return (None if problem else message.parsed), progress.usage, problem


@dataclass
class _Progress:
    """What a stream has delivered so far: its text, and its usage once the last chunk says."""

    usage: Usage = field(default_factory=Usage)
    snapshot: str = ""
    reader: BlockReader = field(default_factory=BlockReader)

    def follow(self, stream: Iterable[Any], on_blocks: OnBlocks) -> None:
        for event in stream:
            if event.type == "chunk" and event.chunk.usage is not None:
                counted = event.chunk.usage
                self.usage = Usage(prompt_tokens=counted.prompt_tokens, completion_tokens=counted.completion_tokens)
            elif event.type == "content.delta":
                self.snapshot = event.snapshot
                on_blocks(*self.reader.read(self.snapshot))

    def spent(self) -> Usage:
        """A stream cut before its usage chunk was still paid for: about 4 characters a token."""
        if self.usage.total_tokens:
            return self.usage
        return Usage(completion_tokens=len(self.snapshot) // 4)


def _problem_of(refusal: str | None, parsed: object) -> str:
    if refusal:
        return f"the model refused: {refusal[:200]}"
    return "no structured output" if parsed is None else ""


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
