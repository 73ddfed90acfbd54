"""What is simulated (`Scenario`), and a scenario and prices from `flowgen capacity`'s arguments."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, fields, replace

from flowgen_capacity.assumptions import Lognormal, ModelProfile, Platform, Prices, UserModel
from flowgen_capacity.config import SystemConfig


@dataclass(frozen=True)
class Scenario:
    users: int
    system: SystemConfig
    model: ModelProfile = field(default_factory=ModelProfile)
    user: UserModel = field(default_factory=UserModel)
    platform: Platform = field(default_factory=Platform)
    duration: float = 3600.0  # the measured window: the peak hour
    warmup: float = 1800.0  # simulated at the same rate before it, not measured
    drain: float = 1800.0  # after it: no new sessions; opens of the window may still finish
    seed: int = 1
    sessions: tuple[tuple[float, bool], ...] | None = None  # explicit (start, new course) list

    @property
    def session_rate(self) -> float:
        """Sessions per second at the peak."""
        return self.users * self.user.sessions_per_day * self.user.peak_factor / 86_400


def scenario_from(args: argparse.Namespace, users: int | None = None, **overrides: str) -> Scenario:
    from flowgen_capacity.config import read_system

    settings = dict(args.set)
    settings.update(overrides)
    system = read_system(args.template, settings)
    model = ModelProfile(
        lesson_latency=Lognormal(*args.lesson_latency),
        outline_latency=Lognormal(*args.outline_latency),
        lesson_input_tokens=int(args.lesson_tokens[0]),
        lesson_output_tokens=int(args.lesson_tokens[1]),
        outline_input_tokens=int(args.outline_tokens[0]),
        outline_output_tokens=int(args.outline_tokens[1]),
        error_rate=args.model_error_rate,
    )
    user = UserModel(
        courses_per_day=args.courses_per_day,
        sessions_per_day=args.sessions_per_day,
        lessons_per_session=args.lessons_per_session,
        reading=Lognormal(args.reading_minutes[0] * 60, args.reading_minutes[1] * 60),
        lessons_per_course=args.lessons_per_course,
        peak_factor=args.peak_factor,
        poll_seconds=args.poll_seconds,
    )
    platform = replace(
        Platform(),
        account_concurrency=args.account_concurrency,
        pollers_initial=args.pollers_initial,
        pollers_per_minute=args.pollers_per_minute,
        cold_start_seconds=args.cold_start,
    )
    return Scenario(
        users=users if users is not None else args.users,
        system=system,
        model=model,
        user=user,
        platform=platform,
        duration=args.duration,
        warmup=args.warmup,
        seed=args.seed,
    )


def prices_from(args: argparse.Namespace) -> Prices:
    values = {f.name: getattr(args, f"price_{f.name}") for f in fields(Prices) if f.name != "date"}
    return Prices(**values)
