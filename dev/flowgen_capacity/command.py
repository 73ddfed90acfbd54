"""`flowgen capacity`: its arguments and what it runs. Imports SimPy only when it runs."""

from __future__ import annotations

import argparse
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from flowgen_capacity.assumptions import ModelProfile, Platform, Prices, UserModel
from flowgen_capacity.scenario import prices_from, scenario_from


def _pair(text: str) -> tuple[float, float]:
    a, _, b = text.partition(",")
    return float(a), float(b or a)


def _setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError("expected Name=Value")
    return name, value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    m, u, p, pr = ModelProfile(), UserModel(), Platform(), Prices()
    parser.add_argument("--users", type=int, default=10_000, help="daily active users (10000)")
    parser.add_argument("--template", type=Path, default=None, help="template.yaml to read (the repo's)")
    parser.add_argument(
        "--set",
        type=_setting,
        action="append",
        default=[],
        metavar="PARAMETER=VALUE",
        help="override a template parameter, e.g. --set LessonHighMaxConcurrency=40",
    )
    g = parser.add_argument_group("model")
    g.add_argument(
        "--lesson-latency",
        type=_pair,
        default=(m.lesson_latency.median, m.lesson_latency.p95),
        metavar="MEDIAN,P95",
        help="seconds per lesson call, lognormal (%(default)s)",
    )
    g.add_argument(
        "--outline-latency",
        type=_pair,
        default=(m.outline_latency.median, m.outline_latency.p95),
        metavar="MEDIAN,P95",
        help="seconds per outline call (%(default)s)",
    )
    g.add_argument(
        "--lesson-tokens",
        type=_pair,
        default=(m.lesson_input_tokens, m.lesson_output_tokens),
        metavar="IN,OUT",
        help="tokens per lesson call (%(default)s)",
    )
    g.add_argument(
        "--outline-tokens",
        type=_pair,
        default=(m.outline_input_tokens, m.outline_output_tokens),
        metavar="IN,OUT",
        help="tokens per outline call (%(default)s)",
    )
    g.add_argument("--model-error-rate", type=float, default=m.error_rate)
    g = parser.add_argument_group("users")
    g.add_argument("--courses-per-day", type=float, default=u.courses_per_day, help="per user (%(default)s)")
    g.add_argument("--sessions-per-day", type=float, default=u.sessions_per_day, help="per user (%(default)s)")
    g.add_argument("--lessons-per-session", type=float, default=u.lessons_per_session, help="mean (%(default)s)")
    g.add_argument(
        "--reading-minutes",
        type=_pair,
        default=(u.reading.median / 60, u.reading.p95 / 60),
        metavar="MEDIAN,P95",
        help="per lesson, lognormal (%(default)s)",
    )
    g.add_argument("--lessons-per-course", type=int, default=u.lessons_per_course)
    g.add_argument(
        "--peak-factor",
        type=float,
        default=u.peak_factor,
        help="peak hour's traffic over the average hour's (%(default)s)",
    )
    g.add_argument("--poll-seconds", type=float, default=u.poll_seconds)
    g = parser.add_argument_group("platform")
    g.add_argument("--account-concurrency", type=int, default=p.account_concurrency)
    g.add_argument("--pollers-initial", type=int, default=p.pollers_initial)
    g.add_argument("--pollers-per-minute", type=int, default=p.pollers_per_minute)
    g.add_argument("--cold-start", type=float, default=p.cold_start_seconds, help="seconds")
    g = parser.add_argument_group(f"prices (USD, list prices of {pr.date})")
    for f in fields(Prices):
        if f.name != "date":
            g.add_argument(f"--price-{f.name.replace('_', '-')}", type=float, default=getattr(pr, f.name))
    g = parser.add_argument_group("simulation")
    g.add_argument("--duration", type=float, default=3600.0, help="measured seconds at the peak rate")
    g.add_argument("--warmup", type=float, default=1800.0)
    g.add_argument("--seed", type=int, default=1)
    g = parser.add_argument_group("sweep and plots")
    g.add_argument(
        "--sweep", action="store_true", help="sweep LessonHighMaxConcurrency against users and draw PNGs into --out"
    )
    g.add_argument("--sweep-users", default="1000,2500,5000,10000,20000")
    g.add_argument("--sweep-high", default="5,10,20,40,80")
    g.add_argument("--out", type=Path, default=Path("docs/capacity"))


def run(args: argparse.Namespace) -> int:
    from flowgen_capacity.report import build_report, format_report
    from flowgen_capacity.simulation import simulate

    started = time.monotonic()
    if args.sweep:
        from flowgen_capacity.sweep import run_sweep

        print(run_sweep(args))
    else:
        sim = simulate(scenario_from(args))
        print(format_report(build_report(sim, prices_from(args)), sim, prices_from(args)))
    print(f"\n(simulated in {time.monotonic() - started:.1f} s)")
    return 0


def register(sub: Any) -> None:
    """`flowgen capacity`, a plugin of `flowgen_ops.cli` (the `flowgen.commands` entry points)."""
    capacity = sub.add_parser("capacity", help="simulate the deployed system: waiting times, limits, cost")
    add_arguments(capacity)
    capacity.set_defaults(run=run)
