"""Domain defects the fault suite found, pinned at the use-case level (no stack).

Both were marked xfail(strict=True) until the domain was fixed (2026-11-28): a paid-for lesson is
now committed before the Redis bookkeeping, and a settle never writes into a bucket Redis lost."""

from __future__ import annotations

from flowgen.clock import utcnow
from flowgen.courses import CourseService
from flowgen.deadline import Attempt
from flowgen.generation import Generator, Outcome
from flowgen.messages import LessonJob
from flowgen.records import LessonStatus, Priority
from flowgen.requests import CreateCourseRequest
from flowgen.scheduling import JobScheduler
from flowgen.settings import ApiTunables, WorkerTunables
from tests.fakes.ports import MemoryDedupe, RecordingQueue, ScriptedModel
from tests.fakes.store import MemoryStore


class WatchingBudget:
    """A token budget whose settle records the lesson's status at that moment. With Redis
    frozen, each settle blocks for the client's socket timeout (2 s) before failing open."""

    def __init__(self, store: MemoryStore, owner: str, course_id: str, lesson_id: str) -> None:
        self.store, self.where = store, (owner, course_id, lesson_id)
        self.status_at_settle: list[str] = []

    def reserve(self, owner_id: str, course_id: str, tokens: int, *, tier: str = "free") -> str | None:
        return None

    def settle(self, owner_id: str, course_id: str, estimated: int, actual: int) -> None:
        lesson = self.store.get_lesson(*self.where)
        self.status_at_settle.append(lesson.status.value if lesson else "gone")


def test_a_paid_for_lesson_is_committed_before_bookkeeping_that_can_hang() -> None:
    store, queue, dedupe = MemoryStore(), RecordingQueue(), MemoryDedupe()
    scheduler = JobScheduler(queue, dedupe, dedupe_ttl_seconds=300)
    service = CourseService(store, scheduler, ApiTunables(lesson_lookahead=0, stuck_after_seconds=300))
    tunables = WorkerTunables(initial_lessons=0, max_receive_count=3)
    outline = Generator(store, scheduler, ScriptedModel(), tunables, utcnow)
    first = Attempt(receive_count=1, remaining_seconds=120)

    course = service.create_course("alice", CreateCourseRequest(prompt="Rust ownership"), utcnow())
    assert outline.build_outline(queue.course_jobs[-1], first) == Outcome.DONE
    lesson_id = store.list_lessons(course.id)[3].id
    service.open_lesson("alice", course.id, lesson_id, utcnow())
    assert queue.lesson_ids(Priority.HIGH) == [lesson_id]

    budget = WatchingBudget(store, "alice", course.id, lesson_id)
    worker = Generator(store, scheduler, ScriptedModel(), tunables, utcnow, budget=budget)
    job = LessonJob(course_id=course.id, lesson_id=lesson_id, owner_id="alice")
    assert worker.write_lesson(job, first) == Outcome.DONE
    assert budget.status_at_settle == [LessonStatus.GENERATED.value]


def test_a_settle_after_redis_lost_the_bucket_does_not_stall_the_limiter(redis_url: str) -> None:
    import time
    import uuid

    import redis

    from flowgen.adapters.redis_limits import RedisRateLimiter

    client = redis.Redis.from_url(redis_url)
    limiter = RedisRateLimiter(
        client, requests_per_minute=0, tokens_per_minute=600_000, high_reserve=0.3, prefix=f"t:{uuid.uuid4().hex}"
    )
    limiter.settle(3_000, 1_000)  # a call taken before Redis restarted settles after it: the bucket is gone
    waits = []
    for _ in range(3):
        waits.append(limiter.acquire(Priority.HIGH, 3_000))
        time.sleep(waits[-1] + 0.05)  # waiting as long as the limiter asks must be enough
    assert waits[-1] == 0.0, f"still asked to wait after waiting: {waits}"
