"""The capacity planner (`flowgen capacity`): its model reacts to the template's settings the way
the deployed system would. Small simulated scenarios, no network; about a second in all."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from flowgen_capacity.assumptions import Lognormal, ModelProfile, Platform, Prices, UserModel
from flowgen_capacity.config import read_system
from flowgen_capacity.limiter import RateLimiter
from flowgen_capacity.report import build_report, format_report
from flowgen_capacity.scenario import Scenario
from flowgen_capacity.simulation import simulate
from flowgen_local.template import ROOT

LATENCY = 10.0
FIXED = ModelProfile(lesson_latency=Lognormal(LATENCY, LATENCY), outline_latency=Lognormal(4.0, 4.0))
QUIET = Platform(cold_start_seconds=0.0)


def _every_open_cold(**settings: str) -> dict[str, str]:
    """No prefetch at all: every opened lesson needs its own model call on the high lane; no
    provider limits unless asked for."""
    unlimited = {"ModelRequestsPerMinute": "0", "ModelTokensPerMinute": "0"}
    return {"InitialLessons": "0", "LessonLookahead": "0", **unlimited, **settings}


def _scenario(users: int, settings: dict[str, str], template: Path | None = None, **kw: object) -> Scenario:
    user = UserModel(courses_per_day=1.0, sessions_per_day=1.0, fixed_lessons=3, poll_seconds=0.0, peak_factor=2.0)
    base = Scenario(
        users=users,
        system=read_system(template, settings),
        model=FIXED,
        user=user,
        platform=QUIET,
        duration=1200.0,
        warmup=300.0,
        drain=900.0,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_an_opened_lesson_takes_about_one_model_call_when_nothing_queues() -> None:
    sim = simulate(_scenario(1_000, _every_open_cold()))
    report = build_report(sim)

    assert report.lesson.count > 20
    assert report.cold_share == 1.0
    # one model call, plus the pickup, the claim and the commit: well under a second on top
    assert LATENCY <= report.lesson.p50 <= LATENCY + 0.5
    assert report.lesson.p99 <= LATENCY + 0.5
    assert all(q.peak_age < 2 for q in report.queues)


def test_prefetch_makes_the_next_lessons_ready_before_they_are_opened() -> None:
    cold = build_report(simulate(_scenario(1_000, _every_open_cold())))
    warm = build_report(simulate(_scenario(1_000, {"InitialLessons": "2", "LessonLookahead": "2"})))

    assert warm.cold_share < 0.5 < cold.cold_share
    assert warm.lesson.p50 == 0.0 < cold.lesson.p50


def test_halving_the_high_lanes_concurrency_under_load_raises_p99() -> None:
    # ~ 0.9 opens a second at 10 s each: about 9 busy workers on average, bursts above that
    users = 20_000
    wide = build_report(simulate(_scenario(users, _every_open_cold(LessonHighMaxConcurrency="24"))))
    narrow = build_report(simulate(_scenario(users, _every_open_cold(LessonHighMaxConcurrency="12"))))

    assert wide.lesson.p99 < 2 * LATENCY
    assert narrow.lesson.p99 > wide.lesson.p99 + LATENCY
    high_wide = next(q for q in wide.queues if q.queue == "LessonHighQueue")
    high_narrow = next(q for q in narrow.queues if q.queue == "LessonHighQueue")
    assert high_narrow.peak_depth > high_wide.peak_depth
    assert narrow.binding.name == "HighPriorityLessons MaximumConcurrency"


def test_a_low_request_limit_binds_first_and_defers_jobs() -> None:
    limited = simulate(_scenario(8_000, _every_open_cold(ModelRequestsPerMinute="30"), duration=480.0, drain=300.0))
    report = build_report(limited)

    assert report.binding.name == "model requests per minute"
    assert report.binding.peak >= 0.95
    assert limited.counters.deferrals_high > 0
    assert report.lesson.p99 > 3 * LATENCY
    # the limiter's buckets keep every minute at or under the limit
    assert max(limited.counters.calls_per_minute.values()) <= 30


def test_low_priority_never_takes_the_high_priority_reserve() -> None:
    limiter = RateLimiter(requests_per_minute=60, tokens_per_minute=0, high_reserve=0.5)
    # the bucket holds 10 requests; low priority may take only the 5 above the reserve
    low = sum(limiter.acquire(0.0, False, 1) == 0.0 for _ in range(10))
    high = sum(limiter.acquire(0.0, True, 1) == 0.0 for _ in range(10))
    assert (low, high) == (5, 5)
    assert limiter.acquire(0.0, True, 1) == pytest.approx(1 / (50 / 60))  # refills 50 a minute


def test_settings_come_from_the_template_file(tmp_path: Path) -> None:
    copy = tmp_path / "template.yaml"
    text = (ROOT / "template.yaml").read_text()
    text = re.sub(r"(LessonHighMaxConcurrency:\n\s+Type: Number\n\s+Default:) \d+", r"\1 3", text)
    text = re.sub(r"(LessonLookahead:\n\s+Type: Number\n\s+Default:) \d+", r"\1 0", text)
    text = re.sub(r"(InitialLessons:\n\s+Type: Number\n\s+Default:) \d+", r"\1 0", text)
    copy.write_text(text)
    shutil.copytree(ROOT / "functions", tmp_path / "functions")  # CodeUri paths stay valid

    system = read_system(copy)
    assert (system.high.max_concurrency, system.lookahead, system.initial_lessons) == (3, 0, 0)
    assert system.high.batch_size == 1 and system.low.max_concurrency >= 2
    assert system.high.visibility_timeout >= 6 * 30  # read through any !Ref it points at

    unlimited = {"ModelRequestsPerMinute": "0", "ModelTokensPerMinute": "0"}
    from_copy = build_report(simulate(_scenario(5_000, unlimited, template=copy)))
    from_repo = build_report(simulate(_scenario(5_000, _every_open_cold())))
    assert from_copy.lesson.p99 > from_repo.lesson.p99 + LATENCY


def test_the_report_prints_every_part_and_costs_scale_with_users() -> None:
    small = simulate(_scenario(1_000, {}))
    large = simulate(_scenario(4_000, {}))
    rs, rl = build_report(small), build_report(large)
    text = format_report(rl, large)

    for part in ("an opened lesson", "an outline", "LessonHighQueue", "bind", "tokens per user per day", "total"):
        assert part in text
    tokens = {r.users: sum(c.usd for c in r.costs if c.line.startswith("Model")) for r in (rs, rl)}
    assert 3.0 < tokens[4_000] / tokens[1_000] < 5.0
    doubled = build_report(large, replace(Prices(), model_output_per_million_tokens=1.20))
    out = next(c.usd for c in doubled.costs if c.line == "Model output tokens")
    assert out == pytest.approx(2 * next(c.usd for c in rl.costs if c.line == "Model output tokens"))
