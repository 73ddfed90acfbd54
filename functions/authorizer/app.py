"""Lambda REQUEST authorizer (HTTP API, payload 2.0, simple responses) for Auth0 RS256 tokens."""

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerEventV2,
    APIGatewayAuthorizerResponseV2,
)

from flowgen import wiring
from flowgen.adapters.jwt_verifier import JwtVerifier
from flowgen.errors import Unauthorized
from flowgen.observability import logger
from flowgen.settings import AuthorizerSettings


@lru_cache(maxsize=1)
def verifier() -> JwtVerifier:
    cfg = wiring.settings(AuthorizerSettings)
    return JwtVerifier(
        cfg.jwks_url,
        issuer=cfg.jwt_issuer,
        audience=cfg.jwt_audience,
        refresh_cooldown=cfg.jwks_refresh_cooldown_seconds,
    )


def _bearer(event: APIGatewayAuthorizerEventV2) -> str:
    header = (event.headers or {}).get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("expected 'Authorization: Bearer <token>'")
    return token.strip()


@logger.inject_lambda_context
@event_source(data_class=APIGatewayAuthorizerEventV2)
def lambda_handler(event: APIGatewayAuthorizerEventV2, context: Any) -> dict:
    try:
        identity = verifier().verify(_bearer(event))
    except Unauthorized as exc:
        logger.info("denied", extra={"reason": exc.message})
        return APIGatewayAuthorizerResponseV2(authorize=False).asdict()
    return APIGatewayAuthorizerResponseV2(
        authorize=True, context={"sub": identity.sub, "scope": identity.scope}
    ).asdict()
