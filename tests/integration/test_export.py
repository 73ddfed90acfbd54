"""A course as one Markdown file (issue 11): owner-scoped, structure in order, lessons not yet
written listed as such, quiz answers at the end; parsed back and compared with the API's view."""

from __future__ import annotations

from typing import Any

from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.stack import LocalStack
from tests.helpers import User, lesson_ids
from tests.markdown_export import parse


def _written(stack: LocalStack, user: User, course_id: str, lesson_id: str) -> dict[str, Any]:
    user.open_lesson(course_id, lesson_id)
    stack.drain("HighPriorityLessons")
    response = user.open_lesson(course_id, lesson_id)
    assert response.status == 200, response.body
    parsed: dict[str, Any] = response.json()
    return parsed


def test_the_markdown_of_a_three_module_course_reads_back_as_its_structure(
    stack: LocalStack, fake_model: FakeOpenAI
) -> None:
    alice = User(stack, "alice")
    course = alice.ready_course("Rust ownership for C++ programmers", size="short", language="German")
    assert len(course["modules"]) == 3
    ids = lesson_ids(course)
    written = {i: _written(stack, alice, course["id"], i) for i in (ids[0], ids[3])}
    course = alice.call("GET", f"/courses/{course['id']}").json()

    response = alice.call("GET", f"/courses/{course['id']}/export.md")
    assert response.status == 200, response.body
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="')
    assert response.headers["content-disposition"].endswith('.md"')
    doc = parse(response.body)

    assert doc.title == course["title"]
    assert "*Language: German*" in response.body
    assert [title for title, _ in doc.modules] == [m["title"] for m in course["modules"]]
    for (_, lessons), module in zip(doc.modules, course["modules"], strict=True):
        assert [lesson.title for lesson in lessons] == [lesson["title"] for lesson in module["lessons"]]
    exported = {lesson.title: lesson for _, lessons in doc.modules for lesson in lessons}
    generated = {written[i]["title"] for i in written}
    for lesson in (lesson for module in course["modules"] for lesson in module["lessons"]):
        assert exported[lesson["title"]].generated == (lesson["title"] in generated), lesson["status"]

    # the written lessons' blocks: code fenced with its language, key points as a list
    first = exported[written[ids[0]]["title"]]
    assert "```python" in first.lines and "**Key points**" in first.lines
    # every quiz's answers, in lesson order, against the lesson the API serves
    assert list(doc.answers) == [written[ids[0]]["title"], written[ids[3]]["title"]]
    for lesson in written.values():
        quiz = next(b for b in lesson["content"]["blocks"] if b["type"] == "quiz")
        expected = [
            (q["question"], "ABCDEF"[q["answer_index"]], q["options"][q["answer_index"]]) for q in quiz["questions"]
        ]
        assert doc.answers[lesson["title"]] == expected


def test_the_export_is_owner_scoped_and_queues_nothing(stack: LocalStack, fake_model: FakeOpenAI) -> None:
    alice, bob = User(stack, "alice"), User(stack, "bob")
    course = alice.ready_course(size="short")
    calls = fake_model.stats.total_calls
    assert bob.call("GET", f"/courses/{course['id']}/export.md").status == 404
    assert alice.call("GET", "/courses/" + "0" * 32 + "/export.md").status == 404
    assert alice.call("GET", "/courses/nope/export.md").json()["error"]["code"] == "invalid_course_id"
    assert alice.call("GET", f"/courses/{course['id']}/export.md").status == 200
    stack.drain("HighPriorityLessons")
    assert fake_model.stats.total_calls == calls  # reading the course writes no lesson


def test_the_route_is_in_the_openapi_document_as_markdown(stack: LocalStack) -> None:
    doc = User(stack, "alice").call("GET", "/openapi.json").json()
    operation = doc["paths"]["/courses/{course_id}/export.md"]["get"]
    assert "text/markdown" in operation["responses"]["200"]["content"]
    assert {"400", "401", "403", "404", "429", "503"} <= set(operation["responses"])
