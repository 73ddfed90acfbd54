"""Powertools idempotency on Redis for `POST /courses` with an `Idempotency-Key` header."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.persistence.redis import RedisCachePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer

from flowgen.models import CourseView, CreateCourseRequest, Model


class IdempotentCreate(Model):
    owner_id: str
    idempotency_key: str
    request: CreateCourseRequest


def make_idempotent(
    create: Callable[[IdempotentCreate], CourseView], redis_client: Any, ttl_seconds: int
) -> tuple[Callable[..., CourseView], IdempotencyConfig]:
    """Keys on (caller, header); the same key with a different body is rejected, not replayed."""
    config = IdempotencyConfig(
        event_key_jmespath="[owner_id, idempotency_key]",
        payload_validation_jmespath="request",
        expires_after_seconds=ttl_seconds,
        raise_on_no_idempotency_key=True,
    )
    persistence = RedisCachePersistenceLayer(client=redis_client)
    wrapped = idempotent_function(
        data_keyword_argument="command",
        persistence_store=persistence,
        config=config,
        output_serializer=PydanticSerializer,
    )(create)
    return wrapped, config
