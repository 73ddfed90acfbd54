"""JobQueue on SQS: one batch call per ten jobs. Every job carries its owner as its
MessageGroupId, which makes the standard queues Amazon SQS fair queues: one user's backlog
cannot hold back another user's jobs (design invariant 10)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from flowgen.adapters.deadlines import bounded_call, remaining
from flowgen.errors import DependencyUnavailable
from flowgen.messages import CourseJob, LessonJob
from flowgen.records import Priority

SEND_SECONDS = 4.0  # a send that takes longer is given up: the intent is in MongoDB for the reconciler


class SqsJobQueue:
    def __init__(self, client: Any, *, course_queue_url: str, lesson_queue_urls: dict[Priority, str]) -> None:
        self.client = client
        self.course_queue_url = course_queue_url
        self.lesson_queue_urls = lesson_queue_urls

    def send_course_jobs(self, jobs: Sequence[CourseJob], delay_seconds: int = 0) -> None:
        self._send(self.course_queue_url, jobs, delay_seconds)

    def send_lesson_jobs(self, jobs: Sequence[LessonJob], priority: Priority, delay_seconds: int = 0) -> None:
        self._send(self.lesson_queue_urls[priority], jobs, delay_seconds)

    def _send(self, queue_url: str, jobs: Sequence[CourseJob | LessonJob], delay_seconds: int) -> None:
        for start in range(0, len(jobs), 10):
            entries = [
                {
                    "Id": str(i),
                    "MessageBody": job.model_dump_json(by_alias=True),
                    "DelaySeconds": delay_seconds,
                    "MessageGroupId": job.owner_id,
                }
                for i, job in enumerate(jobs[start : start + 10])
            ]
            try:
                result = bounded_call(
                    lambda: self.client.send_message_batch(QueueUrl=queue_url, Entries=entries),  # noqa: B023 - called at once
                    min(SEND_SECONDS, remaining(default=SEND_SECONDS)),
                )
            except (BotoCoreError, ClientError, TimeoutError) as exc:
                raise DependencyUnavailable("queue") from exc
            if result.get("Failed"):
                raise DependencyUnavailable("queue")
