"""Issue 27's numbers side by side, from one run: first words after the model's first token
(p50 and p95, warm and cold, behind an empty queue and 10,000 queued lessons), each worker's init
and init plus first job as a ratio to `import boto3`, and re-sends per deferred job.

    make bench-performance        # about 11 minutes; needs `make build` (the built artefact)
    .venv/bin/python bench/performance.py [--opens 20] [--runs 5] [--seconds 240]

It runs the three benches that measure each part, in this order, and prints their own tables as
they finish, then the summary:
- bench/first_words.py: the local stack as shipped (streaming on), a polling client as the API
  tells it, the first open of each stack counted in the cold row; "before" rows replay the API's
  answer before issue 27 in the same run;
- bench/cold_start.py: the built handlers in fresh interpreters (CPU time, median of --runs),
  init and init plus one job through the real handler against the local fake model, and the
  lesson worker with SnapStart (after-restore hooks plus one job, init paid at publish);
- bench/cold_open.py: an opened lesson on a cold lesson-worker instance against a warm one,
  SnapStart off and on;
- bench/deferrals.py: the capacity planner at 10,000 daily users where the model's tokens per
  minute bind, the deferral delay before issue 27 and now.
Ratios and counts, not bare seconds, are what compare across runs on a shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cold_open
import cold_start  # the benches beside this file
import deferrals
import first_words

GOALS = (
    "goals: first words p95 <= 1 s; init + first job <= 3x import boto3; a cold open ready within 1.2x of a"
    " warm one; p95 re-sends <= 5"
)
WORKERS = (
    "CourseWorkerFunction", "LessonWorkerFunction", cold_start.SNAPSTART, "SourceWorkerFunction", "ReconcilerFunction"
)  # fmt: skip


def _words_rows(levels: list[first_words.Level]) -> list[str]:
    rows = ["| queued | opens | client | n | p50 s | p95 s |", "|---|---|---|---|---|---|"]
    for level in levels:
        for label, mode in (("warm", "warm"), ("cold (first open included)", "cold"), ("first open", "first")):
            for client in ("now", "before"):
                chosen = [o.first_words for o in level.chosen(mode, client)]
                if chosen:
                    p95 = first_words._pct(chosen, 95)
                    rows.append(
                        f"| {level.backlog:,} | {label} | {client} | {len(chosen)} "
                        f"| {statistics.median(chosen):.2f} | {p95:.2f} |"
                    )
    return rows


def _init_rows(ratios: dict[str, tuple[float, float | None]]) -> list[str]:
    rows = ["| function | init x boto3 | init + first job x boto3 |", "|---|---|---|"]
    for case in ("import openai", *WORKERS, "ApiFunction", "AuthorizerFunction"):
        if case in ratios:
            init, with_job = ratios[case]
            rows.append(f"| {case} | {init:.2f} | {'-' if with_job is None else f'{with_job:.2f}'} |")
    return rows


def _deferral_rows(results: dict[str, tuple[dict[str, float], dict[str, float]]]) -> list[str]:
    rows = ["| setting | delay | deferrals | re-sends p50 | p95 | max |", "|---|---|---|---|---|---|"]
    for name, pair in results.items():
        for label, m in zip(("before", "now"), pair, strict=True):
            rows.append(
                f"| {name} | {label} | {m['deferrals']:,.0f} | {m['p50']:.0f} | {m['p95']:.0f} | {m['max']:.0f} |"
            )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--opens", type=int, default=20, help="opens per first-words row (20)")
    parser.add_argument("--before", type=int, default=8, help="opens per 'before' row (8)")
    parser.add_argument("--seconds", type=float, default=240, help="time for the opens, half per level (240)")
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters per cold-start case (5)")
    parser.add_argument("--cold-opens", type=int, default=10, help="opens per cold-open row and variant (10)")
    args = parser.parse_args(argv)
    levels = [  # each level its half of the time: the empty queue's opens used to leave the deep one none
        level
        for backlog in ("0", "10000")
        for level in first_words.main(
            ["--levels", backlog, "--opens", str(args.opens), "--before", str(args.before),
             "--seconds", str(args.seconds / 2)]
        )
    ]  # fmt: skip
    ratios = cold_start.main(["--runs", str(args.runs)])
    cold_opens = cold_open.main(["--opens", str(args.cold_opens), "--seconds", "180"])
    resends = deferrals.main([])
    print("\n# issue 27, side by side (one run)\n")
    print(GOALS + "\n")
    print("first words after the model's first token, polling as the API says:")
    print("\n".join(_words_rows(levels)) + "\n")
    print("worker init on the built artefact, CPU time as a ratio to `import boto3` in the same run:")
    print("\n".join(_init_rows(ratios)) + "\n")
    print("a cold lesson-worker instance against a warm one, open to ready (p50), SnapStart off and on:")
    print("\n".join(f"- {variant}: {ratio:.2f}x" for variant, ratio in cold_opens.items()) + "\n")
    print("re-sends per deferred job (the planner, 10,000 daily users, tokens per minute binding):")
    print("\n".join(_deferral_rows(resends)))


if __name__ == "__main__":
    main()
