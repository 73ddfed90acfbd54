"""Verifies Auth0 (or the local identity provider's) RS256 access tokens against a JWKS."""

from __future__ import annotations

from dataclasses import dataclass

import jwt
from jwt import PyJWKClient

from flowgen.errors import Unauthorized


@dataclass(frozen=True)
class Identity:
    sub: str
    scope: str


class JwtVerifier:
    """PyJWKClient caches the key set across invocations. An unknown kid refetches it once,
    at most once per cooldown, so a flood of made-up kids cannot hammer the tenant's JWKS."""

    ALGORITHMS = ["RS256"]

    def __init__(
        self, jwks_url: str, *, issuer: str, audience: str, leeway_seconds: int = 30, refresh_cooldown: float = 30.0
    ) -> None:
        self.jwks = PyJWKClient(jwks_url, cache_keys=True, lifespan=600, timeout=5, cooldown_duration=refresh_cooldown)
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway_seconds

    def verify(self, token: str) -> Identity:
        try:
            # Refuse alg confusion before any key lookup: only RS256 is ever accepted.
            if jwt.get_unverified_header(token).get("alg") not in self.ALGORITHMS:
                raise Unauthorized("token algorithm not allowed")
            key = self.jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=self.ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {type(exc).__name__}") from exc
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise Unauthorized("token has no subject")
        scope = claims.get("scope", "")
        return Identity(sub=sub, scope=scope if isinstance(scope, str) else " ".join(scope))
