"""First words of an opened lesson after the model's first token, as a polling client sees them
(issue 27): p50 and p95 over many opens, warm and cold, behind an empty queue and a deep backlog.

    .venv/bin/python bench/first_words.py [--levels 0,10000] [--opens 20] [--before 8]
                                          [--modes warm,cold] [--seconds 150]

Runs on loopback: the local stack as the template ships it (streaming on), each function its own
process, and the fake model streaming: a time to first token drawn per open between 0.3 and
1.2 s (seeded: the same draws every run; a fixed one would line up with a fixed poll), then 400
tokens/s, lessons of about 300 tokens, so each open is done in about two seconds. Per level, one stack: the reader's
courses are written first (lessons PENDING, nothing prefetched), then `level` background lessons
are queued at low priority (bench/backlog.py's seeding: cloned into MongoDB, one job each) and
the low lane works on them, as in production.

Then opens, one after another, each of a lesson nobody asked for yet: open = the first GET
(which sends its high-priority job), then polls as the API says (`retryAfterMs` when given,
else Retry-After, as the web app does) until the lesson is GENERATED. Measured per open: first
words = the first poll answer showing any text (partial text, a finished block, or the lesson)
minus the moment the fake model sent that lesson's first token.

- warm: an idle lesson-worker instance is there (the previous open's);
- cold: every idle lesson-worker instance is stopped first (`FunctionPool.retire_idle`, what
  Lambda does to an idle environment), so the open pays an instance start;
- the first open of the stack is counted, apart and in the cold row (it starts cold anyway);
- "before": the same opens with a client that, while nothing is shown, waits Retry-After (what
  the API answered before issue 27: `Retry-After: 1` without `retryAfterMs` for a lesson queued
  or claimed with nothing written), interleaved with the others so both see the same machine.

Bounded: every wait has a deadline; about 80 s per level at --opens 20 --before 10 (the
10,000-deep level adds about 30 s of seeding).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from backlog import _ready_course, _wait, seed_backlog  # bench/ is the script's directory
from first_content import TimedFake

from flowgen_capacity.report import percentile
from flowgen_local.fake_openai import Faults
from flowgen_local.lambda_pool import LambdaHost
from flowgen_local.stack import NO_USER_LIMITS, LocalStack, StackConfig

FIRST_TOKEN, TOKENS_PER_SECOND, LESSON_TOKENS = (0.3, 1.2), 400.0, 300
DONE_TIMEOUT = 30.0
LESSONS_PER_COURSE = 24  # a "long" course


@dataclass
class Open:
    mode: str  # "warm", "cold", "first"
    client: str  # "now" or "before"
    first_words: float  # seconds after the model's first token
    ready: float  # seconds from the open to the lesson GENERATED, as the client saw it
    to_model: float  # seconds from the open to the model's request: queue, instance start, claim
    open_to_words: float
    polls: int
    cold_starts: int


class Timing(NamedTuple):
    first_words: float
    ready: float
    to_model: float
    open_to_words: float
    polls: int


@dataclass
class Level:
    backlog: int
    opens: list[Open] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def chosen(self, mode: str, client: str) -> list[Open]:
        """The opens of a row; the stack's first open counts among the cold ones (it is one)."""
        return [o for o in self.opens if o.client == client and (o.mode == mode or (mode, o.mode) == ("cold", "first"))]


def _shown(body: dict[str, Any]) -> bool:
    partial = body.get("partial") or {}
    return bool(partial.get("writing") or partial.get("blocks") or (body.get("content") or {}).get("blocks"))


def open_once(
    stack: LocalStack,
    fake: TimedFake,
    headers: dict[str, str],
    course: dict[str, Any],
    lesson: dict[str, Any],
    *,
    before: bool,
    first_token: float,
) -> Timing:
    """What one open measured (see Open)."""
    fake.set_faults(
        Faults(first_token_seconds=first_token, tokens_per_second=TOKENS_PER_SECOND, lesson_tokens=LESSON_TOKENS)
    )
    path = f"/courses/{course['id']}/lessons/{lesson['id']}"
    key = f"{course['title']} :: {lesson['title']}"
    opened = time.monotonic()
    seen, polls = None, 0
    while time.monotonic() - opened < DONE_TIMEOUT:
        response = stack.request("GET", path, headers=headers)
        polls += 1
        body = response.json()
        if seen is None and _shown(body):
            seen = time.monotonic()
        if response.status == 200:
            ready = time.monotonic() - opened
            break
        exact = body.get("retryAfterMs")
        if before and not _shown(body):
            exact = None  # the API's answer before issue 27 in this state: Retry-After only
        time.sleep(exact / 1000 if exact else float(response.headers.get("retry-after", "1")))
    else:
        raise TimeoutError(f"{key} not written in {DONE_TIMEOUT:.0f} s")
    assert seen is not None and key in fake.arrived
    first_token_at = fake.arrived[key] + first_token
    return Timing(seen - first_token_at, ready, fake.arrived[key] - opened, seen - opened, polls)


def run_level(
    backlog: int,
    *,
    opens: int,
    before: int,
    modes: tuple[str, ...] = ("warm", "cold"),
    stop_at: float = float("inf"),
    parameters: dict[str, str] | None = None,
    lambda_host: LambdaHost | None = None,
) -> Level:
    fake = TimedFake().start()
    config = StackConfig(
        openai_api_key="bench",
        openai_base_url=fake.base_url,
        parameter_overrides={**NO_USER_LIMITS, "InitialLessons": "0", "LessonLookahead": "0", **(parameters or {})},
        extra_env={"MODEL_TIMEOUT_SECONDS": "60"},  # STREAM_LESSONS as shipped (on)
        lambda_host=lambda_host,
    )
    started = time.monotonic()
    stack = LocalStack(config).start(pollers=False)
    level = Level(backlog)
    try:
        stack.start_pollers(paused=("LowPriorityLessons",))
        headers = {"authorization": f"Bearer {stack.token('reader')}", "content-type": "application/json"}
        needed = len(modes) * (opens + before) + 1
        courses = [
            _ready_course(stack, headers, f"The course being read, part {n}")
            for n in range(-(-needed // LESSONS_PER_COURSE))
        ]
        lessons = [(c, lesson) for c in courses for m in c["modules"] for lesson in m["lessons"]]
        assert len(lessons) >= needed, f"{len(lessons)} lessons for {needed} opens"
        if backlog:
            other = {"authorization": f"Bearer {stack.token('backlog-template')}", "content-type": "application/json"}
            template = _ready_course(stack, other, "A course many people queued")
            seeded = time.monotonic()
            seed_backlog(stack, template["id"], backlog)
            _wait(lambda: stack.queue_depth("LessonLowQueue") >= backlog, 60, 0.5, "the backlog to be queued")
            level.info["seed_seconds"] = round(time.monotonic() - seeded, 1)
        fake.set_faults(
            Faults(first_token_seconds=FIRST_TOKEN[1], tokens_per_second=TOKENS_PER_SECOND, lesson_tokens=LESSON_TOKENS)
        )
        stack.runners["LowPriorityLessons"].start()
        time.sleep(1.0)  # the low lane is busy with the backlog (or idle)
        pool = stack.functions["LessonWorkerFunction"]
        # the plan: the stack's first open, then warm and cold opens, the "before" client interleaved
        plan = [("first", "now")]
        for n in range(opens + before):  # the rows interleaved: each sees the same machine, and a stop
            for mode in modes:  # at the time budget leaves every row its share
                plan.append((mode, "before" if n % 2 and n // 2 < before else "now"))
        lessons_left = iter(lessons)
        draws = random.Random(27)
        print(f"  ready to open after {time.monotonic() - started:.0f} s", flush=True)
        for mode, client in plan:
            if time.monotonic() > stop_at:
                level.info["stopped_at_the_time_budget"] = f"{len(level.opens)} of {len(plan)} opens"
                break
            first_token = draws.uniform(*FIRST_TOKEN)
            if mode == "cold":
                pool.retire_idle()
            cold_before = pool.stats.cold_starts
            course, lesson = next(lessons_left)
            timing = open_once(stack, fake, headers, course, lesson, before=client == "before", first_token=first_token)
            level.opens.append(Open(mode, client, *timing, pool.stats.cold_starts - cold_before))
            if len(level.opens) % 10 == 0:
                print(f"  {len(level.opens)} of {len(plan)} opens", flush=True)
            time.sleep(0.1)
        level.info["low_queue_after"] = stack.queue_depth("LessonLowQueue")
        return level
    finally:
        stack.stop()
        fake.stop()


def _pct(values: list[float], q: float) -> float:
    """Nearest rank, as the planner and the other benches count it."""
    return percentile(sorted(values), q)


def report(levels: list[Level]) -> None:
    print(
        f"\nmodel: {FIRST_TOKEN[0]}-{FIRST_TOKEN[1]} s to first token, {TOKENS_PER_SECOND:.0f} tokens/s, "
        f"~{LESSON_TOKENS} tokens; "
        "streaming on; first words = first poll showing text - the model's first token (s)\n"
    )
    print(
        f"| {'queued':>6} | {'opens':14} | {'client':6} | {'n':>3} | {'p50':>5} | {'p95':>5} | {'max':>5} "
        f"| {'open->words p50':>15} | {'polls/open':>10} | {'cold starts':>11} |"
    )
    print("|" + "|".join("-" * (w + 2) for w in (6, 14, 6, 3, 5, 5, 5, 15, 10, 11)) + "|")
    for level in levels:
        rows = [("first open", "first", "now"), ("warm", "warm", "now"), ("warm", "warm", "before")]
        rows += [("cold (+ first)", "cold", "now"), ("cold", "cold", "before")]
        for label, mode, client in rows:
            chosen = level.chosen(mode, client)
            if not chosen:
                continue
            gaps = [o.first_words for o in chosen]
            print(
                f"| {level.backlog:>6} | {label:14} | {client:6} | {len(gaps):>3} | {statistics.median(gaps):5.2f} "
                f"| {_pct(gaps, 95):5.2f} | {max(gaps):5.2f} "
                f"| {statistics.median(o.open_to_words for o in chosen):15.2f} "
                f"| {statistics.fmean(o.polls for o in chosen):10.1f} | {sum(o.cold_starts for o in chosen):>11} |"
            )
        if level.info:
            print(f"|        | {json.dumps(level.info)}")
    for level in levels:
        for mode in ("warm", "cold"):
            now = [o.first_words for o in level.chosen(mode, "now")]
            was = [o.first_words for o in level.chosen(mode, "before")]
            if now and was:
                print(
                    f"{level.backlog:>6} queued, {mode}: p95 first words after first token "
                    f"{_pct(was, 95):.2f} s before -> {_pct(now, 95):.2f} s now "
                    f"({_pct(now, 95) / _pct(was, 95):.2f}x); target <= 1 s"
                )


def main(argv: list[str] | None = None) -> list[Level]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="0,10000", help="queued background lessons per level (0,10000)")
    parser.add_argument("--opens", type=int, default=20, help="opens per row, warm and cold (20)")
    parser.add_argument("--before", type=int, default=8, help="opens per row with the client as before (8)")
    parser.add_argument("--modes", default="warm,cold", help="warm, cold or both (warm,cold)")
    parser.add_argument("--seconds", type=float, default=150, help="no open starts after this, in all (150)")
    args = parser.parse_args(argv)
    levels = []
    stop_at = time.monotonic() + args.seconds
    for backlog in (int(x) for x in args.levels.split(",")):
        started = time.monotonic()
        modes = tuple(args.modes.split(","))
        levels.append(run_level(backlog, opens=args.opens, before=args.before, modes=modes, stop_at=stop_at))
        print(f"level {backlog}: {time.monotonic() - started:.0f} s", flush=True)
    report(levels)
    return levels


if __name__ == "__main__":
    main()
