"""The spaced-review routes (issue 23), included by app.py: the caller's due cards, a review
(FSRS, idempotent per Idempotency-Key) and a course's cards as a CSV Anki imports. Parse -> one
domain call (flowgen.reviews) -> response, like every route; every card is the caller's own
(another learner's card is a 404)."""

from __future__ import annotations

from typing import Annotated, Any

from api_contract import contract
from api_errors import error_response
from api_guards import caller
from api_responses import json_response
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from flowgen import wiring
from flowgen.cards import CARD_ID_PATTERN, CardView, DueCards, ReviewRequest, view
from flowgen.clock import utcnow
from flowgen.ids import COURSE_ID_PATTERN
from flowgen.reviews import DUE_LIMIT_MAX, ReviewService
from flowgen.schema import Model
from flowgen.settings import ApiSettings
from flowgen.views import ErrorResponse

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # Powertools leaves it untyped
SETTINGS = wiring.settings(ApiSettings)  # the api's one settings object (cached)

CardId = Annotated[str, Path(pattern=CARD_ID_PATTERN, description="24 lowercase hex characters")]
CourseId = Annotated[str, Path(pattern=COURSE_ID_PATTERN, description="32 lowercase hex characters")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=128,
        description="Makes a retried review answer what the first one did instead of reviewing twice",
    ),
]


def reviews() -> ReviewService:
    return wiring.review_service(SETTINGS)


def _json(status: int, model: Model) -> Response[Any]:
    return json_response(status, model, {"Cache-Control": "no-store"})  # due lists change with every review


def csv_contract() -> dict[int, Any]:
    responses = contract(200, None, 404)
    responses[200]["description"] = (
        "The course's live cards as CSV (UTF-8) with Anki's file headers: front, back, tags (space-separated)"
    )
    responses[200]["content"] = {"text/csv": {"schema": {"type": "string"}}}
    responses[200]["headers"]["Content-Disposition"] = {
        "description": 'attachment; filename="flowgen-cards-<course-id>.csv"',
        "schema": {"type": "string"},
    }
    return responses


@router.get(
    "/reviews/due",
    summary="The caller's due flashcards, oldest due first, and how many are due in all (one course with courseId)",
    responses=contract(200, DueCards, 404),
)
def due_cards(
    limit: Annotated[int, Query(ge=1, le=DUE_LIMIT_MAX, description="At most this many cards")] = 20,
    course_id: Annotated[
        str | None, Query(alias="courseId", pattern=COURSE_ID_PATTERN, description="Only this course's cards")
    ] = None,
) -> Response[Any]:
    return _json(200, reviews().due(caller(router), utcnow(), limit, course_id))


@router.post("/reviews/due", include_in_schema=False)
def post_due_cards() -> Response[Any]:
    """`POST /reviews/due` reaches API Gateway's `POST /reviews/{cardId}` route (`due` is not a
    card id): the method is what is wrong, so the answer is the 405 any other method gets."""
    message = "POST is not allowed on /reviews/due; use GET"
    return error_response(405, "method_not_allowed", message, {"Allow": "GET"})


def review_contract() -> dict[int, Any]:
    responses = contract(200, CardView, 404, 409, 413, 415, 422)
    responses[405] = {
        "description": "`POST /reviews/due`: `due` is not a card (`method_not_allowed`, `Allow: GET`)",
        "headers": {"Allow": {"description": "GET", "schema": {"type": "string"}}},
        "content": {"application/json": {"model": ErrorResponse}},
    }
    return responses


@router.post(
    "/reviews/<card_id>",
    summary="Review a flashcard (again, hard, good or easy): answers the card with its next due time (FSRS)",
    responses=review_contract(),
)
def review_card(card_id: CardId, body: ReviewRequest, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    card = reviews().review(caller(router), card_id, body.rating, utcnow(), idempotency_key)
    return _json(200, view(card))


@router.get(
    "/courses/<course_id>/cards.csv",
    summary="A course's flashcards as a CSV Anki imports (front, back, tags)",
    responses=csv_contract(),
)
def export_cards(course_id: CourseId) -> Response[Any]:
    text = reviews().export_csv(caller(router), course_id, utcnow())
    headers = {
        "Content-Disposition": f'attachment; filename="flowgen-cards-{course_id}.csv"',
        "Cache-Control": "no-store",
    }
    return Response(200, "text/csv; charset=utf-8", text, headers)
