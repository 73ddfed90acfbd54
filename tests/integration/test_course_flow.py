"""The whole flow through the real handlers: prompt -> outline -> open lesson -> generated."""

from __future__ import annotations

from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.stack import LocalStack
from tests.helpers import User, lesson_ids


def test_prompt_to_outline_to_opened_lesson(stack: LocalStack, fake_model: FakeOpenAI) -> None:
    alice = User(stack, "alice")

    created = alice.call(
        "POST", "/courses", {"prompt": "  Rust ownership for C++ programmers  ", "level": "intermediate"}
    )
    assert created.status == 202
    course = created.json()
    assert course["status"] == "PENDING" and course["prompt"] == "Rust ownership for C++ programmers"
    assert fake_model.stats.total_calls == 0  # the API never waits on the model

    stack.drain("CourseJobs")
    detail = alice.call("GET", f"/courses/{course['id']}").json()
    assert detail["status"] == "READY"
    assert detail["title"] and len(detail["modules"]) == 4
    ids = lesson_ids(detail)
    assert len(ids) == detail["lessonCount"] == 12
    assert fake_model.stats.calls["OutlineDecision"] == 1
    # the outline prefetches only the first lessons, at low priority
    assert stack.queue_depth("LessonLowQueue") == 2 and stack.queue_depth("LessonHighQueue") == 0

    deep = ids[7]
    opened = alice.open_lesson(course["id"], deep)
    assert opened.status == 202
    assert opened.headers["retry-after"] == "1"
    body = opened.json()
    assert body["status"] == "PENDING" and body["priority"] == "high" and body["content"] is None
    assert body["previousLessonId"] == ids[6] and body["nextLessonId"] == ids[8]

    stack.drain("HighPriorityLessons")
    ready = alice.open_lesson(course["id"], deep)
    assert ready.status == 200 and "retry-after" not in ready.headers
    lesson = ready.json()
    assert lesson["status"] == "GENERATED"
    # the 8th lesson of the offline outline is one it draws a diagram for (a lesson on how a thing works)
    assert {b["type"] for b in lesson["content"]["blocks"]} == {"markdown", "code", "diagram", "key_points", "quiz"}
    assert lesson["content"]["generator"].startswith("openai:")
    assert lesson["usage"]["promptTokens"] > 0 and lesson["generatedAt"] >= lesson["requestedAt"]
    # the opened lesson went first: the model wrote it before any background lesson
    assert fake_model.stats.lesson_titles == [lesson["title"]]

    # opening lesson i prefetched the next two at low priority
    assert stack.queue_depth("LessonLowQueue") == 4
    stack.drain("LowPriorityLessons")
    detail = alice.call("GET", f"/courses/{course['id']}").json()
    statuses = {lesson["id"]: lesson["status"] for m in detail["modules"] for lesson in m["lessons"]}
    generated = {i for i, s in statuses.items() if s == "GENERATED"}
    assert generated == {ids[0], ids[1], deep, ids[8], ids[9]}
    assert detail["lessonsGenerated"] == 5
    assert detail["usage"]["completionTokens"] > 0
    # lazy: lessons nobody opened or came near cost nothing
    assert fake_model.stats.calls["GeneratedLesson"] == 5


def test_list_courses_is_newest_first_and_paginated(stack: LocalStack) -> None:
    alice = User(stack, "alice")
    created = [alice.create_course(f"Topic number {i}")["id"] for i in range(5)]
    User(stack, "bob").create_course("Bob's own topic")

    first = alice.call("GET", "/courses", query="limit=2").json()
    assert [c["id"] for c in first["items"]] == created[::-1][:2]
    second = alice.call("GET", "/courses", query=f"limit=2&cursor={first['nextCursor']}").json()
    third = alice.call("GET", "/courses", query=f"limit=2&cursor={second['nextCursor']}").json()
    seen = [c["id"] for page in (first, second, third) for c in page["items"]]
    assert seen == created[::-1]
    assert third["nextCursor"] is None


def test_delete_course_removes_it_and_its_lessons(stack: LocalStack) -> None:
    alice = User(stack, "alice")
    course = alice.ready_course()
    assert alice.call("DELETE", f"/courses/{course['id']}").status == 204
    assert alice.call("GET", f"/courses/{course['id']}").status == 404
    assert alice.open_lesson(course["id"], lesson_ids(course)[0]).status == 404
    assert alice.call("DELETE", f"/courses/{course['id']}").status == 404


def test_lesson_of_a_deleted_course_is_acknowledged_without_a_model_call(
    stack: LocalStack, fake_model: FakeOpenAI
) -> None:
    alice = User(stack, "alice")
    course = alice.ready_course()
    alice.call("DELETE", f"/courses/{course['id']}")
    before = fake_model.stats.total_calls
    stack.drain("LowPriorityLessons")
    assert stack.queue_depth("LessonLowQueue") == 0
    assert fake_model.stats.total_calls == before
