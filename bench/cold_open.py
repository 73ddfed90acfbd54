"""An opened lesson on a cold lesson-worker instance against a warm one, with SnapStart off (the
template's default) and on (LessonWorkerSnapStart=PublishedVersions), in one run (issue 27: the
first opened lesson within 1.2x of a warm one).

    .venv/bin/python bench/cold_open.py [--opens 12] [--seconds 240]

Per variant one local stack as the template ships it (streaming on), behind an empty queue, and
bench/first_words.py's opens and polling client: warm and cold opens interleaved, a cold one
after every idle instance was stopped (`FunctionPool.retire_idle`, what Lambda does to an idle
environment), the stack's first open counted among the cold. The local host preloads nothing
here (`LambdaHost(preload=False)`): a cold instance imports its libraries, as on Lambda, where
the local stack's default host would have imported them ahead. With SnapStart on, the local host
takes the snapshot when the stack starts (a published version) and every cold instance is a
fork of it running the after-restore hooks (dev/flowgen_local/lambda_host.py). What Lambda adds
to a restore, loading the snapshot into a new microVM, is not in these numbers: its Restore
Duration is read from the function's REPORT lines in AWS.

Printed, p50 and p95, warm and cold: open to the model's request (the queue, an instance start
if any, the claim: where a cold start shows, unrounded by polls), open to ready as the polling
client saw it (the lesson GENERATED), first words after the model's first token; and the
cold/warm ratio of ready p50. Ratios, not seconds, compare.
"""

from __future__ import annotations

import argparse
import statistics
import time

from first_words import FIRST_TOKEN, LESSON_TOKENS, TOKENS_PER_SECOND, Level, _pct, run_level

from flowgen_local.lambda_pool import LambdaHost

VARIANTS = {"SnapStart off (default)": "None", "SnapStart on": "PublishedVersions"}
GOAL = 1.2


def measure(opens: int, seconds: float) -> dict[str, Level]:
    levels = {}
    share = seconds / len(VARIANTS)
    for label, value in VARIANTS.items():
        started = time.monotonic()
        host = LambdaHost(preload=False)  # an instance imports what it needs, as on Lambda
        try:
            levels[label] = run_level(
                0,
                opens=opens,
                before=0,
                modes=("warm", "cold"),
                stop_at=started + share,
                parameters={"LessonWorkerSnapStart": value},
                lambda_host=host,
            )
        finally:
            host.stop()
        print(f"{label}: {len(levels[label].opens)} opens in {time.monotonic() - started:.0f} s", flush=True)
    return levels


def report(levels: dict[str, Level]) -> dict[str, float]:
    """Prints the table; returns each variant's cold/warm ratio of ready p50."""
    print(
        f"\nmodel: {FIRST_TOKEN[0]}-{FIRST_TOKEN[1]} s to first token, {TOKENS_PER_SECOND:.0f} tokens/s, "
        f"~{LESSON_TOKENS} tokens; streaming on; empty queue\n"
    )
    print(
        "| variant | opens | n | open to model call p50 s | p95 s | ready p50 s | p95 s "
        "| first words p50 s | p95 s | cold starts |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    ratios = {}
    for label, level in levels.items():
        for mode, name in (("warm", "warm"), ("cold", "cold (+ first)"), ("first", "first open")):
            chosen = level.chosen(mode, "now")
            if not chosen:
                continue
            cells = [[o.to_model for o in chosen], [o.ready for o in chosen], [o.first_words for o in chosen]]
            print(
                f"| {label} | {name} | {len(chosen)} | "
                + " | ".join(f"{statistics.median(c):.2f} | {_pct(c, 95):.2f}" for c in cells)
                + f" | {sum(o.cold_starts for o in chosen)} |"
            )
        warm = [o.ready for o in level.chosen("warm", "now")]
        cold = [o.ready for o in level.chosen("cold", "now")]
        if warm and cold:
            ratios[label] = statistics.median(cold) / statistics.median(warm)
    print()
    for label, ratio in ratios.items():
        verdict = "ok" if ratio <= GOAL else "OVER"
        print(f"{label}: a cold open is ready in {ratio:.2f}x a warm one's time (p50; goal {GOAL}x): {verdict}")
    return ratios


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--opens", type=int, default=12, help="opens per row and variant, warm and cold (12)")
    parser.add_argument("--seconds", type=float, default=240, help="no open starts after this, in all (240)")
    args = parser.parse_args(argv)
    return report(measure(args.opens, args.seconds))


if __name__ == "__main__":
    main()
