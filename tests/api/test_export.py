"""The Markdown export through the api: owner-scoped, reads only, in the document as text/markdown."""

from __future__ import annotations

from tests.api.conftest import InProcessApi
from tests.helpers import User


def test_the_export_is_owner_scoped_and_queues_nothing(api: InProcessApi) -> None:
    alice, bob = User(api, "alice"), User(api, "bob")
    course = alice.ready_course(size="short")
    api.drain("LowPriorityLessons")  # the outline's own prefetch
    assert bob.call("GET", f"/courses/{course['id']}/export.md").status == 404
    assert alice.call("GET", "/courses/" + "0" * 32 + "/export.md").status == 404
    assert alice.call("GET", "/courses/nope/export.md").json()["error"]["code"] == "invalid_course_id"
    assert alice.call("GET", f"/courses/{course['id']}/export.md").status == 200
    assert api.queue_depth("LessonHighQueue") == api.queue_depth("LessonLowQueue") == 0  # reading queues nothing


def test_the_route_is_in_the_openapi_document_as_markdown(api: InProcessApi) -> None:
    doc = User(api, "alice").call("GET", "/openapi.json").json()
    operation = doc["paths"]["/courses/{course_id}/export.md"]["get"]
    assert "text/markdown" in operation["responses"]["200"]["content"]
    assert {"400", "401", "403", "404", "429", "503"} <= set(operation["responses"])
