"""The store's contract, held by the MongoDB adapter (on mongomock, tests/fakes/mongomock_db.py) and by the
in-memory fake the domain tests use, so the fake cannot drift from the real thing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flowgen.adapters.mongo_store import MongoCourseStore
from flowgen.clock import utcnow
from flowgen.content import LessonContent, MarkdownBlock
from flowgen.errors import AlreadyExists
from flowgen.ports import Claim, CourseStore
from flowgen.records import LessonStatus, LessonVersion, Priority
from tests.fakes.mongomock_db import mongomock_database
from tests.fakes.records import new_course, outlined_course
from tests.fakes.store import MemoryStore
from tests.narrow import present


def _mongo() -> MongoCourseStore:
    store = MongoCourseStore(mongomock_database())
    store.ensure_indexes()
    return store


@pytest.fixture(params=["memory", "mongo"])
def store(request: pytest.FixtureRequest) -> CourseStore:
    return MemoryStore() if request.param == "memory" else _mongo()


def test_idempotency_keys_are_unique_per_owner(store: CourseStore) -> None:
    first = new_course(key="k")
    store.insert_course(first)
    with pytest.raises(AlreadyExists):
        store.insert_course(new_course(key="k", prompt="other"))
    store.insert_course(new_course(owner="bob", key="k"))
    store.insert_course(new_course())  # courses without a key never collide
    store.insert_course(new_course())
    found = store.find_course_by_idempotency_key("alice", "k")
    assert found is not None and found.id == first.id


def test_a_claim_is_a_compare_and_set_and_only_its_holder_commits(store: CourseStore) -> None:
    course = outlined_course(store)
    now = utcnow()
    live = Claim("a", now + timedelta(minutes=1))
    assert store.claim_lesson(course.id, "m01-l01", live, now) is not None
    assert store.claim_lesson(course.id, "m01-l01", Claim("b", now + timedelta(minutes=1)), now) is None
    expired = Claim("c", now - timedelta(seconds=1))
    assert store.claim_lesson(course.id, "m01-l02", expired, now) is not None
    taken = store.claim_lesson(course.id, "m01-l02", Claim("d", now + timedelta(minutes=1)), now)
    assert taken is not None and taken.attempts == 2
    assert not store.commit_lesson(taken.model_copy(update={"generated_at": now}), expired, now)
    assert store.commit_lesson(taken.model_copy(update={"generated_at": now}), Claim("d", now), now)
    assert present(store.get_lesson("alice", course.id, "m01-l02")).status == LessonStatus.GENERATED


def test_requests_keep_high_priority_and_the_first_open_time(store: CourseStore) -> None:
    course = outlined_course(store)
    first, later = utcnow(), utcnow() + timedelta(seconds=30)
    store.request_lessons(course.id, ["m01-l02"], Priority.HIGH, first)
    store.request_lessons(course.id, ["m01-l02"], Priority.LOW, later)  # a lookahead must not downgrade it
    store.request_lessons(course.id, ["m01-l02"], Priority.HIGH, later)  # a second open keeps the first time
    lesson = store.get_lesson("alice", course.id, "m01-l02")
    assert lesson is not None
    assert lesson.priority == Priority.HIGH and lesson.requested_at == first and lesson.updated_at == first


def test_stranded_lessons_are_requested_ones_of_either_priority_or_expired_leases(store: CourseStore) -> None:
    course = outlined_course(store, lessons=4)
    then = utcnow()
    store.request_lessons(course.id, ["m01-l01"], Priority.HIGH, then)
    store.request_lessons(course.id, ["m01-l02"], Priority.LOW, then)
    store.claim_lesson(course.id, "m01-l03", Claim("dead", then - timedelta(seconds=1)), then)
    later = then + timedelta(seconds=10)
    stuck = {lesson.id for lesson in store.stuck_lessons(later, later, 100)}
    assert stuck == {"m01-l01", "m01-l02", "m01-l03"}  # m01-l04 was never requested
    store.mark_requeued(course.id, ["m01-l01", "m01-l02"], later)
    assert {lesson.id for lesson in store.stuck_lessons(later, later, 100)} == {"m01-l03"}


def test_a_rate_limited_claim_is_given_back_without_spending_an_attempt(store: CourseStore) -> None:
    course = outlined_course(store)
    claim = Claim("a", utcnow() + timedelta(minutes=1))
    store.claim_lesson(course.id, "m01-l01", claim, utcnow())
    store.unclaim_lesson(course.id, "m01-l01", claim)
    lesson = store.get_lesson("alice", course.id, "m01-l01")
    assert lesson is not None
    assert (lesson.status, lesson.attempts, lesson.lease) == (LessonStatus.PENDING, 0, None)


def test_a_lesson_version_is_replaced_only_from_the_expected_version_and_status(store: CourseStore) -> None:
    course = outlined_course(store)
    claim = Claim("lesson", utcnow() + timedelta(minutes=1))
    lesson = store.claim_lesson(course.id, "m01-l01", claim, utcnow())
    assert lesson is not None
    content = LessonContent(blocks=[MarkdownBlock(type="markdown", markdown="v1")], generator="offline")
    written = lesson.model_copy(update={"content": content, "generated_at": utcnow()})
    assert store.commit_lesson(written, claim, utcnow())
    current = store.get_lesson("alice", course.id, "m01-l01")
    assert current is not None and current.version == 1 and current.versions == []

    kept = LessonVersion(number=1, generated_at=current.generated_at, content=content)
    again = current.model_copy(
        update={
            "status": LessonStatus.PENDING,
            "content": None,
            "version": 2,
            "instruction": "simpler",
            "versions": [kept],
            "priority": Priority.HIGH,
            "generated_at": None,
        }
    )
    generated = (LessonStatus.GENERATED,)
    assert not store.replace_lesson_version(again, expected_version=2, statuses=generated, now=utcnow())
    other = again.model_copy(update={"owner_id": "bob"})
    assert not store.replace_lesson_version(other, expected_version=1, statuses=generated, now=utcnow())
    assert store.replace_lesson_version(again, expected_version=1, statuses=generated, now=utcnow())
    assert not store.replace_lesson_version(again, expected_version=1, statuses=generated, now=utcnow())  # moved on
    stored = store.get_lesson("alice", course.id, "m01-l01")
    assert stored is not None
    assert (stored.status, stored.version, stored.instruction, stored.content) == (
        LessonStatus.PENDING,
        2,
        "simpler",
        None,
    )
    assert stored.versions == [kept] and stored.generated_at is None and stored.priority == Priority.HIGH
    listed = next(x for x in store.list_lessons(course.id) if x.id == "m01-l01")
    assert listed.versions == [] and listed.instruction == "simpler"  # lists leave the versions out
    claimed = store.claim_lesson(course.id, "m01-l01", Claim("again", utcnow() + timedelta(minutes=1)), utcnow())
    assert claimed is not None and claimed.instruction == "simpler" and claimed.versions == []


def test_written_lessons_are_the_owners_generated_ones_with_their_current_content_only(store: CourseStore) -> None:
    course = outlined_course(store)

    def write(lesson_id: str, text: str) -> None:
        claim = Claim(f"write-{lesson_id}-{text}", utcnow() + timedelta(minutes=1))
        lesson = present(store.claim_lesson(course.id, lesson_id, claim, utcnow()))
        content = LessonContent(blocks=[MarkdownBlock(type="markdown", markdown=text)], generator="offline")
        assert store.commit_lesson(lesson.model_copy(update={"content": content}), claim, utcnow())

    write("m01-l03", "third")
    write("m01-l01", "v1")
    current = present(store.get_lesson("alice", course.id, "m01-l01"))
    kept = LessonVersion(number=1, generated_at=current.generated_at, content=present(current.content))
    rewrite = current.model_copy(
        update={"status": LessonStatus.PENDING, "content": None, "version": 2, "versions": [kept]}
    )
    assert store.replace_lesson_version(rewrite, expected_version=1, statuses=(LessonStatus.GENERATED,), now=utcnow())
    assert [lesson.id for lesson in store.written_lessons("alice", course.id)] == ["m01-l03"]  # being rewritten
    write("m01-l01", "v2")
    assert len(present(store.get_lesson("alice", course.id, "m01-l01")).versions) == 1

    written = store.written_lessons("alice", course.id)
    assert [lesson.id for lesson in written] == ["m01-l01", "m01-l03"]  # course order; m01-l02 is not written
    assert [present(lesson.content).blocks[0] for lesson in written] == [
        MarkdownBlock(type="markdown", markdown="v2"),
        MarkdownBlock(type="markdown", markdown="third"),
    ]
    assert all(lesson.versions == [] and lesson.partial is None for lesson in written)
    assert store.written_lessons("bob", course.id) == []
