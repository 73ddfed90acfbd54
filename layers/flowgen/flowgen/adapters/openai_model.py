"""ModelClient on the openai SDK with structured outputs (any compatible server via base_url)."""

from __future__ import annotations

from typing import TypeVar

import openai
import pydantic
from openai import OpenAI

from flowgen.content import CourseOutline, GeneratedLesson
from flowgen.errors import ModelError
from flowgen.models import Usage
from flowgen.ports import LessonBrief, OutlineBrief
from flowgen.prompts import lesson_messages, outline_messages

Schema = TypeVar("Schema", bound=pydantic.BaseModel)


class OpenAIModel:
    def __init__(self, client: OpenAI, *, outline_model: str, lesson_model: str) -> None:
        self.client = client
        self.outline_model = outline_model
        self.lesson_model = lesson_model
        self.name = f"openai:{lesson_model}"

    def outline(self, brief: OutlineBrief) -> tuple[CourseOutline, Usage]:
        return self._parse(self.outline_model, outline_messages(brief), CourseOutline)

    def lesson(self, brief: LessonBrief) -> tuple[GeneratedLesson, Usage]:
        return self._parse(self.lesson_model, lesson_messages(brief), GeneratedLesson)

    def _parse(self, model: str, messages: list, schema: type[Schema]) -> tuple[Schema, Usage]:
        try:
            completion = self.client.chat.completions.parse(model=model, messages=messages, response_format=schema)
        except openai.RateLimitError as exc:
            raise ModelError("rate limited by the model provider", retry_after=_retry_after(exc)) from exc
        except openai.APIStatusError as exc:
            raise ModelError(f"model provider answered {exc.status_code}", retry_after=_retry_after(exc)) from exc
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            raise ModelError("model provider unreachable or timed out") from exc
        except (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError) as exc:
            raise ModelError(f"output cut short: {type(exc).__name__}") from exc
        except (pydantic.ValidationError, ValueError) as exc:
            raise ModelError(f"output did not match the {schema.__name__} schema") from exc
        message = completion.choices[0].message
        if message.refusal:
            raise ModelError(f"the model refused: {message.refusal[:200]}")
        if message.parsed is None:
            raise ModelError("the model returned no structured output")
        usage = completion.usage
        return message.parsed, Usage(
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )


def _retry_after(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after") if exc.response is not None else None
    try:
        return float(value) if value else None
    except ValueError:
        return None
