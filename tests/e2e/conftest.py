"""A running local stack (HTTP server, every event source polling) per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from flowgen_dev.stack import LocalStack
from tests.conftest import make_stack

pytestmark = pytest.mark.e2e


def start_running_stack(
    redis_url, sqs_endpoint, mongo_uri, fake_model, *, paused=(), env: dict[str, str] | None = None, **params
) -> LocalStack:
    parameters = {k: str(v) for k, v in params.items()}
    return make_stack(
        redis_url, sqs_endpoint, mongo_uri, fake_model, parameters, running=True, paused=tuple(paused), **(env or {})
    )


@pytest.fixture
def running_stack(redis_url, sqs_endpoint, mongo_uri, fake_model) -> Iterator[LocalStack]:
    stack = start_running_stack(redis_url, sqs_endpoint, mongo_uri, fake_model)
    yield stack
    stack.stop()
