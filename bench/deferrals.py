"""Re-sends per deferred job, before and after the deferral backoff (issue 27), in one run.

When the provider's tokens per minute bind, the rate limiter turns jobs away and each is sent
again with a delay. Before issue 27 the delay was the limiter's wait, at least a second: every
job turned away in the same second came back together, one ran and the rest were turned away
again. Now each deferral of a background job waits four times longer, with jitter (an opened
lesson keeps the limiter's wait: `flowgen.scheduling.deferral_delay`). The planner (`flowgen
capacity`) simulates the template at 10,000 daily users twice per setting, with the old delay
(growth 1, no jitter: the limiter's wait, at least a second) and the new one, and prints the
deferrals, re-sends per deferred job (p50, p95, max), the p99 time to an opened lesson and the
share of opened lessons ready when opened.

    .venv/bin/python bench/deferrals.py            # about 50 s
    .venv/bin/python bench/deferrals.py --set ModelTokensPerMinute=150000
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Iterator

from flowgen_capacity import simulation
from flowgen_capacity.command import add_arguments
from flowgen_capacity.report import build_report, percentile
from flowgen_capacity.scenario import prices_from, scenario_from

SETTINGS = {  # where the tokens per minute bind, from "just" to "hard"
    "low lane 40 (tokens per minute just bind)": {"LessonLowMaxConcurrency": "40"},
    "low lane 40, 150,000 tokens/min (bind hard)": {"LessonLowMaxConcurrency": "40", "ModelTokensPerMinute": "150000"},
}


@contextlib.contextmanager
def old_delay() -> Iterator[None]:
    """The delay before issue 27: the limiter's wait, at least a second, the same every time."""
    growth, jitter = simulation.DEFERRAL_GROWTH, simulation.DEFERRAL_JITTER
    simulation.DEFERRAL_GROWTH = {False: 1.0, True: 1.0}
    simulation.DEFERRAL_JITTER = {False: (1.0, 1.0), True: (1.0, 1.0)}
    try:
        yield
    finally:
        simulation.DEFERRAL_GROWTH, simulation.DEFERRAL_JITTER = growth, jitter


def measure(args: argparse.Namespace, overrides: dict[str, str]) -> dict[str, float]:
    sim = simulation.simulate(scenario_from(args, None, **overrides))
    report = build_report(sim, prices_from(args))
    c = sim.counters
    resends = sorted(float(n) for n in c.resends_per_deferred_job)
    return {
        "deferrals": c.deferrals_high + c.deferrals_low,
        "jobs": len(resends),
        "p50": percentile(resends, 50),
        "p95": percentile(resends, 95),
        "max": resends[-1] if resends else 0.0,
        "p99": report.lesson.p99,
        "ready": 1 - report.cold_share,
        "usd": report.monthly_total,
    }


def main(argv: list[str] | None = None) -> dict[str, tuple[dict[str, float], dict[str, float]]]:
    """Prints the table; returns (before, after) per setting."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    results = {}
    started = time.monotonic()
    print(f"{args.users:,} daily users, the template's other settings{' and ' + str(args.set) if args.set else ''}")
    print(
        f"{'setting':46} {'delay':>6} {'deferrals':>9} {'jobs':>6} {'re-sends p50':>12} {'p95':>4} {'max':>4}"
        f" {'p99 open':>8} {'ready':>6} {'USD/mo':>7}"
    )
    for name, overrides in SETTINGS.items():
        with old_delay():
            before = measure(args, overrides)
        after = measure(args, overrides)
        results[name] = (before, after)
        for label, m in (("before", before), ("after", after)):
            print(
                f"{name:46} {label:>6} {m['deferrals']:9.0f} {m['jobs']:6.0f} {m['p50']:12.0f} {m['p95']:4.0f}"
                f" {m['max']:4.0f} {m['p99']:7.0f}s {m['ready']:6.0%} {m['usd']:7,.0f}"
            )
        ratio = after["deferrals"] / before["deferrals"] if before["deferrals"] else float("nan")
        print(f"{'':46} deferrals after/before {ratio:.2f}; p95 re-sends {before['p95']:.0f} -> {after['p95']:.0f}")
    print(f"(in {time.monotonic() - started:.0f} s)")
    return results


if __name__ == "__main__":
    main()
