"""The share-link routes (issue 22), included by app.py: the owner shares and stops sharing; anyone
with a link reads the course, its lessons and checks a quiz without signing in (no authorizer in
template.yaml, limited per source address); a signed-in reader forks it. Parse -> one domain call
(flowgen.sharing) -> response, like every route."""

from __future__ import annotations

from typing import Annotated, Any

from api_contract import contract
from api_guards import caller, tier
from api_responses import json_response
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.params import Header, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from flowgen import wiring
from flowgen.clock import utcnow
from flowgen.errors import RateLimited
from flowgen.ids import COURSE_ID_PATTERN, LESSON_ID_PATTERN
from flowgen.requests import QuizAnswers
from flowgen.schema import Model
from flowgen.settings import ApiSettings
from flowgen.sharing import TOKEN_PATTERN, ShareService
from flowgen.views import CourseView, QuizGrade, SharedCourseView, SharedLessonView, ShareView

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # Powertools leaves it untyped
SETTINGS = wiring.settings(ApiSettings)  # the api's one settings object (cached)

# The routes without an authorizer, as API Gateway names them (template.yaml: Auth NONE): the
# per-user limits skip them, the per-address limit holds them.
PUBLIC_ROUTE_KEYS = frozenset(
    {
        "GET /shared/{token}",
        "GET /shared/{token}/lessons/{lessonId}",
        "POST /shared/{token}/lessons/{lessonId}/quiz",
    }
)
PUBLIC = {"x-flowgen-public": True}  # api_contract.document: no bearer token needed
# A revoked link must stop working at once: no cache may keep what it showed.
_NO_STORE = {"Cache-Control": "no-store"}

CourseId = Annotated[str, Path(pattern=COURSE_ID_PATTERN, description="32 lowercase hex characters")]
LessonId = Annotated[str, Path(pattern=LESSON_ID_PATTERN, description="`mNN-lNN`: module and lesson position")]
Token = Annotated[str, Path(pattern=TOKEN_PATTERN, description="A share link's token: 43 base64url characters")]
IdempotencyKey = Annotated[
    str | None,
    Header(min_length=1, max_length=128, description="Makes a retried fork return the course the first one made"),
]


def sharing() -> ShareService:
    return wiring.share_service(SETTINGS)


def limit_by_address(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """The per-source-address window of the routes that need no sign-in (one Redis round trip;
    Redis down: allowed, API Gateway's route throttle still holds). Every answer, 404s included,
    counts: guessing tokens costs the window like reading."""
    address = app.current_event.request_context.http.source_ip or "unknown"
    decision = wiring.address_limits(SETTINGS).check(address)
    if not decision.allowed:
        headers = {**decision.headers, "Retry-After": str(decision.retry_after)}
        raise RateLimited(decision.message, retry_after=decision.retry_after, headers=headers)
    response = next_middleware(app)
    response.headers.update({**decision.headers, **_NO_STORE})
    return response


def public(status: int, model: type[Model], *errors: int) -> dict[int, Any]:
    """A public route's responses: no 401 or 403 (no authorizer), the 404 of a dead link."""
    responses = contract(status, model, 404, *errors)
    for gone in (401, 403):
        responses.pop(gone)
    responses[404]["description"] = (
        "No share at this link (unknown, revoked or its course deleted: one answer, `share_not_found`), "
        "or no such lesson in the shared course (`lesson_not_found`)"
    )
    responses[429]["description"] = (
        "Too many requests from this address (`rate_limited`, per-address window), or API Gateway's route throttle"
    )
    return responses


# ---- the owner's side ---------------------------------------------------------------------------


@router.post(
    "/courses/<course_id>/share",
    summary="Share a course by link: 201 with its one live link (asking again answers the same link)",
    responses=contract(201, ShareView, 404, 409),
)
def share_course(course_id: CourseId) -> Response[Any]:
    link, _made_now = sharing().share(caller(router), course_id, utcnow())
    return json_response(201, link)  # the same answer made now or again: one live link per course (issue 22)


@router.delete(
    "/courses/<course_id>/share",
    summary="Stop sharing a course: its link stops working at once",
    responses=contract(204, None, 404),
)
def stop_sharing(course_id: CourseId) -> Response[Any]:
    sharing().revoke(caller(router), course_id)
    return json_response(204, None)


# ---- without signing in (no authorizer; limited per source address) -----------------------------


@router.get(
    "/shared/<token>",
    summary="A shared course, as anyone with its link sees it (no sign-in)",
    responses=public(200, SharedCourseView),
    middlewares=[limit_by_address],
    openapi_extensions=PUBLIC,
)
def shared_course(token: Token) -> Response[Any]:
    return json_response(200, sharing().shared_course(token))


@router.get(
    "/shared/<token>/lessons/<lesson_id>",
    summary="A lesson of a shared course: written, or said not to be (reading never starts its writing)",
    responses=public(200, SharedLessonView),
    middlewares=[limit_by_address],
    openapi_extensions=PUBLIC,
)
def shared_lesson(token: Token, lesson_id: LessonId) -> Response[Any]:
    return json_response(200, sharing().shared_lesson(token, lesson_id))


@router.post(
    "/shared/<token>/lessons/<lesson_id>/quiz",
    summary="Check answers to a shared lesson's quiz (no sign-in): graded, nothing recorded",
    responses=public(200, QuizGrade, 409, 413, 415),
    middlewares=[limit_by_address],
    openapi_extensions=PUBLIC,
)
def check_shared_quiz(token: Token, lesson_id: LessonId, body: QuizAnswers) -> Response[Any]:
    return json_response(200, sharing().grade_quiz(token, lesson_id, body, utcnow()))


# ---- making it one's own (signed in) ------------------------------------------------------------


@router.post(
    "/shared/<token>/fork",
    summary="Make a shared course your own: a copy with its written lessons, the rest written as you open them",
    responses=contract(202, CourseView, 404, 409, 422),
)
def fork_course(token: Token, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    course = sharing().fork(
        caller(router), token, utcnow(), idempotency_key=idempotency_key, tier=tier(router, SETTINGS)
    )
    return json_response(202, course)
