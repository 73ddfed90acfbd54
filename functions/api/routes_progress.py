"""The progress routes, included by app.py: a lesson's progress recorded, a course's progress and
the overview for the course list. Progress lives beside the content, keyed by stable lesson ids
(design invariant 8). Parse -> one domain call (flowgen.progress) -> response, like every route;
another learner's course is a 404."""

from __future__ import annotations

from typing import Annotated, Any

from api_contract import contract
from api_guards import caller
from api_responses import json_response
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from flowgen import wiring
from flowgen.clock import utcnow
from flowgen.ids import COURSE_ID_PATTERN, LESSON_ID_PATTERN
from flowgen.progress import ProgressService
from flowgen.requests import ProgressUpdate
from flowgen.settings import ApiSettings
from flowgen.views import CourseProgress, LessonProgress, ProgressOverview

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # Powertools leaves it untyped
SETTINGS = wiring.settings(ApiSettings)  # the api's one settings object (cached)

CourseId = Annotated[str, Path(pattern=COURSE_ID_PATTERN, description="32 lowercase hex characters")]
LessonId = Annotated[str, Path(pattern=LESSON_ID_PATTERN, description="`mNN-lNN`: module and lesson position")]


def progress() -> ProgressService:
    return wiring.progress_service(SETTINGS)


@router.put(
    "/courses/<course_id>/lessons/<lesson_id>/progress",
    summary="Record a lesson opened, completed (or not) and a quiz's answers (graded here); idempotent",
    responses=contract(200, LessonProgress, 404, 409, 413, 415),
)
def put_lesson_progress(course_id: CourseId, lesson_id: LessonId, body: ProgressUpdate) -> Response[Any]:
    return json_response(200, progress().update_lesson(caller(router), course_id, lesson_id, body, utcnow()))


@router.get(
    "/courses/<course_id>/progress",
    summary="The caller's progress through a course: percent, next lesson, quiz results, flashcard mastery",
    responses=contract(200, CourseProgress, 404),
)
def get_course_progress(course_id: CourseId) -> Response[Any]:
    return json_response(200, progress().course(caller(router), course_id, utcnow()))


@router.get(
    "/progress",
    summary="Lessons completed per course, for the course list",
    responses=contract(200, ProgressOverview),
)
def get_progress_overview() -> Response[Any]:
    return json_response(200, progress().overview(caller(router)))
