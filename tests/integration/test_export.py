"""A course as one Markdown file (issue 11): owner-scoped, structure in order, lessons not yet
written listed as such, quiz answers at the end; parsed back and compared with the API's view."""

from __future__ import annotations

from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.stack import LocalStack
from tests.helpers import User, answer_key, lesson_ids
from tests.markdown_export import parse


def test_the_markdown_of_a_three_module_course_reads_back_as_its_structure(
    stack: LocalStack, fake_model: FakeOpenAI
) -> None:
    alice = User(stack, "alice")
    course = alice.ready_course("Rust ownership for C++ programmers", size="short", language="German")
    assert len(course["modules"]) == 3
    ids = lesson_ids(course)
    written = {i: alice.written_lesson(course["id"], i) for i in (ids[0], ids[3])}
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
        key = answer_key("alice", course["id"], lesson["id"])
        expected = [
            (q["question"], "ABCDEF"[right], q["options"][right])
            for q, right in zip(quiz["questions"], key, strict=True)
        ]
        assert doc.answers[lesson["title"]] == expected
