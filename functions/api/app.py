"""HTTP API: parse -> one domain call -> response. Errors are mapped in one place below.

Before any route runs: the body guards (media type, size, UTF-8, depth) ahead of Powertools'
validation, then the caller's identity and per-user limits (one Redis round trip). Every
answer carries `Vary: Origin`. The OpenAPI document at `GET /openapi.json` lists every status
each route can answer (docs/api.md); a test fails when a route answers one it does not list.
"""

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from http import HTTPStatus
from pathlib import Path as FilePath
from typing import Annotated, Any, cast

import aws_lambda_powertools.event_handler as powertools_event_handler
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from flowgen import wiring
from flowgen.adapters.idempotency import IdempotentCreate
from flowgen.clock import utcnow
from flowgen.courses import CourseService
from flowgen.errors import DependencyUnavailable, FlowgenError, RateLimited, Unauthorized
from flowgen.http_input import MAX_BODY_BYTES, MAX_JSON_DEPTH, check_json_body
from flowgen.models import (
    COURSE_ID_PATTERN,
    LESSON_ID_PATTERN,
    CourseDetail,
    CoursePage,
    CourseView,
    CreateCourseRequest,
    EditOutlineRequest,
    ErrorResponse,
    LessonView,
    Model,
    RegenerateLessonRequest,
    SelectVersionRequest,
    language_pattern,
    visible_prompt_pattern,
)
from flowgen.observability import logger, metrics
from flowgen.progress import CourseProgress, LessonProgress, ProgressOverview, ProgressService, ProgressUpdate
from flowgen.questions import AskQuestionRequest, QuestionService, QuestionThread, QuestionView
from flowgen.settings import ApiSettings

app = APIGatewayHttpResolver(enable_validation=True)
SETTINGS = wiring.settings(ApiSettings)  # parsed at cold start; clients are built on first use

PUBLIC_PATHS = frozenset({"/openapi.json", "/swagger"})  # no authorizer in template.yaml
CREATE_COURSE = ("POST", "/courses")
ASK_QUESTION = ("POST", "/courses/<course_id>/lessons/<lesson_id>/questions")
VARY = {"Vary": "Origin"}


def service() -> CourseService:
    return wiring.course_service(SETTINGS)


def progress() -> ProgressService:
    return wiring.progress_service(SETTINGS)


def questions() -> QuestionService:
    return wiring.question_service(SETTINGS)


def _json(status: int, model: Model | None, headers: dict[str, str] | None = None) -> Response[Any]:
    if model is None:  # 204: no body at all (Powertools would send the JSON `null`)
        return Response(status_code=status, body="", headers=headers)
    body = model.model_dump_json(by_alias=True)
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any) -> Response[Any]:
    error = {"code": code, "message": message, **extra}
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": error},
        headers={**VARY, **(headers or {})},
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


def _tier() -> str:
    """The caller's tier, from the token's namespaced claim the authorizer passes on; a token
    without it (or with an unknown tier) has the default tier."""
    authorizer = app.current_event.request_context.authorizer
    context = (authorizer.get_lambda or {}) if authorizer else {}
    claimed = context.get("tier")
    tier: str = SETTINGS.tier(claimed if isinstance(claimed, str) else None)
    return tier


def _create(command: IdempotentCreate) -> CourseView:
    return service().create_course(command.owner_id, command.request, utcnow(), tier=command.tier)


# ---- middlewares ----------------------------------------------------------------------------


class GuardedValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, after the body guards: it runs before any `app.use`
    middleware and parses the body, so the guards sit in front of it. A route that takes a body
    gets only a small, shallow, UTF-8 JSON document."""

    def handler(self, app: Any, next_middleware: NextMiddleware) -> Response[Any]:
        route, event = app.context.get("_route"), app.current_event
        if route is not None and route.body_field is not None and event.body:
            check_json_body(event.headers.get("content-type"), event.body, base64_encoded=event.is_base64_encoded)
        return super().handler(app, next_middleware)


app._request_validation_middleware = GuardedValidation()  # type: ignore[no-untyped-call]


def vary_origin(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Answers differ by Origin (CORS): caches must key on it. Errors get it from `_error`."""
    response = next_middleware(app)
    response.headers.update(VARY)
    return response


def user_limits(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """The caller, then its per-user limits: requests per minute on every route; courses per hour,
    per day and the daily token budget on POST /courses; questions per hour and the daily token
    budget on a question about a lesson. One Lua call; Redis down: allowed. A course or question
    the route turns down (4xx) is taken back from its windows: only what is accepted counts there
    (the request still counts against the requests window)."""
    route = app.context.get("_route")
    if route is None or route.path in PUBLIC_PATHS:
        return next_middleware(app)
    owner = _caller()
    creating, asking = (route.method, route.path) == CREATE_COURSE, (route.method, route.path) == ASK_QUESTION
    limits = wiring.user_limits(SETTINGS, _tier())
    decision = limits.check(owner, creating=creating, asking=asking)
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


def _refused(status: int) -> bool:
    """The route turned the course or question down (404, 409, 422). Not after a fault (5xx): the
    submission may be stored (nothing a user submits is lost) and go on to be generated."""
    return 400 <= status < 500


app.use([vary_origin, user_limits])


# ---- the contract: what each route may answer ------------------------------------------------

_ERRORS: dict[int, str] = {
    400: "Invalid request: a field, an id, a cursor, invalid UTF-8 or JSON nested too deep (`details` names fields)",
    401: "Missing Authorization header (API Gateway) or an expired token (`token_expired`)",
    403: "The authorizer denied the token (bad signature, issuer, audience...): API Gateway's own answer",
    404: "No such course or lesson for this caller (another user's course is a 404 too)",
    409: "The course or lesson is not in a state that allows this (e.g. retry of a course that did not fail, "
    "a question about a lesson not written yet: `lesson_not_ready`), "
    "or a request with this Idempotency-Key is still in progress",
    413: f"The body is larger than {MAX_BODY_BYTES} bytes",
    415: "The body is not application/json (UTF-8)",
    422: "This Idempotency-Key was used with a different body (`idempotency_key_reused`)",
    429: "A per-user limit (`rate_limited`: requests a minute, courses or questions an hour...) or the daily "
    "token budget (`daily_budget_exhausted`, with `resetsAt`)",
    503: "MongoDB (or, with an Idempotency-Key, Redis) is unavailable: retry after Retry-After",
}
_HEADER_DOCS = {
    "Retry-After": "Seconds to wait before trying again",
    "RateLimit-Policy": "The caller's quota policies (IETF draft-ietf-httpapi-ratelimit-headers)",
    "RateLimit": "What is left of each policy and when it resets (IETF draft)",
}
_AUTHED = (400, 401, 403, 429, 503)


def _headers(*names: str) -> dict[str, Any]:
    return {name: {"description": _HEADER_DOCS[name], "schema": {"type": "string"}} for name in names}


def _contract(status: int, model: type[Model] | None, *errors: int, retry_after: bool = False) -> dict[int, Any]:
    success: dict[str, Any] = {
        "description": HTTPStatus(status).phrase,
        "headers": _headers(*(("Retry-After",) if retry_after else ()), "RateLimit-Policy", "RateLimit"),
        "content": {"application/json": {"model": model}} if model else {},
    }
    responses: dict[int, Any] = {status: success}
    for code in sorted(set(_AUTHED + errors)):
        names = ("Retry-After", "RateLimit-Policy", "RateLimit") if code in (409, 429, 503) else ()
        responses[code] = {
            "description": _ERRORS[code],
            "headers": _headers(*names),
            "content": {"application/json": {"model": ErrorResponse}},
        }
    return responses


def _extra(responses: dict[int, Any], status: int, model: type[Model], *, retry_after: bool = False) -> dict[int, Any]:
    responses[status] = {
        "description": HTTPStatus(status).phrase,
        "headers": _headers(*(("Retry-After",) if retry_after else ()), "RateLimit-Policy", "RateLimit"),
        "content": {"application/json": {"model": model}},
    }
    return responses


CourseId = Annotated[str, Path(pattern=COURSE_ID_PATTERN, description="32 lowercase hex characters")]
LessonId = Annotated[str, Path(pattern=LESSON_ID_PATTERN, description="`mNN-lNN`: module and lesson position")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=128,
        description="Makes a retried create return the course the first request made (for its TTL)",
    ),
]

# ---- routes ---------------------------------------------------------------------------


@app.post(
    "/courses",
    summary="Create a course and queue its outline",
    responses=_contract(202, CourseView, 409, 413, 415, 422, retry_after=False),
)
def create_course(body: CreateCourseRequest, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    command = IdempotentCreate(owner_id=_caller(), idempotency_key=idempotency_key or "", request=body, tier=_tier())
    if idempotency_key:
        create, config = wiring.idempotent_create(SETTINGS)
        config.register_lambda_context(app.lambda_context)
        return _json(202, service().still_there(command.owner_id, create(command=command)))
    return _json(202, _create(command))


@app.get("/courses", summary="The caller's courses, newest first", responses=_contract(200, CoursePage))
def list_courses(
    cursor: Annotated[str | None, Query(max_length=200, description="`nextCursor` of the previous page")] = None,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
) -> Response[Any]:
    return _json(200, service().list_courses(_caller(), cursor, limit))


@app.get(
    "/courses/<course_id>",
    summary="A course and its lessons' status; while its outline is written, what is written so far and Retry-After",
    responses=_contract(200, CourseDetail, 404, retry_after=True),
)
def get_course(course_id: CourseId) -> Response[Any]:
    course = service().get_course(_caller(), course_id, utcnow())
    return _json(200, course, {"Retry-After": str(course.retry_after)} if course.retry_after else None)


@app.delete("/courses/<course_id>", summary="Delete a course and its lessons", responses=_contract(204, None, 404))
def delete_course(course_id: CourseId) -> Response[Any]:
    service().delete_course(_caller(), course_id)
    progress().forget_course(_caller(), course_id)
    questions().forget_course(_caller(), course_id)
    return _json(204, None)


@app.patch(
    "/courses/<course_id>/outline",
    summary="Rename, add, remove and reorder lessons and modules in one edit guarded by the course's version",
    responses=_contract(200, CourseDetail, 404, 409, 413, 415),
)
def edit_outline(course_id: CourseId, body: EditOutlineRequest) -> Response[Any]:
    detail, removed = service().edit_outline(_caller(), course_id, body, utcnow())
    progress().forget_lessons(_caller(), course_id, removed)  # so no count includes a removed lesson
    questions().forget_lessons(_caller(), course_id, removed)
    return _json(200, detail)


@app.post(
    "/courses/<course_id>/retry", summary="Re-queue a FAILED course", responses=_contract(202, CourseView, 404, 409)
)
def retry_course(course_id: CourseId) -> Response[Any]:
    return _json(202, service().retry_course(_caller(), course_id, utcnow()))


@app.get(
    "/courses/<course_id>/lessons/<lesson_id>",
    summary="A lesson; 202 with Retry-After while it is written (opening it promotes it)",
    responses=_extra(_contract(200, LessonView, 404), 202, LessonView, retry_after=True),
)
def open_lesson(course_id: CourseId, lesson_id: LessonId) -> Response[Any]:
    lesson = service().open_lesson(_caller(), course_id, lesson_id, utcnow())
    if lesson.retry_after is None:
        return _json(200, lesson)
    return _json(202, lesson, {"Retry-After": str(lesson.retry_after)})


@app.post(
    "/courses/<course_id>/lessons/<lesson_id>/retry",
    summary="Re-queue a FAILED lesson at high priority",
    responses=_contract(202, LessonView, 404, 409, retry_after=True),
)
def retry_lesson(course_id: CourseId, lesson_id: LessonId) -> Response[Any]:
    lesson = service().retry_lesson(_caller(), course_id, lesson_id, utcnow())
    return _json(202, lesson, {"Retry-After": str(lesson.retry_after or 1)})


def _markdown_contract() -> dict[int, Any]:
    responses = _contract(200, None, 404)
    responses[200]["description"] = "The course as one Markdown file (UTF-8), as an attachment"
    responses[200]["content"] = {"text/markdown": {"schema": {"type": "string"}}}
    responses[200]["headers"]["Content-Disposition"] = {
        "description": 'attachment; filename="<course-title>.md"',
        "schema": {"type": "string"},
    }
    return responses


@app.get(
    "/courses/<course_id>/export.md",
    summary="The course as Markdown: modules and lessons in order, quiz answers at the end",
    responses=_markdown_contract(),
)
def export_course(course_id: CourseId) -> Response[Any]:
    filename, markdown = service().export_course(_caller(), course_id)
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}
    return Response(200, "text/markdown; charset=utf-8", markdown, headers)


@app.post(
    "/courses/<course_id>/lessons/<lesson_id>/regenerate",
    summary="Write a written lesson again with an instruction, at high priority; the current version is kept",
    responses=_contract(202, LessonView, 404, 409, 413, 415, retry_after=True),
)
def regenerate_lesson(course_id: CourseId, lesson_id: LessonId, body: RegenerateLessonRequest) -> Response[Any]:
    lesson = service().regenerate_lesson(_caller(), course_id, lesson_id, body, utcnow())
    return _json(202, lesson, {"Retry-After": str(lesson.retry_after or 1)})


@app.put(
    "/courses/<course_id>/lessons/<lesson_id>/version",
    summary="Switch a lesson back to one of its earlier versions (the one it leaves is kept)",
    responses=_contract(200, LessonView, 404, 409, 413, 415),
)
def select_lesson_version(course_id: CourseId, lesson_id: LessonId, body: SelectVersionRequest) -> Response[Any]:
    return _json(200, service().select_version(_caller(), course_id, lesson_id, body, utcnow()))


# ---- questions about a lesson: a per-user thread beside the content (issue 13) --------------


@app.post(
    "/courses/<course_id>/lessons/<lesson_id>/questions",
    summary="Ask about a written lesson: queued at high priority, answered from its content (poll the thread)",
    responses=_contract(202, QuestionView, 404, 409, 413, 415, retry_after=True),
)
def ask_question(course_id: CourseId, lesson_id: LessonId, body: AskQuestionRequest) -> Response[Any]:
    asked = questions().ask(_caller(), course_id, lesson_id, body, utcnow(), tier=_tier())
    return _json(202, asked, {"Retry-After": str(SETTINGS.poll_seconds + 1)})


@app.get(
    "/courses/<course_id>/lessons/<lesson_id>/questions",
    summary="The caller's questions on a lesson, oldest first; Retry-After while one is queued or answered",
    responses=_contract(200, QuestionThread, 404, retry_after=True),
)
def list_questions(course_id: CourseId, lesson_id: LessonId) -> Response[Any]:
    thread = questions().thread(_caller(), course_id, lesson_id, utcnow())
    headers = {"Retry-After": str(thread.retry_after)} if thread.retry_after else None
    return _json(200, thread, headers)


# ---- progress: beside the content, keyed by stable lesson ids (design invariant 8) ----------


@app.put(
    "/courses/<course_id>/lessons/<lesson_id>/progress",
    summary="Record a lesson opened, completed (or not) and a quiz's answers (graded here); idempotent",
    responses=_contract(200, LessonProgress, 404, 409, 413, 415),
)
def put_lesson_progress(course_id: CourseId, lesson_id: LessonId, body: ProgressUpdate) -> Response[Any]:
    return _json(200, progress().update_lesson(_caller(), course_id, lesson_id, body, utcnow()))


@app.get(
    "/courses/<course_id>/progress",
    summary="The caller's progress through a course: percent, next lesson, quiz results",
    responses=_contract(200, CourseProgress, 404),
)
def get_course_progress(course_id: CourseId) -> Response[Any]:
    return _json(200, progress().course(_caller(), course_id))


@app.get(
    "/progress",
    summary="Lessons completed per course, for the course list",
    responses=_contract(200, ProgressOverview),
)
def get_progress_overview() -> Response[Any]:
    return _json(200, progress().overview(_caller()))


# ---- the document and its UI (no authorizer) ----------------------------------------------


def _configure_openapi() -> None:
    """Powertools' OpenAPI models cost about 100 ms of pydantic class building at import: they
    load when the document is first asked for, not on every cold start (bench/cold_start.py)."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    app.configure_openapi(
        title="FlowGen API",
        version="1.0.0",
        description=(
            'AI-generated courses. Every error is `{"error": {"code", "message"}}`. Limits per user: '
            "RateLimit-Policy and RateLimit headers (IETF draft), 429 with Retry-After. "
            f"Bodies: application/json only (415), at most {MAX_BODY_BYTES} bytes (413), "
            f"nested at most {MAX_JSON_DEPTH} levels, valid UTF-8 (400)."
        ),
        security_schemes={"bearer": HTTPBearer(bearerFormat="JWT", description="An Auth0 access token (RS256)")},
        security=[{"bearer": []}],
    )


@cache
def openapi_document() -> dict[str, Any]:
    """Powertools' document, made true: its automatic 422 (pydantic's error list, never sent:
    validation errors are our 400) is dropped, and the public routes need no token."""
    _configure_openapi()
    doc: dict[str, Any] = json.loads(app.get_openapi_json_schema())
    for path, operations in doc["paths"].items():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.get("422", {}).get("description") == "Validation Error":
                del responses["422"]
            if path in PUBLIC_PATHS:
                operation["security"] = []
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        doc.get("components", {}).get("schemas", {}).pop(name, None)
    # the public routes answer 200 and nothing else a client can cause
    doc["paths"]["/openapi.json"]["get"]["responses"] = {
        "200": {"description": "This document", "content": {"application/json": {"schema": {"type": "object"}}}}
    }
    schemas = doc["components"]["schemas"]
    # API Gateway answers some statuses itself, in its own shape: 401 without an Authorization
    # header, 403 when the authorizer denies, 429 from the stage throttle, 413 above 10 MB.
    schemas["GatewayError"] = {
        "title": "GatewayError",
        "type": "object",
        "properties": {"message": {"type": "string"}},
        "required": ["message"],
        "description": 'API Gateway\'s own answer (no route was run): `{"message": "Unauthorized"}`',
    }
    gateway, ours = {"$ref": "#/components/schemas/GatewayError"}, {"$ref": "#/components/schemas/ErrorResponse"}
    for operations in doc["paths"].values():
        for operation in operations.values():
            for status, shape in (
                ("401", {"anyOf": [ours, gateway]}),
                ("403", gateway),
                ("413", {"anyOf": [ours, gateway]}),
                ("429", {"anyOf": [ours, gateway]}),
            ):
                if status in operation["responses"]:
                    operation["responses"][status]["content"]["application/json"]["schema"] = shape
    _text_patterns(schemas)
    # the 422 of POST /courses is ours (an Idempotency-Key reused with another body)
    doc["paths"]["/courses"]["post"]["responses"]["422"] = {
        "description": _ERRORS[422],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
    }
    return doc


def _text_patterns(schemas: dict[str, Any]) -> None:
    """The text rules pydantic checks in code, as patterns a fuzzer can generate from: the
    prompt's 3 visible characters, an instruction's and a title's one, a language's letters."""
    schemas["CreateCourseRequest"]["properties"]["prompt"]["pattern"] = visible_prompt_pattern()
    for option in schemas["CreateCourseRequest"]["properties"]["language"].get("anyOf", []):
        if option.get("type") == "string":
            option["pattern"] = language_pattern()
    for schema, field in (
        ("RegenerateLessonRequest", "instruction"),
        ("AskQuestionRequest", "question"),
        ("OutlineLessonEdit", "title"),
        ("OutlineModuleEdit", "title"),
    ):
        schemas[schema]["properties"][field]["pattern"] = visible_prompt_pattern(1)


@app.get("/openapi.json", summary="This API's OpenAPI 3.1 document")
def get_openapi() -> Response[Any]:
    return Response(
        200, content_types.APPLICATION_JSON, json.dumps(openapi_document()), {"Cache-Control": "max-age=300"}
    )


_SWAGGER_ASSETS = FilePath(powertools_event_handler.__file__).parent / "openapi" / "swagger_ui"


@app.get("/swagger", include_in_schema=False)
def swagger() -> Response[Any]:
    """Swagger UI over this document, its JS and CSS inlined from the Powertools package (no CDN)."""
    spec = json.dumps(openapi_document()).replace("</", "<\\/")
    js = (_SWAGGER_ASSETS / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    css = (_SWAGGER_ASSETS / "swagger-ui.min.css").read_text(encoding="utf-8")
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

    return Response(200, "text/html; charset=utf-8", generate_swagger_html(spec, js, css, "", None, True))


# ---- errors: one mapping, no try/except in routes --------------------------------------


def handles[E: Exception](
    kind: type[E],
) -> Callable[[Callable[[E], Response[Any]]], Callable[[E], Response[Any]]]:
    """`app.exception_handler`, typed (`app.not_found` is this for NotFoundError)."""
    return cast(Callable[[Callable[[E], Response[Any]]], Callable[[E], Response[Any]]], app.exception_handler(kind))


@handles(DependencyUnavailable)
def _unavailable(exc: DependencyUnavailable) -> Response[Any]:
    logger.warning("dependency unavailable", extra={"dependency": exc.dependency})
    return _error(503, exc.code, exc.message, {"Retry-After": str(exc.retry_after)})


@handles(TokenExpired)
def _token_expired(exc: TokenExpired) -> Response[Any]:
    challenge = 'Bearer error="invalid_token", error_description="The access token expired"'
    return _error(401, exc.code, exc.message, {"WWW-Authenticate": challenge})


@handles(RateLimited)
def _rate_limited(exc: RateLimited) -> Response[Any]:
    metrics.add_metric(name="UserLimited", unit=MetricUnit.Count, value=1)
    extra: dict[str, Any] = {}
    if exc.code == "daily_budget_exhausted":
        resets = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=exc.retry_after)
        extra["resetsAt"] = resets.isoformat().replace("+00:00", "Z")
    return _error(429, exc.code, exc.message, exc.headers, **extra)


@handles(FlowgenError)
def _domain_error(exc: FlowgenError) -> Response[Any]:
    retry_after = getattr(exc, "retry_after", None)
    return _error(exc.status, exc.code, exc.message, {"Retry-After": str(retry_after)} if retry_after else None)


_ID_ERRORS = {"course_id": "invalid_course_id", "lesson_id": "invalid_lesson_id"}


@handles(RequestValidationError)
def _invalid(exc: RequestValidationError) -> Response[Any]:
    errors = exc.errors()
    locations = [tuple(e.get("loc", ())) for e in errors]
    for name, code in _ID_ERRORS.items():  # an id that does not match its pattern names the id
        if ("path", name) in locations:
            return _error(400, code, f"{name.replace('_', ' ')} has the wrong shape")
    details = [
        {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "problem": e.get("msg", "")}
        for e in errors
    ]
    return _error(400, "invalid_request", "the request is not valid", details=details)


@handles(RequestUnsupportedContentType)
def _unsupported_media_type(exc: RequestUnsupportedContentType) -> Response[Any]:
    return _error(415, "unsupported_media_type", "send the body as application/json")


@cache
def _route_patterns() -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """Each documented path and the methods it answers, for 405 and its Allow header."""
    patterns = []
    for path, operations in openapi_document()["paths"].items():
        regex = re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)) + "$")
        patterns.append((regex, frozenset(method.upper() for method in operations)))
    patterns.append((re.compile("^/swagger$"), frozenset({"GET"})))
    return patterns


@handles(NotFoundError)
def _no_route(exc: NotFoundError) -> Response[Any]:
    """API Gateway's `$default` route sends every unmatched request here: 405 with Allow when the
    path exists with other methods, else 404, both in the error envelope."""
    event = app.current_event
    method, path = event.http_method.upper(), event.path
    allowed = set().union(*(methods for regex, methods in _route_patterns() if regex.match(path)))
    if allowed:
        allow = ", ".join(sorted(allowed))
        return _error(405, "method_not_allowed", f"{method} is not allowed on {path}; use {allow}", {"Allow": allow})
    return _error(404, "route_not_found", f"no route {method} {path}")


@handles(Exception)
def _unexpected(exc: Exception) -> Response[Any]:
    logger.exception("unhandled error")
    return _error(500, "internal_error", "something went wrong on our side; nothing you sent was lost")


# No Powertools Tracer here: it loads the X-Ray SDK at init (flowgen.observability); Lambda's
# active tracing still records every invocation.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
