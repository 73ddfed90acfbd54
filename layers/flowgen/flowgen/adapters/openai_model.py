"""ModelClient on the openai SDK with structured outputs (any compatible server via base_url)."""

from __future__ import annotations

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
from flowgen.ports import LessonBrief, OutlineBrief
from flowgen.prompts import lesson_messages, outline_messages, repair_message

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

    def _parse(self, model: str, messages: Messages, schema: type[Schema]) -> tuple[Schema, Usage]:
        spent = Usage()
        problem = ""
        for attempt in range(2):
            sent = messages if attempt == 0 else [*messages, repair_message(problem)]
            parsed, usage, problem = self._once(model, sent, schema)
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
