"""A running local stack (HTTP server, every event source polling, schedules) per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.services import AwsServer
from flowgen_local.stack import LocalStack
from tests.conftest import make_stack


def start_running_stack(
    redis_url: str,
    aws: AwsServer,
    mongo_uri: tuple[str, str],
    fake_model: FakeOpenAI | None,
    *,
    paused: Any = (),
    env: dict[str, str] | None = None,
    **params: Any,
) -> LocalStack:
    parameters = {k: str(v) for k, v in params.items()}
    return make_stack(  # env holds environment variables, never one of make_stack's own keywords
        redis_url,
        aws,
        mongo_uri,
        fake_model,
        parameters,
        running=True,
        paused=tuple(paused),
        **(env or {}),  # type: ignore[arg-type]
    )


@pytest.fixture
def running_stack(
    redis_url: str, aws: AwsServer, mongo_uri: tuple[str, str], fake_model: FakeOpenAI
) -> Iterator[LocalStack]:
    stack = start_running_stack(redis_url, aws, mongo_uri, fake_model)
    yield stack
    stack.stop()
