"""A full disk (issue 28): writes answer 503 with Retry-After in the error envelope, reads keep
working from what is stored, and no answer is a 500.

MongoDB on a full disk refuses a write with OutOfDiskSpace (14031), which the stand-in answers
too when its journal cannot be written (made here by its flowgenDiskFull fail point), having
changed nothing. Redis that cannot persist refuses every write with MISCONF (its
`stop-writes-on-bgsave-error`); made here by pointing its snapshots at a directory nobody can
write."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest
import redis as redis_lib

from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.services import AwsServer, RedisServer
from flowgen_local.stack import LocalStack
from flowgen_stand_in.launcher import MongoStandIn
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


@pytest.fixture
def fillable_mongo(tmp_path: Path) -> Iterator[MongoStandIn]:
    server = MongoStandIn(data_dir=tmp_path / "mongo", test_commands=True)
    server.start()
    yield server
    server.stop()


def _disk(uri: str, bytes_left: int | None) -> None:
    mode = {"mode": "off"} if bytes_left is None else {"mode": "alwaysOn", "data": {"bytesLeft": bytes_left}}
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(uri)
    client.admin.command({"configureFailPoint": "flowgenDiskFull", **mode})
    client.close()


def test_a_full_disk_answers_writes_503_and_keeps_reads(
    redis_url: str, aws: AwsServer, fillable_mongo: MongoStandIn, fake_model: FakeOpenAI
) -> None:
    """Issue 28: writes on a full disk answered 500 ("nothing you sent was lost", though two were
    stored) with the raw OSError in a course's error, and reads went down with them."""
    stack = make_stack(redis_url, aws, (str(fillable_mongo.uri), "flowgen_disk_full"), fake_model)
    try:
        alice = User(stack, "alice")
        course = alice.ready_course()
        _disk(str(fillable_mongo.uri), 0)
        refused = alice.call("POST", "/courses", {"prompt": "Category theory"})
        assert refused.status == 503 and refused.json()["error"]["code"] == "mongo_unavailable"
        assert refused.headers["retry-after"] == "30"
        progress = alice.call("PUT", f"/courses/{course['id']}/lessons/{lesson_ids(course)[0]}/progress",
                              {"completed": True})  # fmt: skip
        assert progress.status == 503
        listed = alice.call("GET", "/courses")
        assert listed.status == 200 and [c["id"] for c in listed.json()["items"]] == [course["id"]]  # nothing stored
        assert alice.call("GET", f"/courses/{course['id']}").status == 200
        _disk(str(fillable_mongo.uri), None)  # space is back
        created = alice.call("POST", "/courses", {"prompt": "Category theory"})
        assert created.status == 202
        assert len(alice.call("GET", "/courses").json()["items"]) == 2
    finally:
        stack.stop()
