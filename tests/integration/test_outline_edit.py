"""Editing a course's outline (issue 11, design invariant 8): one edit guarded by the course's
version renames, adds, removes and reorders lessons and modules; generated lessons and progress
keep their ids; a new lesson gets an id no lesson ever had and is written when opened; an edit
racing a worker's commit loses neither; a lesson removed while it is written gets nothing back."""

from __future__ import annotations

import threading
from typing import Any

from flowgen import wiring
from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.stack import ApiResponse, LocalStack
from tests.conftest import SharedStack
from tests.helpers import User, lesson_ids, wait_for


def _outline(course: dict[str, Any]) -> list[dict[str, Any]]:
    """The course's outline as an edit names it."""
    return [
        {
            "id": m["id"],
            "title": m["title"],
            "lessons": [{"id": lesson["id"], "title": lesson["title"]} for lesson in m["lessons"]],
        }
        for m in course["modules"]
    ]


def _edit(user: User, course: dict[str, Any], modules: list[dict[str, Any]], version: int | None = None) -> ApiResponse:
    body = {"version": course["version"] if version is None else version, "modules": modules}
    return user.call("PATCH", f"/courses/{course['id']}/outline", body)


def test_a_reordered_course_keeps_every_generated_lesson_and_all_progress(stack: LocalStack) -> None:
    alice = User(stack, "alice")
    course = alice.ready_course(size="short")  # 3 modules of 2 lessons
    cid, ids = course["id"], lesson_ids(course)
    written = {i: alice.written_lesson(cid, i) for i in (ids[0], ids[3])}
    alice.call("PUT", f"/courses/{cid}/lessons/{ids[0]}/progress", {"opened": True, "completed": True})
    alice.call("PUT", f"/courses/{cid}/lessons/{ids[3]}/progress", {"opened": True, "completed": True})
    alice.call("PUT", f"/courses/{cid}/lessons/{ids[1]}/progress", {"completed": True})  # removed below
    assert course["version"] == 1

    m1, m2, m3 = _outline(course)
    modules = [
        {**m3, "title": "Third, now first"},
        {**m1, "lessons": [{"id": ids[3], "title": "Moved here and renamed"}, m1["lessons"][0]]},  # ids[1] removed
        {**m2, "lessons": [*m2["lessons"][:1], {"title": "A new lesson", "summary": "Added by the learner"}]},
        {"title": "A new module", "lessons": [{"title": "Its first lesson"}]},
    ]
    response = _edit(alice, course, modules)
    assert response.status == 200, response.body
    edited = response.json()
    assert edited["version"] == 2
    assert [m["title"] for m in edited["modules"]] == ["Third, now first", m1["title"], m2["title"], "A new module"]
    assert [m["id"] for m in edited["modules"]][:3] == [m3["id"], m1["id"], m2["id"]]
    new_module = edited["modules"][3]["id"]
    assert new_module not in {m["id"] for m in course["modules"]}
    flat = [lesson for m in edited["modules"] for lesson in m["lessons"]]
    assert [lesson["order"] for lesson in flat] == list(range(len(flat)))
    by_title = {lesson["title"]: lesson for lesson in flat}
    assert by_title["Moved here and renamed"]["id"] == ids[3]
    assert by_title["Moved here and renamed"]["status"] == "GENERATED"
    new_ids = {by_title["A new lesson"]["id"], by_title["Its first lesson"]["id"]}
    assert not new_ids & set(ids)  # fresh ids: never a removed lesson's (ids[1]) nor anyone's
    assert (
        by_title["A new lesson"]["status"] == "PENDING"
        and by_title["A new lesson"]["summary"] == "Added by the learner"
    )
    assert edited["lessonCount"] == 7 and ids[1] not in {lesson["id"] for lesson in flat}

    # the generated lessons keep their content, and the moved one its new place and title
    for lesson_id, before in written.items():
        after = alice.open_lesson(cid, lesson_id).json()
        assert after["content"] == before["content"] and after["generatedAt"] == before["generatedAt"]
    moved = alice.open_lesson(cid, ids[3]).json()
    assert moved["title"] == "Moved here and renamed" and moved["moduleId"] == m1["id"]
    assert alice.open_lesson(cid, ids[1]).status == 404

    # all progress kept, keyed by the same ids
    progress = alice.call("GET", f"/courses/{cid}/progress").json()
    assert {p["lessonId"] for p in progress["lessons"] if p["completedAt"]} == {ids[0], ids[3]}
    assert progress["lessonCount"] == 7
    overview = alice.call("GET", "/progress").json()["courses"]
    assert overview[0]["completed"] == 2  # the removed lesson's progress went with it

    # a new lesson is written when opened, like any other, and a removed id never comes back
    added = alice.written_lesson(cid, by_title["A new lesson"]["id"])
    assert added["status"] == "GENERATED" and added["title"] == "A new lesson"
    again = _edit(
        alice, edited, [*_outline(edited)[:3], {"title": "More", "lessons": [{"title": "x"}, {"title": "y"}]}]
    )
    assert again.status == 200, again.body
    assert ids[1] not in lesson_ids(again.json())


def test_a_stale_edit_is_a_409_and_writes_nothing(stack: LocalStack) -> None:
    alice, bob = User(stack, "alice"), User(stack, "bob")
    course = alice.ready_course(size="short")
    renamed = [{**m, "title": m["title"] + " (renamed)"} for m in _outline(course)]
    assert _edit(alice, course, renamed).status == 200
    stale = _edit(alice, course, [{**m, "title": "lost"} for m in _outline(course)])  # made on version 1
    assert stale.status == 409 and stale.json()["error"]["code"] == "version_conflict"
    now = alice.call("GET", f"/courses/{course['id']}").json()
    assert now["version"] == 2 and all(m["title"].endswith("(renamed)") for m in now["modules"])

    outline = _outline(now)
    twice = [outline[0], {**outline[1], "lessons": [*outline[1]["lessons"], outline[0]["lessons"][0]]}]
    assert _edit(alice, now, twice).json()["error"]["code"] == "duplicate_id"
    unknown = [{**outline[0], "lessons": [{"id": "m09-l09", "title": "x"}]}]
    assert _edit(alice, now, unknown).json()["error"]["code"] == "unknown_id"
    assert _edit(alice, now, []).status == 400
    assert _edit(alice, now, [{**outline[0], "lessons": []}]).status == 400
    assert _edit(bob, now, outline).status == 404
    assert alice.call("GET", f"/courses/{course['id']}").json()["version"] == 2


def _status(course_id: str, lesson_id: str) -> str | None:
    doc = wiring.store().lessons.find_one({"_id": f"{course_id}/{lesson_id}"}, {"status": 1})
    return doc["status"] if doc else None


def test_an_edit_racing_a_worker_commit_loses_neither(shared_stack: SharedStack, fake_model: FakeOpenAI) -> None:
    # the model answers after 2 s, so the tests' 2 s read timeout (tests.conftest) would race it
    stack = shared_stack(MODEL_TIMEOUT_SECONDS="8")
    alice = User(stack, "alice")
    course = alice.ready_course(size="short")
    cid, ids = course["id"], lesson_ids(course)
    fake_model.faults.latency_seconds = 2.0  # the model answers while the edit lands
    alice.open_lesson(cid, ids[2])
    worker = threading.Thread(target=stack.drain, args=("HighPriorityLessons",))
    worker.start()
    wait_for(lambda: _status(cid, ids[2]) == "GENERATING", timeout=15)
    m1, m2, m3 = _outline(course)
    modules = [{**m2, "lessons": [{"id": ids[2], "title": "Renamed while written"}, m2["lessons"][1]]}, m1, m3]
    response = _edit(alice, course, modules)
    assert response.status == 200, response.body
    assert _status(cid, ids[2]) == "GENERATING"  # the edit landed before the commit
    worker.join()

    lesson = alice.open_lesson(cid, ids[2]).json()
    assert lesson["status"] == "GENERATED" and lesson["content"], lesson.get("error")  # the worker's commit
    assert lesson["title"] == "Renamed while written" and lesson["order"] == 0  # the edit
    after = alice.call("GET", f"/courses/{cid}").json()
    assert after["version"] == 2 and after["lessonsGenerated"] == 1
    assert [m["id"] for m in after["modules"]] == [m2["id"], m1["id"], m3["id"]]


def test_a_lesson_removed_while_written_gets_nothing_back(stack: LocalStack, fake_model: FakeOpenAI) -> None:
    alice = User(stack, "alice")
    course = alice.ready_course(size="short")
    cid, ids = course["id"], lesson_ids(course)
    fake_model.faults.latency_seconds = 2.0
    alice.open_lesson(cid, ids[2])
    worker = threading.Thread(target=stack.drain, args=("HighPriorityLessons",))
    worker.start()
    wait_for(lambda: _status(cid, ids[2]) == "GENERATING", timeout=15)
    m1, m2, m3 = _outline(course)
    assert _edit(alice, course, [m1, {**m2, "lessons": m2["lessons"][1:]}, m3]).status == 200
    worker.join()
    assert fake_model.stats.calls["GeneratedLesson"] == 1  # the model wrote it...
    assert _status(cid, ids[2]) is None  # ...and nothing wrote it back into the course
    assert alice.open_lesson(cid, ids[2]).status == 404
    after = alice.call("GET", f"/courses/{cid}").json()
    assert after["lessonsGenerated"] == 0 and ids[2] not in lesson_ids(after)
