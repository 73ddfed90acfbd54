"""What callers see of the API, through the real handler in process: validation (bodies, media
types, sizes, depth, ids, cursors, text that shows), routing (404, 405 with Allow), ownership
(another user's course is a 404 everywhere), `Vary: Origin` on every answer, and the OpenAPI
document telling the truth. Every answer's status must be one the document lists for its route
(conftest's check)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

import pytest

from flowgen.http_input import MAX_BODY_BYTES, MAX_JSON_DEPTH
from flowgen.text_rules import PROMPT_MAX_CHARS
from flowgen_local.stack import ApiResponse
from tests.api.conftest import InProcessApi
from tests.helpers import User, lesson_ids


def _error(response: ApiResponse) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    assert "Traceback" not in response.body
    parsed: dict[str, Any] = body["error"]
    return parsed


def _post_raw(api: InProcessApi, body: str | bytes, content_type: str | None) -> ApiResponse:
    headers = {"authorization": f"Bearer {api.token('alice')}"}
    if content_type is not None:
        headers["content-type"] = content_type
    return api.request("POST", "/courses", headers=headers, body=body)


def test_another_users_course_is_404_everywhere(api: InProcessApi) -> None:
    alice, bob = User(api, "alice"), User(api, "bob")
    course = alice.ready_course()
    lesson = lesson_ids(course)[0]
    attempts = [
        bob.call("GET", f"/courses/{course['id']}"),
        bob.open_lesson(course["id"], lesson),
        bob.call("POST", f"/courses/{course['id']}/lessons/{lesson}/retry"),
        bob.call("POST", f"/courses/{course['id']}/retry"),
        bob.call("DELETE", f"/courses/{course['id']}"),
        bob.call("GET", f"/courses/{course['id']}/export.md"),
        bob.call("POST", f"/courses/{course['id']}/lessons/{lesson}/questions", {"question": "why?"}),
        bob.call("GET", f"/courses/{course['id']}/lessons/{lesson}/questions"),
        bob.call("GET", f"/courses/{course['id']}/lessons/{lesson}/versions/1"),
    ]
    assert [r.status for r in attempts] == [404] * len(attempts)
    assert all(_error(r)["code"] in {"course_not_found", "lesson_not_found"} for r in attempts)
    assert bob.call("GET", "/courses").json()["items"] == []
    assert alice.call("GET", f"/courses/{course['id']}").status == 200  # bob's delete did nothing


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": "x" * (PROMPT_MAX_CHARS + 1)}, "prompt"),
        ({}, "prompt"),
        ({"prompt": "Rust", "level": "wizard"}, "level"),
        ({"prompt": "Rust", "unexpected": 1}, "unexpected"),
        ({"prompt": 42}, "prompt"),
    ],
)
def test_invalid_course_bodies_are_400_with_the_field_named(
    api: InProcessApi, body: dict[str, Any], field: str
) -> None:
    response = User(api, "alice").call("POST", "/courses", body)
    assert response.status == 400
    error = _error(response)
    assert error["code"] == "invalid_request"
    assert any(field in d["field"] for d in error["details"]), error


def test_malformed_json_is_400(api: InProcessApi) -> None:
    response = User(api, "alice").call("POST", "/courses", "{not json", headers={"content-type": "application/json"})
    assert response.status == 400 and _error(response)["code"] == "invalid_request"


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/courses/not-an-id", 400, "invalid_course_id"),
        ("GET", "/courses/0123456789abcdef0123456789abcdef/lessons/lesson-1", 400, "invalid_lesson_id"),
        ("GET", "/courses/0123456789abcdef0123456789abcdef", 404, "course_not_found"),
        ("GET", "/courses", 400, "invalid_cursor"),
    ],
)
def test_bad_ids_and_cursors_are_clear_4xx(api: InProcessApi, method: str, path: str, status: int, code: str) -> None:
    query = "cursor=bogus" if code == "invalid_cursor" else ""
    response = User(api, "alice").call(method, path, query=query)
    assert response.status == status and _error(response)["code"] == code


def test_unknown_routes_and_methods_are_404_and_405_in_the_envelope(api: InProcessApi) -> None:
    """The $default route sends what no route matches to the function (API Gateway's own 404 had
    no envelope): 404 for an unknown path, 405 with Allow for a known path's other methods."""
    alice = User(api, "alice")
    unknown = alice.call("GET", "/nope")
    assert unknown.status == 404 and _error(unknown)["code"] == "route_not_found"
    wrong_method = alice.call("PUT", "/courses")
    assert wrong_method.status == 405 and _error(wrong_method)["code"] == "method_not_allowed"
    assert wrong_method.headers["allow"] == "GET, POST"
    patch = alice.call("PATCH", "/courses/0123456789abcdef0123456789abcdef")
    assert patch.status == 405 and patch.headers["allow"] == "DELETE, GET"
    # the $default route sits behind the authorizer like every other one
    assert api.request("GET", "/nope").status == 401


def test_limit_out_of_range_is_400(api: InProcessApi) -> None:
    assert User(api, "alice").call("GET", "/courses", query="limit=1000").status == 400


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "application/merge-patch+json",
        "multipart/form-data",
        "multipart/form-data; boundary=xyz",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
        None,
    ],
)
def test_a_body_that_is_not_json_is_415_and_stores_nothing(api: InProcessApi, content_type: str | None) -> None:
    body = '{"prompt": "Rust ownership"}'
    if content_type and "boundary" in content_type:
        body = '--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nRust ownership\r\n--xyz--\r\n'
    response = _post_raw(api, body, content_type)
    assert response.status == 415, response.body
    assert _error(response)["code"] == "unsupported_media_type"
    assert User(api, "alice").call("GET", "/courses").json()["items"] == []


def test_json_with_a_charset_is_accepted(api: InProcessApi) -> None:
    assert _post_raw(api, '{"prompt": "Rust ownership"}', "application/json; charset=UTF-8").status == 202


def test_a_body_over_the_limit_is_413(api: InProcessApi) -> None:
    body = json.dumps({"prompt": "Rust " + "x" * MAX_BODY_BYTES})
    response = _post_raw(api, body, "application/json")
    assert response.status == 413 and _error(response)["code"] == "payload_too_large"
    assert str(MAX_BODY_BYTES) in _error(response)["message"]


def test_invalid_utf8_is_400(api: InProcessApi) -> None:
    response = _post_raw(api, b'{"prompt": "Rust \xff\xfe ownership"}', "application/json")
    assert response.status == 400 and _error(response)["code"] == "invalid_request"
    assert "UTF-8" in _error(response)["message"]


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1500, 30_000])  # 30,000: 60 KB, under 413
def test_json_nested_too_deep_is_400_not_a_recursion_error(api: InProcessApi, depth: int) -> None:
    body = '{"prompt": "Rust", "x": ' + "[" * depth + "]" * depth + "}"
    response = _post_raw(api, body, "application/json")
    assert response.status == 400, response.body
    assert "nested deeper" in _error(response)["message"]


@pytest.mark.parametrize("prompt", ["\u200b\u200b\u200b", "a\u200b\u200bb", "\u2028\u00a0\u3000x", "\u202e\u2066ab"])
def test_a_prompt_needs_three_visible_characters(api: InProcessApi, prompt: str) -> None:
    response = User(api, "alice").call("POST", "/courses", {"prompt": prompt})
    assert response.status == 400 and _error(response)["details"][0]["field"] == "prompt"
    assert User(api, "alice").call("GET", "/courses").json()["items"] == []


def test_every_answer_varies_by_origin_and_may_not_be_sniffed(api: InProcessApi) -> None:
    alice = User(api, "alice")
    course = alice.ready_course()
    answers = [
        alice.call("GET", "/courses"),
        alice.call("POST", "/courses", {"prompt": "Rust"}),
        alice.call("GET", "/courses/not-an-id"),
        alice.call("GET", "/nope"),
        alice.call("PUT", "/courses"),
        alice.call("GET", f"/courses/{course['id']}/export.md"),
        alice.call("DELETE", "/courses/" + "0" * 32),
        _post_raw(api, "x", "text/plain"),
        api.request("GET", "/openapi.json"),
        api.request("GET", "/swagger"),
    ]
    assert all(answer.headers.get("vary") == "Origin" for answer in answers), [a.headers for a in answers]
    assert all(a.headers.get("x-content-type-options") == "nosniff" for a in answers), [a.headers for a in answers]


@pytest.mark.parametrize("character", ['"', "\\", "`"])
def test_an_id_holding_a_character_no_route_takes_is_a_400_not_a_405(api: InProcessApi, character: str) -> None:
    """Powertools' routes take most characters in a path parameter but not these three: the path
    then matched no route, and the 405 said GET was not allowed while its Allow listed GET."""
    alice = User(api, "alice")
    course = alice.call("GET", f"/courses/abc{character}def")
    lesson = alice.call("GET", "/courses/" + "0" * 32 + f"/lessons/m01{character}l01")
    assert (course.status, _error(course)["code"]) == (400, "invalid_course_id")
    assert (lesson.status, _error(lesson)["code"]) == (400, "invalid_lesson_id")


def test_swagger_keeps_no_token_and_runs_only_its_own_scripts(api: InProcessApi) -> None:
    page = api.request("GET", "/swagger")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page.body, flags=re.DOTALL)
    assert scripts and all(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" in policy for s in scripts
    )
    assert "persistAuthorization: false" in page.body.replace('"', "").replace("False", "false")


def test_the_openapi_document_is_served_without_a_token_and_tells_the_truth(api: InProcessApi) -> None:
    response = api.request("GET", "/openapi.json")
    assert response.status == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An Auth0 access token (RS256)",
    }
    create = doc["paths"]["/courses"]["post"]
    assert sorted(create["responses"]) == ["202", "400", "401", "403", "404", "409", "413", "415", "422", "429", "503"]
    assert create["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CourseView"
    }
    assert create["responses"]["415"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse"
    }
    # API Gateway answers a 429 (stage throttle) or a 401 (no header) in its own shape
    assert create["responses"]["429"]["content"]["application/json"]["schema"] == {
        "anyOf": [{"$ref": "#/components/schemas/ErrorResponse"}, {"$ref": "#/components/schemas/GatewayError"}]
    }
    assert doc["components"]["schemas"]["CreateCourseRequest"]["properties"]["prompt"]["pattern"].startswith("^[")
    assert {"Retry-After", "RateLimit-Policy", "RateLimit"} <= set(create["responses"]["429"]["headers"])
    assert [p["name"] for p in create["parameters"]] == ["idempotency-key"]
    lesson = doc["paths"]["/courses/{course_id}/lessons/{lesson_id}"]["get"]
    patterns = {p["name"]: p["schema"]["pattern"] for p in lesson["parameters"]}
    assert patterns == {"course_id": "^[0-9a-f]{32}$", "lesson_id": r"^m\d{2}-l\d{2}$"}
    assert "Retry-After" in lesson["responses"]["202"]["headers"]
    questions = doc["paths"]["/courses/{course_id}/lessons/{lesson_id}/questions"]
    posted = ["202", "400", "401", "403", "404", "409", "413", "415", "429", "503"]
    assert sorted(questions["post"]["responses"]) == posted
    assert sorted(questions["get"]["responses"]) == ["200", "400", "401", "403", "404", "429", "503"]
    assert "Retry-After" in questions["post"]["responses"]["202"]["headers"]
    assert "Retry-After" in questions["get"]["responses"]["200"]["headers"]
    asked = doc["components"]["schemas"]["AskQuestionRequest"]["properties"]["question"]
    assert (asked["maxLength"], asked["minLength"], asked["pattern"][:2]) == (1000, 1, "^[")
    assert doc["paths"]["/openapi.json"]["get"]["security"] == []
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                # JSON everywhere but the exports' 200s: Markdown, and the cards' CSV (issue 23)
                exports = {"/export.md": "text/markdown", "/cards.csv": "text/csv"}
                media = next((m for end, m in exports.items() if path.endswith(end) and status == "200"), None)
                media = media or "application/json"
                assert status == "204" or answer["content"][media]["schema"], (method, path, status)


def test_swagger_ui_is_served_from_the_package_without_a_cdn(api: InProcessApi) -> None:
    response = api.request("GET", "/swagger")
    assert response.status == 200 and response.headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle" in response.body and "FlowGen API" in response.body
    assert not re.search(r"<script[^>]+src=\"https?://", response.body)
