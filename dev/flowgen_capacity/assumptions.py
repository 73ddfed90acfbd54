"""What the template cannot say: the platform's rules, the model, the users and the prices.

Every number here is a CLI parameter of `flowgen capacity`; docs/capacity.md says where each
default comes from.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

Z95 = 1.6448536269514722  # the standard normal's 95th percentile


@dataclass(frozen=True)
class Lognormal:
    """A positive duration given by its median and 95th percentile (p95 == median: fixed)."""

    median: float
    p95: float

    @property
    def sigma(self) -> float:
        return math.log(self.p95 / self.median) / Z95 if self.p95 > self.median > 0 else 0.0

    def sample(self, rng: random.Random) -> float:
        if self.sigma == 0.0:
            return self.median
        return rng.lognormvariate(math.log(self.median), self.sigma)

    def quantile(self, z: float) -> float:
        return self.median * math.exp(self.sigma * z)


@dataclass(frozen=True)
class Platform:
    """AWS Lambda's rules for SQS event sources (standard queues) and the account, and the time
    the code spends around a model call."""

    account_concurrency: int = 1000  # default Lambda concurrency quota per Region
    pollers_initial: int = 5  # "starts processing five batches at a time with five concurrent invocations"
    pollers_per_minute: int = 300  # "increases ... by up to 300 more instances per minute"
    pollers_max: int = 1000  # "maximum number of batches ... simultaneously is 1,000"
    idle_receives_per_poller_minute: float = 3.0  # 20 s long polls on an empty queue
    pickup_seconds: float = 0.05  # a message sent to a polled queue reaches a poller
    cold_start_seconds: float = 1.0  # a new execution environment's init (imports, clients)
    record_overhead_seconds: float = 0.15  # claim, sibling list, commit (MongoDB, Redis) around a call
    skip_seconds: float = 0.03  # a job whose lesson is already generated or claimed
    api_seconds: float = 0.06  # one API function invocation
    authorizer_seconds: float = 0.03


@dataclass(frozen=True)
class ModelProfile:
    lesson_latency: Lognormal = field(default_factory=lambda: Lognormal(15.0, 30.0))
    outline_latency: Lognormal = field(default_factory=lambda: Lognormal(8.0, 16.0))
    outline_input_tokens: int = 700
    outline_output_tokens: int = 1_300
    lesson_input_tokens: int = 600
    lesson_output_tokens: int = 1_900
    error_rate: float = 0.0  # share of calls that fail (retried after the visibility timeout)

    @property
    def outline_tokens(self) -> int:
        return self.outline_input_tokens + self.outline_output_tokens

    @property
    def lesson_tokens(self) -> int:
        return self.lesson_input_tokens + self.lesson_output_tokens


@dataclass(frozen=True)
class UserModel:
    """A daily user opens `sessions_per_day` sessions; a session either creates a course (the
    share `courses_per_day / sessions_per_day`) and reads it from the first lesson, or resumes
    an earlier course whose next `lookahead` lessons were prefetched last time. It reads
    lessons one after another."""

    courses_per_day: float = 0.3
    sessions_per_day: float = 1.2
    lessons_per_session: float = 3.0  # mean; 1 + Poisson(mean - 1)
    reading: Lognormal = field(default_factory=lambda: Lognormal(360.0, 900.0))  # seconds per lesson
    browse_seconds: float = 10.0  # from seeing the outline to opening the first lesson
    lessons_per_course: int = 12  # the default size: 4 modules of 3 lessons
    peak_factor: float = 2.0  # the peak hour's traffic over the day's average hour
    poll_seconds: float = 2.0  # the client's poll interval (the API's Retry-After)
    fixed_lessons: int = 0  # every session reads exactly this many (0: 1 + Poisson as above)

    @property
    def new_course_share(self) -> float:
        return min(1.0, self.courses_per_day / self.sessions_per_day) if self.sessions_per_day else 0.0

    def lessons_in_session(self, rng: random.Random) -> int:
        if self.fixed_lessons:
            return self.fixed_lessons
        extra = max(0.0, self.lessons_per_session - 1.0)
        return 1 + _poisson(rng, extra)


@dataclass(frozen=True)
class Prices:
    """US East (N. Virginia) list prices in USD, read 2026-11-28 (docs/capacity.md: sources).
    No free tier is applied."""

    lambda_gb_second_x86: float = 0.0000166667
    lambda_gb_second_arm: float = 0.0000133334
    lambda_per_million_requests: float = 0.20
    sqs_per_million_requests: float = 0.40  # standard queues, first 100 billion a month
    http_api_per_million_requests: float = 1.00  # first 300 million a month
    model_input_per_million_tokens: float = 0.15  # gpt-4o-mini
    model_output_per_million_tokens: float = 0.60
    date: str = "2026-11-28"

    def gb_second(self, architecture: str) -> float:
        return self.lambda_gb_second_arm if architecture == "arm64" else self.lambda_gb_second_x86


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
