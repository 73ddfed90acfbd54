"""The template's defaults are the planner's (issue 27): `flowgen capacity` on template.yaml as it
is, at 10,000 daily users, gives a p99 time to an opened lesson of at most twice the model's
median latency with at least 90 % of opened lessons ready when opened; and the low lane's cap is
the smallest that does (a lower one misses the target), so nothing is spent beyond it."""

from __future__ import annotations

import argparse

import pytest

from flowgen_capacity.command import add_arguments
from flowgen_capacity.config import read_system
from flowgen_capacity.report import Report, build_report
from flowgen_capacity.scenario import scenario_from
from flowgen_capacity.simulation import simulate

USERS = 10_000
READY_WHEN_OPENED = 0.90


@pytest.fixture(scope="module")
def args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(["--users", str(USERS)])


def _planned(args: argparse.Namespace, **overrides: str) -> Report:
    return build_report(simulate(scenario_from(args, None, **overrides)))


def _meets(report: Report, args: argparse.Namespace) -> bool:
    median = args.lesson_latency[0]
    return report.lesson.p99 <= 2 * median and 1 - report.cold_share >= READY_WHEN_OPENED


def test_the_templates_defaults_meet_the_target_at_10000_daily_users(args: argparse.Namespace) -> None:
    report = _planned(args)
    median = args.lesson_latency[0]
    assert report.lesson.p99 <= 2 * median, f"p99 {report.lesson.p99:.0f} s > 2 x {median} s"
    assert 1 - report.cold_share >= READY_WHEN_OPENED, f"{1 - report.cold_share:.0%} ready when opened"
    assert report.failed_opens == 0 and report.still_waiting == 0


def test_a_smaller_low_lane_misses_the_target(args: argparse.Namespace) -> None:
    low = read_system(None, {}).low.max_concurrency
    smaller = _planned(args, LessonLowMaxConcurrency=str(low - 2))
    assert not _meets(smaller, args), f"LessonLowMaxConcurrency={low - 2} meets the target too: lower the default"
