"""A running local stack (HTTP server, every event source polling) per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from flowgen_dev.stack import LocalStack, StackConfig

pytestmark = pytest.mark.e2e


def start_running_stack(
    redis_url, sqs_endpoint, mongo_uri, fake_model, *, paused=(), env: dict[str, str] | None = None, **params
) -> LocalStack:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    uri, db = mongo_uri
    config = StackConfig(
        redis_url=redis_url,
        sqs_endpoint=sqs_endpoint,
        mongo_uri=uri,
        mongo_db=db,
        openai_api_key="test-key",
        openai_base_url=fake_model.base_url,
        visibility_timeout=1,  # failed messages come back after 1 s instead of 12 min
        parameter_overrides={k: str(v) for k, v in params.items()},
        extra_env={"MODEL_TIMEOUT_SECONDS": "2", **(env or {})},
    )
    stack = LocalStack(config).start(pollers=False, http_port=0)
    for name, runner in stack.runners.items():
        if name not in paused:
            runner.start()
    return stack


@pytest.fixture
def running_stack(redis_url, sqs_endpoint, mongo_uri, fake_model) -> Iterator[LocalStack]:
    stack = start_running_stack(redis_url, sqs_endpoint, mongo_uri, fake_model)
    yield stack
    stack.stop()
