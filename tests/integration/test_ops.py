"""Operator tools (flowgen_ops) against a real local stack: status sees queues, DLQs, records
and the stuck ones; retry-failed and redrive bring FAILED work back through the retry use case."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from flowgen import wiring
from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.stack import LocalStack
from flowgen_ops.cli import main as ops_main
from flowgen_ops.retry import Filters, redrive, retry_failed
from flowgen_ops.status import status
from flowgen_ops.target import QUEUES, Target, utc_now
from tests.helpers import User, lesson_ids
from tests.narrow import present

NO_STATE = Path("/nonexistent/stack.json")  # never a developer's running `flowgen local`


@pytest.fixture
def target(stack: LocalStack) -> Target:
    """From the harness environment the local stack sets (MONGO_URI, queue URLs, credentials)."""
    return Target.resolve(None, state_file=NO_STATE)


def _fail_one_lesson(stack: LocalStack, fake_model: FakeOpenAI) -> tuple[User, str, str]:
    alice = User(stack, "alice")
    course = alice.ready_course()
    lesson_id = lesson_ids(course)[6]
    fake_model.faults.poison_lessons = [course["modules"][2]["lessons"][0]["title"]]
    alice.open_lesson(course["id"], lesson_id)
    stack.drain("HighPriorityLessons")  # each attempt's backoff is 0 s here: FAILED after three
    lesson = wiring.store().get_lesson("alice", course["id"], lesson_id)
    assert lesson is not None and lesson.status == "FAILED"
    fake_model.faults.poison_lessons = []
    return alice, course["id"], lesson_id


def _dead_letter(stack: LocalStack, course_id: str, lesson_id: str) -> None:
    """The lesson's job in its DLQ, as SQS leaves one whose worker died on every receive (a model
    failure is the worker's to retry: it never reaches a DLQ)."""
    job = {"courseId": course_id, "lessonId": lesson_id, "ownerId": "alice"}
    stack.sqs.send_message(QueueUrl=stack.queues["LessonHighDLQ"].url, MessageBody=json.dumps(job))


def _status_of(course_id: str, lesson_id: str) -> str:
    lesson = wiring.store().get_lesson("alice", course_id, lesson_id)
    assert lesson is not None
    return lesson.status.value


def test_a_failed_lesson_is_in_status_and_retry_failed_brings_it_back(
    stack: LocalStack, fake_model: FakeOpenAI, target: Target
) -> None:
    _, course_id, lesson_id = _fail_one_lesson(stack, fake_model)
    key = f"{course_id}/{lesson_id}"

    _dead_letter(stack, course_id, lesson_id)
    report = status(target)
    assert [k for k, _ in report.failed] == [key]
    assert dict(report.failed)[key].startswith("The writing service had a problem")
    assert report.lessons["FAILED"][0] == 1
    assert report.queue("LessonHighDLQ").depth == 1
    assert report.queue("LessonHighDLQ").oldest_seconds is not None
    assert report.queue("LessonHighQueue").depth == 0
    assert f"failed: 1\n  {key}:" in report.render()

    since_now = Filters(user="alice", since=utc_now() + timedelta(minutes=1))
    for nothing in (Filters(user="bob"), Filters(course="0" * 32), since_now):
        assert retry_failed(target, nothing).lessons == []
    assert retry_failed(target, Filters(user="alice"), dry_run=True).lessons == [key]
    assert _status_of(course_id, lesson_id) == "FAILED"  # a dry run changes nothing

    retried = retry_failed(target, Filters(course=course_id))
    assert retried.lessons == [key]
    assert _status_of(course_id, lesson_id) == "PENDING"
    assert status(target).queue("LessonHighQueue").visible == 1  # one job, through the dedupe lock
    stack.drain("HighPriorityLessons")
    assert _status_of(course_id, lesson_id) == "GENERATED"
    assert retry_failed(target, Filters()).lessons == []


def test_redrive_resets_the_failed_record_and_empties_the_dlq(
    stack: LocalStack, fake_model: FakeOpenAI, target: Target
) -> None:
    _, course_id, lesson_id = _fail_one_lesson(stack, fake_model)
    _dead_letter(stack, course_id, lesson_id)
    target.with_dlqs()
    stack.sqs.send_message(QueueUrl=target.queues["LessonHighDLQ"], MessageBody="not a job")

    report = redrive(target)
    assert report.retried.lessons == [f"{course_id}/{lesson_id}"]
    assert report.kept == ["LessonHighDLQ: 'not a job'"]  # for a person to read
    assert stack.queue_depth("LessonHighDLQ") == 1
    stack.drain("HighPriorityLessons")
    assert _status_of(course_id, lesson_id) == "GENERATED"

    again = redrive(target)  # nothing left to reset; the junk stays
    assert again.retried.lessons == [] and len(again.kept) == 1


def test_status_shows_queue_depths_and_stuck_records(stack: LocalStack, target: Target) -> None:
    alice = User(stack, "alice")
    course = alice.ready_course()  # its first two lessons are queued at low priority
    for lesson_id in lesson_ids(course)[5:8]:
        alice.open_lesson(course["id"], lesson_id)  # high, and each prefetches the next at low

    report = status(target)
    assert report.queue("LessonHighQueue").visible == 3
    assert report.queue("LessonLowQueue").depth >= 2
    assert report.queue("CourseQueue").depth == 0
    assert report.courses["READY"][0] == 1
    assert report.stuck == []  # nothing waited STUCK_AFTER_SECONDS yet

    waiting = status(target, stuck_after=0)
    stuck = {s.key for s in waiting.stuck}
    assert {f"{course['id']}/{i}" for i in lesson_ids(course)[5:8]} <= stuck
    text = waiting.render()
    assert "LessonHighQueue" in text and "requested at high priority" in text

    stack.drain("HighPriorityLessons")
    assert status(target).queue("LessonHighQueue").depth == 0


def test_status_shows_the_uploads_queue_its_dlq_and_sources_by_status(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 24: a deployment's ingest queue (its CloudFormation output or INGEST_QUEUE_URL) and
    the DLQ its RedrivePolicy names are in the table, and the learners' sources by status."""
    monkeypatch.setenv("INGEST_QUEUE_URL", stack.queues["IngestQueue"].url)
    target = Target.resolve(None, state_file=NO_STATE)
    assert target is not None
    form = {"filename": "notes.md", "contentType": "text/markdown", "size": 100}
    assert User(stack, "alice").call("POST", "/sources", form).status == 201  # registered, not sent yet
    report = status(target)
    assert report.queue("IngestQueue").depth == 0 and report.queue("IngestDLQ").depth == 0
    assert report.sources["UPLOADING"][0] == 1
    text = report.render()
    assert "IngestDLQ" in text and "sources: UPLOADING 1 (oldest " in text


def test_the_command_line_takes_explicit_flags(
    stack: LocalStack, target: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    target.with_dlqs()
    flags = ["--mongo-uri", target.mongo_uri, "--mongo-db", target.mongo_db, "--sqs-endpoint", target.sqs_endpoint]
    flags += [f"--queue-url={name}={target.queues[name]}" for name in QUEUES]
    assert ops_main(["status", *flags]) == 0
    assert "CourseQueue" in capsys.readouterr().out
    assert ops_main(["retry-failed", "--dry-run", "--since", "2h", *flags]) == 0
    assert "would re-queue: 0 courses, 0 lessons" in capsys.readouterr().out


def test_a_target_from_the_local_stack_state_file(
    stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "stack.json"
    state.write_text(json.dumps(stack.describe()))
    for name in ("MONGO_URI", "COURSE_QUEUE_URL", "LESSON_HIGH_QUEUE_URL", "LESSON_LOW_QUEUE_URL"):
        monkeypatch.delenv(name)
    target = Target.resolve(None, state_file=state)
    assert target is not None
    assert target.mongo_uri == present(stack.endpoints).mongo_uri
    assert {"CourseDLQ", "LessonHighDLQ", "LessonLowDLQ"} <= set(target.queues)  # all of them, DLQs too
    assert status(target).queue("CourseQueue").depth == 0
