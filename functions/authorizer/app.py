"""Lambda REQUEST authorizer (HTTP API, payload 2.0, simple responses) for Auth0 RS256 tokens.

Lean on purpose (its imports are budgeted at 2x PyJWT + cryptography alone): Powertools' Logger
only, the event read as the dict it is (Powertools' data_classes package imports every event
class), settings without pydantic, and no flowgen.wiring or flowgen.observability (pydantic
settings, and the X-Ray SDK that brings botocore).

It allows a token whose signature, issuer, audience and `nbf` hold, and passes `exp` on: the
allow is cached for ReauthorizeEvery, so the api function enforces expiry on every request and
answers 401 `token_expired` (docs/decisions.md, 2026-11-28).
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools.logging import Logger

from flowgen.adapters.jwt_verifier import JwtVerifier, VerifierConfig
from flowgen.errors import Unauthorized

logger = Logger()
CONFIG = VerifierConfig.from_environ(os.environ)  # a missing variable fails the cold start, clearly


@cache
def verifier() -> JwtVerifier:
    """Built on first use, kept for the container: its JWKS cache outlives invocations."""
    return JwtVerifier.from_config(CONFIG)


def _bearer(event: dict[str, Any]) -> str:
    header = str((event.get("headers") or {}).get("authorization", ""))
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("expected 'Authorization: Bearer <token>'")
    return token.strip()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        identity = verifier().verify(_bearer(event))
    except Unauthorized as exc:
        logger.info("denied", extra={"reason": exc.message})
        return {"isAuthorized": False}
    return {
        "isAuthorized": True,
        "context": {"sub": identity.sub, "scope": identity.scope, "exp": identity.expires_at, "tier": identity.tier},
    }
