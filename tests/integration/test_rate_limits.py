"""The shared limiter on a real redis-server: bursts stay under the rate, opened lessons first."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from flowgen.adapters.redis_limits import RedisRateLimiter, RedisTokenBudget
from flowgen.records import Priority


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    return r


def test_a_burst_of_100_concurrent_jobs_stays_within_the_bucket(client: redis.Redis) -> None:
    limiter = RedisRateLimiter(client, requests_per_minute=120, tokens_per_minute=0, high_reserve=0.3)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=100) as pool:
        waits = list(pool.map(lambda _: limiter.acquire(Priority.HIGH, 100), range(100)))
    elapsed = time.monotonic() - started
    granted = sum(w == 0 for w in waits)
    # capacity is a sixth of the minute's limit (20), refilled at 100 per minute
    assert granted <= 20 + 100 / 60 * elapsed + 1
    assert granted >= 20
    assert all(0 < w <= 60 for w in waits if w)  # the rest are told how long to wait


def test_background_work_cannot_take_the_reserve_kept_for_opened_lessons(client: redis.Redis) -> None:
    limiter = RedisRateLimiter(client, requests_per_minute=120, tokens_per_minute=0, high_reserve=0.3)
    with ThreadPoolExecutor(max_workers=50) as pool:
        low = list(pool.map(lambda _: limiter.acquire(Priority.LOW, 100), range(100)))
    assert sum(w == 0 for w in low) <= 15  # 70% of the 20-request bucket (+1 for refill meanwhile)
    # background is now throttled, yet an opened lesson goes straight through
    assert limiter.acquire(Priority.LOW, 100) > 0
    assert [limiter.acquire(Priority.HIGH, 100) for _ in range(5)] == [0.0] * 5


def test_tokens_per_minute_are_limited_and_settled(client: redis.Redis) -> None:
    limiter = RedisRateLimiter(client, requests_per_minute=0, tokens_per_minute=60_000, high_reserve=0.0)
    assert limiter.acquire(Priority.HIGH, 6_000) == 0.0  # the estimate is taken from a 10 000 bucket
    wait = limiter.acquire(Priority.HIGH, 6_000)
    assert 1.5 < wait < 3.5  # 2 000 short at 50 000 tokens a minute: about 2.4 s
    limiter.settle(estimated=6_000, actual=500)  # the real call was small: the difference comes back
    assert limiter.acquire(Priority.HIGH, 6_000) == 0.0


def test_budget_reserves_per_user_per_day_and_per_course(client: redis.Redis) -> None:
    budget = RedisTokenBudget(client, user_daily=10_000, per_course=7_000)
    assert budget.reserve("alice", "c1", 3_000) is None
    assert budget.reserve("alice", "c1", 3_000) is None
    over_course = budget.reserve("alice", "c1", 3_000)
    assert over_course and "course" in over_course
    budget.settle("alice", "c1", 3_000, 500)
    assert budget.reserve("alice", "c2", 3_000) is None  # another course, same user: 6 500 of 10 000
    over_user = budget.reserve("alice", "c3", 4_000)
    assert over_user and "daily budget" in over_user
    assert budget.reserve("bob", "c4", 4_000) is None


def test_limits_fail_open_when_redis_is_down() -> None:
    down = redis.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    assert (
        RedisRateLimiter(down, requests_per_minute=1, tokens_per_minute=1, high_reserve=0.3).acquire(Priority.LOW, 10)
        == 0.0
    )
    assert RedisTokenBudget(down, user_daily=1, per_course=1).reserve("alice", "c", 10) is None


def test_a_tier_sets_how_much_of_the_reserve_its_opened_lessons_may_take(client: redis.Redis) -> None:
    """Free opened lessons may take half the reserve, pro ones all of it: once background work
    has taken its 70 % and free users their half of the rest, a pro user's opened lesson still
    goes straight through (HighPriorityReserve 0.3 of a 20-request bucket: 6 reserved)."""
    limiter = RedisRateLimiter(client, requests_per_minute=120, tokens_per_minute=0, high_reserve=0.3)
    while limiter.acquire(Priority.LOW, 100) == 0:
        pass  # background work has what it may take
    free = [limiter.acquire(Priority.HIGH, 100, reserve_share=0.5) for _ in range(6)]
    assert free[:2] == [0.0, 0.0] and free[-1] > 0  # about half of the 6 kept, then told to wait
    assert limiter.acquire(Priority.HIGH, 100, reserve_share=1.0) == 0.0  # the pro share is still there


def test_a_tier_sets_its_users_daily_budget(client: redis.Redis) -> None:
    budget = RedisTokenBudget(client, user_daily=5_000, per_course=0, tier_daily={"free": 5_000, "pro": 50_000})
    assert budget.reserve("fran", "c1", 4_000, tier="free") is None
    refused = budget.reserve("fran", "c2", 4_000, tier="free")
    assert refused and "5000 tokens" in refused
    assert budget.reserve("priya", "c3", 40_000, tier="pro") is None  # the pro budget is the pro's
    assert budget.reserve("gus", "c4", 4_000, tier="gold") is None  # an unknown tier: the default budget
