"""What runs before a route: the body guards (before Powertools parses anything), then the
caller's identity and per-user limits (one Redis round trip). Every answer gets `Vary: Origin`."""

from __future__ import annotations

from typing import Any

from api_errors import COMMON_HEADERS, error_event_response
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from flowgen import wiring
from flowgen.clock import utcnow
from flowgen.errors import FlowgenError, RateLimited, TokenExpired, Unauthorized
from flowgen.http_input import check_json_body
from flowgen.settings import ApiSettings

# HTTP API route keys (the template's routes, as API Gateway names them in every event)
CREATE_COURSE = "POST /courses"
FORK_COURSE = "POST /shared/{token}/fork"  # a fork is a course of the caller's: the course limits apply
CREATING = frozenset({CREATE_COURSE, FORK_COURSE})
ASK_QUESTION = "POST /courses/{courseId}/lessons/{lessonId}/questions"
REWRITE_LESSON = "POST /courses/{courseId}/lessons/{lessonId}/regenerate"
UNMATCHED = "$default"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
HttpApp = APIGatewayHttpResolver | APIGatewayHttpRouter  # the app, or a router it includes


def refuse_bad_body(event: dict[str, Any]) -> dict[str, Any] | None:
    """A body sent with POST, PUT or PATCH must be small, shallow UTF-8 JSON (415, 413, 400) before
    Powertools' validation reads it: that parses any JSON however deep (Python's parser recurses),
    takes a form or a multipart body as if it were one, and has no size limit of its own.
    None: let the request through; else the error answer."""
    method = str((event.get("requestContext") or {}).get("http", {}).get("method", "")).upper()
    body = event.get("body")
    if method not in _BODY_METHODS or not body:
        return None
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    try:
        check_json_body(headers.get("content-type"), body, base64_encoded=bool(event.get("isBase64Encoded")))
    except FlowgenError as error:
        return error_event_response(error)
    return None


def _authorizer_context(app: HttpApp) -> dict[str, Any]:
    authorizer = app.current_event.request_context.authorizer
    context: dict[str, Any] = (authorizer.get_lambda or {}) if authorizer else {}
    return context


def caller(app: HttpApp) -> str:
    """The caller's sub, from the authorizer's context. The authorizer's allow is cached for
    ReauthorizeEvery and it leaves expiry to this check, so a token stops working at its `exp`
    to the second, cached or not (docs/decisions.md, 2026-11-28). No `exp`: refused."""
    context = _authorizer_context(app)
    sub = context.get("sub")
    if not sub:
        raise Unauthorized("no authenticated caller")
    try:
        expires_at = float(context["exp"])
    except (KeyError, TypeError, ValueError):
        raise Unauthorized("the authorizer passed no token expiry") from None
    if utcnow().timestamp() >= expires_at:
        raise TokenExpired("the access token has expired; sign in again or refresh it")
    return str(sub)


def tier(app: HttpApp, settings: ApiSettings) -> str:
    """The caller's tier, from the token's namespaced claim the authorizer passes on; a token
    without it (or with an unknown tier) has the default tier."""
    claimed = _authorizer_context(app).get("tier")
    return settings.tier(claimed if isinstance(claimed, str) else None)


def common_headers(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """`COMMON_HEADERS` on every answer (errors get them from api_errors)."""
    response = next_middleware(app)
    response.headers.update(COMMON_HEADERS)
    return response


def user_limits(settings: ApiSettings, public_routes: frozenset[str]) -> Any:
    """The middleware of the caller's per-user limits: requests per minute on every route; courses
    per hour, per day and the daily token budget on POST /courses; questions per hour, or rewrites
    per hour, and the daily token budget on a question about a lesson or a rewrite of one. One Lua
    call; Redis down: allowed. A course, question or rewrite the route turns down (4xx) is taken
    back from its windows: only what is accepted counts there (the request still counts against
    the requests window)."""

    def middleware(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        route = app.current_event.route_key
        if route in public_routes or route == UNMATCHED:
            return next_middleware(app)
        owner = caller(app)
        limits = wiring.user_limits(settings, tier(app, settings))
        decision = limits.check(
            owner, creating=route in CREATING, asking=route == ASK_QUESTION, rewriting=route == REWRITE_LESSON
        )
        if not decision.allowed:
            headers = {**decision.headers, "Retry-After": str(decision.retry_after)}
            code = "daily_budget_exhausted" if decision.exceeded == "budget" else "rate_limited"
            raise RateLimited(decision.message, retry_after=decision.retry_after, headers=headers, code=code)
        try:
            response = next_middleware(app)
        except FlowgenError as error:
            if _refused(error.status):
                limits.refund(decision)
            raise
        refused = _refused(response.status_code)
        if refused:
            limits.refund(decision)
        response.headers.update(decision.headers_if_refunded if refused else decision.headers)
        return response

    return middleware


def _refused(status: int) -> bool:
    """The route turned the course or question down (404, 409, 422). Not after a fault (5xx): the
    submission may be stored (nothing a user submits is lost) and go on to be generated."""
    return 400 <= status < 500
