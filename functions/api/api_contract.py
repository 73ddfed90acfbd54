"""The API's contract: what each route may answer (`contract`), and the OpenAPI document built
from the routes and made true (`document`). A test fails when a route answers a status its
entry here does not list (docs/api.md)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from flowgen.http_input import MAX_BODY_BYTES, MAX_JSON_DEPTH
from flowgen.schema import Model
from flowgen.text_rules import language_pattern, visible_prompt_pattern
from flowgen.views import ErrorResponse

PUBLIC_PATHS = frozenset({"/openapi.json", "/swagger"})  # no authorizer in template.yaml

ERRORS: dict[int, str] = {
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


def _success(status: int, model: type[Model] | None, *, retry_after: bool) -> dict[str, Any]:
    return {
        "description": HTTPStatus(status).phrase,
        "headers": _headers(*(("Retry-After",) if retry_after else ()), "RateLimit-Policy", "RateLimit"),
        "content": {"application/json": {"model": model}} if model else {},
    }


def contract(status: int, model: type[Model] | None, *errors: int, retry_after: bool = False) -> dict[int, Any]:
    """A route's responses: its success, the errors every authorized route may answer, and `errors`."""
    responses: dict[int, Any] = {status: _success(status, model, retry_after=retry_after)}
    for code in sorted(set(_AUTHED + errors)):
        names = ("Retry-After", "RateLimit-Policy", "RateLimit") if code in (409, 429, 503) else ()
        responses[code] = {
            "description": ERRORS[code],
            "headers": _headers(*names),
            "content": {"application/json": {"model": ErrorResponse}},
        }
    return responses


def also(responses: dict[int, Any], status: int, model: type[Model], *, retry_after: bool = False) -> dict[int, Any]:
    """A second success status (a lesson: 200 written, 202 not yet)."""
    responses[status] = _success(status, model, retry_after=retry_after)
    return responses


def markdown_contract() -> dict[int, Any]:
    responses = contract(200, None, 404)
    responses[200]["description"] = "The course as one Markdown file (UTF-8), as an attachment"
    responses[200]["content"] = {"text/markdown": {"schema": {"type": "string"}}}
    responses[200]["headers"]["Content-Disposition"] = {
        "description": 'attachment; filename="<course-title>.md"',
        "schema": {"type": "string"},
    }
    return responses


def _configure(app: APIGatewayHttpResolver) -> None:
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


# API Gateway answers some statuses itself, in its own shape: 401 without an Authorization
# header, 403 when the authorizer denies, 429 from the stage throttle, 413 above 10 MB.
_GATEWAY_ERROR = {
    "title": "GatewayError",
    "type": "object",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
    "description": 'API Gateway\'s own answer (no route was run): `{"message": "Unauthorized"}`',
}


def document(app: APIGatewayHttpResolver) -> dict[str, Any]:
    """Powertools' document, made true: its automatic 422 (pydantic's error list, never sent:
    validation errors are our 400) is dropped, the public routes need no token, statuses API
    Gateway answers itself have its shape, and text rules checked in code become patterns."""
    _configure(app)
    doc: dict[str, Any] = json.loads(app.get_openapi_json_schema())
    for path, operations in doc["paths"].items():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.get("422", {}).get("description") == "Validation Error":
                del responses["422"]
            if path in PUBLIC_PATHS or operation.pop("x-flowgen-public", False):  # routes_share.PUBLIC
                operation["security"] = []
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        doc.get("components", {}).get("schemas", {}).pop(name, None)
    doc["paths"]["/openapi.json"]["get"]["responses"] = {  # 200 and nothing else a client can cause
        "200": {"description": "This document", "content": {"application/json": {"schema": {"type": "object"}}}}
    }
    schemas = doc["components"]["schemas"]
    schemas["GatewayError"] = _GATEWAY_ERROR
    _gateway_shapes(doc)
    _text_patterns(schemas)
    # the 422 of POST /courses is ours (an Idempotency-Key reused with another body)
    doc["paths"]["/courses"]["post"]["responses"]["422"] = {
        "description": ERRORS[422],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
    }
    return doc


def _gateway_shapes(doc: dict[str, Any]) -> None:
    gateway, ours = {"$ref": "#/components/schemas/GatewayError"}, {"$ref": "#/components/schemas/ErrorResponse"}
    shapes = {"401": {"anyOf": [ours, gateway]}, "403": gateway, "413": {"anyOf": [ours, gateway]}}
    shapes["429"] = {"anyOf": [ours, gateway]}
    for operations in doc["paths"].values():
        for operation in operations.values():
            for status, shape in shapes.items():
                if status in operation["responses"]:
                    operation["responses"][status]["content"]["application/json"]["schema"] = shape


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


def swagger_policy(page: str) -> str:
    """The Content-Security-Policy of the Swagger UI page: its own inline scripts (by hash) and
    styles, requests to this API only, nothing framed, no form posted anywhere."""
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.DOTALL)
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in scripts)
    return (
        f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
