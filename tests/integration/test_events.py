"""The committed sample events (the ones `sam local invoke -e` takes) run through their handlers,
and every route in template.yaml reaches a route of the api function."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowgen_dev.runtime import LambdaContext
from tests.helpers import User

EVENTS = Path(__file__).resolve().parents[2] / "events"
FUNCTION_OF = {
    "api_": "ApiFunction",
    "authorizer": "AuthorizerFunction",
    "course_worker": "CourseWorkerFunction",
    "lesson_worker": "LessonWorkerFunction",
    "reconciler": "ReconcilerFunction",
}


def _invoke(stack, function: str, event: dict):
    spec = stack.template.functions[function]
    return stack.handlers[function](event, LambdaContext(spec.name, spec.timeout))


def test_there_is_a_sample_event_per_route_and_function():
    names = {p.stem for p in EVENTS.glob("*.json")}
    assert sum(n.startswith("api_") for n in names) == 7
    assert {"authorizer", "course_worker", "lesson_worker_high", "lesson_worker_low", "reconciler"} <= names


@pytest.mark.parametrize("name", sorted(p.stem for p in EVENTS.glob("*.json")))
def test_sample_event_runs_through_its_handler(stack, name):
    event = json.loads((EVENTS / f"{name}.json").read_text())
    function = next(f for prefix, f in FUNCTION_OF.items() if name.startswith(prefix))
    result = _invoke(stack, function, event)
    if function == "ApiFunction":
        body = json.loads(result["body"]) if result.get("body") else {}
        assert result["statusCode"] in {200, 202, 204, 404}, body
        if result["statusCode"] == 404:
            assert body["error"]["code"] in {"course_not_found", "lesson_not_found"}
        if name == "api_create_course":
            assert result["statusCode"] == 202 and body["status"] == "PENDING"
    elif function == "AuthorizerFunction":
        assert result["isAuthorized"] is False  # the sample token is not signed by our key
    elif function == "ReconcilerFunction":
        assert set(result) == {"courses_resent", "lessons_resent", "lessons_failed"}
    else:
        assert result == {"batchItemFailures": []}  # the sample course does not exist: acknowledged


def test_every_template_route_reaches_a_route_of_the_api(stack):
    alice = User(stack, "alice")
    for route in stack.template.routes:
        path = route.path.replace("{courseId}", "0" * 32).replace("{lessonId}", "m01-l01")
        response = alice.call(route.method, path, {"prompt": "Rust"} if route.path == "/courses" else None)
        assert response.status != 500, route
        if response.status == 404:
            assert response.json()["error"]["code"] != "route_not_found", route
