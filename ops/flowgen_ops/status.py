"""`flowgen status`: queues and DLQs (depth, oldest message), records by status, the stuck ones."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flowgen_ops.target import DEFAULT_STUCK_AFTER, Target, utc_now


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
    notices: list[str] = field(default_factory=list)
    sources: dict[str, tuple[int, float]] = field(default_factory=dict)  # the learners' uploads (issue 24)

    def queue(self, name: str) -> QueueState:
        return next(q for q in self.queues if q.name == name)

    def render(self) -> str:
        lines = [f"NOTE: {notice}" for notice in self.notices]
        lines.append(f"{'queue':<16} {'visible':>8} {'in flight':>9} {'delayed':>8} {'oldest':>8}")
        for q in self.queues:
            lines.append(f"{q.name:<16} {q.visible:>8} {q.in_flight:>9} {q.delayed:>8} {_age(q.oldest_seconds):>8}")
        for label, table in (("courses", self.courses), ("lessons", self.lessons), ("sources", self.sources)):
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
    now = utc_now()
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
        notices=target.notices,
        sources=_by_status(db.sources, now),
    )


def _since(now: datetime, then: datetime | None) -> float:
    return (now - then.replace(tzinfo=None)).total_seconds() if then else 0.0
