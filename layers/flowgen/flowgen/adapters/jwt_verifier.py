"""Verifies Auth0 (or the local identity provider's) RS256 access tokens against a JWKS.

The authorizer imports this module and little else, so it stays cheap on purpose: PyJWT,
cryptography and the standard library. No pydantic here (100-200 ms of imports, more than
PyJWT and cryptography together); `VerifierConfig` reads the same variables as
`flowgen.settings.AuthorizerSettings` (a test keeps the two in step).

Expiry is not the authorizer's to enforce: API Gateway caches its allow for `ReauthorizeEvery`
seconds, so a token would outlive its `exp` by up to that long. The verifier checks everything
else (RS256 only, signature, `iss`, `aud`, `nbf`, required claims) and returns `exp`, which the
authorizer passes in its context and the api function enforces on every request (401
`token_expired`). See docs/decisions.md, 2026-11-28.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any

import jwt
from jwt import PyJWKClient

from flowgen.errors import Unauthorized

TIER_CLAIM = "https://flowgen.dev/tier"  # an Auth0 custom claim is namespaced by a URL (set by an Action)


@dataclass(frozen=True)
class Identity:
    sub: str
    scope: str
    expires_at: int  # the token's `exp`, seconds since the epoch
    tier: str = ""  # the TIER_CLAIM, if it is a short lowercase word; the api maps it to a known tier


@dataclass(frozen=True)
class VerifierConfig:
    """The authorizer's variables (AuthorizerSettings' fields), read without pydantic."""

    jwks_url: str
    jwt_issuer: str
    jwt_audience: str
    jwks_refresh_cooldown_seconds: float = 30.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> VerifierConfig:
        """Fails at cold start, naming every missing variable."""
        required = [f.name for f in fields(cls) if f.default is MISSING]
        missing = [name.upper() for name in required if not environ.get(name.upper())]
        if missing:
            raise RuntimeError(f"authorizer settings: set {', '.join(missing)}")
        cooldown = environ.get("JWKS_REFRESH_COOLDOWN_SECONDS", "")
        try:
            cooldown_seconds = float(cooldown) if cooldown else cls.jwks_refresh_cooldown_seconds
        except ValueError:
            raise RuntimeError(
                f"authorizer settings: JWKS_REFRESH_COOLDOWN_SECONDS is not a number: {cooldown!r}"
            ) from None
        return cls(
            jwks_url=environ["JWKS_URL"],
            jwt_issuer=environ["JWT_ISSUER"],
            jwt_audience=environ["JWT_AUDIENCE"],
            jwks_refresh_cooldown_seconds=cooldown_seconds,
        )


class JwtVerifier:
    """PyJWKClient caches the key set across invocations. An unknown kid refetches it once,
    at most once per cooldown, so a flood of made-up kids cannot hammer the tenant's JWKS."""

    ALGORITHMS = ["RS256"]
    REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]

    def __init__(
        self, jwks_url: str, *, issuer: str, audience: str, leeway_seconds: int = 30, refresh_cooldown: float = 30.0
    ) -> None:
        self.jwks = PyJWKClient(jwks_url, cache_keys=True, lifespan=600, timeout=5, cooldown_duration=refresh_cooldown)
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway_seconds  # for `nbf` (issuer clock ahead of ours); `exp` is enforced exactly

    @classmethod
    def from_config(cls, config: VerifierConfig) -> JwtVerifier:
        return cls(
            config.jwks_url,
            issuer=config.jwt_issuer,
            audience=config.jwt_audience,
            refresh_cooldown=config.jwks_refresh_cooldown_seconds,
        )

    def verify(self, token: str) -> Identity:
        """Everything but expiry, which the caller enforces against `Identity.expires_at`."""
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
                options={"require": self.REQUIRED_CLAIMS, "verify_exp": False},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {type(exc).__name__}") from exc
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise Unauthorized("token has no subject")
        exp = claims.get("exp")
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            raise Unauthorized("token has no valid expiry")
        return Identity(sub=sub, scope=_scope(claims), expires_at=int(exp), tier=_tier(claims))


def _scope(claims: dict[str, Any]) -> str:
    scope = claims.get("scope", "")
    return scope if isinstance(scope, str) else " ".join(scope)


def _tier(claims: dict[str, Any]) -> str:
    """The tier claim if it is a short word; anything else is no claim (the default tier)."""
    tier = claims.get(TIER_CLAIM, "")
    return tier.lower() if isinstance(tier, str) and tier.isascii() and tier.isalpha() and len(tier) <= 16 else ""
