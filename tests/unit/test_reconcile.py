"""The reconciler (flowgen.reconcile) on records laid out directly in the in-memory stores: what
one run re-sends, fails and counts, and what `release_dead_leases` frees after a restart.
tests/unit/test_domain.py and test_questions.py drive it through the use cases and workers."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from flowgen.clock import utcnow
from flowgen.reconcile import Reconciled, reconcile, release_dead_leases
from flowgen.records import Course, Lease, Lesson, LessonStatus, Priority, Question, QuestionStatus
from flowgen.scheduling import JobScheduler
from flowgen.settings import ReconcilerTunables
from tests.fakes.ports import MemoryDedupe, RecordingQueue
from tests.fakes.questions import MemoryQuestionStore
from tests.fakes.store import MemoryStore
from tests.narrow import present

STUCK = 300
COURSE = "c" * 32
NOW = utcnow()
LONG_AGO = NOW - timedelta(seconds=STUCK + 1)


class CountingStore(MemoryStore):
    """Remembers how many records each reconciliation query asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[int] = []

    def stuck_courses(self, older_than: datetime, now: datetime, limit: int) -> list[Course]:
        self.asked.append(limit)
        return super().stuck_courses(older_than, now, limit)

    def stuck_lessons(self, older_than: datetime, now: datetime, limit: int) -> list[Lesson]:
        self.asked.append(limit)
        return super().stuck_lessons(older_than, now, limit)


class CountingQuestions(MemoryQuestionStore):
    def __init__(self) -> None:
        super().__init__()
        self.asked: list[int] = []

    def stuck(self, older_than: datetime, now: datetime, limit: int) -> list[Question]:
        self.asked.append(limit)
        return super().stuck(older_than, now, limit)


class Records:
    def __init__(self) -> None:
        self.store, self.questions = CountingStore(), CountingQuestions()
        self.queue = RecordingQueue()
        self.scheduler = JobScheduler(self.queue, MemoryDedupe(), dedupe_ttl_seconds=STUCK)
        self.tunables = ReconcilerTunables(stuck_after_seconds=STUCK, max_receive_count=3)

    def lesson(self, lesson_id: str, status: LessonStatus, **fields: object) -> None:
        record = Lesson(
            id=lesson_id,
            course_id=COURSE,
            module_id=lesson_id[:3],
            owner_id="alice",
            order=len(self.store.lessons),
            title=lesson_id,
            summary="",
            status=status,
        )
        self.store.lessons[COURSE, lesson_id] = record.model_copy(update=fields)

    def question(self, question_id: str, status: QuestionStatus, **fields: object) -> None:
        record = Question(
            id=question_id,
            owner_id="alice",
            course_id=COURSE,
            lesson_id="m01-l01",
            question="Why?",
            status=status,
            asked_at=LONG_AGO,
        )
        self.questions.insert(record.model_copy(update=fields))

    def reconcile(self, now: datetime = NOW, **options: int) -> Reconciled:
        return reconcile(self.store, self.scheduler, self.tunables, now, questions=self.questions, **options)

    def stored(self, lesson_id: str) -> Lesson:
        return present(self.store.get_lesson("alice", COURSE, lesson_id))


@pytest.fixture
def r() -> Records:
    return Records()


def _lease(expires_at: datetime) -> Lease:
    return Lease(token="worker", expires_at=expires_at)


def _expired() -> Lease:
    return _lease(NOW - timedelta(seconds=1))


# ---- reconcile ----------------------------------------------------------------------------


def test_without_a_question_store_no_question_is_counted(r: Records) -> None:
    assert reconcile(r.store, r.scheduler, r.tunables, NOW) == Reconciled(0, 0, 0, 0, 0)


def test_one_run_asks_for_at_most_200_records_of_each_kind(r: Records) -> None:
    r.reconcile()
    assert r.store.asked == [200, 200] and r.questions.asked == [200]


def test_a_question_whose_worker_died_is_sent_again_unless_that_was_its_last_attempt(r: Records) -> None:
    r.question("q-early", QuestionStatus.ANSWERING, lease=_expired(), attempts=1, updated_at=LONG_AGO)
    r.question("q-last-1", QuestionStatus.ANSWERING, lease=_expired(), attempts=3, updated_at=LONG_AGO)
    r.question("q-last-2", QuestionStatus.ANSWERING, lease=_expired(), attempts=4, updated_at=LONG_AGO)
    assert r.reconcile() == Reconciled(0, 0, 0, questions_resent=1, questions_failed=2)
    assert [job.question_id for job in r.queue.lesson_jobs[Priority.HIGH]] == ["q-early"]
    early = r.questions.questions["q-early"]
    assert early.status == QuestionStatus.ANSWERING and early.error is None  # the next worker reclaims it
    for question_id in ("q-last-1", "q-last-2"):
        failed = r.questions.questions[question_id]
        assert failed.status == QuestionStatus.FAILED and failed.lease is None
        assert "lease expired on the last attempt" in present(failed.error)


def test_a_question_sent_again_waits_a_period_before_the_next_send(r: Records) -> None:
    r.question("q1", QuestionStatus.QUEUED, updated_at=LONG_AGO)
    assert r.reconcile().questions_resent == 1
    assert r.questions.questions["q1"].updated_at == NOW
    assert r.reconcile(NOW + timedelta(seconds=STUCK - 1)).questions_resent == 0
    assert r.reconcile(NOW + timedelta(seconds=STUCK + 1)).questions_resent == 1  # still not taken: again
    assert len(r.queue.lesson_jobs[Priority.HIGH]) == 2


def test_a_run_keeps_to_its_limit_for_questions(r: Records) -> None:
    for question_id in ("q1", "q2", "q3"):
        r.question(question_id, QuestionStatus.QUEUED, updated_at=LONG_AGO)
    assert r.reconcile(limit=2).questions_resent == 2
    assert r.reconcile(limit=2).questions_resent == 1  # the third, now that the others wait again


# ---- release_dead_leases ------------------------------------------------------------------


def _restarted_system(r: Records) -> None:
    """Two lessons and a question held by workers that are gone (one lease still running), and
    records no worker holds: stranded, written, answered."""
    r.lesson("m01-l01", LessonStatus.GENERATING, lease=_lease(NOW + timedelta(minutes=2)), attempts=1)
    r.lesson("m01-l02", LessonStatus.GENERATING, lease=_expired(), attempts=2, priority=Priority.LOW)
    r.lesson("m01-l03", LessonStatus.PENDING, priority=Priority.LOW, updated_at=LONG_AGO)
    r.lesson("m01-l04", LessonStatus.GENERATED)
    r.question("q-held", QuestionStatus.ANSWERING, lease=_lease(NOW + timedelta(minutes=2)), attempts=1)
    r.question("q-queued", QuestionStatus.QUEUED, updated_at=LONG_AGO)
    r.question("q-answered", QuestionStatus.ANSWERED, answer="Because.")


def test_after_a_restart_every_held_lease_is_released_at_once(r: Records) -> None:
    _restarted_system(r)
    assert release_dead_leases(r.store, r.questions, NOW) == 3
    for lesson_id, attempts in (("m01-l01", 1), ("m01-l02", 2)):
        lesson = r.stored(lesson_id)
        assert (lesson.status, lesson.lease, lesson.attempts) == (LessonStatus.PENDING, None, attempts)
        assert "restarted" in present(lesson.error)
    held = r.questions.questions["q-held"]
    assert (held.status, held.lease) == (QuestionStatus.QUEUED, None) and "restarted" in present(held.error)
    stranded = r.stored("m01-l03")
    assert (stranded.status, stranded.updated_at, stranded.error) == (LessonStatus.PENDING, LONG_AGO, None)
    assert r.stored("m01-l04").status == LessonStatus.GENERATED
    assert r.questions.questions["q-queued"].status == QuestionStatus.QUEUED
    assert r.questions.questions["q-answered"].status == QuestionStatus.ANSWERED
    assert r.queue.lesson_jobs == {Priority.HIGH: [], Priority.LOW: []}  # their messages are still queued


def test_without_a_question_store_only_lessons_are_released(r: Records) -> None:
    _restarted_system(r)
    assert release_dead_leases(r.store, None, NOW) == 2
    assert r.questions.questions["q-held"].status == QuestionStatus.ANSWERING


def test_release_keeps_to_its_limit(r: Records) -> None:
    _restarted_system(r)
    r.question("q-held-2", QuestionStatus.ANSWERING, lease=_lease(NOW + timedelta(minutes=2)), attempts=1)
    assert release_dead_leases(r.store, r.questions, NOW, limit=1) == 2  # one lesson, one question
    assert release_dead_leases(r.store, r.questions, NOW) == 2  # the others
    assert release_dead_leases(r.store, r.questions, NOW) == 0


def test_release_asks_for_at_most_1000_records_of_each_kind(r: Records) -> None:
    release_dead_leases(r.store, r.questions, NOW)
    assert r.store.asked == [1000] and r.questions.asked == [1000]
