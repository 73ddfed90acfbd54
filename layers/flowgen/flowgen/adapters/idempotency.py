"""Powertools idempotency on Redis for `POST /courses` with an `Idempotency-Key` header.

Powertools is imported when the first idempotent create is wired (`make_idempotent`), not when
this module is: the api imports `IdempotentCreate` at init, and Powertools' Redis layer imports
redis-py (its asyncio client included), about a tenth of the api's imports.

Importing any module of `aws_lambda_powertools.utilities.idempotency` (the Redis layer, the
exceptions) runs the package's `__init__`, which imports the DynamoDB layer and with it boto3
and botocore; the Redis module itself imports from the package. Importing the Redis module
directly therefore keeps nothing out: only not importing the package at init would
(docs/decisions.md, 2026-11-28).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from flowgen.errors import DependencyUnavailable, IdempotencyKeyReused, RequestInProgress
from flowgen.requests import CreateCourseRequest
from flowgen.schema import Model
from flowgen.views import CourseView

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.idempotency.persistence.redis import RedisCachePersistenceLayer


@cache
def validating_redis_persistence() -> type[RedisCachePersistenceLayer]:
    """The Redis persistence layer, fixed (the class is built on first use, see the module doc)."""
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.idempotency.persistence.redis import RedisCachePersistenceLayer

    class ValidatingRedisPersistence(RedisCachePersistenceLayer):
        """Powertools 3.37's Redis layer rewrites a completed record without its payload hash, so
        an identical retry fails validation (the TypeScript port fixed the same bug in its #5706).
        This keeps the hash, as the DynamoDB layer does. Drop it once Powertools Python has the fix."""

        def _update_record(self, data_record: DataRecord) -> None:
            mapping: dict[str, Any] = {
                self.data_attr: data_record.response_data,
                self.status_attr: data_record.status,
                self.expiry_attr: data_record.expiry_timestamp,
            }
            if self.payload_validation_enabled:
                mapping[self.validation_key_attr] = data_record.payload_hash
            self.client.set(
                name=data_record.idempotency_key,
                value=self._json_serializer(mapping),
                ex=self._get_expiry_second(data_record.expiry_timestamp),
            )

    return ValidatingRedisPersistence


class IdempotentCreate(Model):
    owner_id: str
    idempotency_key: str
    request: CreateCourseRequest
    tier: str = "free"  # not part of the payload hash: only `request` is compared


def make_idempotent(
    create: Callable[[IdempotentCreate], CourseView], redis_client: Any, ttl_seconds: int
) -> tuple[Callable[..., CourseView], IdempotencyConfig]:
    """Keys on (caller, header); the same key with a different body is rejected, not replayed."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer

    config = IdempotencyConfig(
        event_key_jmespath="[owner_id, idempotency_key]",
        payload_validation_jmespath="request",
        expires_after_seconds=ttl_seconds,
        raise_on_no_idempotency_key=True,
    )
    persistence = validating_redis_persistence()(client=redis_client)
    wrapped = idempotent_function(
        data_keyword_argument="command",
        persistence_store=persistence,
        config=config,
        output_serializer=PydanticSerializer,
    )(create)
    return _as_domain_errors(wrapped), config


def _as_domain_errors(wrapped: Callable[..., CourseView]) -> Callable[..., CourseView]:
    """Powertools' idempotency errors as the domain's, so the api never imports Powertools'
    idempotency package (and with it boto3) at init: its error mapping knows only flowgen.errors."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    def create(**kwargs: Any) -> CourseView:
        try:
            return wrapped(**kwargs)
        except IdempotencyValidationError as exc:
            raise IdempotencyKeyReused("this Idempotency-Key was used with a different body") from exc
        except IdempotencyAlreadyInProgressError as exc:
            raise RequestInProgress("a request with this Idempotency-Key is in progress") from exc
        except IdempotencyPersistenceLayerError as exc:
            raise DependencyUnavailable("redis") from exc

    return create
