"""HTTP API: parse -> one domain call -> response. Errors are mapped in one place below."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)

from flowgen import wiring
from flowgen.adapters.idempotency import IdempotentCreate
from flowgen.clock import utcnow
from flowgen.courses import CourseService
from flowgen.errors import DependencyUnavailable, FlowgenError, Unauthorized
from flowgen.models import CourseView, CreateCourseRequest, Model
from flowgen.observability import logger, metrics, tracer
from flowgen.settings import ApiSettings

app = APIGatewayHttpResolver(enable_validation=True)
SETTINGS = wiring.settings(ApiSettings)  # parsed at cold start; clients are built on first use


def service() -> CourseService:
    return wiring.course_service(SETTINGS)


def _json(status: int, model: Model | None, headers: dict[str, str] | None = None):
    body = model.model_dump_json(by_alias=True) if model is not None else None
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any):
    error = {"code": code, "message": message, **extra}
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body={"error": error}, headers=headers
    )


class TokenExpired(Unauthorized):
    code = "token_expired"


def _caller() -> str:
    """The caller's sub, from the authorizer's context. The authorizer's allow is cached for
    ReauthorizeEvery and it leaves expiry to this check, so a token stops working at its `exp`
    to the second, cached or not (docs/decisions.md, 2026-11-28). No `exp`: refused."""
    authorizer = app.current_event.request_context.authorizer
    context = (authorizer.get_lambda or {}) if authorizer else {}
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


@app.exception_handler(TokenExpired)
def _token_expired(exc: TokenExpired):
    challenge = 'Bearer error="invalid_token", error_description="The access token expired"'
    return _error(401, exc.code, exc.message, {"WWW-Authenticate": challenge})


def _create(command: IdempotentCreate) -> CourseView:
    return service().create_course(command.owner_id, command.request, utcnow())


# ---- routes ---------------------------------------------------------------------------


@app.post("/courses")
def create_course(body: CreateCourseRequest, idempotency_key: Annotated[str | None, Header(max_length=128)] = None):
    command = IdempotentCreate(owner_id=_caller(), idempotency_key=idempotency_key or "", request=body)
    if idempotency_key:
        create, config = wiring.idempotent_create(SETTINGS)
        config.register_lambda_context(app.lambda_context)
        return _json(202, create(command=command))
    return _json(202, _create(command))


@app.get("/courses")
def list_courses(
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
):
    return _json(200, service().list_courses(_caller(), cursor, limit))


@app.get("/courses/<course_id>")
def get_course(course_id: str):
    return _json(200, service().get_course(_caller(), course_id))


@app.delete("/courses/<course_id>")
def delete_course(course_id: str):
    service().delete_course(_caller(), course_id)
    return _json(204, None)


@app.post("/courses/<course_id>/retry")
def retry_course(course_id: str):
    return _json(202, service().retry_course(_caller(), course_id, utcnow()))


@app.get("/courses/<course_id>/lessons/<lesson_id>")
def open_lesson(course_id: str, lesson_id: str):
    lesson = service().open_lesson(_caller(), course_id, lesson_id, utcnow())
    if lesson.retry_after is None:
        return _json(200, lesson)
    return _json(202, lesson, {"Retry-After": str(lesson.retry_after)})


@app.post("/courses/<course_id>/lessons/<lesson_id>/retry")
def retry_lesson(course_id: str, lesson_id: str):
    lesson = service().retry_lesson(_caller(), course_id, lesson_id, utcnow())
    return _json(202, lesson, {"Retry-After": str(lesson.retry_after or 1)})


# ---- errors: one mapping, no try/except in routes --------------------------------------


@app.exception_handler(DependencyUnavailable)
def _unavailable(exc: DependencyUnavailable):
    logger.warning("dependency unavailable", extra={"dependency": exc.dependency})
    return _error(503, exc.code, exc.message, {"Retry-After": str(exc.retry_after)})


@app.exception_handler(FlowgenError)
def _domain_error(exc: FlowgenError):
    return _error(exc.status, exc.code, exc.message)


@app.exception_handler(RequestValidationError)
def _invalid(exc: RequestValidationError):
    details = [
        {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "problem": e.get("msg", "")}
        for e in exc.errors()
    ]
    return _error(400, "invalid_request", "the request is not valid", details=details)


@app.exception_handler(IdempotencyValidationError)
def _idempotency_mismatch(exc: IdempotencyValidationError):
    return _error(422, "idempotency_key_reused", "this Idempotency-Key was used with a different body")


@app.exception_handler(IdempotencyAlreadyInProgressError)
def _idempotency_in_progress(exc: IdempotencyAlreadyInProgressError):
    return _error(
        409, "request_in_progress", "a request with this Idempotency-Key is in progress", {"Retry-After": "1"}
    )


@app.exception_handler(IdempotencyPersistenceLayerError)
def _idempotency_store_down(exc: IdempotencyPersistenceLayerError):
    return _error(503, "redis_unavailable", "idempotency store is unavailable, try again shortly", {"Retry-After": "5"})


@app.not_found
def _no_route(exc: Exception):
    return _error(404, "route_not_found", f"no route {app.current_event.http_method} {app.current_event.path}")


@app.exception_handler(Exception)
def _unexpected(exc: Exception):
    logger.exception("unhandled error")
    return _error(500, "internal_error", "something went wrong on our side; nothing you sent was lost")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict, context: Any) -> dict:
    return app.resolve(event, context)
