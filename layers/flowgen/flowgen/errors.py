"""Domain exceptions. The API maps them to HTTP in one place (functions/api/app.py)."""

from __future__ import annotations


class FlowgenError(Exception):
    """Base of every error the API may show a caller: a code, a message and a status."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class InvalidRequest(FlowgenError):
    status = 400
    code = "invalid_request"


class NotFound(FlowgenError):
    """Also what another user's course looks like: existence is never confirmed."""

    status = 404
    code = "not_found"


class PayloadTooLarge(FlowgenError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(FlowgenError):
    status = 415
    code = "unsupported_media_type"


class MalformedBody(FlowgenError):
    status = 400
    code = "invalid_request"


class Conflict(FlowgenError):
    status = 409
    code = "conflict"


class RequestInProgress(Conflict):
    """The same Idempotency-Key is being served right now: retry after a second."""

    code = "request_in_progress"
    retry_after = 1


class IdempotencyKeyReused(FlowgenError):
    status = 422
    code = "idempotency_key_reused"


class Unauthorized(FlowgenError):
    status = 401
    code = "unauthorized"


class TokenExpired(Unauthorized):
    """A well-signed token past its `exp`: answered with a Bearer challenge, cached allow or not."""

    code = "token_expired"


class DependencyUnavailable(FlowgenError):
    """A store or queue did not answer. Callers should retry after `retry_after` seconds."""

    status = 503
    code = "unavailable"

    def __init__(self, dependency: str, *, retry_after: int = 5) -> None:
        super().__init__(f"{dependency} is unavailable, try again shortly", code=f"{dependency}_unavailable")
        self.dependency = dependency
        self.retry_after = retry_after


class RateLimited(FlowgenError):
    """A per-user limit or the daily token budget: a 429 with `Retry-After` and RateLimit headers."""

    status = 429
    code = "rate_limited"

    def __init__(
        self, message: str, *, retry_after: int, headers: dict[str, str] | None = None, code: str | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
        self.headers = headers or {}


class AlreadyExists(Exception):
    """A store insert hit a unique index (a course's (ownerId, idempotencyKey))."""


class DedupeUnavailable(Exception):
    """Redis could not be reached; scheduling proceeds without dedupe (invariant 2)."""


class ModelError(Exception):
    """The model call failed or returned something unusable: retried with a backoff up to the
    record's attempts cap. `message` is for the logs; `public` is what a learner reads."""

    public = "The writing service could not write this."

    def __init__(self, message: str, *, retry_after: float | None = None, public: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        if public:
            self.public = public


class CallAbandoned(ModelError):
    """The invocation's deadline passed: the model call is given up, its stream closed, and no
    repair call is made for it."""

    public = "The writing service took too long to answer."
