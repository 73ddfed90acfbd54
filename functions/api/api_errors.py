"""Errors to HTTP, in one place: every answer of the api function that is not a route's own
success is built here, in the envelope `{"error": {"code", "message"}}` (design invariant 7),
with `Vary: Origin` (CORS) and never a stack trace. Routes carry no try/except."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.metrics import MetricUnit

from flowgen.errors import DependencyUnavailable, FlowgenError, RateLimited, TokenExpired
from flowgen.ids import is_course_id, is_lesson_id
from flowgen.observability import logger, metrics

# On every answer: it differs by Origin (CORS), so caches key on it; and no browser may sniff a
# JSON or Markdown body into something it would run.
COMMON_HEADERS = {"Vary": "Origin", "X-Content-Type-Options": "nosniff"}
_ID_ERRORS = {"course_id": "invalid_course_id", "lesson_id": "invalid_lesson_id"}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": {"code": code, "message": message, **extra}},
        headers={**COMMON_HEADERS, **(headers or {})},
    )


def error_event_response(error: FlowgenError) -> dict[str, Any]:
    """The same envelope as a Lambda proxy response, for a request refused before the resolver."""
    body = {"error": {"code": error.code, "message": error.message}}
    headers = {"Content-Type": content_types.APPLICATION_JSON, **COMMON_HEADERS}
    return {"statusCode": error.status, "headers": headers, "body": json.dumps(body), "isBase64Encoded": False}


Routes = Callable[[], Iterable[tuple[str, Iterable[str]]]]
"""Each documented path (OpenAPI form, `{name}` parameters) and the methods it answers."""


def register_error_handlers(app: APIGatewayHttpResolver, routes: Routes) -> None:
    """Every exception a request can raise, mapped to its status. `routes` gives the 405's Allow."""

    def handles[E: Exception](kind: type[E]) -> Callable[[Callable[[E], Response[Any]]], Callable[[E], Response[Any]]]:
        return cast(Callable[[Callable[[E], Response[Any]]], Callable[[E], Response[Any]]], app.exception_handler(kind))

    @handles(DependencyUnavailable)
    def _unavailable(exc: DependencyUnavailable) -> Response[Any]:
        logger.warning("dependency unavailable", extra={"dependency": exc.dependency})
        return error_response(503, exc.code, exc.message, {"Retry-After": str(exc.retry_after)})

    @handles(TokenExpired)
    def _token_expired(exc: TokenExpired) -> Response[Any]:
        challenge = 'Bearer error="invalid_token", error_description="The access token expired"'
        return error_response(401, exc.code, exc.message, {"WWW-Authenticate": challenge})

    @handles(RateLimited)
    def _rate_limited(exc: RateLimited) -> Response[Any]:
        metrics.add_metric(name="UserLimited", unit=MetricUnit.Count, value=1)
        extra: dict[str, Any] = {}
        if exc.code == "daily_budget_exhausted":
            resets = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=exc.retry_after)
            extra["resetsAt"] = resets.isoformat().replace("+00:00", "Z")
        return error_response(429, exc.code, exc.message, exc.headers, **extra)

    @handles(FlowgenError)
    def _domain_error(exc: FlowgenError) -> Response[Any]:
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        return error_response(exc.status, exc.code, exc.message, headers)

    @handles(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response[Any]:
        errors = exc.errors()
        locations = [tuple(e.get("loc", ())) for e in errors]
        for name, code in _ID_ERRORS.items():  # an id that does not match its pattern names the id
            if ("path", name) in locations:
                return error_response(400, code, f"{name.replace('_', ' ')} has the wrong shape")
        details = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "problem": e.get("msg", "")}
            for e in errors
        ]
        return error_response(400, "invalid_request", "the request is not valid", details=details)

    @handles(RequestUnsupportedContentType)
    def _unsupported_media_type(_: RequestUnsupportedContentType) -> Response[Any]:
        return error_response(415, "unsupported_media_type", "send the body as application/json")

    @handles(NotFoundError)
    def _no_route(_: NotFoundError) -> Response[Any]:
        """API Gateway's `$default` route sends every unmatched request here: 405 with Allow when
        the path exists with other methods, else 404, both in the error envelope."""
        event = app.current_event
        method, path = event.http_method.upper(), event.path
        matched = [(regex.match(path), methods) for regex, methods in _patterns(routes)]
        # as API Gateway matches: a path's literal segments before a parameter (/reviews/due is
        # not /reviews/{cardId}), so only the most specific matching paths say what is allowed
        literal = max((_literal_segments(match) for match, _ in matched if match), default=0)
        matched = [(match, methods) for match, methods in matched if match and _literal_segments(match) == literal]
        allowed = set().union(*(methods for match, methods in matched if match))
        if method in allowed:  # the route exists for this method: an id held what no route takes (", \, `)
            found = next(match for match, methods in matched if match and method in methods)
            return _bad_id(found.groupdict())
        if allowed:
            allow = ", ".join(sorted(allowed))
            message = f"{method} is not allowed on {path}; use {allow}"
            return error_response(405, "method_not_allowed", message, {"Allow": allow})
        return error_response(404, "route_not_found", f"no route {method} {path}")

    @handles(Exception)
    def _unexpected(_: Exception) -> Response[Any]:
        logger.exception("unhandled error")
        # Whether a write happened before the failure is not known here, so the answer does not
        # promise it (issue 28: "nothing you sent was lost" was said of requests that were stored).
        message = (
            "something went wrong on our side; what you sent may or may not have been saved: check before retrying"
        )
        return error_response(500, "internal_error", message)


_compiled: list[tuple[re.Pattern[str], frozenset[str]]] = []


def _patterns(routes: Routes) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    if not _compiled:
        for path, methods in routes():
            regex = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")
            _compiled.append((regex, frozenset(method.upper() for method in methods)))
    return _compiled


def _literal_segments(match: re.Match[str]) -> int:
    # each parameter is a "/" and a "(?P<name>[^/]+)" in the pattern: neither is a literal segment
    return match.re.pattern.count("/") - 2 * len(match.groupdict())


def _bad_id(parameters: dict[str, str]) -> Response[Any]:
    """A 400 naming the first id of the wrong shape, as the route's own validation would."""
    if "course_id" in parameters and not is_course_id(parameters["course_id"]):
        return error_response(400, "invalid_course_id", "course id has the wrong shape")
    if "lesson_id" in parameters and not is_lesson_id(parameters["lesson_id"]):
        return error_response(400, "invalid_lesson_id", "lesson id has the wrong shape")
    return error_response(400, "invalid_request", "a path parameter has the wrong shape")
