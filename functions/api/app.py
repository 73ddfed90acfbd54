"""HTTP API: parse -> one domain call -> response. The routes, and nothing else: what runs before
them is in api_guards (body guards, the caller, per-user limits), errors map to HTTP in
api_errors, and what each route may answer, with the OpenAPI document, is in api_contract.
"""

import json
from functools import cache
from pathlib import Path as FilePath
from typing import Annotated, Any

import aws_lambda_powertools.event_handler as powertools_event_handler
from api_contract import PUBLIC_PATHS, also, contract, document, markdown_contract, swagger_policy
from api_errors import register_error_handlers
from api_guards import caller, common_headers, refuse_bad_body, tier, user_limits
from api_responses import json_response
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from routes_progress import router as progress_router
from routes_reviews import router as reviews_router
from routes_search import router as search_router
from routes_share import PUBLIC_ROUTE_KEYS as SHARED_PUBLIC_ROUTES
from routes_share import router as share_router
from routes_sources import router as sources_router

from flowgen import wiring
from flowgen.adapters.deadlines import invocation_deadline
from flowgen.adapters.idempotency import IdempotentCreate
from flowgen.clock import utcnow
from flowgen.courses import CourseService
from flowgen.ids import COURSE_ID_PATTERN, LESSON_ID_PATTERN
from flowgen.observability import logger, metrics
from flowgen.questions import QuestionService
from flowgen.requests import (
    AskQuestionRequest,
    CreateCourseRequest,
    EditOutlineRequest,
    RegenerateLessonRequest,
    SelectVersionRequest,
)
from flowgen.settings import ApiSettings
from flowgen.views import (
    CourseDetail,
    CoursePage,
    CourseView,
    LessonVersionView,
    LessonView,
    QuestionThread,
    QuestionView,
)

app = APIGatewayHttpResolver(enable_validation=True)
SETTINGS = wiring.settings(ApiSettings)  # parsed at cold start; clients are built on first use
PUBLIC_ROUTES = frozenset(f"GET {path}" for path in PUBLIC_PATHS) | SHARED_PUBLIC_ROUTES  # no authorizer
ANSWER_RESERVE_SECONDS = 2.0
app.use([common_headers, user_limits(SETTINGS, PUBLIC_ROUTES)])
app.include_router(share_router)  # share links (issue 22): routes_share.py
app.include_router(sources_router)  # a learner's sources (issue 24): routes_sources.py
app.include_router(reviews_router)  # flashcards and spaced review (issue 23): routes_reviews.py
app.include_router(search_router)  # search in a course (issue 26): routes_search.py


def service() -> CourseService:
    return wiring.course_service(SETTINGS)


def questions() -> QuestionService:
    return wiring.question_service(SETTINGS)


CourseId = Annotated[str, Path(pattern=COURSE_ID_PATTERN, description="32 lowercase hex characters")]
LessonId = Annotated[str, Path(pattern=LESSON_ID_PATTERN, description="`mNN-lNN`: module and lesson position")]
VersionNumber = Annotated[str, Path(pattern=r"^[1-9][0-9]{0,8}$", description="A version's number, as `versions`")]
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
    responses=contract(202, CourseView, 404, 409, 413, 415, 422, retry_after=False),
)
def create_course(body: CreateCourseRequest, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    owner, plan = caller(app), tier(app, SETTINGS)
    command = IdempotentCreate(owner_id=owner, idempotency_key=idempotency_key or "", request=body, tier=plan)
    if idempotency_key:
        create, config = wiring.idempotent_create(SETTINGS)
        config.register_lambda_context(app.lambda_context)
        return json_response(202, service().still_there(command.owner_id, create(command=command)))
    return json_response(202, service().create_course(command.owner_id, body, utcnow(), tier=command.tier))


@app.get("/courses", summary="The caller's courses, newest first", responses=contract(200, CoursePage))
def list_courses(
    cursor: Annotated[str | None, Query(max_length=200, description="`nextCursor` of the previous page")] = None,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
) -> Response[Any]:
    return json_response(200, service().list_courses(caller(app), cursor, limit))


@app.get(
    "/courses/<course_id>",
    summary="A course and its lessons' status; while its outline is written, what is written so far and Retry-After",
    responses=contract(200, CourseDetail, 404, retry_after=True),
)
def get_course(course_id: CourseId) -> Response[Any]:
    course = service().get_course(caller(app), course_id, utcnow())
    return json_response(200, course, {"Retry-After": str(course.retry_after)} if course.retry_after else None)


@app.delete("/courses/<course_id>", summary="Delete a course and its lessons", responses=contract(204, None, 404))
def delete_course(course_id: CourseId) -> Response[Any]:
    service().delete_course(caller(app), course_id)
    return json_response(204, None)


@app.patch(
    "/courses/<course_id>/outline",
    summary="Rename, add, remove and reorder lessons and modules in one edit guarded by the course's version",
    responses=contract(200, CourseDetail, 404, 409, 413, 415),
)
def edit_outline(course_id: CourseId, body: EditOutlineRequest) -> Response[Any]:
    return json_response(200, service().edit_outline(caller(app), course_id, body, utcnow()))


@app.post(
    "/courses/<course_id>/retry", summary="Re-queue a FAILED course", responses=contract(202, CourseView, 404, 409)
)
def retry_course(course_id: CourseId) -> Response[Any]:
    return json_response(202, service().retry_course(caller(app), course_id, utcnow()))


@app.get(
    "/courses/<course_id>/lessons/<lesson_id>",
    summary="A lesson; 202 with Retry-After while it is written (opening it promotes it)",
    responses=also(contract(200, LessonView, 404), 202, LessonView, retry_after=True),
)
def open_lesson(course_id: CourseId, lesson_id: LessonId) -> Response[Any]:
    lesson = service().open_lesson(caller(app), course_id, lesson_id, utcnow())
    if lesson.retry_after is None:
        return json_response(200, lesson)
    return json_response(202, lesson, {"Retry-After": str(lesson.retry_after)})


@app.post(
    "/courses/<course_id>/lessons/<lesson_id>/retry",
    summary="Re-queue a FAILED lesson at high priority",
    responses=contract(202, LessonView, 404, 409, retry_after=True),
)
def retry_lesson(course_id: CourseId, lesson_id: LessonId) -> Response[Any]:
    lesson = service().retry_lesson(caller(app), course_id, lesson_id, utcnow())
    return json_response(202, lesson, {"Retry-After": str(lesson.retry_after or 1)})


@app.get(
    "/courses/<course_id>/export.md",
    summary="The course as Markdown: modules and lessons in order, quiz answers at the end",
    responses=markdown_contract(),
)
def export_course(course_id: CourseId) -> Response[Any]:
    filename, markdown = service().export_course(caller(app), course_id)
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}
    return Response(200, "text/markdown; charset=utf-8", markdown, headers)


@app.post(
    "/courses/<course_id>/lessons/<lesson_id>/regenerate",
    summary="Write a written lesson again with an instruction, at high priority; the current version is kept",
    responses=contract(202, LessonView, 404, 409, 413, 415, retry_after=True),
)
def regenerate_lesson(course_id: CourseId, lesson_id: LessonId, body: RegenerateLessonRequest) -> Response[Any]:
    lesson = service().regenerate_lesson(caller(app), course_id, lesson_id, body, utcnow())
    return json_response(202, lesson, {"Retry-After": str(lesson.retry_after or 1)})


@app.put(
    "/courses/<course_id>/lessons/<lesson_id>/version",
    summary="Switch a lesson back to one of its earlier versions (the one it leaves is kept)",
    responses=contract(200, LessonView, 404, 409, 413, 415),
)
def select_lesson_version(course_id: CourseId, lesson_id: LessonId, body: SelectVersionRequest) -> Response[Any]:
    return json_response(200, service().select_version(caller(app), course_id, lesson_id, body, utcnow()))


@app.get(
    "/courses/<course_id>/lessons/<lesson_id>/versions/<version>",
    summary="One version of a lesson as written: the current one or an earlier one it keeps (reads only)",
    responses=contract(200, LessonVersionView, 404),
)
def read_lesson_version(course_id: CourseId, lesson_id: LessonId, version: VersionNumber) -> Response[Any]:
    written = service().lesson_version(caller(app), course_id, lesson_id, int(version))
    return json_response(200, written, {"Cache-Control": "private, max-age=3600"})  # never changes once written


# ---- questions about a lesson: a per-user thread beside the content (issue 13) --------------


@app.post(
    "/courses/<course_id>/lessons/<lesson_id>/questions",
    summary="Ask about a written lesson: queued at high priority, answered from its content (poll the thread)",
    responses=contract(202, QuestionView, 404, 409, 413, 415, retry_after=True),
)
def ask_question(course_id: CourseId, lesson_id: LessonId, body: AskQuestionRequest) -> Response[Any]:
    asked = questions().ask(caller(app), course_id, lesson_id, body, utcnow(), tier=tier(app, SETTINGS))
    return json_response(202, asked, {"Retry-After": str(SETTINGS.poll_seconds + 1)})


@app.get(
    "/courses/<course_id>/lessons/<lesson_id>/questions",
    summary="The caller's questions on a lesson, oldest first; Retry-After while one is queued or answered",
    responses=contract(200, QuestionThread, 404, retry_after=True),
)
def list_questions(course_id: CourseId, lesson_id: LessonId) -> Response[Any]:
    thread = questions().thread(caller(app), course_id, lesson_id, utcnow())
    headers = {"Retry-After": str(thread.retry_after)} if thread.retry_after else None
    return json_response(200, thread, headers)


# progress (design invariant 8): routes_progress.py, included here to keep the document's order
app.include_router(progress_router)


# ---- the document and its UI (no authorizer) ----------------------------------------------


@cache
def openapi_document() -> dict[str, Any]:
    return document(app)


@app.get("/openapi.json", summary="This API's OpenAPI 3.1 document")
def get_openapi() -> Response[Any]:
    return Response(
        200, content_types.APPLICATION_JSON, json.dumps(openapi_document()), {"Cache-Control": "max-age=300"}
    )


_SWAGGER_ASSETS = FilePath(powertools_event_handler.__file__).parent / "openapi" / "swagger_ui"


@app.get("/swagger", include_in_schema=False)
def swagger() -> Response[Any]:
    """Swagger UI over this document, its JS and CSS inlined from the Powertools package (no CDN).
    A pasted token is not kept in the browser, and only the page's own scripts may run."""
    spec = json.dumps(openapi_document()).replace("</", "<\\/")
    js = (_SWAGGER_ASSETS / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    css = (_SWAGGER_ASSETS / "swagger-ui.min.css").read_text(encoding="utf-8")
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

    page = generate_swagger_html(spec, js, css, "", None, persist_authorization=False)
    headers = {"Content-Security-Policy": swagger_policy(page), "Cache-Control": "no-store"}
    return Response(200, "text/html; charset=utf-8", page, headers)


def _documented_routes() -> list[tuple[str, list[str]]]:
    routes = [(path, list(operations)) for path, operations in openapi_document()["paths"].items()]
    return [*routes, ("/swagger", ["get"])]


register_error_handlers(app, _documented_routes)


# No Powertools Tracer here: it loads the X-Ray SDK at init (flowgen.observability); Lambda's
# active tracing still records every invocation.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    refused = refuse_bad_body(event)
    if refused:
        return refused
    # what the clients may take: the invocation's time, less a reserve to answer (never a kill)
    with invocation_deadline(context.get_remaining_time_in_millis() / 1000 - ANSWER_RESERVE_SECONDS):
        return app.resolve(event, context)
