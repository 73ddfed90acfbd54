"""A learner's sources (issue 24), included by app.py: register an upload (201 with a presigned
S3 POST for exactly that file), list, show and delete the caller's own. Another user's source is
a 404. Parse -> one domain call (flowgen.library.SourceService) -> response."""

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
from flowgen.library import SOURCE_ID_PATTERN, CreateSourceRequest, SourceList, SourceService, SourceUpload, SourceView
from flowgen.settings import ApiSettings

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # Powertools leaves it untyped
SETTINGS = wiring.settings(ApiSettings)

SourceId = Annotated[str, Path(pattern=SOURCE_ID_PATTERN, description="32 lowercase hex characters")]


def library() -> SourceService:
    return wiring.source_service(SETTINGS)


@router.post(
    "/sources",
    summary="Register a source (PDF, Markdown or plain text): 201 with a presigned S3 POST for exactly this file",
    responses=contract(201, SourceUpload, 409, 413, 415),
)
def create_source(body: CreateSourceRequest) -> Response[Any]:
    return json_response(201, library().register(caller(router), body, utcnow()))


@router.get(
    "/sources", summary="The caller's sources, newest first, and their storage", responses=contract(200, SourceList)
)
def list_sources() -> Response[Any]:
    return json_response(200, library().list(caller(router)))


@router.get(
    "/sources/<source_id>",
    summary="A source's status: UPLOADING, INGESTING, READY (pages, chunks) or FAILED (a reason)",
    responses=contract(200, SourceView, 404, retry_after=True),
)
def get_source(source_id: SourceId) -> Response[Any]:
    source = library().get(caller(router), source_id)
    return json_response(200, source, {"Retry-After": str(source.retry_after)} if source.retry_after else None)


@router.delete(
    "/sources/<source_id>", summary="Delete a source: its file and its passages", responses=contract(204, None, 404)
)
def delete_source(source_id: SourceId) -> Response[Any]:
    library().delete(caller(router), source_id)
    return json_response(204, None)
