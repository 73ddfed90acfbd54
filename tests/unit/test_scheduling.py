"""Dedupe-then-enqueue (flowgen.scheduling) on its own: what a Redis or SQS outage does to a send,
and what it counts. tests/unit/test_domain.py drives it through the use cases."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from flowgen.messages import CourseJob, LessonJob
from flowgen.observability import metrics
from flowgen.records import Priority
from flowgen.scheduling import JobScheduler, course_job_key, lesson_job_key
from tests.fakes.ports import MemoryDedupe, RecordingQueue

TTL = 300


class Scheduling:
    def __init__(self) -> None:
        self.queue, self.dedupe = RecordingQueue(), MemoryDedupe()
        self.scheduler = JobScheduler(self.queue, self.dedupe, dedupe_ttl_seconds=TTL)


@pytest.fixture
def s() -> Scheduling:
    return Scheduling()


def _lessons(*lesson_ids: str) -> list[LessonJob]:
    return [LessonJob(course_id="c1", lesson_id=i, owner_id="alice") for i in lesson_ids]


def _counted(name: str) -> tuple[str | None, list[float]]:
    """(unit, values) of a metric added in this test (tests/unit/conftest.py clears them)."""
    metric = metrics.metric_set.get(name)
    return (metric["Unit"], list(metric["Value"])) if metric else (None, [])


def test_a_dedupe_outage_sends_everything_and_is_counted(s: Scheduling) -> None:
    s.dedupe.down = True
    assert s.scheduler.schedule_lessons(_lessons("m01-l01", "m01-l02"), Priority.LOW) == 2
    assert s.queue.lesson_ids(Priority.LOW) == ["m01-l01", "m01-l02"]
    assert _counted("DedupeUnavailable") == ("Count", [1.0])  # one outage per send, however many jobs
    assert _counted("LessonJobsLow") == ("Count", [2.0])
    assert s.scheduler.schedule_course(CourseJob(course_id="c1", owner_id="alice")) is True
    assert _counted("DedupeUnavailable") == ("Count", [1.0, 1.0])


def test_the_jobs_sent_are_counted_per_priority(s: Scheduling) -> None:
    s.scheduler.schedule_lessons(_lessons("m01-l01"), Priority.HIGH)
    s.scheduler.schedule_lessons(_lessons("m01-l01", "m01-l02", "m01-l03"), Priority.LOW)
    s.scheduler.schedule_lessons(_lessons("m01-l01"), Priority.HIGH)  # deduped: nothing sent, nothing counted
    assert _counted("LessonJobsHigh") == ("Count", [1.0])
    assert _counted("LessonJobsLow") == ("Count", [3.0])
    assert _counted("DedupeUnavailable") == (None, [])


def test_a_course_job_goes_at_once_or_after_the_delay_asked_and_its_key_outlives_the_delay(s: Scheduling) -> None:
    s.scheduler.schedule_course(CourseJob(course_id="c1", owner_id="alice"))
    s.scheduler.schedule_course(CourseJob(course_id="c2", owner_id="alice"), delay_seconds=4.2)
    assert s.queue.delays == [0, 5]  # SQS counts whole seconds
    assert s.dedupe.ttls == {course_job_key("c1"): TTL, course_job_key("c2"): TTL + 5}


def test_releasing_keys_while_redis_is_down_is_not_an_error(s: Scheduling) -> None:
    """A worker that took its job must not fail because Redis is gone: the key's TTL ends it."""
    s.scheduler.schedule_lessons(_lessons("m01-l01"), Priority.HIGH)
    s.scheduler.schedule_course(CourseJob(course_id="c1", owner_id="alice"))
    s.dedupe.down = True
    s.scheduler.forget_lesson("c1", "m01-l01")
    s.scheduler.forget_course("c1")
    s.scheduler.forget_question("q1")
    s.dedupe.down = False
    assert lesson_job_key("c1", "m01-l01", Priority.HIGH) in s.dedupe.keys  # still there, as the TTL leaves it
    assert course_job_key("c1") in s.dedupe.keys


class ShortDedupe(MemoryDedupe):
    """A dedupe lock that answers for fewer keys than it was asked about (a broken adapter)."""

    def acquire_many(self, keys: Sequence[str], ttl_seconds: int) -> list[bool]:
        return super().acquire_many(keys, ttl_seconds)[:-1]


def test_a_dedupe_answer_that_does_not_match_the_jobs_sends_none_rather_than_some() -> None:
    """Pairing jobs with a shorter answer would drop the last jobs without a trace."""
    queue = RecordingQueue()
    scheduler = JobScheduler(queue, ShortDedupe(), dedupe_ttl_seconds=TTL)
    with pytest.raises(ValueError, match="zip"):
        scheduler.schedule_lessons(_lessons("m01-l01", "m01-l02"), Priority.LOW)
    assert queue.lesson_ids(Priority.LOW) == []
