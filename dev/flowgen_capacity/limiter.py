"""The workers' shared rate limiter, on simulated time: the same two token buckets as
`flowgen.adapters.redis_limits.RedisRateLimiter` (a bucket holds a sixth of the per-minute limit
and refills the rest over the minute; low priority may only take from above the reserve)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class _Bucket:
    per_minute: float
    level: float = -1.0
    ts: float = 0.0

    @property
    def capacity(self) -> float:
        return self.per_minute / 6

    @property
    def rate(self) -> float:  # per second
        return (self.per_minute - self.capacity) / 60

    def current(self, now: float) -> float:
        level = self.capacity if self.level < 0 else self.level
        return min(self.capacity, level + (now - self.ts) * self.rate)


@dataclass
class RateLimiter:
    requests_per_minute: int
    tokens_per_minute: int
    high_reserve: float
    buckets: list[_Bucket] = field(init=False)

    def __post_init__(self) -> None:
        self.buckets = [_Bucket(float(self.requests_per_minute)), _Bucket(float(self.tokens_per_minute))]

    def acquire(self, now: float, high: bool, tokens: int) -> float:
        """0 and the call may go ahead (its share is taken), else the seconds to wait."""
        wait, takes, levels = 0.0, [], []
        for bucket, wanted in zip(self.buckets, (1.0, float(tokens)), strict=True):
            if bucket.per_minute <= 0:
                takes.append(0.0)
                levels.append(0.0)
                continue
            take = min(wanted, bucket.capacity * (1 - self.high_reserve))
            floor = 0.0 if high else self.high_reserve * bucket.capacity
            level = bucket.current(now)
            if level < take + floor:
                wait = max(wait, (take + floor - level) / bucket.rate)
            takes.append(take)
            levels.append(level)
        if wait > 0:
            return wait
        for bucket, take, level in zip(self.buckets, takes, levels, strict=True):
            if bucket.per_minute > 0:
                bucket.level, bucket.ts = level - take, now
        return 0.0

    def settle(self, estimated: int, actual: int) -> None:
        tokens = self.buckets[1]
        if tokens.per_minute > 0 and tokens.level >= 0:
            tokens.level += estimated - actual
