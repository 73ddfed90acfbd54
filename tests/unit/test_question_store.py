"""The QuestionStore contract, held by the MongoDB adapter (on mongomock) and by the in-memory fake
the domain tests use, so the fake cannot drift from the real thing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from flowgen.adapters.mongo_questions import MongoQuestionStore
from flowgen.clock import utcnow
from flowgen.ports import Claim, QuestionStore
from flowgen.records import Question, QuestionStatus, Usage
from tests.fakes.mongomock_db import mongomock_database
from tests.fakes.questions import MemoryQuestionStore
from tests.narrow import present

COURSE = "c" * 32


def _mongo() -> MongoQuestionStore:
    store = MongoQuestionStore(mongomock_database())
    store.ensure_indexes()
    return store


@pytest.fixture(params=["memory", "mongo"])
def store(request: pytest.FixtureRequest) -> QuestionStore:
    return MemoryQuestionStore() if request.param == "memory" else _mongo()


def _asked(store: QuestionStore, owner: str = "alice", lesson: str = "m01-l01", seconds: int = 0) -> Question:
    at = utcnow() + timedelta(seconds=seconds)
    question = Question(
        id=uuid.uuid4().hex,
        owner_id=owner,
        course_id=COURSE,
        lesson_id=lesson,
        question=f"why {seconds}?",
        status=QuestionStatus.QUEUED,
        asked_at=at,
        updated_at=at,
    )
    store.insert(question)
    return question


def _lease(token: str, seconds: float = 60) -> Claim:
    return Claim(token, utcnow() + timedelta(seconds=seconds))


def _one(store: QuestionStore, question: Question) -> Question:
    found = [q for q in store.thread(question.owner_id, COURSE, question.lesson_id, limit=100) if q.id == question.id]
    return found[0]


def test_a_thread_is_one_owners_questions_on_one_lesson_oldest_first(store: QuestionStore) -> None:
    later = _asked(store, seconds=5)
    earlier = _asked(store, seconds=1)
    _asked(store, owner="bob")
    _asked(store, lesson="m01-l02")
    assert [q.id for q in store.thread("alice", COURSE, "m01-l01", limit=100)] == [earlier.id, later.id]
    assert [q.id for q in store.thread("alice", COURSE, "m01-l01", limit=1)] == [earlier.id]
    store.delete_course("alice", COURSE, ["m01-l02"])  # an outline edit removed that lesson
    assert store.thread("alice", COURSE, "m01-l02", limit=100) == []
    assert len(store.thread("alice", COURSE, "m01-l01", limit=100)) == 2
    store.delete_course("alice", COURSE)
    assert store.thread("alice", COURSE, "m01-l01", limit=100) == []
    assert len(store.thread("bob", COURSE, "m01-l01", limit=100)) == 1  # another owner's stay


def test_a_claim_is_a_compare_and_set_and_only_its_holder_writes(store: QuestionStore) -> None:
    question = _asked(store)
    mine, other = _lease("mine"), _lease("other")
    claimed = present(store.claim(question.id, mine, utcnow()))
    assert claimed.status == QuestionStatus.ANSWERING and claimed.attempts == 1
    assert store.claim(question.id, other, utcnow()) is None  # held by a live lease
    assert not store.write_partial(question.id, other, "theirs")
    assert store.write_partial(question.id, mine, "half")
    assert _one(store, question).partial == "half"
    assert not store.commit(question.id, other, "theirs", Usage(), utcnow(), 1)
    store.release(question.id, other, "not theirs", failed=True)
    assert _one(store, question).status == QuestionStatus.ANSWERING
    assert store.commit(question.id, mine, "the answer", Usage(prompt_tokens=3, completion_tokens=4), utcnow(), 1)
    done = _one(store, question)
    assert (done.status, done.answer, done.partial, done.lease) == (QuestionStatus.ANSWERED, "the answer", None, None)
    assert done.usage.total_tokens == 7 and done.answered_at is not None and done.partial_writes == 1
    assert not store.commit(question.id, mine, "again", Usage(), utcnow(), 1)  # exactly once
    assert store.claim(question.id, other, utcnow()) is None  # answered: never claimed again
    assert not store.write_partial(question.id, mine, "late")


def test_an_expired_lease_is_claimed_again_and_starts_clean(store: QuestionStore) -> None:
    question = _asked(store)
    dead = Claim("dead", utcnow() - timedelta(seconds=1))
    assert store.claim(question.id, dead, utcnow() - timedelta(seconds=2)) is not None
    assert store.write_partial(question.id, dead, "half of it")
    again = present(store.claim(question.id, _lease("next"), utcnow()))
    assert again.attempts == 2 and again.partial is None
    assert not store.write_partial(question.id, dead, "the dead worker's rest")


def test_release_retries_or_fails_and_unclaim_spends_no_attempt(store: QuestionStore) -> None:
    question = _asked(store)
    first = _lease("first")
    store.claim(question.id, first, utcnow())
    store.write_partial(question.id, first, "half")
    store.release(question.id, first, "model: 500", failed=False)
    retried = _one(store, question)
    assert (retried.status, retried.partial, retried.lease) == (QuestionStatus.QUEUED, None, None)
    second = _lease("second")
    store.claim(question.id, second, utcnow())
    store.unclaim(question.id, second)
    assert _one(store, question).attempts == 1 and _one(store, question).status == QuestionStatus.QUEUED
    third = _lease("third")
    store.claim(question.id, third, utcnow())
    store.release(question.id, third, "model: 500", failed=True)
    failed = _one(store, question)
    assert (failed.status, failed.error, failed.answer) == (QuestionStatus.FAILED, "model: 500", None)


def test_stuck_questions_are_queued_too_long_or_past_their_lease(store: QuestionStore) -> None:
    now = utcnow()
    old = _asked(store, seconds=-600)
    _asked(store)  # queued just now
    leased = _asked(store, seconds=-5)
    store.claim(leased.id, Claim("gone", now - timedelta(seconds=1)), now - timedelta(seconds=2))
    live = _asked(store, seconds=-600)
    store.claim(live.id, _lease("live"), now)
    stuck = {q.id for q in store.stuck(now - timedelta(seconds=300), now, 100)}
    assert stuck == {old.id, leased.id}
    store.mark_requeued([old.id], now)
    assert {q.id for q in store.stuck(now - timedelta(seconds=300), now, 100)} == {leased.id}
