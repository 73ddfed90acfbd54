"""`flowgen retry-failed` and `flowgen redrive`: FAILED records back to work through the same
use case as the learner's Retry button (`CourseService.retry_course` / `retry_lesson`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flowgen.errors import Conflict, NotFound
from flowgen_ops.target import DLQS, Target, utc_now


@dataclass(frozen=True)
class Filters:
    course: str | None = None
    user: str | None = None
    since: datetime | None = None  # failed (last updated) at or after


@dataclass
class RetryReport:
    lessons: list[str] = field(default_factory=list)
    courses: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # changed meanwhile (no longer FAILED)

    def render(self, verb: str = "re-queued") -> str:
        lines = [f"{verb}: {len(self.courses)} courses, {len(self.lessons)} lessons"]
        lines += [f"  course {c}" for c in self.courses] + [f"  lesson {k}" for k in self.lessons]
        lines += [f"  skipped {k}" for k in self.refused]
        return "\n".join(lines)


def _query(filters: Filters, course_field: str) -> dict[str, Any]:
    query: dict[str, Any] = {"status": "FAILED"}
    if filters.course:
        query[course_field] = filters.course
    if filters.user:
        query["ownerId"] = filters.user
    if filters.since:
        query["updatedAt"] = {"$gte": filters.since}
    return query


def retry_failed(target: Target, filters: Filters, *, dry_run: bool = False) -> RetryReport:
    """Re-queues FAILED courses and lessons through CourseService.retry_course / retry_lesson:
    the record is reset (compare-and-set on FAILED), then its job goes through the dedupe lock."""
    db = target.database()
    report = RetryReport()
    courses = list(db.courses.find(_query(filters, "_id"), {"ownerId": 1}))
    lessons = list(db.lessons.find(_query(filters, "courseId"), {"ownerId": 1, "courseId": 1, "id": 1}))
    if dry_run:
        report.courses = [d["_id"] for d in courses]
        report.lessons = [f"{d['courseId']}/{d['id']}" for d in lessons]
        return report
    service = target.course_service()
    for doc in courses:
        try:
            service.retry_course(doc["ownerId"], doc["_id"], utc_now())
            report.courses.append(doc["_id"])
        except (Conflict, NotFound) as exc:
            report.refused.append(f"course {doc['_id']}: {exc}")
    for doc in lessons:
        key = f"{doc['courseId']}/{doc['id']}"
        try:
            service.retry_lesson(doc["ownerId"], doc["courseId"], doc["id"], utc_now())
            report.lessons.append(key)
        except (Conflict, NotFound) as exc:
            report.refused.append(f"{key}: {exc}")
    return report


@dataclass
class RedriveReport:
    retried: RetryReport = field(default_factory=RetryReport)
    dropped: list[str] = field(default_factory=list)  # record done, gone, or still owned by the reconciler
    kept: list[str] = field(default_factory=list)  # malformed: left in the DLQ for a person

    def render(self) -> str:
        lines = [self.retried.render("reset and re-queued")]
        lines.append(f"dropped from the DLQ: {len(self.dropped)}")
        lines += [f"  {d}" for d in self.dropped]
        lines.append(f"kept in the DLQ (not a job): {len(self.kept)}")
        lines += [f"  {k}" for k in self.kept]
        return "\n".join(lines)


def redrive(target: Target, *, max_messages: int = 1000) -> RedriveReport:
    """Empties the DLQs the only useful way: a dead-lettered job's record is FAILED, and a worker
    skips a FAILED record as not claimable, so moving the message back would do nothing. Each
    job's record is reset through the retry use case (which sends a fresh job) and the DLQ
    message is deleted; a message whose record is done, deleted or still pending (the reconciler
    re-sends those) is deleted; a message that is not a job stays for a person to read."""
    target.with_dlqs()
    sqs, db, report = target.sqs(), target.database(), RedriveReport()
    service = None
    for dlq in DLQS.values():
        url = target.queues.get(dlq)
        seen, kept = 0, []
        while url and seen < max_messages:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get(
                "Messages", []
            )
            if not messages:
                break
            seen += len(messages)
            for message in messages:
                job = _job(message["Body"])
                if job is None:
                    report.kept.append(f"{dlq}: {message['Body'][:80]!r}")
                    kept.append(message["ReceiptHandle"])
                    continue
                record, owner, key = _record(db, job)
                if record == "FAILED":
                    service = service or target.course_service()
                    try:
                        if "lessonId" in job:
                            service.retry_lesson(owner, job["courseId"], job["lessonId"], utc_now())
                            report.retried.lessons.append(key)
                        else:
                            service.retry_course(owner, job["courseId"], utc_now())
                            report.retried.courses.append(key)
                    except (Conflict, NotFound) as exc:
                        report.retried.refused.append(f"{key}: {exc}")
                else:
                    report.dropped.append(f"{dlq}: {key} is {record or 'gone'}")
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        for handle in kept:  # visible again at once, for a person to read
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    return report


def _job(body: str) -> dict[str, str] | None:
    try:
        job = json.loads(body)
    except ValueError:
        return None
    if not isinstance(job, dict) or not isinstance(job.get("courseId"), str):
        return None
    if "lessonId" in job and not isinstance(job["lessonId"], str):
        return None
    return job


def _record(db: Any, job: dict[str, str]) -> tuple[str | None, str, str]:
    """(status, owner, key) of the job's record; status None when it no longer exists."""
    if "lessonId" in job:
        key = f"{job['courseId']}/{job['lessonId']}"
        doc = db.lessons.find_one({"courseId": job["courseId"], "id": job["lessonId"]}, {"status": 1, "ownerId": 1})
    else:
        key = f"course {job['courseId']}"
        doc = db.courses.find_one({"_id": job["courseId"]}, {"status": 1, "ownerId": 1})
    if doc is None:
        return None, "", key
    return str(doc["status"]), str(doc["ownerId"]), key
