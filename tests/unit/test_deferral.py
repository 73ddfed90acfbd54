"""Deferrals back off (issue 27): a job the rate limiter turns away comes back later each time,
jittered, so a herd of deferred jobs does not return together every second; the planner
simulates the same delay and counts re-sends per deferred job."""

from __future__ import annotations

import random
import statistics

import pytest

from flowgen.messages import CourseJob, LessonJob
from flowgen.records import Priority
from flowgen.scheduling import MAX_DELAY_SECONDS, JobScheduler, deferral_delay
from flowgen_capacity import simulation
from tests.fakes.ports import MemoryDedupe, RecordingQueue


def middle(low: float, high: float) -> float:
    return (low + high) / 2


def test_each_deferral_of_a_low_job_waits_longer() -> None:
    delays = [deferral_delay(0.3, n, Priority.LOW, middle) for n in range(6)]
    assert delays[0] >= 1.0  # at least a second, even when the limiter says sooner
    assert all(b >= 3 * a for a, b in zip(delays, delays[1:], strict=False))  # grows fast
    assert sum(delays[:5]) > 300  # five re-sends cover minutes of a binding token limit
    assert deferral_delay(0.3, 20, Priority.LOW, middle) == MAX_DELAY_SECONDS  # SQS's 15 minutes at most


def test_an_opened_lesson_keeps_its_place_and_never_goes_before_the_limiter_allows() -> None:
    high = [deferral_delay(2.0, n, Priority.HIGH, random.uniform) for n in range(4)]
    assert high == [2.0] * 4  # no growth, no jitter: its learner is waiting, the tokens come in 2 s
    for n in range(8):  # whatever the jitter draws, never sooner than the tokens come back
        assert deferral_delay(40.0, n, Priority.LOW, lambda lo, hi: lo) >= 40.0
        assert deferral_delay(40.0, n, Priority.HIGH, lambda lo, hi: lo) >= 40.0


def test_jobs_turned_away_together_come_back_spread_out() -> None:
    rng = random.Random(7)  # noqa: S311 - jitter, not secrets
    delays = [deferral_delay(1.0, 2, Priority.LOW, rng.uniform) for _ in range(200)]
    assert len({round(d) for d in delays}) > 10  # not one herd at one second
    assert max(delays) - min(delays) > 0.6 * statistics.median(delays)


def test_the_scheduler_counts_deferrals_on_the_job_and_waits_longer_each_time() -> None:
    queue = RecordingQueue()
    scheduler = JobScheduler(queue, MemoryDedupe(), dedupe_ttl_seconds=300, jitter=middle)
    job = LessonJob(course_id="c", lesson_id="l", owner_id="alice")
    for _ in range(4):  # the worker defers what it receives: the job it sent last time
        scheduler.defer_lesson(job, Priority.LOW, 0.5)
        job = queue.lesson_jobs[Priority.LOW][-1]
    assert [j.deferrals for j in queue.lesson_jobs[Priority.LOW]] == [1, 2, 3, 4]
    assert queue.delays == [1, 4, 16, 64]
    assert '"deferrals":4' in job.model_dump_json(by_alias=True)
    scheduler.defer_course(CourseJob(course_id="c", owner_id="alice", deferrals=2), 2.0)
    assert queue.course_jobs[-1].deferrals == 3 and queue.delays[-1] == 2  # a learner waits for an outline


def test_a_job_sent_before_the_field_existed_is_a_first_deferral() -> None:
    job = LessonJob.model_validate_json('{"courseId": "c", "lessonId": "l", "ownerId": "alice"}')
    assert job.deferrals == 0


@pytest.mark.parametrize("deferrals", [0, 1, 3, 6])
@pytest.mark.parametrize("wait", [0.1, 1.0, 7.5, 120.0])
def test_the_planner_simulates_the_workers_delay(deferrals: int, wait: float) -> None:
    for priority in Priority:
        expected = deferral_delay(wait, deferrals, priority, middle)
        assert simulation.deferral_delay(wait, deferrals, priority == Priority.HIGH, middle) == expected


def test_the_planner_counts_re_sends_per_deferred_job_and_keeps_them_few() -> None:
    """The provider's tokens per minute binding hard (10,000 daily users, 100,000 tokens a minute,
    a quarter-hour peak): before the backoff a deferred job was re-sent about every second (p95
    47 re-sends here; 200 in bench/deferrals.py's peak hour at 150,000)."""
    import argparse

    from flowgen_capacity.command import add_arguments
    from flowgen_capacity.scenario import scenario_from

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--users", "10000", "--duration", "900", "--warmup", "300"])
    sim = simulation.simulate(scenario_from(args, LessonLowMaxConcurrency="40", ModelTokensPerMinute="100000"))
    resends = sorted(sim.counters.resends_per_deferred_job)
    assert len(resends) > 100  # the limit binds: many jobs were deferred
    assert resends[int(0.95 * len(resends))] <= 5
