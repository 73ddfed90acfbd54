"""Search in a course (issue 26), included by app.py: the caller's written lessons that mention a
word, best first, with a plain-text snippet and the mentions' offsets in it. Parse -> one domain
call (flowgen.course_search.CourseSearch) -> response; another user's course is a 404."""

from __future__ import annotations

from typing import Annotated, Any

from api_contract import contract
from api_guards import caller
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from flowgen import wiring
from flowgen.course_search import QUERY_MAX_CHARS, CourseSearch, CourseSearchResults
from flowgen.ids import COURSE_ID_PATTERN
from flowgen.settings import ApiSettings

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # Powertools leaves it untyped
SETTINGS = wiring.settings(ApiSettings)  # the api's one settings object (cached)

CourseId = Annotated[str, Path(pattern=COURSE_ID_PATTERN, description="32 lowercase hex characters")]
SearchQuery = Annotated[
    str,
    Query(
        min_length=1,
        max_length=QUERY_MAX_CHARS,
        pattern=r"\S",  # not blank (the domain trims it, and refuses what trims to nothing)
        description="The words to find (a lesson mentions one of them, inflections included)",
    ),
]


def course_search() -> CourseSearch:
    return CourseSearch(wiring.store(SETTINGS))


@router.get(
    "/courses/<course_id>/search",
    summary="The course's written lessons that mention a word, best first (at most 20), each with a snippet",
    responses=contract(200, CourseSearchResults, 404),
)
def search_course(course_id: CourseId, q: SearchQuery) -> Response[Any]:
    found = course_search().search(caller(router), course_id, q)
    body = found.model_dump_json(by_alias=True)
    headers = {"Cache-Control": "no-store"}  # a rewrite changes what is found
    return Response(200, content_types.APPLICATION_JSON, body, headers)
