"""A full disk (issue 28): writes answer 503 with Retry-After in the error envelope, reads keep
working from what is stored, and no answer is a 500.

Redis that cannot persist refuses every write with MISCONF (its `stop-writes-on-bgsave-error`,
what a full disk does to the local stack's Redis); made here by pointing its snapshots at a
directory nobody can write."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis as redis_lib

from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.services import AwsServer, RedisServer
from flowgen_local.stack import LocalStack
from tests.conftest import make_stack
from tests.helpers import User, lesson_ids


@pytest.fixture
def unpersisting_redis() -> Iterator[RedisServer]:
    server = RedisServer(extra_args=("--enable-protected-configs", "yes"))
    yield server
    server.stop()


def _refuse_writes(url: str) -> None:
    client = redis_lib.Redis.from_url(url)
    client.config_set("save", "3600 1")
    client.config_set("dir", "/proc")  # not writable, even by root
    client.bgsave()
    deadline = time.monotonic() + 10
    while True:
        try:
            client.set("probe", "1")
        except redis_lib.ResponseError as refused:
            if str(refused).startswith("MISCONF"):
                return
            raise
        assert time.monotonic() < deadline, "redis still accepts writes"
        time.sleep(0.1)


def test_redis_that_refuses_writes_is_no_500(
    unpersisting_redis: RedisServer, aws: AwsServer, mongo_uri: tuple[str, str], fake_model: FakeOpenAI
) -> None:
    stack: LocalStack = make_stack(unpersisting_redis.url, aws, mongo_uri, fake_model)
    try:
        alice = User(stack, "alice")
        course = alice.ready_course()
        _refuse_writes(unpersisting_redis.url)
        started = time.monotonic()
        listed = alice.call("GET", "/courses")
        read = alice.call("GET", f"/courses/{course['id']}")
        assert (listed.status, read.status) == (200, 200)  # the limits fail open; reads are MongoDB's
        opened = alice.open_lesson(course["id"], lesson_ids(course)[5])
        created = alice.call("POST", "/courses", {"prompt": "Category theory"})
        assert opened.status in (200, 202) and created.status == 202, (opened.body, created.body)
        assert time.monotonic() - started < 5  # no call waited for a timeout
        stack.drain("CourseJobs")
        assert alice.call("GET", f"/courses/{created.json()['id']}").json()["status"] == "READY"
    finally:
        stack.stop()
