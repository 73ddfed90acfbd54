"""Settings per function, composed from small mixins, parsed once at cold start.

Each function's `Environment` in template.yaml names exactly the fields of its settings
model (tests/unit/test_template.py checks it). Each tunable has one name (its variable) and
one default (here, or the template's parameter). Secrets arrive as the *name* of a Secrets
Manager secret and are resolved once per container (Powertools parameters, cached).

Tunables are plain frozen models, so the domain takes them as values (tests build them
without an environment); each function's settings class adds them to the variables it reads.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# ---- tunables: plain values the domain takes ----------------------------------------------


# defer_build: each function builds only the validators of the models it uses, on first use,
# not all twenty at import (about 15 ms of every cold start; bench/cold_start.py)
class _Tunables(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)


class LookaheadSettings(_Tunables):
    lesson_lookahead: int = Field(2, ge=0, description="lessons after an opened one prefetched at low priority")
    poll_seconds: int = Field(1, ge=1, description="Retry-After for a lesson that is not ready yet")


class PrefetchSettings(_Tunables):
    initial_lessons: int = Field(2, ge=0, description="lessons prefetched when an outline is ready")


class RedeliverySettings(_Tunables):
    max_receive_count: int = Field(
        3, ge=1, description="the queues' redrive maxReceiveCount, and the attempts a record gets before it FAILS"
    )


class StalenessSettings(_Tunables):
    stuck_after_seconds: int = Field(
        300,
        ge=1,
        description="a queued job not taken after this long counts as lost: the dedupe key's TTL, "
        "the age at which opening a lesson or the reconciler re-sends it",
    )


class EstimateSettings(_Tunables):
    outline_token_estimate: int = Field(2_000, ge=0, description="reserved against budgets and limits before a call")
    lesson_token_estimate: int = Field(3_000, ge=0)
    question_token_estimate: int = Field(3_000, ge=0, description="a question: the lesson's text in, an answer out")


class TierShareSettings(_Tunables):
    """How much of the reserve kept for opened lessons a tier's opened lessons may use."""

    free_reserve_share: float = Field(0.5, ge=0, le=1, description="the free tier's share of the reserve")
    pro_reserve_share: float = Field(1.0, ge=0, le=1, description="the pro tier's share of the reserve")

    def reserve_share(self, tier: str) -> float:
        return self.pro_reserve_share if tier == "pro" else self.free_reserve_share


class StreamingSettings(_Tunables):
    stream_lessons: bool = Field(True, description="stream the lesson call and write finished blocks as they come")
    stream_outlines: bool = Field(True, description="stream the outline call and write finished modules as they come")
    partial_write_seconds: float = Field(1.0, gt=0, description="at most one partial write per lesson this often")


class CourseBudgetSettings(_Tunables):
    course_token_budget: int = Field(0, ge=0, description="tokens one course may spend in all (0 = none)")


class ApiTunables(LookaheadSettings, StalenessSettings, RedeliverySettings, CourseBudgetSettings):
    """What the API's use cases take (CourseService)."""


class RetrySettings(_Tunables):
    retry_base_seconds: float = Field(
        5.0, ge=0, description="the wait after a failed model call; three times longer after each further one"
    )


class WorkerTunables(
    RedeliverySettings, RetrySettings, EstimateSettings, PrefetchSettings, StreamingSettings, TierShareSettings
):
    """What the workers' use cases take (Generator)."""


class ReconcilerTunables(RedeliverySettings, StalenessSettings):
    """What the reconciler takes."""


# ---- variables read from the environment --------------------------------------------------


class EnvSettings(BaseModel):
    """A model whose missing fields are read from the environment: each field from the variable
    of its name in any case (COURSE_QUEUE_URL for course_queue_url), values given to the
    constructor (in any case too) first.

    Not pydantic-settings: every field here is a str, int, float or bool, which pydantic's lax
    mode parses from a variable's text as it is, and pydantic-settings' sources (dotenv, the CLI,
    cloud vaults) cost about 30 ms of every cold start to import (bench/cold_start.py)."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True, validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _read_the_environment(cls, given: Any) -> Any:
        if not isinstance(given, dict):
            return given
        given = {str(name).lower(): value for name, value in given.items()}  # MONGO_URI= too, as before
        wanted = cls.model_fields.keys() - given.keys()
        found = {name.lower(): value for name, value in os.environ.items() if name.lower() in wanted}
        return {**found, **given}


class MongoSettings(EnvSettings):
    mongo_uri: str = Field("", description="MongoDB URI (local runs)")
    mongo_uri_secret: str = Field("", description="Secrets Manager name holding the URI (production)")
    mongo_db: str = "flowgen"

    @model_validator(mode="after")
    def _mongo_source(self) -> MongoSettings:
        if not (self.mongo_uri or self.mongo_uri_secret):
            raise ValueError("set MONGO_URI or MONGO_URI_SECRET")
        return self


class RedisSettings(EnvSettings):
    redis_url: str = Field("", description="redis:// or rediss:// URL (local runs)")
    redis_url_secret: str = Field("", description="Secrets Manager name holding the URL (production)")

    @model_validator(mode="after")
    def _redis_source(self) -> RedisSettings:
        if not (self.redis_url or self.redis_url_secret):
            raise ValueError("set REDIS_URL or REDIS_URL_SECRET")
        return self


class QueueSettings(EnvSettings):
    course_queue_url: str
    lesson_high_queue_url: str
    lesson_low_queue_url: str
    sqs_endpoint_url: str = Field("", description="Only for local stacks (moto server)")


class JobSettings(RedisSettings, QueueSettings, StalenessSettings):
    """What scheduling (dedupe, then enqueue) needs."""


class ModelSettings(EnvSettings):
    openai_api_key: str = Field("", description="Empty and no secret: the offline generator is used")
    openai_api_key_secret: str = ""
    openai_base_url: str = ""
    outline_model: str = "gpt-4o-mini"
    lesson_model: str = "gpt-4o-mini"
    model_timeout_seconds: float = Field(60.0, gt=0, description="per read; the whole call ends at the deadline")


TIERS = ("free", "pro")  # a user's tier comes from a token claim (flowgen.adapters.jwt_verifier)


class UserBudgetSettings(EnvSettings):
    """Per-tier budgets: the `user_*` fields are the free tier's (the default), `pro_*` the pro's."""

    user_daily_token_budget: int = Field(0, ge=0, description="tokens one user may spend per UTC day (0 = none)")
    pro_daily_token_budget: int = Field(0, ge=0, description="the same for a pro user (0 = none)")
    default_tier: str = Field("free", pattern="^(free|pro)$", description="the tier of a token without the claim")

    def tier(self, claimed: str | None) -> str:
        return claimed if claimed in TIERS else self.default_tier

    def daily_token_budget(self, tier: str) -> int:
        return self.pro_daily_token_budget if tier == "pro" else self.user_daily_token_budget


class LimitSettings(UserBudgetSettings):
    """The provider's limits, shared by every worker, and the spending budgets. 0 = no limit."""

    model_requests_per_minute: int = 0
    model_tokens_per_minute: int = 0
    high_priority_reserve: float = Field(0.3, ge=0, lt=1, description="share of the limits kept for opened lessons")
    course_token_budget: int = 0


class UserLimitSettings(UserBudgetSettings):
    """Per-user limits at the API (0 = no limit); the budget is checked when a course is created."""

    user_requests_per_minute: int = Field(0, ge=0)
    user_courses_per_hour: int = Field(0, ge=0)
    user_courses_per_day: int = Field(0, ge=0)
    pro_requests_per_minute: int = Field(0, ge=0)
    pro_courses_per_hour: int = Field(0, ge=0)
    pro_courses_per_day: int = Field(0, ge=0)
    user_questions_per_hour: int = Field(0, ge=0, description="questions about lessons one user may ask per hour")
    pro_questions_per_hour: int = Field(0, ge=0)
    user_rewrites_per_hour: int = Field(0, ge=0, description="lessons one user may have rewritten per hour")
    pro_rewrites_per_hour: int = Field(0, ge=0)

    def questions_per_hour(self, tier: str) -> int:
        return self.pro_questions_per_hour if tier == "pro" else self.user_questions_per_hour

    def rewrites_per_hour(self, tier: str) -> int:
        return self.pro_rewrites_per_hour if tier == "pro" else self.user_rewrites_per_hour

    def windows(self, tier: str) -> tuple[int, int, int]:
        """(requests per minute, courses per hour, courses per day) of a tier; 0 = no limit."""
        if tier == "pro":
            return self.pro_requests_per_minute, self.pro_courses_per_hour, self.pro_courses_per_day
        return self.user_requests_per_minute, self.user_courses_per_hour, self.user_courses_per_day


class ShareSettings(EnvSettings):
    """Share links (flowgen.sharing): the server key their tokens are derived from, where the web
    app shows them, and the per-address limit of the routes that need no sign-in."""

    share_key: str = Field("", description="The key share-link tokens are derived from (local runs)")
    share_key_secret: str = Field("", description="Secrets Manager name holding the key (production)")
    web_url: str = Field("", description="The web app's address, which share links point at (empty: relative links)")
    shared_requests_per_minute_per_address: int = Field(
        0, ge=0, description="Requests a minute one source address may make to the shared routes (0 = no limit)"
    )

    @property
    def sharing_configured(self) -> bool:
        return bool(self.share_key or self.share_key_secret)


class SourceSettings(EnvSettings):
    """A learner's sources (issue 24, flowgen.library): the private bucket their files are in and
    the limits on them."""

    sources_bucket: str = Field("", description="The private S3 bucket of learners' sources")
    s3_endpoint_url: str = Field("", description="Only for local stacks (moto server)")
    source_max_bytes: int = Field(20 * 1024 * 1024, ge=1, description="the largest file a source may be")
    source_max_pages: int = Field(300, ge=1, description="the most pages a PDF source may have")
    user_source_storage_bytes: int = Field(
        200 * 1024 * 1024, ge=0, description="the bytes of sources one user may keep (every source counts)"
    )


class VideoSettings(EnvSettings):
    youtube_api_key: str = Field("", description="Empty and no secret: lessons get no video suggestion")
    youtube_api_key_secret: str = ""
    youtube_base_url: str = "https://www.googleapis.com"
    youtube_timeout_seconds: float = Field(3.0, gt=0, le=10, description="a slow search costs the lesson this much")


class AuthSettings(EnvSettings):
    jwks_url: str
    jwt_issuer: str
    jwt_audience: str
    jwks_refresh_cooldown_seconds: float = 30.0


# ---- one model per function ---------------------------------------------------------------


class ApiSettings(MongoSettings, JobSettings, UserLimitSettings, ApiTunables, ShareSettings, SourceSettings):
    idempotency_ttl_seconds: int = 3600


class CourseWorkerSettings(MongoSettings, JobSettings, ModelSettings, LimitSettings, WorkerTunables):
    pass


class LessonWorkerSettings(MongoSettings, JobSettings, ModelSettings, LimitSettings, WorkerTunables, VideoSettings):
    pass


class SourceWorkerSettings(MongoSettings, SourceSettings, RedeliverySettings):
    """The ingestion worker (functions/source_worker): S3's events in, chunks out."""


class ReconcilerSettings(MongoSettings, JobSettings, ReconcilerTunables):
    pass


class AuthorizerSettings(AuthSettings):
    pass


class ConfigurationError(RuntimeError):
    """A function's environment is incomplete or invalid; raised at cold start."""


def load[S: EnvSettings](kind: type[S]) -> S:
    """Parses `kind` from the environment, or fails naming every variable that is wrong."""
    try:
        return kind()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]).upper()
            problems.append(f"{name}: {error['msg']}" if name else error["msg"])
        raise ConfigurationError(f"{kind.__name__}: invalid environment: " + "; ".join(problems)) from exc


def resolve_secret(value: str, secret_name: str) -> str:
    """The plain value if given (local runs), else the secret, fetched once and cached."""
    if value or not secret_name:
        return value
    from aws_lambda_powertools.utilities import parameters

    return str(parameters.get_secret(secret_name, max_age=900))
