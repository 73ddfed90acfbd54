"""Per-user limits at the API: requests per minute, courses per hour and per day, and the daily
token budget the workers spend (the same key as `RedisTokenBudget`), checked and counted in one
Lua script, so the hot path is one round trip and two concurrent requests cannot both take the
last slot.

Fixed windows aligned to the minute, the hour and the UTC day: simple, one counter per window
and user, and a client can read when its window ends. The price is the known edge burst (up to
twice a limit across a window boundary); the stage-wide throttle still bounds the sum. A denied
request is not counted, so a client that honours `Retry-After` gets in as the window turns.
Keys hold one user's counters only: a user at its limits touches no other user's keys.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis
from aws_lambda_powertools.metrics import MetricUnit

from flowgen.observability import logger, metrics

# KEYS: n window counters, then the budget key. ARGV[1] = n; for each counter: limit, ttl;
# then the budget. Returns {denied (0 = none, n + 1 = budget), count_1 .. count_n}.
_CHECK_AND_COUNT = """
local n = tonumber(ARGV[1])
local counts, denied = {}, 0
for i = 1, n do
  counts[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
  if denied == 0 and counts[i] >= tonumber(ARGV[i * 2]) then denied = i end
end
local budget = tonumber(ARGV[n * 2 + 2])
if denied == 0 and budget > 0 and tonumber(redis.call('GET', KEYS[n + 1]) or '0') >= budget then
  denied = n + 1
end
if denied == 0 then
  for i = 1, n do
    counts[i] = redis.call('INCR', KEYS[i])
    if counts[i] == 1 then redis.call('EXPIRE', KEYS[i], ARGV[i * 2 + 1]) end
  end
end
local out = {denied}
for i = 1, n do out[i + 1] = counts[i] end
return out
"""


# KEYS: the course or question windows a refused request was counted in. Takes its count back
# (never below zero: a window that rolled over and expired meanwhile is left alone).
_REFUND = """
for i = 1, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
return #KEYS
"""


@dataclass(frozen=True)
class Window:
    name: str  # the policy's name in the RateLimit headers
    limit: int
    seconds: int


@dataclass
class Decision:
    allowed: bool = True
    retry_after: int = 0
    exceeded: str = ""  # a window's name, or "budget"
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    # A course or a question counts only once accepted: the keys of its own windows (not the
    # requests window), to take back if the route refuses it, and the headers it would then carry.
    refund_keys: tuple[str, ...] = ()
    headers_if_refunded: dict[str, str] = field(default_factory=dict)


class RedisUserLimits:
    def __init__(
        self,
        client: redis.Redis,
        *,
        requests_per_minute: int,
        courses_per_hour: int,
        courses_per_day: int,
        daily_token_budget: int,
        questions_per_hour: int = 0,
        rewrites_per_hour: int = 0,
        prefix: str = "flowgen:userlimit",
        budget_prefix: str = "flowgen:budget",
    ) -> None:
        self.client = client
        self.requests = [Window("requests", requests_per_minute, 60)] if requests_per_minute > 0 else []
        self.courses = [
            w
            for w in (Window("courses-hour", courses_per_hour, 3600), Window("courses-day", courses_per_day, 86400))
            if w.limit > 0
        ]
        self.questions = [Window("questions-hour", questions_per_hour, 3600)] if questions_per_hour > 0 else []
        self.rewrites = [Window("rewrites-hour", rewrites_per_hour, 3600)] if rewrites_per_hour > 0 else []
        self.daily_token_budget = daily_token_budget
        self.prefix = prefix
        self.budget_prefix = budget_prefix
        self._script = client.register_script(_CHECK_AND_COUNT)
        self._refund = client.register_script(_REFUND)

    def check(
        self,
        owner_id: str,
        *,
        creating: bool,
        asking: bool = False,
        rewriting: bool = False,
        now: float | None = None,
    ) -> Decision:
        """Counts this request against the caller's windows (and, for a course, a question about
        a lesson or a rewrite of one, checks the daily token budget), or refuses it without
        counting. Redis down: allowed, with a metric."""
        windows = self._windows(creating=creating, asking=asking, rewriting=rewriting)
        budget = self.daily_token_budget if creating or asking or rewriting else 0
        if not windows and not budget:
            return Decision()
        now = time.time() if now is None else now
        keys = self._keys(owner_id, windows, now)
        counted = self._count(owner_id, keys, windows, budget, now)
        if counted is None:
            return Decision()
        return self._decide(windows, keys, counted, budget, now)

    def _decide(
        self, windows: list[Window], keys: list[str], counted: tuple[int, list[int]], budget: int, now: float
    ) -> Decision:
        """The script's answer as a decision: accepted, or refused by a window or the budget."""
        denied, counts = counted
        resets = [_until_next(now, w.seconds) for w in windows]
        if denied == 0:
            return self._accepted(windows, keys, counts, resets)
        headers = _headers(windows, counts, resets)
        if denied == len(windows) + 1:
            return _budget_refused(budget, now, headers)
        return _window_refused(windows[denied - 1], resets[denied - 1], headers)

    def _accepted(self, windows: list[Window], keys: list[str], counts: list[int], resets: list[int]) -> Decision:
        own = [i for i, w in enumerate(windows) if w not in self.requests]
        given_back = [c - 1 if i in own else c for i, c in enumerate(counts)]
        return Decision(
            headers=_headers(windows, counts, resets),
            refund_keys=tuple(keys[i] for i in own),
            headers_if_refunded=_headers(windows, given_back, resets),
        )

    def _windows(self, *, creating: bool, asking: bool, rewriting: bool) -> list[Window]:
        """Every route's requests window, and a course's, a question's or a rewrite's own."""
        own = (self.courses if creating else []) + (self.questions if asking else [])
        return self.requests + own + (self.rewrites if rewriting else [])

    def refund(self, decision: Decision) -> None:
        """Takes back the course or question a route turned down (404, 409, 422): only what is
        accepted counts against those windows. Redis down: the count stays, with a metric."""
        if not decision.refund_keys:
            return
        try:
            self._refund(keys=list(decision.refund_keys), args=[])
        except redis.RedisError:
            logger.warning("user limits unavailable, a refused request stays counted")
            metrics.add_metric(name="UserLimitsUnavailable", unit=MetricUnit.Count, value=1)

    def _keys(self, owner_id: str, windows: list[Window], now: float) -> list[str]:
        return [f"{self.prefix}:{owner_id}:{w.name}:{int(now // w.seconds)}" for w in windows]

    def _count(
        self, owner_id: str, keys: list[str], windows: list[Window], budget: int, now: float
    ) -> tuple[int, list[int]] | None:
        """One round trip: (the refusing window's index + 1, 0 if none) and each window's count."""
        day = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d")
        keys = [*keys, f"{self.budget_prefix}:user:{owner_id}:{day}"]  # RedisTokenBudget's key
        args = [len(windows), *(n for w in windows for n in (w.limit, w.seconds + 60)), budget]
        try:
            denied, *counts = (int(v) for v in self._script(keys=keys, args=args))
        except redis.RedisError:
            logger.warning("user limits unavailable, failing open", extra={"owner": owner_id})
            metrics.add_metric(name="UserLimitsUnavailable", unit=MetricUnit.Count, value=1)
            return None
        return denied, counts


def _budget_refused(budget: int, now: float, headers: dict[str, str]) -> Decision:
    """Refused by the daily token budget: retry when the UTC day turns."""
    reset = _until_next(now, 86400)
    message = f"your daily budget of {budget} tokens is used up; it renews at midnight UTC, in {reset} seconds"
    return Decision(False, reset, "budget", message, headers)


def _window_refused(window: Window, reset: int, headers: dict[str, str]) -> Decision:
    """Refused by `window`, full until it ends in `reset` seconds."""
    message = f"limit of {window.limit} per {_span(window.seconds)} reached ({window.name}); retry in {reset} s"
    return Decision(False, reset, window.name, message, headers)


def _until_next(now: float, seconds: int) -> int:
    """Whole seconds until the window of `seconds` that holds `now` ends (at least 1)."""
    return max(1, math.ceil((now // seconds + 1) * seconds - now))


def _headers(windows: list[Window], counts: list[int], resets: list[int]) -> dict[str, str]:
    """The IETF draft's fields: each policy (quota, window) and what is left of it, and when."""
    if not windows:
        return {}
    return {
        "RateLimit-Policy": ", ".join(f'"{w.name}";q={w.limit};w={w.seconds}' for w in windows),
        "RateLimit": ", ".join(
            f'"{w.name}";r={max(0, w.limit - c)};t={t}' for w, c, t in zip(windows, counts, resets, strict=True)
        ),
    }


def _span(seconds: int) -> str:
    return {60: "minute", 3600: "hour", 86400: "day"}.get(seconds, f"{seconds} s")
