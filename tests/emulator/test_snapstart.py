"""SnapStart on the lesson worker (LessonWorkerSnapStart=PublishedVersions), through the local
host's snapshots: init runs once when the version is published, every instance is a restore that
rebuilds its clients (the snapshot's were closed before it was taken), and each one writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.lambda_pool import FunctionConfig, FunctionPool, InvocationError, LambdaHost
from flowgen_local.services import AwsServer
from tests.conftest import make_stack
from tests.helpers import User, lesson_ids, wait_for


def test_each_instance_of_a_snapstart_worker_is_a_restore_that_writes_on_its_own_clients(
    redis_url: str,
    aws: AwsServer,
    mongo_uri: tuple[str, str],
    fake_model: FakeOpenAI,
    tmp_path: Path,
    lambda_host: LambdaHost,  # the session's, which make_stack's stacks use
) -> None:
    stack = make_stack(
        redis_url, aws, mongo_uri, fake_model, {"LessonWorkerSnapStart": "PublishedVersions"}, log_dir=tmp_path
    )
    try:
        assert stack.template.functions["LessonWorkerFunction"].snapstart
        assert not stack.template.functions["CourseWorkerFunction"].snapstart
        user = User(stack, "alice")
        course = user.ready_course()
        pool = stack.functions["LessonWorkerFunction"]
        for lesson_id in lesson_ids(course)[:2]:
            pool.retire_idle()  # each open meets a cold instance
            user.open_lesson(course["id"], lesson_id)
            assert stack.drain("HighPriorityLessons") == 1
            # a restored instance that kept the snapshot's closed MongoClient could not write this
            assert user.written_lesson(course["id"], lesson_id)["content"]["blocks"]
        assert (pool.stats.cold_starts, pool.stats.restores, pool.stats.errors) == (2, 2, 0)
        log = (tmp_path / "LessonWorkerFunction.log").read_text()
        assert log.count("Restore Duration:") == 2, log[-2000:]
        assert "Init Duration:" not in log  # init ran in the snapshot, before any invocation
        course_log = (tmp_path / "CourseWorkerFunction.log").read_text()
        assert "Init Duration:" in course_log and "Restore Duration:" not in course_log
        host = lambda_host.process.pid
        (instance,) = pool.instance_pids()
        snapshot = _parent(instance)  # a restored instance is a fork of the snapshot's process,
        assert snapshot != host and _parent(snapshot) == host  # which the host forked
        assert {_parent(pid) for pid in stack.functions["CourseWorkerFunction"].instance_pids()} == {host}
    finally:
        stack.stop()
    # the stack's snapshot ends with it (the shared host lives on), and its instances with it
    assert wait_for(
        lambda: not Path(f"/proc/{snapshot}").exists() and not Path(f"/proc/{instance}").exists(), timeout=5
    )


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


# init fails until its READY_FILE exists: a database that is not up yet when the version is published
UNREADY_INIT = """import os, pathlib
if not pathlib.Path(os.environ["READY_FILE"]).exists():
    raise RuntimeError("the database is not up yet")
def lambda_handler(event, context):
    return {"pid": os.getpid()}
"""


def test_a_snapshot_whose_init_failed_is_taken_again_by_the_next_instance(
    tmp_path: Path, lambda_host: LambdaHost
) -> None:
    code, ready = tmp_path / "function", tmp_path / "ready"
    code.mkdir()
    (code / "app.py").write_text(UNREADY_INIT)
    config = FunctionConfig(
        name="UnreadyFunction", code_uri=code, handler="app.lambda_handler", timeout=5,
        environment={"READY_FILE": str(ready)}, snapstart=True,
    )  # fmt: skip
    pool = FunctionPool(lambda_host, config)  # the snapshot is taken (and fails) here
    try:
        with pytest.raises(InvocationError, match="InitError.RuntimeError: the database is not up yet"):
            pool.invoke({})
        ready.touch()
        first = pool.invoke({})  # not the failure kept from before: init ran again
        pool.retire_idle()
        second = pool.invoke({})
        assert first["pid"] != second["pid"]
        assert (pool.stats.cold_starts, pool.stats.restores) == (3, 2)
    finally:
        pool.close()
