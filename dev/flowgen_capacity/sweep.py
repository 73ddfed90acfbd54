"""`flowgen capacity --sweep`: time to an opened lesson against users for a sweep of the high
lane's MaximumConcurrency (LessonHighMaxConcurrency), as PNGs (matplotlib, Agg) and a table."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from flowgen_capacity.report import Report, build_report, percentile
from flowgen_capacity.scenario import prices_from, scenario_from
from flowgen_capacity.simulation import simulate

HIGH = "LessonHighMaxConcurrency"


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _pooled(args: argparse.Namespace, users: int, high: int, seeds: int = 2) -> tuple[list[float], Report]:
    """Waits pooled over a few seeds (a steadier p99), and the first seed's report."""
    waits: list[float] = []
    first: Report | None = None
    for seed in range(seeds):
        scenario = replace(scenario_from(args, users, **{HIGH: str(high)}), seed=args.seed + seed)
        sim = simulate(scenario)
        waits += [s.wait for s in sim.lesson_samples]
        if first is None:
            first = build_report(sim, prices_from(args))
    if first is None:
        raise ValueError("seeds must be at least 1")
    return sorted(waits), first


def _suffix(args: argparse.Namespace) -> str:
    changed = [f"{k}-{v}" for k, v in args.set if k != HIGH]
    return ("_" + "_".join(changed)) if changed else ""


def run_sweep(args: argparse.Namespace) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    users_list, highs = _ints(args.sweep_users), _ints(args.sweep_high)
    target = 2 * args.lesson_latency[0]
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    suffix = _suffix(args)

    results: dict[tuple[int, int], tuple[float, float, Report]] = {}
    for high in highs:
        for users in users_list:
            waits, report = _pooled(args, users, high)
            results[(high, users)] = (percentile(waits, 50), percentile(waits, 99), report)

    fig, ax = plt.subplots(figsize=(11, 5.5), dpi=110)
    colors = plt.get_cmap("viridis")
    for i, high in enumerate(highs):
        color = colors(i / max(1, len(highs) - 1))
        ax.plot(users_list, [results[(high, u)][1] for u in users_list], "-o", color=color, label=f"p99, {HIGH}={high}")
        ax.plot(
            users_list,
            [results[(high, u)][0] for u in users_list],
            "--",
            color=color,
            alpha=0.7,
            label=f"p50, {HIGH}={high}",
        )
    ax.axhline(target, color="crimson", linestyle=":", label=f"2 x model latency (median {args.lesson_latency[0]:g} s)")
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=10)
    ax.set_ylim(bottom=0)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(users_list)
    ax.set_xticklabels([f"{u:,}" for u in users_list])
    ax.set_xlabel("daily active users")
    ax.set_ylabel("time to an opened lesson (s), peak hour")
    setting = suffix[1:].replace("_", ", ").replace("-", "=") if suffix else "the template's settings"
    ax.set_title(f"Time to an opened lesson vs users, peak hour ({setting})", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.set_ylim(0, max([results[k][1] for k in results] + [target]) * 2.5)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    plot = out / f"time_to_lesson_vs_users{suffix}.png"
    fig.savefig(plot)
    plt.close(fig)

    at = args.users if args.users in users_list else users_list[-1]
    fig, ax = plt.subplots(figsize=(8, 4.8), dpi=110)
    ax.plot(highs, [results[(h, at)][1] for h in highs], "-o", color="tab:blue", label="p99")
    ax.plot(highs, [results[(h, at)][0] for h in highs], "--o", color="tab:blue", alpha=0.6, label="p50")
    ax.axhline(target, color="crimson", linestyle=":", label=f"2 x model latency ({target:g} s)")
    ax.set_xscale("log")
    ax.set_xticks(highs)
    ax.set_xticklabels([str(h) for h in highs])
    ax.set_yscale("symlog", linthresh=10)
    ax.set_ylim(bottom=0)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(HIGH)
    ax.set_ylabel("time to an opened lesson (s)")
    ax.grid(True, which="both", alpha=0.3)
    cost = ax.twinx()
    cost.plot(highs, [results[(h, at)][2].monthly_total for h in highs], "-s", color="tab:green", label="USD/month")
    cost.set_ylabel("USD per month", color="tab:green")
    cost.set_ylim(bottom=0)
    handles = ax.get_legend_handles_labels()[0] + cost.get_legend_handles_labels()[0]
    ax.legend(handles, [str(h.get_label()) for h in handles], fontsize=8, loc="upper right")
    top = max([results[(h, at)][1] for h in highs] + [target])
    ax.set_ylim(0, top * 2.5)
    setting = f"\n{suffix[1:].replace('_', ', ').replace('-', '=')}" if suffix else "\nthe template's settings"
    ax.set_title(f"{at:,} daily users: waiting and cost against {HIGH}{setting}", fontsize=10)
    fig.tight_layout()
    plot_at = out / f"p99_vs_high_at_{at}{suffix}.png"
    fig.savefig(plot_at)
    plt.close(fig)

    lines = [
        f"plots: {plot}, {plot_at}",
        "",
        f"| users | {HIGH} | p50 (s) | p99 (s) | ready at open | binding limit | USD/month |",
        "| ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for users in users_list:
        for high in highs:
            p50, p99, rep = results[(high, users)]
            b = rep.binding
            lines.append(
                f"| {users:,} | {high} | {p50:.1f} | {p99:.1f} | {1 - rep.cold_share:.0%} | "
                f"{b.name} {b.peak:.0%} | {rep.monthly_total:,.0f} |"
            )
    lines.append(f"\ntarget: p99 under {target:g} s (twice the median lesson latency)")
    return "\n".join(lines)
