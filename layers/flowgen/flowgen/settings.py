"""Settings per function, composed from small mixins, parsed once at cold start.

Each function's `Environment` in template.yaml names exactly the fields of its settings
model (tests/unit/test_template.py checks it). Secrets arrive as the *name* of a Secrets
Manager secret and are resolved once per container (Powertools parameters, cached).
"""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from flowgen.policy import Policy


class _Base(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)


class MongoSettings(_Base):
    mongo_uri: str = Field("", description="MongoDB URI; mongomock://<name> for the in-process stand-in")
    mongo_uri_secret: str = Field("", description="Secrets Manager name holding the URI (production)")
    mongo_db: str = "flowgen"

    @model_validator(mode="after")
    def _one_source(self) -> MongoSettings:
        if not (self.mongo_uri or self.mongo_uri_secret):
            raise ValueError("set MONGO_URI or MONGO_URI_SECRET")
        return self


class RedisSettings(_Base):
    redis_url: str = Field(..., description="redis:// or rediss:// URL")
    dedupe_ttl_seconds: int = 900


class QueueSettings(_Base):
    course_queue_url: str
    lesson_high_queue_url: str
    lesson_low_queue_url: str
    sqs_endpoint_url: str = Field("", description="Only for local stacks (moto server)")


class PolicySettings(_Base):
    lesson_lookahead: int = 2
    initial_lessons: int = 2
    poll_seconds: int = 2
    lease_seconds: int = 120
    max_receive_count: int = 3
    stuck_after_seconds: int = 300
    outline_token_estimate: int = 2_000
    lesson_token_estimate: int = 3_000

    def policy(self) -> Policy:
        return Policy(
            lookahead=self.lesson_lookahead,
            initial_lessons=self.initial_lessons,
            poll_seconds=self.poll_seconds,
            lease_seconds=self.lease_seconds,
            max_receive_count=self.max_receive_count,
            stuck_after_seconds=self.stuck_after_seconds,
            outline_token_estimate=self.outline_token_estimate,
            lesson_token_estimate=self.lesson_token_estimate,
        )


class ModelSettings(_Base):
    openai_api_key: str = Field("", description="Empty and no secret: the offline generator is used")
    openai_api_key_secret: str = ""
    openai_base_url: str = ""
    outline_model: str = "gpt-4o-mini"
    lesson_model: str = "gpt-4o-mini"
    model_timeout_seconds: float = 60.0


class LimitSettings(_Base):
    """The provider's limits, shared by every worker, and the spending budgets. 0 = no limit."""

    model_requests_per_minute: int = 0
    model_tokens_per_minute: int = 0
    high_priority_reserve: float = Field(0.3, ge=0, lt=1, description="share of the limits kept for opened lessons")
    user_daily_token_budget: int = 0
    course_token_budget: int = 0


class VideoSettings(_Base):
    youtube_api_key: str = Field("", description="Empty and no secret: lessons get no video suggestion")
    youtube_api_key_secret: str = ""
    youtube_base_url: str = "https://www.googleapis.com"


class AuthSettings(_Base):
    jwks_url: str
    jwt_issuer: str
    jwt_audience: str
    jwks_refresh_cooldown_seconds: float = 30.0


class ApiSettings(MongoSettings, RedisSettings, QueueSettings, PolicySettings):
    idempotency_ttl_seconds: int = 3600


class CourseWorkerSettings(MongoSettings, RedisSettings, QueueSettings, PolicySettings, ModelSettings, LimitSettings):
    pass


class LessonWorkerSettings(CourseWorkerSettings, VideoSettings):
    pass


class ReconcilerSettings(MongoSettings, RedisSettings, QueueSettings, PolicySettings):
    pass


class AuthorizerSettings(AuthSettings):
    pass


def resolve_secret(value: str, secret_name: str) -> str:
    """The plain value if given (local runs), else the secret, fetched once and cached."""
    if value or not secret_name:
        return value
    from aws_lambda_powertools.utilities import parameters

    return str(parameters.get_secret(secret_name, max_age=900))
