"""The per-source-address limit of the routes that need no sign-in (the shared view, issue 22):
the per-user limits' fixed window and Lua script (flowgen.adapters.redis_user_limits), keyed by
the caller's address instead of a user, under a prefix and a policy name of its own. API
Gateway's route throttling bounds the sum of every address (template.yaml)."""

from __future__ import annotations

import redis

from flowgen.adapters.redis_user_limits import Decision, RedisUserLimits, Window

POLICY = "address-requests"


class RedisAddressLimits:
    def __init__(self, client: redis.Redis, *, requests_per_minute: int, prefix: str = "flowgen:addresslimit") -> None:
        self._limits = RedisUserLimits(
            client,
            requests_per_minute=0,
            courses_per_hour=0,
            courses_per_day=0,
            daily_token_budget=0,
            prefix=prefix,
        )
        self._limits.requests = [Window(POLICY, requests_per_minute, 60)] if requests_per_minute > 0 else []

    def check(self, address: str, *, now: float | None = None) -> Decision:
        """Counts this request against the address's window, or refuses it without counting.
        Redis down: allowed, with a metric (the gateway's route throttle still holds)."""
        return self._limits.check(address, creating=False, now=now)
