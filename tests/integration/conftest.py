"""Fixtures the integration modules share (a module opts in by `pytestmark`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from flowgen_local.events import match_route
from flowgen_local.stack import ApiResponse, LocalStack

_OPENAPI: dict[str, Any] = {}  # the document the stack serves, fetched once


@pytest.fixture
def every_status_documented() -> Iterator[None]:
    """Wraps every stack a test makes: each answer's status must be one the OpenAPI document
    lists for its route (the $default route: 401, 403, 404 and 405)."""
    seen: list[tuple[str, str, int]] = []
    original = LocalStack.request

    def recording(self: LocalStack, method: str, path: str, **kwargs: Any) -> ApiResponse:
        if not _OPENAPI:
            _OPENAPI.update(original(self, "GET", "/openapi.json").json())
        response = original(self, method, path, **kwargs)
        matched = match_route(self.template.routes, method.upper(), path)
        seen.append((method.upper(), matched[0].path if matched else "", response.status))
        return response

    LocalStack.request = recording  # type: ignore[method-assign]
    try:
        yield
    finally:
        LocalStack.request = original  # type: ignore[method-assign]
    undocumented = [answer for answer in seen if answer[2] not in _documented(answer[0], answer[1])]
    assert not undocumented, f"statuses the OpenAPI document does not list: {undocumented}"


def _documented(method: str, template_path: str) -> set[int]:
    if template_path in ("$default", ""):
        return {401, 403, 404, 405}
    if template_path == "/swagger":  # the UI over the document, not in it
        return {200}
    doc_path = template_path.replace("{courseId}", "{course_id}").replace("{lessonId}", "{lesson_id}")
    return {int(status) for status in _OPENAPI["paths"][doc_path][method.lower()]["responses"]}
