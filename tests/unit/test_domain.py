"""Domain use cases against in-memory fakes of the queue, dedupe lock and model."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flowgen.adapters.mongo_client import connect
from flowgen.adapters.mongo_store import MongoCourseStore
from flowgen.clock import utcnow
from flowgen.courses import CourseService
from flowgen.errors import Conflict, InvalidRequest, ModelError, NotFound
from flowgen.generation import Generator, Outcome
from flowgen.models import CourseJob, CourseStatus, CreateCourseRequest, LessonJob, LessonStatus, Priority
from flowgen.policy import Policy
from flowgen.scheduling import JobScheduler, lesson_job_key
from tests.fakes.ports import MemoryDedupe, RecordingQueue, ScriptedModel


@pytest.fixture
def world(mongo_uri):
    uri, db = mongo_uri
    store = MongoCourseStore(connect(uri, db))
    store.ensure_indexes()
    queue, dedupe, model = RecordingQueue(), MemoryDedupe(), ScriptedModel()
    scheduler = JobScheduler(queue, dedupe, dedupe_ttl_seconds=60)
    policy = Policy(lookahead=2, initial_lessons=1, max_receive_count=3)
    service = CourseService(store, scheduler, policy)
    generator = Generator(store, scheduler, model, policy, utcnow)
    return store, queue, dedupe, model, service, generator


def _ready_course(service, generator, queue, owner="alice"):
    course = service.create_course(owner, CreateCourseRequest(prompt="Rust ownership"), utcnow())
    assert generator.build_outline(queue.course_jobs[-1], receive_count=1) == Outcome.DONE
    return service.get_course(owner, course.id)


def test_create_course_records_intent_then_enqueues_once(world):
    store, queue, dedupe, *_, service, _gen = world
    course = service.create_course("alice", CreateCourseRequest(prompt="Rust ownership"), utcnow())
    assert course.status == CourseStatus.PENDING
    assert store.get_course("alice", course.id) is not None
    assert [j.course_id for j in queue.course_jobs] == [course.id]


def test_queue_outage_keeps_the_course_and_releases_its_dedupe_key(world):
    store, queue, dedupe, _m, service, _g = world
    queue.down = True
    course = service.create_course("alice", CreateCourseRequest(prompt="Rust ownership"), utcnow())
    assert store.get_course("alice", course.id).status == CourseStatus.PENDING
    assert dedupe.keys == set()  # so the reconciler's resend is not swallowed


def test_dedupe_outage_still_enqueues(world):
    _s, queue, dedupe, _m, service, generator = world
    course = _ready_course(service, generator, queue)
    dedupe.down = True
    target = course.modules[1].lessons[0].id
    service.open_lesson("alice", course.id, target, utcnow())
    service.open_lesson("alice", course.id, target, utcnow())
    assert [j.lesson_id for j in queue.lesson_jobs[Priority.HIGH]] == [target, target]  # duplicates, never a loss


def test_opening_a_lesson_promotes_it_and_prefetches_the_next_ones(world):
    _s, queue, dedupe, _m, service, generator = world
    course = _ready_course(service, generator, queue)
    ids = [lesson.id for m in course.modules for lesson in m.lessons]
    view = service.open_lesson("alice", course.id, ids[5], utcnow())
    assert view.retry_after == 2 and view.priority == Priority.HIGH
    assert [j.lesson_id for j in queue.lesson_jobs[Priority.HIGH]] == [ids[5]]
    assert [j.lesson_id for j in queue.lesson_jobs[Priority.LOW]] == [ids[0], ids[6], ids[7]]
    assert lesson_job_key(course.id, ids[5], Priority.HIGH) in dedupe.keys


def test_generation_failure_releases_then_fails_on_the_last_receive(world):
    store, queue, _d, model, service, generator = world
    course = _ready_course(service, generator, queue)
    target = course.modules[0].lessons[1].id
    job = LessonJob(course_id=course.id, lesson_id=target, owner_id="alice", priority=Priority.HIGH)
    model.fail_next = 3
    for receive in (1, 2):
        with pytest.raises(ModelError):
            generator.write_lesson(job, receive_count=receive)
        lesson = store.get_lesson("alice", course.id, target)
        assert lesson.status == LessonStatus.PENDING and lesson.lease is None and lesson.error
    with pytest.raises(ModelError):
        generator.write_lesson(job, receive_count=3)
    assert store.get_lesson("alice", course.id, target).status == LessonStatus.FAILED
    assert generator.write_lesson(job, receive_count=4) == Outcome.SKIPPED  # FAILED is not claimable

    service.retry_lesson("alice", course.id, target, utcnow())
    assert generator.write_lesson(job, receive_count=1) == Outcome.DONE
    with pytest.raises(Conflict):
        service.retry_lesson("alice", course.id, target, utcnow())


def test_outline_retry_upserts_lessons_instead_of_duplicating(world):
    store, queue, _d, _m, service, generator = world
    course = _ready_course(service, generator, queue)
    count = len(store.list_lessons(course.id))
    # a redelivered job after the outline landed is acknowledged without a model call
    assert generator.build_outline(CourseJob(course_id=course.id, owner_id="alice"), 2) == Outcome.SKIPPED
    # and a forced rebuild (lease expired mid-commit) overwrites by position
    store.courses.update_one(
        {"_id": course.id},
        {"$set": {"status": "GENERATING", "lease": {"token": "dead", "expiresAt": utcnow() - timedelta(seconds=1)}}},
    )
    assert generator.build_outline(CourseJob(course_id=course.id, owner_id="alice"), 2) == Outcome.DONE
    assert len(store.list_lessons(course.id)) == count


def test_reads_are_scoped_by_owner_and_ids_are_validated(world):
    _s, queue, _d, _m, service, generator = world
    course = _ready_course(service, generator, queue)
    with pytest.raises(NotFound):
        service.get_course("bob", course.id)
    with pytest.raises(NotFound):
        service.open_lesson("bob", course.id, course.modules[0].lessons[0].id, utcnow())
    with pytest.raises(InvalidRequest):
        service.get_course("alice", "../../etc")
    with pytest.raises(InvalidRequest):
        service.list_courses("alice", cursor="%%%", limit=None)


def test_request_keeps_high_priority_and_the_first_open_time(world):
    store, queue, _d, _m, service, generator = world
    course = _ready_course(service, generator, queue)
    target = course.modules[2].lessons[1].id
    first, later = utcnow(), utcnow() + timedelta(seconds=30)
    store.request_lessons(course.id, [target], Priority.HIGH, first)
    store.request_lessons(course.id, [target], Priority.LOW, later)  # a lookahead must not downgrade it
    store.request_lessons(course.id, [target], Priority.HIGH, later)  # a second open keeps the first time
    lesson = store.get_lesson("alice", course.id, target)
    assert lesson.priority == Priority.HIGH and lesson.requested_at == first
