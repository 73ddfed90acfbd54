"""From a simulated peak hour to what the planner prints: waiting times, queues, limits, cost."""

from __future__ import annotations

import math
from dataclasses import dataclass

from flowgen_capacity.assumptions import Prices
from flowgen_capacity.entities import Sample
from flowgen_capacity.simulation import Simulation

DAYS_PER_MONTH = 730 / 24
RECONCILER_SECONDS = 1.0  # one run of the reconciler (every 5 minutes)


@dataclass(frozen=True)
class Percentiles:
    count: int
    p50: float
    p95: float
    p99: float

    @staticmethod
    def of(samples: list[Sample]) -> Percentiles:
        waits = sorted(s.wait for s in samples)
        return Percentiles(len(waits), percentile(waits, 50), percentile(waits, 95), percentile(waits, 99))


@dataclass(frozen=True)
class QueueStats:
    queue: str
    peak_depth: int
    peak_age: float
    messages: int
    dead_letters: int


@dataclass(frozen=True)
class Limit:
    name: str
    setting: str
    peak: float  # peak utilisation over one minute (one second for the API), 1.0 = at the limit
    note: str = ""


@dataclass(frozen=True)
class Cost:
    line: str
    quantity: str
    usd: float


@dataclass(frozen=True)
class Report:
    users: int
    lesson: Percentiles
    cold_lesson: Percentiles
    cold_share: float
    failed_opens: int
    still_waiting: int
    outline: Percentiles
    queues: list[QueueStats]
    limits: list[Limit]
    model_calls: int  # in the peak hour
    tokens_per_user_day: float
    costs: list[Cost]
    backlog_growth: int  # lessons asked for in the peak hour beyond what was generated in it

    @property
    def binding(self) -> Limit:
        return max(self.limits, key=lambda limit: limit.peak)

    @property
    def monthly_total(self) -> float:
        return sum(c.usd for c in self.costs)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def build_report(sim: Simulation, prices: Prices | None = None) -> Report:
    prices = prices or Prices()
    sc, c = sim.scenario, sim.counters
    samples = sim.lesson_samples
    cold = [x for x in samples if x.cold]
    per_day = 86_400 / sc.duration / max(sc.user.peak_factor, 1e-9)  # the peak hour, scaled to a day
    queues = [
        QueueStats(q, src.queue.peak_depth, src.queue.peak_age, src.queue.messages_sent, src.queue.dead_letters)
        for q, src in sim.lanes.items()
    ]
    owed = sim_backlog_growth(sim)
    lesson_tokens = sc.model.lesson_tokens
    tokens_day = (c.input_tokens + c.output_tokens + owed * lesson_tokens) * per_day
    return Report(
        users=sc.users,
        lesson=Percentiles.of(samples),
        cold_lesson=Percentiles.of(cold),
        cold_share=len(cold) / len(samples) if samples else 0.0,
        failed_opens=sum(x.failed for x in samples),
        still_waiting=sum(x.censored for x in samples),
        outline=Percentiles.of(sim.outline_samples),
        queues=queues,
        limits=_limits(sim, tokens_day),
        model_calls=c.model_calls,
        tokens_per_user_day=tokens_day / sc.users if sc.users else 0.0,
        costs=_costs(sim, prices, per_day, owed),
        backlog_growth=owed,
    )


def sim_backlog_growth(sim: Simulation) -> int:
    """Lessons asked for in the peak hour and not generated in it (a growing backlog): they are
    generated later, off-peak, and cost tokens then."""
    at = sim.outstanding_at
    return max(0, at.get("end", sim.outstanding) - at.get("start", 0))


def _limits(sim: Simulation, tokens_day: float) -> list[Limit]:
    sc, s, c = sim.scenario, sim.scenario.system, sim.counters
    limits = []
    for src in sim.lanes.values():
        lane = src.lane
        busiest = max(src.per_minute.values(), default=0.0) / 60
        limits.append(
            Limit(
                f"{lane.name} MaximumConcurrency",
                str(lane.max_concurrency),
                busiest / lane.max_concurrency,
                f"{src.saturated_seconds} s at the cap with messages waiting",
            )
        )
    limits.append(
        Limit(
            "account concurrency",
            str(sc.platform.account_concurrency),
            sim.account.peak / sc.platform.account_concurrency,
        )
    )
    if s.requests_per_minute:
        peak = max(c.calls_per_minute.values(), default=0)
        limits.append(Limit("model requests per minute", str(s.requests_per_minute), peak / s.requests_per_minute))
    if s.tokens_per_minute:
        peak = max(c.tokens_per_minute.values(), default=0)
        note = f"deferred: {c.deferrals_high} high, {c.deferrals_low} low"
        if c.resends_per_deferred_job:
            resends = sorted(c.resends_per_deferred_job)
            p95 = resends[min(len(resends) - 1, int(0.95 * len(resends)))]
            note += f"; re-sends per deferred job: p95 {p95}, max {resends[-1]} ({len(resends)} jobs)"
        limits.append(Limit("model tokens per minute", str(s.tokens_per_minute), peak / s.tokens_per_minute, note))
    if s.api_rate_limit:
        peak_rps = max(c.api_per_second.values(), default=0)
        limits.append(Limit("HTTP API rate (req/s)", f"{s.api_rate_limit:g}", peak_rps / s.api_rate_limit))
    if s.user_daily_budget and sc.users:
        per_user = tokens_day / sc.users
        limits.append(
            Limit("user daily token budget", str(s.user_daily_budget), per_user / s.user_daily_budget, "average user")
        )
    return limits


def _costs(sim: Simulation, prices: Prices, per_day: float, owed: int) -> list[Cost]:
    sc, s, c, p = sim.scenario, sim.scenario.system, sim.counters, sim.scenario.platform
    month = per_day * DAYS_PER_MONTH
    gb_s_price = prices.gb_second(s.architecture)

    def gb(function: str | None, seconds: float) -> float:
        return seconds * s.memory_mb.get(function or "", 512) / 1024

    workers_gb_s = sum(f.gb_seconds for f in sim.functions.values())
    workers_inv = sum(f.invocations for f in sim.functions.values())
    api_gb_s = gb(s.api_function, c.api_requests * p.api_seconds)
    auth_gb_s = gb(s.authorizer_function, c.authorizer_invocations * p.authorizer_seconds)
    # the reconciler runs every 5 minutes whatever the load: a day's worth, not scaled
    reconciler_day = 288
    gb_s_month = (workers_gb_s + api_gb_s + auth_gb_s) * month + gb(
        "ReconcilerFunction", reconciler_day * RECONCILER_SECONDS
    ) * DAYS_PER_MONTH
    invocations_month = (workers_inv + c.api_requests + c.authorizer_invocations) * month
    invocations_month += reconciler_day * DAYS_PER_MONTH

    sends = sum(src.queue.send_requests for src in sim.lanes.values())
    receives = sum(src.receives + src.deletes for src in sim.lanes.values())
    # idle long polls: the pollers Lambda keeps on each queue all day (5 each, with MaximumConcurrency)
    idle_day = sum(src.initial for src in sim.lanes.values()) * p.idle_receives_per_poller_minute * 1440
    sqs_month = (sends + receives) * month + idle_day * DAYS_PER_MONTH

    tokens_in = (c.input_tokens + owed * sc.model.lesson_input_tokens) * month
    tokens_out = (c.output_tokens + owed * sc.model.lesson_output_tokens) * month
    arch = "arm64" if s.architecture == "arm64" else "x86_64"
    return [
        Cost(f"Lambda compute ({arch}, GB-s)", f"{gb_s_month:,.0f} GB-s", gb_s_month * gb_s_price),
        Cost(
            "Lambda requests",
            f"{invocations_month / 1e6:,.2f} M",
            invocations_month / 1e6 * prices.lambda_per_million_requests,
        ),
        Cost("SQS requests", f"{sqs_month / 1e6:,.2f} M", sqs_month / 1e6 * prices.sqs_per_million_requests),
        Cost(
            "API Gateway HTTP API requests",
            f"{c.api_requests * month / 1e6:,.2f} M",
            c.api_requests * month / 1e6 * prices.http_api_per_million_requests,
        ),
        Cost(
            "Model input tokens", f"{tokens_in / 1e6:,.1f} M", tokens_in / 1e6 * prices.model_input_per_million_tokens
        ),
        Cost(
            "Model output tokens",
            f"{tokens_out / 1e6:,.1f} M",
            tokens_out / 1e6 * prices.model_output_per_million_tokens,
        ),
    ]


def _fmt(seconds: float) -> str:
    return f"{seconds:7.1f} s"


def format_report(report: Report, sim: Simulation, prices: Prices | None = None) -> str:
    prices = prices or Prices()
    sc, um = sim.scenario, sim.scenario.user
    lines = [
        f"FlowGen capacity plan: {report.users:,} daily users, peak hour simulated "
        f"({sc.session_rate * 3600:,.0f} sessions/h = peak factor {um.peak_factor:g} x the average hour; "
        f"{sc.warmup / 60:.0f} min warm-up, seed {sc.seed})",
        "",
        "time to                      n       p50       p95       p99",
    ]
    for label, pct in (
        ("an opened lesson", report.lesson),
        ("  of them not ready at open", report.cold_lesson),
        ("an outline", report.outline),
    ):
        lines.append(f"{label:<27}{pct.count:>5} {_fmt(pct.p50)} {_fmt(pct.p95)} {_fmt(pct.p99)}")
    lines.append(
        f"lessons ready when opened: {1 - report.cold_share:.0%}; failed opens: {report.failed_opens}; "
        f"still waiting at the end: {report.still_waiting}"
    )
    lines += ["", "queue                 peak depth   oldest message   messages/h   DLQ"]
    for q in report.queues:
        lines.append(f"{q.queue:<22}{q.peak_depth:>10} {q.peak_age:>14.0f} s {q.messages:>12,} {q.dead_letters:>5}")
    lines += ["", "limit                                   setting   peak use   note"]
    for limit in sorted(report.limits, key=lambda x: -x.peak):
        lines.append(f"{limit.name:<38}{limit.setting:>9} {limit.peak:>9.0%}   {limit.note}")
    b = report.binding
    verdict = "binds first" if b.peak >= 0.95 else "is the closest to binding"
    lines.append(f"=> {b.name} ({b.setting}) {verdict}")
    lines += [
        "",
        f"model calls in the peak hour: {report.model_calls:,}; tokens per user per day: "
        f"{report.tokens_per_user_day:,.0f}"
        + (
            f" (with {report.backlog_growth:,} lessons queued in the peak hour beyond what it generated, "
            "generated off-peak)"
            if report.backlog_growth
            else ""
        ),
        "",
        f"monthly cost (list prices of {prices.date}, no free tier)    quantity        USD",
    ]
    for cost in report.costs:
        lines.append(f"{cost.line:<44}{cost.quantity:>16} {cost.usd:>10,.2f}")
    lines.append(f"{'total':<44}{'':>16} {report.monthly_total:>10,.2f}")
    return "\n".join(lines)
