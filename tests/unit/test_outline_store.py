"""The outline edit's store contract, on the MongoDB adapter (mongomock) and the memory fake:
conditioned on the course's version and status; structure fields only, so a worker's commit and
an edit both land; a removed lesson's record goes, and a commit for it then finds nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from flowgen.adapters.mongo_store import MongoCourseStore
from flowgen.clock import utcnow
from flowgen.content import LessonContent, MarkdownBlock
from flowgen.ports import Claim, CourseStore
from flowgen.records import Course, CourseStatus, Lesson, LessonStatus, ModuleOutline
from tests.fakes.mongomock_db import mongomock_database
from tests.fakes.store import MemoryStore


@pytest.fixture(params=["memory", "mongo"])
def store(request: pytest.FixtureRequest) -> CourseStore:
    if request.param == "memory":
        return MemoryStore()
    mongo = MongoCourseStore(mongomock_database())
    mongo.ensure_indexes()
    return mongo


def _ready(store: CourseStore) -> tuple[Course, list[Lesson]]:
    now = utcnow()
    course = Course(
        id=uuid.uuid4().hex,
        owner_id="alice",
        prompt="Rust",
        status=CourseStatus.PENDING,
        created_at=now,
        updated_at=now,
    )
    store.insert_course(course)
    claim = Claim("outline", now + timedelta(minutes=1))
    assert store.claim_course(course.id, claim, now) is not None
    lessons = [
        Lesson(
            id=f"m01-l{i + 1:02d}",
            course_id=course.id,
            module_id="m01",
            owner_id="alice",
            order=i,
            title=f"lesson {i}",
            summary="s",
            status=LessonStatus.PENDING,
        )
        for i in range(3)
    ]
    modules = [ModuleOutline(id="m01", title="One", lesson_ids=[x.id for x in lessons])]
    ready = course.model_copy(update={"modules": modules, "lesson_count": 3})
    assert store.commit_outline(ready, claim, lessons, now)
    return ready, lessons


def test_an_edit_lands_beside_a_commit_and_a_removed_lesson_takes_no_commit(store: CourseStore) -> None:
    course, lessons = _ready(store)
    now = utcnow()
    writing, removed = Claim("w", now + timedelta(minutes=1)), Claim("r", now + timedelta(minutes=1))
    first = store.claim_lesson(course.id, "m01-l01", writing, now)
    gone = store.claim_lesson(course.id, "m01-l03", removed, now)
    assert first is not None and gone is not None

    renamed = lessons[0].model_copy(update={"title": "renamed", "order": 1, "module_id": "m02"})
    added = Lesson(
        id="m02-l01", course_id=course.id, module_id="m02", owner_id="alice", order=2, title="new", summary="",
        status=LessonStatus.PENDING,
    )  # fmt: skip
    modules = [
        ModuleOutline(id="m01", title="One", lesson_ids=["m01-l02"]),
        ModuleOutline(id="m02", title="Two", lesson_ids=["m01-l01", "m02-l01"]),
    ]
    edited = course.model_copy(update={"modules": modules, "lesson_count": 3, "version": 2})
    kept = [lessons[1].model_copy(update={"order": 0}), renamed, added]
    stale = dict(lessons=kept, removed=["m01-l03"], now=now)
    assert not store.edit_outline(edited, expected_version=2, **stale)  # type: ignore[arg-type]
    assert store.edit_outline(edited, expected_version=1, **stale)  # type: ignore[arg-type]
    assert not store.edit_outline(edited, expected_version=1, **stale)  # type: ignore[arg-type]

    content = LessonContent(blocks=[MarkdownBlock(type="markdown", markdown="x")], generator="offline")
    assert store.commit_lesson(first.model_copy(update={"content": content, "generated_at": now}), writing, now)
    assert not store.commit_lesson(gone.model_copy(update={"content": content, "generated_at": now}), removed, now)

    stored = store.get_lesson("alice", course.id, "m01-l01")
    assert stored is not None and stored.status == LessonStatus.GENERATED and stored.content == content
    assert (stored.title, stored.order, stored.module_id) == ("renamed", 1, "m02")
    assert store.get_lesson("alice", course.id, "m01-l03") is None
    assert [x.id for x in store.list_lessons(course.id)] == ["m01-l02", "m01-l01", "m02-l01"]
    new = store.get_lesson("alice", course.id, "m02-l01")
    assert new is not None and new.status == LessonStatus.PENDING and new.title == "new"
    after = store.get_course("alice", course.id)
    assert after is not None and after.version == 2 and after.retired_lesson_ids == ["m01-l03"]
    assert [m.lesson_ids for m in after.modules] == [["m01-l02"], ["m01-l01", "m02-l01"]]


def test_only_a_ready_course_is_edited(store: CourseStore) -> None:
    now = utcnow()
    course = Course(
        id=uuid.uuid4().hex,
        owner_id="alice",
        prompt="Rust",
        status=CourseStatus.PENDING,
        created_at=now,
        updated_at=now,
    )
    store.insert_course(course)
    assert not store.edit_outline(
        course.model_copy(update={"version": 2}),
        expected_version=1,
        lessons=[],
        removed=[],
        now=now,
    )
