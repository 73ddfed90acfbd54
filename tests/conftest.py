"""Shared stand-ins: one redis-server, one moto SQS server and one fake model server per
session; a fresh stack (queues, database, handlers) per test.

`MONGO_URI` pointing at a real MongoDB runs the same suite against it (a database per test).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

from flowgen_dev.fake_openai import FakeOpenAI
from flowgen_dev.services import RedisServer, SqsServer
from flowgen_dev.stack import LocalStack, StackConfig

REAL_MONGO_URI = os.environ.get("MONGO_URI", "")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = RedisServer()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def sqs_endpoint() -> Iterator[str]:
    server = SqsServer()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def fake_model_server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_model(fake_model_server: FakeOpenAI) -> FakeOpenAI:
    fake_model_server.reset()
    return fake_model_server


@pytest.fixture
def mongo_uri() -> Iterator[tuple[str, str]]:
    """(uri, database): a real MongoDB when MONGO_URI is set, else a fresh stand-in."""
    db_name = f"flowgen_test_{uuid.uuid4().hex[:10]}"
    if REAL_MONGO_URI:
        yield REAL_MONGO_URI, db_name
        import pymongo

        pymongo.MongoClient(REAL_MONGO_URI).drop_database(db_name)
    else:
        yield f"mongomock://{db_name}", db_name


def make_stack(
    redis_url: str,
    sqs_endpoint: str,
    mongo_uri: tuple[str, str],
    fake_model: FakeOpenAI | None,
    parameters: dict[str, str] | None = None,
    *,
    running: bool = False,
    paused: tuple[str, ...] = (),
    **env: str,
) -> LocalStack:
    """A fresh stack on the session's services; `parameters` override the template's.

    By default the event sources do not poll (tests drain queues themselves) and a failed
    message is visible again at once (draining is sequential, so no message is ever worked on
    twice at once). `running=True` starts the HTTP server and every event source but the
    `paused` ones, as end-to-end tests want, with the template's proportions: a 12 s visibility
    timeout, 6x the 2 s model timeout (LocalStack.start_pollers refuses less).
    """
    redis.Redis.from_url(redis_url).flushdb()
    uri, db = mongo_uri
    config = StackConfig(
        redis_url=redis_url,
        sqs_endpoint=sqs_endpoint,
        mongo_uri=uri,
        mongo_db=db,
        openai_api_key="test-key" if fake_model else None,
        openai_base_url=fake_model.base_url if fake_model else None,
        visibility_timeout=12 if running else 0,  # retries without the template's 12 minutes
        parameter_overrides=parameters or {},
        extra_env={"MODEL_TIMEOUT_SECONDS": "2", "JWKS_REFRESH_COOLDOWN_SECONDS": "0.5", **env},
    )
    stack = LocalStack(config).start(pollers=False, http_port=0 if running else None)
    if running:
        stack.start_pollers(paused=paused)
    return stack


@pytest.fixture
def stack(
    redis_url: str, sqs_endpoint: str, mongo_uri: tuple[str, str], fake_model: FakeOpenAI
) -> Iterator[LocalStack]:
    local = make_stack(redis_url, sqs_endpoint, mongo_uri, fake_model)
    yield local
    local.stop()
