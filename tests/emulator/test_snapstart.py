"""SnapStart on the lesson worker (LessonWorkerSnapStart=PublishedVersions), through the local
host's snapshots: init runs once when the version is published, every instance is a restore that
rebuilds its clients (the snapshot's were closed before it was taken), and each one writes."""

from __future__ import annotations

from pathlib import Path

from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.services import AwsServer
from tests.conftest import make_stack, shared_lambda_host
from tests.helpers import User, lesson_ids, wait_for


def test_each_instance_of_a_snapstart_worker_is_a_restore_that_writes_on_its_own_clients(
    redis_url: str, aws: AwsServer, mongo_uri: tuple[str, str], fake_model: FakeOpenAI, tmp_path: Path
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
        host = shared_lambda_host().process.pid
        (instance,) = pool.instance_pids()
        snapshot = _parent(instance)  # a restored instance is a fork of the snapshot's process,
        assert snapshot != host and _parent(snapshot) == host  # which the host forked
        assert {_parent(pid) for pid in stack.functions["CourseWorkerFunction"].instance_pids()} == {host}
    finally:
        stack.stop()
    # the stack's snapshot ends with it (the shared host lives on), and its instances with it
    assert wait_for(lambda: not Path(f"/proc/{snapshot}").exists() and not Path(f"/proc/{instance}").exists(), timeout=5)


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
