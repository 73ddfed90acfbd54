"""Operator tools: `flowgen status`, `flowgen retry-failed`, `flowgen redrive`.

They read MongoDB (the source of truth) and the queues, and act only through the domain's own
use cases (`flowgen.courses.CourseService`, built by `flowgen.wiring`), so a retry resets the
record first and then enqueues through the dedupe lock, exactly as the user's retry button.

Where they point (`Target.resolve`), first match wins per value:
  1. flags: --mongo-uri, --mongo-db, --redis-url, --queue-url NAME=URL, --sqs-endpoint,
     --stack-name (the queue URLs from a deployed stack's CloudFormation outputs);
  2. `.flowgen/stack.json` of a running `flowgen local` (keys mongo_uri, mongo_db, redis_url,
     sqs_endpoint, queues, aws), when it holds them;
  3. the environment: MONGO_URI, MONGO_DB, REDIS_URL, SQS_ENDPOINT_URL, COURSE_QUEUE_URL,
     LESSON_HIGH_QUEUE_URL, LESSON_LOW_QUEUE_URL (a local stack's harness sets them all) and
     the usual AWS credentials.
Each queue's DLQ is found from its RedrivePolicy.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

QUEUES = {  # logical name -> (environment variable, CloudFormation output)
    "CourseQueue": ("COURSE_QUEUE_URL", "CourseQueueUrl"),
    "LessonHighQueue": ("LESSON_HIGH_QUEUE_URL", "LessonHighQueueUrl"),
    "LessonLowQueue": ("LESSON_LOW_QUEUE_URL", "LessonLowQueueUrl"),
}
DLQS = {"CourseQueue": "CourseDLQ", "LessonHighQueue": "LessonHighDLQ", "LessonLowQueue": "LessonLowDLQ"}
DEFAULT_STUCK_AFTER = 300  # STUCK_AFTER_SECONDS in template.yaml
NO_REDIS = "redis://127.0.0.1:1/0"  # nothing listens: dedupe fails open and the job is sent anyway


@dataclass
class Target:
    mongo_uri: str
    mongo_db: str = "flowgen"
    redis_url: str = ""
    sqs_endpoint: str = ""
    queues: dict[str, str] = field(default_factory=dict)  # logical name -> URL, DLQs included once found

    @classmethod
    def resolve(cls, args: argparse.Namespace | None = None, state_file: Path | None = None) -> Target:
        flags = vars(args) if args else {}
        state = _read_state(state_file)
        aws = state.get("aws") or {}
        for key, env in (("access_key_id", "AWS_ACCESS_KEY_ID"), ("secret_access_key", "AWS_SECRET_ACCESS_KEY")):
            if aws.get(key) and not os.environ.get(env):
                os.environ[env] = aws[key]
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

        def pick(flag: str, key: str, env: str, default: str = "") -> str:
            return str(flags.get(flag) or state.get(key) or os.environ.get(env) or default)

        queues = {name: os.environ.get(env, "") for name, (env, _) in QUEUES.items()}
        queues.update({k: v for k, v in (state.get("queues") or {}).items() if v})
        if flags.get("stack_name"):
            queues.update(_stack_outputs(str(flags["stack_name"])))
        for item in flags.get("queue_url") or []:
            name, _, url = item.partition("=")
            queues[name] = url
        target = cls(
            mongo_uri=pick("mongo_uri", "mongo_uri", "MONGO_URI"),
            mongo_db=pick("mongo_db", "mongo_db", "MONGO_DB", "flowgen"),
            redis_url=pick("redis_url", "redis_url", "REDIS_URL"),
            sqs_endpoint=pick("sqs_endpoint", "sqs_endpoint", "SQS_ENDPOINT_URL"),
            queues={k: v for k, v in queues.items() if v},
        )
        missing = [name for name in QUEUES if name not in target.queues]
        if not target.mongo_uri or missing:
            raise SystemExit(
                "flowgen ops: no target. Run it beside `flowgen local` (its .flowgen/stack.json), or pass "
                "--mongo-uri and --stack-name (or --queue-url NAME=URL for "
                f"{', '.join(QUEUES)}); missing: {'MONGO_URI ' if not target.mongo_uri else ''}{' '.join(missing)}"
            )
        return target

    # ---- clients ----------------------------------------------------------------------------

    def sqs(self) -> Any:
        import boto3

        return boto3.client("sqs", endpoint_url=self.sqs_endpoint or None)

    def database(self) -> Any:
        import pymongo

        client: Any = pymongo.MongoClient(self.mongo_uri, serverSelectionTimeoutMS=5000)
        return client[self.mongo_db]

    def settings(self) -> Any:
        from flowgen.settings import ApiSettings

        return ApiSettings(
            mongo_uri=self.mongo_uri,
            mongo_db=self.mongo_db,
            redis_url=self.redis_url or NO_REDIS,
            course_queue_url=self.queues["CourseQueue"],
            lesson_high_queue_url=self.queues["LessonHighQueue"],
            lesson_low_queue_url=self.queues["LessonLowQueue"],
            sqs_endpoint_url=self.sqs_endpoint,
        )

    def course_service(self) -> Any:
        from flowgen import wiring

        return wiring.course_service(self.settings())

    def with_dlqs(self) -> Target:
        """Adds each queue's DLQ, read from its RedrivePolicy."""
        sqs = self.sqs()
        for name, dlq in DLQS.items():
            if dlq in self.queues or name not in self.queues:
                continue
            attrs = sqs.get_queue_attributes(QueueUrl=self.queues[name], AttributeNames=["RedrivePolicy"])
            policy = attrs.get("Attributes", {}).get("RedrivePolicy")
            if policy:
                arn = json.loads(policy)["deadLetterTargetArn"]
                self.queues[dlq] = sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
        return self


def local_state(stack: Any) -> dict[str, Any]:
    """What `flowgen local` should add to .flowgen/stack.json so these tools find it (its data
    stores, its queues, and the local administrator's keys for moto, which guard nothing real)."""
    admin = stack.aws.admin
    return {
        "mongo_uri": stack.endpoints.mongo_uri,
        "mongo_db": stack.config.mongo_db,
        "redis_url": stack.endpoints.redis_url,
        "sqs_endpoint": stack.endpoints.aws_url,
        "queues": {name: queue.url for name, queue in stack.queues.items()},
        "aws": {"access_key_id": admin.access_key_id, "secret_access_key": admin.secret_access_key},
    }


def _read_state(state_file: Path | None) -> dict[str, Any]:
    if state_file is None:
        from flowgen_dev.cli import STATE_FILE

        state_file = STATE_FILE
    try:
        state: dict[str, Any] = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return {}
    return state


def _stack_outputs(stack_name: str) -> dict[str, str]:
    import boto3

    stacks = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    return {name: outputs[output] for name, (_, output) in QUEUES.items() if output in outputs}


# ---- status ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueState:
    name: str
    visible: int
    in_flight: int
    delayed: int
    oldest_seconds: float | None  # None: not known (no CloudWatch metric, an empty queue)

    @property
    def depth(self) -> int:
        return self.visible + self.in_flight + self.delayed


@dataclass(frozen=True)
class Stuck:
    kind: str  # "course" or "lesson"
    key: str
    status: str
    why: str
    age_seconds: float


@dataclass
class StatusReport:
    queues: list[QueueState]
    courses: dict[str, tuple[int, float]]  # status -> (count, oldest age in seconds since updated)
    lessons: dict[str, tuple[int, float]]
    stuck: list[Stuck]
    failed: list[tuple[str, str]]  # (key, error)

    def queue(self, name: str) -> QueueState:
        return next(q for q in self.queues if q.name == name)

    def render(self) -> str:
        lines = [f"{'queue':<16} {'visible':>8} {'in flight':>9} {'delayed':>8} {'oldest':>8}"]
        for q in self.queues:
            lines.append(f"{q.name:<16} {q.visible:>8} {q.in_flight:>9} {q.delayed:>8} {_age(q.oldest_seconds):>8}")
        for label, table in (("courses", self.courses), ("lessons", self.lessons)):
            cells = ", ".join(f"{status} {n} (oldest {_age(age)})" for status, (n, age) in sorted(table.items()))
            lines.append(f"{label}: {cells or 'none'}")
        lines.append(f"stuck: {len(self.stuck)}")
        lines += [f"  {s.kind} {s.key} {s.status}: {s.why} ({_age(s.age_seconds)})" for s in self.stuck]
        lines.append(f"failed: {len(self.failed)}")
        lines += [f"  {key}: {error}" for key, error in self.failed[:50]]
        return "\n".join(lines)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # pymongo answers naive UTC


def queue_states(target: Target) -> list[QueueState]:
    sqs = target.sqs()
    states = []
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    for name, url in target.queues.items():
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        visible = int(attrs.get("ApproximateNumberOfMessages", 0))
        in_flight = int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0))
        delayed = int(attrs.get("ApproximateNumberOfMessagesDelayed", 0))
        oldest = _oldest_age(target, sqs, name, url) if visible + in_flight + delayed else None
        states.append(QueueState(name, visible, in_flight, delayed, oldest))
    return states


def _oldest_age(target: Target, sqs: Any, name: str, url: str) -> float | None:
    """A DLQ is peeked (a receive there redrives nothing); a work queue is never received from
    (it would spend a receive), so its age is CloudWatch's ApproximateAgeOfOldestMessage when
    deployed, and unknown locally (the oldest waiting intent, in the records, says as much)."""
    if name.endswith("DLQ"):
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, MessageSystemAttributeNames=["SentTimestamp"]
        ).get("Messages", [])
        sent = [int(m["Attributes"]["SentTimestamp"]) / 1000 for m in messages if "Attributes" in m]
        return (datetime.now(UTC).timestamp() - min(sent)) if sent else None
    if target.sqs_endpoint:
        return None
    try:
        import boto3

        now = datetime.now(UTC)
        points = boto3.client("cloudwatch").get_metric_statistics(
            Namespace="AWS/SQS",
            MetricName="ApproximateAgeOfOldestMessage",
            Dimensions=[{"Name": "QueueName", "Value": url.rsplit("/", 1)[-1]}],
            StartTime=now - timedelta(minutes=10),
            EndTime=now,
            Period=60,
            Statistics=["Maximum"],
        )["Datapoints"]
    except Exception:  # no permission, no metric yet: unknown, not an error
        return None
    return float(max(points, key=lambda p: p["Timestamp"])["Maximum"]) if points else None


def _by_status(collection: Any, now: datetime) -> dict[str, tuple[int, float]]:
    table: dict[str, tuple[int, float]] = {}
    pipeline = [{"$group": {"_id": "$status", "n": {"$sum": 1}, "oldest": {"$min": "$updatedAt"}}}]
    try:
        rows = list(collection.aggregate(pipeline))
    except Exception:  # a store without $group: count by hand
        counts: Counter[str] = Counter()
        oldest: dict[str, datetime] = {}
        for doc in collection.find({}, {"status": 1, "updatedAt": 1}):
            counts[doc["status"]] += 1
            if doc.get("updatedAt") and (doc["status"] not in oldest or doc["updatedAt"] < oldest[doc["status"]]):
                oldest[doc["status"]] = doc["updatedAt"]
        rows = [{"_id": s, "n": n, "oldest": oldest.get(s)} for s, n in counts.items()]
    for row in rows:
        age = (now - row["oldest"]).total_seconds() if row.get("oldest") else 0.0
        table[str(row["_id"])] = (int(row["n"]), age)
    return table


def status(target: Target, stuck_after: int = DEFAULT_STUCK_AFTER, limit: int = 200) -> StatusReport:
    from flowgen.adapters.mongo_store import MongoCourseStore

    db = target.database()
    now = _now()
    store = MongoCourseStore(db)
    older = now - timedelta(seconds=stuck_after)
    stuck: list[Stuck] = []
    for course in store.stuck_courses(older, now, limit):
        why = "lease expired" if course.status.value == "GENERATING" else f"pending over {stuck_after}s"
        stuck.append(Stuck("course", course.id, course.status.value, why, _since(now, course.updated_at)))
    for lesson in store.stuck_lessons(older, now, limit):
        if lesson.status.value == "GENERATING":
            why = "lease expired"
        else:
            why = f"requested at {lesson.priority.value if lesson.priority else '?'} priority over {stuck_after}s ago"
        stuck.append(
            Stuck("lesson", f"{lesson.course_id}/{lesson.id}", lesson.status.value, why, _since(now, lesson.updated_at))
        )
    failed = [
        (f"{d['courseId']}/{d['id']}", str(d.get("error") or "(no reason recorded)"))
        for d in db.lessons.find({"status": "FAILED"}, {"courseId": 1, "id": 1, "error": 1}).limit(limit)
    ]
    failed += [
        (f"course {d['_id']}", str(d.get("error") or "(no reason recorded)"))
        for d in db.courses.find({"status": "FAILED"}, {"error": 1}).limit(limit)
    ]
    return StatusReport(
        queues=queue_states(target.with_dlqs()),
        courses=_by_status(db.courses, now),
        lessons=_by_status(db.lessons, now),
        stuck=stuck,
        failed=failed,
    )


def _since(now: datetime, then: datetime | None) -> float:
    return (now - then.replace(tzinfo=None)).total_seconds() if then else 0.0


# ---- retry-failed ----------------------------------------------------------------------------


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
    from flowgen.errors import Conflict, NotFound

    for doc in courses:
        try:
            service.retry_course(doc["ownerId"], doc["_id"], _now())
            report.courses.append(doc["_id"])
        except (Conflict, NotFound) as exc:
            report.refused.append(f"course {doc['_id']}: {exc}")
    for doc in lessons:
        key = f"{doc['courseId']}/{doc['id']}"
        try:
            service.retry_lesson(doc["ownerId"], doc["courseId"], doc["id"], _now())
            report.lessons.append(key)
        except (Conflict, NotFound) as exc:
            report.refused.append(f"{key}: {exc}")
    return report


# ---- redrive ---------------------------------------------------------------------------------


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
    from flowgen.errors import Conflict, NotFound

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
                            service.retry_lesson(owner, job["courseId"], job["lessonId"], _now())
                            report.retried.lessons.append(key)
                        else:
                            service.retry_course(owner, job["courseId"], _now())
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


# ---- command line ----------------------------------------------------------------------------


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mongo-uri", help="MongoDB URI (default: the local stack's, or MONGO_URI)")
    parser.add_argument("--mongo-db", help="database name (default: flowgen)")
    parser.add_argument("--redis-url", help="Redis for the dedupe lock (default: REDIS_URL; none: enqueue anyway)")
    parser.add_argument("--sqs-endpoint", help="an SQS endpoint other than AWS's (the local stack's moto)")
    parser.add_argument("--stack-name", help="a deployed stack: queue URLs from its CloudFormation outputs")
    parser.add_argument(
        "--queue-url", action="append", default=[], metavar="NAME=URL", help=f"NAME one of {', '.join(QUEUES)}"
    )


def _parse_since(text: str) -> datetime:
    """`2026-11-28T01:00`, or an age: `90m`, `2h`, `1d`."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text[:-1].isdigit() and text[-1] in units:
        return _now() - timedelta(seconds=int(text[:-1]) * units[text[-1]])
    parsed = datetime.fromisoformat(text)
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def cmd_status(args: argparse.Namespace) -> int:
    report = status(Target.resolve(args), stuck_after=args.stuck_after)
    print(json.dumps(_jsonable(report), indent=2, default=str) if args.json else report.render())
    return 0


def cmd_retry_failed(args: argparse.Namespace) -> int:
    filters = Filters(course=args.course, user=args.user, since=_parse_since(args.since) if args.since else None)
    report = retry_failed(Target.resolve(args), filters, dry_run=args.dry_run)
    print(report.render("would re-queue" if args.dry_run else "re-queued"))
    return 0


def cmd_redrive(args: argparse.Namespace) -> int:
    print(redrive(Target.resolve(args)).render())
    return 0


def add_commands(sub: Any) -> None:
    """Registers status, retry-failed and redrive on the `flowgen` command's subparsers."""
    st = sub.add_parser("status", help="queues and DLQs (depth, oldest message), records by status, the stuck ones")
    add_target_arguments(st)
    st.add_argument("--stuck-after", type=int, default=DEFAULT_STUCK_AFTER, help="seconds (STUCK_AFTER_SECONDS)")
    st.add_argument("--json", action="store_true")
    st.set_defaults(run=cmd_status)
    rf = sub.add_parser("retry-failed", help="re-queue FAILED lessons and courses through the retry use case")
    add_target_arguments(rf)
    rf.add_argument("--course", help="only this course id")
    rf.add_argument("--user", help="only this owner (the token's sub)")
    rf.add_argument("--since", help="only those failed since: an ISO time, or an age such as 90m, 2h, 1d")
    rf.add_argument("--dry-run", action="store_true", help="list them, change nothing")
    rf.set_defaults(run=cmd_retry_failed)
    rd = sub.add_parser("redrive", help="empty the DLQs: reset each job's FAILED record through retry, drop the rest")
    add_target_arguments(rd)
    rd.set_defaults(run=cmd_redrive)


def _jsonable(report: StatusReport) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(report)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="flowgen-ops", description=__doc__)
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv) if argv is not None else None)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
