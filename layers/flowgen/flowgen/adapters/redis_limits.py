"""The provider's rate limits and the token budgets, shared by every worker through Redis.

Rate limiter: two token buckets (requests, tokens) refilled continuously, checked and taken in
one Lua script using Redis's clock. A bucket holds a sixth of the per-minute limit and refills
the other five sixths over the minute, so no 60-second window can exceed the limit. Low
priority may only take from above the reserved share, which is kept for opened lessons.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime

import redis
from aws_lambda_powertools.metrics import MetricUnit

from flowgen.observability import logger, metrics
from flowgen.records import Priority

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait, levels = 0, {}
for i = 1, 2 do
  local cap, rate, need = tonumber(ARGV[i * 3 - 2]), tonumber(ARGV[i * 3 - 1]), tonumber(ARGV[i * 3])
  if cap > 0 then
    local v = redis.call('HMGET', KEYS[i], 'level', 'ts')
    local level = tonumber(v[1]) or cap
    local ts = tonumber(v[2]) or now
    level = math.min(cap, level + (now - ts) * rate)
    levels[i] = level
    if level < need then wait = math.max(wait, (need - level) / rate) end
  end
end
if wait > 0 then return tostring(wait / 1000) end
for i = 1, 2 do
  if levels[i] then
    local take = (i == 1) and 1 or tonumber(ARGV[7])
    redis.call('HSET', KEYS[i], 'level', levels[i] - take, 'ts', now)
    redis.call('PEXPIRE', KEYS[i], 120000)
  end
end
return '0'
"""

# Corrects a bucket's level only if the bucket still exists: a level written into a bucket Redis
# lost (restart, flush, expiry) would have no timestamp, and the acquire script would then never
# refill it.
_SETTLE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBYFLOAT', KEYS[1], 'level', ARGV[1])
end
return 0
"""

_RESERVE = """
for i = 1, #KEYS do
  local budget = tonumber(ARGV[i])
  if budget > 0 and (tonumber(redis.call('GET', KEYS[i]) or '0') + tonumber(ARGV[#KEYS + 1])) > budget then
    return i
  end
end
for i = 1, #KEYS do
  redis.call('INCRBY', KEYS[i], ARGV[#KEYS + 1])
  redis.call('EXPIRE', KEYS[i], ARGV[#KEYS + 1 + i])
end
return 0
"""


def _fail_open(metric: str) -> None:
    """Redis is down: let the call through (the provider's own 429s are still deferred), loudly."""
    logger.warning("limits unavailable, failing open", extra={"metric": metric})
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)


class RedisRateLimiter:
    def __init__(
        self,
        client: redis.Redis,
        *,
        requests_per_minute: int,
        tokens_per_minute: int,
        high_reserve: float,
        prefix: str = "flowgen:ratelimit",
    ) -> None:
        self.client = client
        self.rpm = requests_per_minute
        self.tpm = tokens_per_minute
        self.reserve = high_reserve
        self.keys = [f"{prefix}:requests", f"{prefix}:tokens"]
        self._acquire = client.register_script(_ACQUIRE)
        self._settle = client.register_script(_SETTLE)

    @staticmethod
    def _bucket(per_minute: int) -> tuple[float, float]:
        """(capacity, refill per millisecond) so that capacity + a minute's refill == the limit."""
        capacity = per_minute / 6
        return capacity, (per_minute - capacity) / 60_000

    def acquire(self, priority: Priority, tokens: int, *, reserve_share: float = 1.0) -> float:
        args: list[float] = []
        takes: list[float] = []
        for per_minute, wanted in ((self.rpm, 1.0), (self.tpm, float(tokens))):
            if per_minute <= 0:
                args += [0, 0, 0]
                takes.append(0.0)
                continue
            capacity, rate = self._bucket(per_minute)
            take = min(wanted, capacity * (1 - self.reserve))  # a take larger than the bucket would never fit
            # background work never takes the reserve; an opened lesson may take its tier's share of it
            kept = 1.0 - reserve_share if priority == Priority.HIGH else 1.0
            floor = kept * self.reserve * capacity
            args += [capacity, rate, take + floor]
            takes.append(take)
        args.append(takes[1])
        try:
            return float(self._acquire(keys=self.keys, args=args))
        except redis.RedisError:
            _fail_open("RateLimiterUnavailable")
            return 0.0

    def settle(self, estimated: int, actual: int) -> None:
        if self.tpm <= 0 or actual == estimated:
            return
        with contextlib.suppress(redis.RedisError):  # a missed correction only skews the next minute a little
            self._settle(keys=[self.keys[1]], args=[estimated - actual])


class RedisTokenBudget:
    """Per-user daily and per-course token budgets, reserved before a call, settled after it."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        user_daily: int,
        per_course: int,
        tier_daily: Mapping[str, int] | None = None,
        prefix: str = "flowgen:budget",
    ) -> None:
        self.client = client
        self.user_daily = user_daily  # the default tier's
        self.tier_daily = dict(tier_daily or {})
        self.per_course = per_course
        self.prefix = prefix
        self._reserve = client.register_script(_RESERVE)

    def _keys(self, owner_id: str, course_id: str) -> list[str]:
        day = datetime.now(UTC).strftime("%Y%m%d")
        return [f"{self.prefix}:user:{owner_id}:{day}", f"{self.prefix}:course:{course_id}"]

    def reserve(self, owner_id: str, course_id: str, tokens: int, *, tier: str = "free") -> str | None:
        keys = self._keys(owner_id, course_id)
        daily = self.tier_daily.get(tier, self.user_daily)
        try:
            over = int(self._reserve(keys=keys, args=[daily, self.per_course, tokens, 2 * 86400, 90 * 86400]))
        except redis.RedisError:
            _fail_open("TokenBudgetUnavailable")
            return None
        if over == 1:
            return f"your daily budget of {daily} tokens is used up; it renews at midnight UTC"
        if over == 2:
            return f"this course reached its budget of {self.per_course} tokens"
        return None

    def settle(self, owner_id: str, course_id: str, estimated: int, actual: int) -> None:
        if actual == estimated:
            return
        with contextlib.suppress(redis.RedisError):
            pipe = self.client.pipeline(transaction=False)
            for key in self._keys(owner_id, course_id):
                pipe.incrby(key, actual - estimated)
            pipe.execute()
