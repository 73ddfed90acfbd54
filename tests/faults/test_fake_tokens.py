"""The fake model counts prompt tokens as a provider would (issue 27): local budget, limit and
planner-validation runs count the whole request, not an eighth of it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from openai import DefaultHttpxClient, OpenAI

from flowgen.adapters.openai_model import OpenAIModel
from flowgen.ports import LessonBrief, OutlineBrief
from flowgen_local.fake_openai import FakeOpenAI


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


def test_prompt_tokens_are_within_a_tenth_of_the_requests_size(fake: FakeOpenAI) -> None:
    """Requests as the workers send them (the real adapter, the real prompts): the usage the
    fake reports is the request's characters / 4, within 10 %."""
    bodies: list[bytes] = []

    def keep(request: httpx.Request) -> None:
        bodies.append(request.read())

    client = OpenAI(
        api_key="fake",
        base_url=fake.base_url,
        http_client=DefaultHttpxClient(event_hooks={"request": [keep]}),
        max_retries=0,
    )
    model = OpenAIModel(client, outline_model="fake", lesson_model="fake")
    _, outline_usage = model.outline(
        OutlineBrief(prompt="Ownership and borrowing in Rust for a C programmer", level=None, size=None)
    )
    titles = [f"Lesson {n}: moving values, borrowing and lifetimes" for n in range(12)]
    brief = LessonBrief(
        course_title="Rust for C programmers",
        course_description="How Rust's ownership model replaces manual memory management, step by step. " * 3,
        level=None,
        module_title="Ownership",
        lesson_title="Borrowing",
        lesson_summary="Shared and mutable references, and the rules the borrow checker enforces.",
        previous_titles=titles[:6],
        next_titles=titles[6:],
    )
    _, lesson_usage = model.lesson(brief)
    sizes = [sum(len(m["content"]) for m in json.loads(body)["messages"]) for body in bodies]
    assert min(sizes) > 200  # real prompts, not a token's worth
    for body, usage in zip(bodies, (outline_usage, lesson_usage), strict=True):
        by_size = len(body) / 4
        assert abs(usage.prompt_tokens - by_size) <= 0.1 * by_size, (usage.prompt_tokens, by_size)
    assert fake.stats.prompt_tokens == outline_usage.prompt_tokens + lesson_usage.prompt_tokens
