"""Every route of template.yaml reaches a route of the api function (none falls to its 404), and
what a route that fails unexpectedly answers."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import InProcessApi
from tests.helpers import User


def test_every_template_route_reaches_a_route_of_the_api(api: InProcessApi) -> None:
    """Each route of template.yaml runs the api function's own route for it: a course nobody has
    is that route's 404 (API Gateway's own 404 has no code), the caller's collections answer."""
    alice = User(api, "alice")
    lesson = "/courses/{courseId}/lessons/{lessonId}"
    outline = {"version": 1, "modules": [{"title": "One", "lessons": [{"title": "First"}]}]}
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/courses"): {"prompt": "Rust"},
        ("PUT", f"{lesson}/progress"): {},
        ("POST", f"{lesson}/regenerate"): {"instruction": "simpler"},
        ("POST", f"{lesson}/questions"): {"question": "why?"},
        ("PUT", f"{lesson}/version"): {"version": 1},
        ("PATCH", "/courses/{courseId}/outline"): outline,
        ("POST", "/shared/{token}/lessons/{lessonId}/quiz"): {"answers": [0]},
        ("POST", "/reviews/{cardId}"): {"rating": "good"},
        ("POST", "/sources"): {"filename": "notes.md", "contentType": "text/markdown", "size": 10},
    }
    queries = {("GET", "/courses/{courseId}/search"): "q=rust"}  # a required query parameter
    for route in api.template.routes:
        if route.path == "$default":
            continue
        path = route.path.replace("{courseId}", "0" * 32).replace("{lessonId}", "m01-l01")
        path = path.replace("{token}", "A" * 43)  # a share link's shape, shared by nobody
        path = path.replace("{cardId}", "0" * 24)  # a flashcard's shape, nobody's
        path = path.replace("{sourceId}", "0" * 32)  # a source's shape, nobody's
        path = path.replace("{version}", "1")  # a lesson's first version (issue 26)
        query = queries.get((route.method, route.path), "")
        response = alice.call(route.method, path, bodies.get((route.method, route.path)), query=query)
        if "{cardId}" in route.path:
            assert (response.status, response.json()["error"]["code"]) == (404, "card_not_found"), route
        elif "{sourceId}" in route.path:
            assert (response.status, response.json()["error"]["code"]) == (404, "source_not_found"), route
        elif route.key == "POST /sources":  # registered: 201 with its upload form
            assert response.status == 201, (route, response.body)
        elif "{token}" in route.path:  # the shared view and fork: the link's one 404
            assert (response.status, response.json()["error"]["code"]) == (404, "share_not_found"), route
        elif not route.authorized:  # the contract and its UI
            assert response.status == 200, route
        elif "{courseId}" not in route.path:  # the caller's own collections exist for everyone
            assert response.status == (202 if route.method == "POST" else 200), route
        else:
            expected = "lesson_not_found" if "{lessonId}" in route.path else "course_not_found"
            assert response.status == 404, (route, response.body)
            assert response.json()["error"]["code"] == expected, route
    unmatched = alice.call("GET", "/no-such-route")
    assert (unmatched.status, unmatched.json()["error"]["code"]) == (404, "route_not_found")  # the $default route


def test_an_unexpected_failure_is_a_500_that_promises_nothing_it_cannot_know(
    api: InProcessApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 28: a 500 said "nothing you sent was lost" of requests that had been stored."""

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug, after the course was stored")

    monkeypatch.setattr(api.store, "list_courses", broken)
    answer = User(api, "alice").call("GET", "/courses")
    assert answer.status == 500
    error = answer.json()["error"]
    assert error["code"] == "internal_error" and "lost" not in error["message"]
    assert "may or may not have been saved" in error["message"] and "RuntimeError" not in answer.body
    api.answered.clear()  # a 500 is never in the document: it is what this test makes on purpose
