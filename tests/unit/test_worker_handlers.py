"""The worker handlers: one BatchProcessor per invocation, the invocation's deadline handed down."""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from flowgen import wiring
from flowgen.deadline import Attempt
from flowgen.generation import Outcome
from flowgen.messages import LessonJob
from tests.fakes.lambda_context import Context

ROOT = Path(__file__).resolve().parents[2]


class GatedGenerator:
    """Writes lesson "m01-l09"; fails the others, "m01-l01" only once the other invocation answered."""

    def __init__(self) -> None:
        self.first_started = threading.Event()
        self.second_done = threading.Event()
        self.attempts: list[Attempt] = []

    def write_lesson(self, job: LessonJob, attempt: Attempt) -> Outcome:
        self.attempts.append(attempt)
        if job.lesson_id == "m01-l09":
            return Outcome.DONE
        if job.lesson_id == "m01-l01":
            self.first_started.set()
            assert self.second_done.wait(5)
        raise RuntimeError(f"{job.lesson_id} failed")


def _record(message_id: str, lesson_id: str) -> dict[str, Any]:
    body = {"courseId": "0" * 32, "lessonId": lesson_id, "ownerId": "alice"}
    return {
        "messageId": message_id,
        "receiptHandle": "r",
        "body": json.dumps(body),
        "attributes": {
            "ApproximateReceiveCount": "2",
            "SentTimestamp": "1",
            "SenderId": "s",
            "ApproximateFirstReceiveTimestamp": "1",
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:lessons",
        "awsRegion": "us-east-1",
    }


@pytest.fixture
def lesson_worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ModuleType, GatedGenerator]]:
    for name, value in {
        "MONGO_URI": "mongodb://unused",
        "REDIS_URL": "redis://unused",
        "COURSE_QUEUE_URL": "c",
        "LESSON_HIGH_QUEUE_URL": "h",
        "LESSON_LOW_QUEUE_URL": "l",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    fake = GatedGenerator()
    wiring.reset()
    wiring.override(lesson_generator=fake)  # the seam: built at cold start from the wiring
    spec = importlib.util.spec_from_file_location("lesson_worker_under_test", ROOT / "functions/lesson_worker/app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module, fake
    wiring.reset()


def test_concurrent_invocations_report_only_their_own_failures(
    lesson_worker: tuple[ModuleType, GatedGenerator],
) -> None:
    module, fake = lesson_worker
    results: dict[str, Any] = {}

    def first() -> None:
        batch = [_record("first-ok", "m01-l09"), _record("first", "m01-l01")]
        results["first"] = module.lambda_handler({"Records": batch}, Context())

    thread = threading.Thread(target=first)
    thread.start()
    assert fake.first_started.wait(5)
    batch = [_record("second", "m01-l02"), _record("second-ok", "m01-l09")]
    results["second"] = module.lambda_handler({"Records": batch}, Context())
    fake.second_done.set()
    thread.join(5)
    assert results["second"] == {"batchItemFailures": [{"itemIdentifier": "second"}]}
    assert results["first"] == {"batchItemFailures": [{"itemIdentifier": "first"}]}


def test_each_record_gets_the_invocations_remaining_time_and_its_receive_count(
    lesson_worker: tuple[ModuleType, GatedGenerator],
) -> None:
    module, fake = lesson_worker
    fake.second_done.set()
    module.lambda_handler({"Records": [_record("only", "m01-l09")]}, Context(remaining_ms=42_500))
    assert fake.attempts == [Attempt(receive_count=2, remaining_seconds=42.5)]


class RecordingAnswerer:
    def __init__(self) -> None:
        self.jobs: list[LessonJob] = []

    def answer(self, job: LessonJob, attempt: Attempt) -> Outcome:
        self.jobs.append(job)
        return Outcome.DONE


def test_a_question_job_is_answered_and_a_lesson_job_written(
    lesson_worker: tuple[ModuleType, GatedGenerator],
) -> None:
    module, fake = lesson_worker
    answerer = RecordingAnswerer()
    wiring.override(question_answerer=answerer)
    question = _record("question", "m01-l01")
    question["body"] = json.dumps({**json.loads(question["body"]), "questionId": "a" * 32})
    result = module.lambda_handler({"Records": [question, _record("lesson", "m01-l09")]}, Context())
    assert result == {"batchItemFailures": []}
    assert [(j.lesson_id, j.question_id) for j in answerer.jobs] == [("m01-l01", "a" * 32)]
    assert len(fake.attempts) == 1  # the lesson job only: the question never reached write_lesson
