"""Domain use cases against in-memory fakes of every port (no database, no network)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from flowgen.clock import utcnow
from flowgen.content import GeneratedLesson
from flowgen.deadline import LEASE_MARGIN_SECONDS, Attempt
from flowgen.errors import AlreadyExists, Conflict, IdempotencyKeyReused, InvalidRequest, ModelError, NotFound
from flowgen.generation import Outcome
from flowgen.messages import CourseJob
from flowgen.ports import Claim, LessonBrief
from flowgen.reconcile import reconcile
from flowgen.records import CourseStatus, Lease, Lesson, LessonStatus, Priority, Usage
from flowgen.requests import CreateCourseRequest, RegenerateLessonRequest
from flowgen.scheduling import course_job_key, lesson_job_key
from flowgen.settings import ReconcilerTunables
from flowgen.views import CourseDetail
from tests.fakes.ports import BlockingModel
from tests.fakes.world import FIRST, STUCK, World, ids_of, job_for
from tests.narrow import present


@pytest.fixture
def world() -> World:
    return World()


# ---- API use cases ---------------------------------------------------------------------------


def test_create_course_records_intent_then_enqueues_once(world: World) -> None:
    course = world.service.create_course("alice", CreateCourseRequest(prompt="Rust ownership"), utcnow())
    assert course.status == CourseStatus.PENDING
    assert world.store.get_course("alice", course.id) is not None
    assert [j.course_id for j in world.queue.course_jobs] == [course.id]


def test_queue_outage_keeps_the_course_and_releases_its_dedupe_key(world: World) -> None:
    world.queue.down = True
    course = world.service.create_course("alice", CreateCourseRequest(prompt="Rust ownership"), utcnow())
    assert present(world.store.get_course("alice", course.id)).status == CourseStatus.PENDING
    assert world.dedupe.keys == set()  # so the reconciler's resend is not swallowed


def test_dedupe_outage_still_enqueues(world: World) -> None:
    course = world.ready_course()
    world.dedupe.down = True
    target = course.modules[1].lessons[0].id
    world.service.open_lesson("alice", course.id, target, utcnow())
    world.service.open_lesson("alice", course.id, target, utcnow())
    assert world.queue.lesson_ids(Priority.HIGH) == [target, target]  # duplicates, never a loss


def test_opening_a_lesson_promotes_it_and_prefetches_the_next_ones(world: World) -> None:
    course = world.ready_course()
    ids = ids_of(course)
    view = world.service.open_lesson("alice", course.id, ids[5], utcnow())
    assert view.retry_after == 1 and view.priority == Priority.HIGH
    assert world.queue.lesson_ids(Priority.HIGH) == [ids[5]]
    assert world.queue.lesson_ids(Priority.LOW) == [ids[0], ids[6], ids[7]]
    assert lesson_job_key(course.id, ids[5], Priority.HIGH) in world.dedupe.keys
    assert world.dedupe.ttls[lesson_job_key(course.id, ids[5], Priority.HIGH)] == STUCK  # bounded TTL


def test_a_thousand_opens_send_one_job(world: World) -> None:
    course = world.ready_course()
    target = ids_of(course)[3]
    for _ in range(1000):
        world.service.open_lesson("alice", course.id, target, utcnow())
    assert world.queue.lesson_ids(Priority.HIGH) == [target]


def test_reads_are_scoped_by_owner_and_ids_are_validated(world: World) -> None:
    course = world.ready_course()
    with pytest.raises(NotFound):
        world.service.get_course("bob", course.id)
    with pytest.raises(NotFound):
        world.service.open_lesson("bob", course.id, course.modules[0].lessons[0].id, utcnow())
    with pytest.raises(InvalidRequest):
        world.service.get_course("alice", "../../etc")
    with pytest.raises(InvalidRequest):
        world.service.list_courses("alice", cursor="%%%", limit=None)


def test_course_pages_walk_newest_first_without_gaps(world: World) -> None:
    start = utcnow()
    made = [
        world.service.create_course("alice", CreateCourseRequest(prompt=f"topic {i}"), start + timedelta(seconds=i))
        for i in range(5)
    ]
    first = world.service.list_courses("alice", None, 2)
    second = world.service.list_courses("alice", first.next_cursor, 2)
    last = world.service.list_courses("alice", second.next_cursor, 2)
    seen = [c.id for page in (first, second, last) for c in page.items]
    assert seen == [c.id for c in reversed(made)]
    assert last.next_cursor is None


# ---- idempotency backstop (issue 12) ---------------------------------------------------------


def test_a_used_idempotency_key_returns_the_same_course_without_redis(world: World) -> None:
    request = CreateCourseRequest(prompt="Rust ownership")
    first = world.service.create_course("alice", request, utcnow(), idempotency_key="k1")
    again = world.service.create_course("alice", request, utcnow(), idempotency_key="k1")
    assert again.id == first.id
    assert len(world.store.courses) == 1 and len(world.queue.course_jobs) == 1
    with pytest.raises(IdempotencyKeyReused):
        world.service.create_course("alice", CreateCourseRequest(prompt="Go channels"), utcnow(), idempotency_key="k1")
    other = world.service.create_course("bob", request, utcnow(), idempotency_key="k1")  # keys are per owner
    assert other.id != first.id


# ---- the worker skeleton -----------------------------------------------------------------------


def _retry_now(world: World, course_id: str, lesson_id: str) -> None:
    """The failed attempt's backoff has run out."""
    world.store._update_lesson((course_id, lesson_id), retry_at=utcnow() - timedelta(seconds=1))


def _fail_for_good(world: World, course: CourseDetail, lesson_id: str) -> None:
    """Three failed attempts, each after the previous one's backoff: the lesson is FAILED."""
    world.model.fail_next = 3
    for _ in range(3):
        world.generator.write_lesson(job_for(course, lesson_id), FIRST)
        _retry_now(world, course.id, lesson_id)
    assert present(world.store.get_lesson("alice", course.id, lesson_id)).status == LessonStatus.FAILED


def test_a_failed_call_waits_out_a_backoff_then_the_third_failure_is_final(world: World) -> None:
    world.generator = replace(world.generator, jitter=lambda low, high: 1.0)
    course = world.ready_course()
    target = course.modules[0].lessons[1].id
    job = job_for(course, target)
    world.model.fail_next = 3
    delays = []
    for attempt in (1, 2):
        started = utcnow()
        assert world.generator.write_lesson(job, FIRST) == Outcome.RETRYING  # the message is done with
        lesson = present(world.store.get_lesson("alice", course.id, target))
        assert lesson.status == LessonStatus.PENDING and lesson.lease is None and lesson.attempts == attempt
        assert lesson.error == ModelError.public  # a sentence for people, never "ModelError: ..."
        wait = (present(lesson.retry_at) - started).total_seconds()
        assert abs(wait - 5 * 3 ** (attempt - 1)) < 1  # 5 s, then 15 s
        delays.append(world.queue.delays[-1])
        assert world.queue.lesson_jobs[Priority.LOW][-1] == job  # sent again, for after the wait
        assert world.generator.write_lesson(job, FIRST) == Outcome.SKIPPED  # an early job does nothing
        _retry_now(world, course.id, target)
    assert delays == [5, 15]
    assert world.generator.write_lesson(job, FIRST) == Outcome.FAILED
    failed = present(world.store.get_lesson("alice", course.id, target))
    assert failed.status == LessonStatus.FAILED and failed.attempts == 3
    assert failed.error == f"{ModelError.public.rstrip('.')}. Tried 3 times; you can try again."
    assert world.model.lesson_calls.count(failed.title) == 3
    assert world.generator.write_lesson(job, FIRST) == Outcome.SKIPPED  # FAILED is not claimable

    world.service.retry_lesson("alice", course.id, target, utcnow())
    assert world.generator.write_lesson(job, FIRST) == Outcome.DONE
    with pytest.raises(Conflict):
        world.service.retry_lesson("alice", course.id, target, utcnow())


def test_polling_a_failed_lesson_sends_nothing_before_its_retry_time(world: World) -> None:
    course = world.ready_course()
    target = ids_of(course)[5]
    world.service.open_lesson("alice", course.id, target, utcnow())
    world.model.fail_next = 1
    assert world.generator.write_lesson(job_for(course, target), FIRST) == Outcome.RETRYING
    sent = len(world.queue.lesson_jobs[Priority.HIGH])
    for _ in range(20):  # a page polling it, in many tabs
        view = world.service.open_lesson("alice", course.id, target, utcnow())
    assert len(world.queue.lesson_jobs[Priority.HIGH]) == sent
    assert view.status == LessonStatus.PENDING and view.error == ModelError.public
    assert (view.attempts, view.max_attempts, view.retry_at is not None) == (1, 3, True)


def test_a_record_claimed_past_the_attempts_cap_fails_without_a_model_call(world: World) -> None:
    """Attempts count claims on the record, however the job came (a poll's, a redelivery of a
    worker that died): the claim after the last allowed one ends it with the last reason."""
    course = world.ready_course()
    target = ids_of(course)[3]
    key = (course.id, target)
    dead = Lease(token="dead", expires_at=utcnow() - timedelta(seconds=1))
    world.store._update_lesson(
        key, status=LessonStatus.GENERATING, attempts=3, lease=dead, error="The writing service took too long."
    )
    assert world.generator.write_lesson(job_for(course, target), FIRST) == Outcome.FAILED
    lesson = present(world.store.get_lesson("alice", course.id, target))
    assert lesson.status == LessonStatus.FAILED
    assert lesson.error == "The writing service took too long. Tried 3 times; you can try again."
    assert world.model.lesson_calls == []


def test_an_outline_call_that_fails_is_retried_after_a_backoff_and_then_final(world: World) -> None:
    course = world.service.create_course("alice", CreateCourseRequest(prompt="Rust ownership"), utcnow())
    job = world.queue.course_jobs[-1]
    world.model.fail_next = 3
    for attempt in (1, 2):
        assert world.generator.build_outline(job, FIRST) == Outcome.RETRYING
        waiting = present(world.store.get_course("alice", course.id))
        assert waiting.status == CourseStatus.PENDING and waiting.attempts == attempt and waiting.retry_at
        view = world.service.get_course("alice", course.id)
        assert (view.error, view.attempts) == (ModelError.public, attempt)
        assert world.queue.course_jobs[-1] == job and world.queue.delays[-1] >= 4
        world.store._update_course(course.id, retry_at=utcnow() - timedelta(seconds=1))
    assert world.generator.build_outline(job, FIRST) == Outcome.FAILED
    failed = present(world.store.get_course("alice", course.id))
    assert failed.status == CourseStatus.FAILED and failed.error and "Tried 3 times" in failed.error


def test_outline_retry_upserts_lessons_instead_of_duplicating(world: World) -> None:
    course = world.ready_course()
    count = len(world.store.list_lessons(course.id))
    job = CourseJob(course_id=course.id, owner_id="alice")
    # a redelivered job after the outline landed is acknowledged without a model call
    assert world.generator.build_outline(job, FIRST) == Outcome.SKIPPED
    # and a forced rebuild (lease expired mid-commit) overwrites by position
    world.store._update_course(course.id, status=CourseStatus.GENERATING)
    world.store.course_leases[course.id] = world.store.course_leases.get(course.id) or _expired_lease()
    assert world.generator.build_outline(job, FIRST) == Outcome.DONE
    assert len(world.store.list_lessons(course.id)) == count


def _expired_lease() -> Lease:

    return Lease(token="dead", expires_at=utcnow() - timedelta(seconds=1))


def test_the_lease_ends_shortly_after_the_invocations_deadline(world: World) -> None:
    course = world.ready_course()
    target = ids_of(course)[2]
    world.model.fail_next = 1  # keep the claim visible: the failed attempt leaves it released...
    seen: list[Claim] = []
    world.store.claim_lesson = _spy(world.store.claim_lesson, seen)  # type: ignore[method-assign, assignment]  # the spy takes the same arguments
    before = utcnow()
    assert world.generator.write_lesson(job_for(course, target), Attempt(1, remaining_seconds=42)) == Outcome.RETRYING
    (claim,) = seen
    expected = before + timedelta(seconds=42 + LEASE_MARGIN_SECONDS)
    assert abs((claim.expires_at - expected).total_seconds()) < 1


def _spy(
    method: Callable[[str, str, Claim, datetime], Lesson | None], seen: list[Claim]
) -> Callable[[str, str, Claim, datetime], Lesson | None]:
    def claim(course_id: str, lesson_id: str, claim: Claim, now: datetime) -> Lesson | None:
        seen.append(claim)
        return method(course_id, lesson_id, claim, now)

    return claim


def test_the_worker_trusts_the_records_priority_not_the_queue_message(world: World) -> None:
    course = world.ready_course()
    target = ids_of(course)[0]  # prefetched at low priority by the outline
    world.service.open_lesson("alice", course.id, target, utcnow())  # then opened: high in MongoDB
    asked: list[Priority] = []

    def acquire(priority: Priority, tokens: int, **_: object) -> float:
        asked.append(priority)
        return 0.0

    world.generator.limiter.acquire = acquire  # type: ignore[method-assign]
    assert world.generator.write_lesson(job_for(course, target), FIRST) == Outcome.DONE  # delivered on the low queue
    assert asked == [Priority.HIGH]


def test_rate_limited_work_is_deferred_on_the_records_priority_without_spending_an_attempt(world: World) -> None:
    course = world.ready_course()
    target = ids_of(course)[4]
    world.service.open_lesson("alice", course.id, target, utcnow())
    world.generator.limiter.acquire = lambda priority, tokens, **_: 7.2  # type: ignore[method-assign]
    assert world.generator.write_lesson(job_for(course, target), FIRST) == Outcome.DEFERRED
    lesson = world.store.get_lesson("alice", course.id, target)
    assert lesson is not None
    assert lesson.status == LessonStatus.PENDING and lesson.attempts == 0 and lesson.lease is None
    assert world.queue.lesson_ids(Priority.HIGH) == [target, target] and world.queue.delays[-1] == 8


# ---- a model call ends at the invocation's deadline (issue 12) ---------------------------------


def test_a_model_call_that_outlives_the_invocation_fails_and_commits_nothing() -> None:
    model = BlockingModel()
    world = World(model)
    model.release.set()  # the outline answers at once
    course = world.ready_course()
    model.release.clear()  # the lesson call hangs
    target = ids_of(course)[1]
    started = time.monotonic()
    assert world.generator.write_lesson(job_for(course, target), Attempt(1, remaining_seconds=1.0)) == Outcome.RETRYING
    assert time.monotonic() - started < 1.5
    lesson = world.store.get_lesson("alice", course.id, target)
    assert lesson is not None
    assert lesson.status == LessonStatus.PENDING and lesson.lease is None
    assert lesson.error == "The writing service took too long to answer."  # for people; the logs say more
    model.release.set()  # the abandoned call answers late: nothing may land
    time.sleep(0.1)
    assert present(world.store.get_lesson("alice", course.id, target)).status == LessonStatus.PENDING


def test_no_model_call_starts_without_time_left(world: World) -> None:
    course = world.ready_course()
    assert world.generator.write_lesson(job_for(course, ids_of(course)[1]), Attempt(1, remaining_seconds=0)) == (
        Outcome.RETRYING
    )
    assert world.model.lesson_calls == []
    lesson = present(world.store.get_lesson("alice", course.id, ids_of(course)[1]))
    assert lesson.error == "The writing service took too long to answer."


# ---- nothing stuck when a job is lost (issue 12) ------------------------------------------------


def test_a_worker_that_takes_a_job_drops_its_dedupe_key(world: World) -> None:
    course = world.ready_course()
    target = ids_of(course)[3]
    world.service.open_lesson("alice", course.id, target, utcnow())
    assert lesson_job_key(course.id, target, Priority.HIGH) in world.dedupe.keys
    assert course_job_key(course.id) not in world.dedupe.keys  # the outline worker dropped the course's
    taken: list[bool] = []
    model_lesson = world.model.lesson

    def lesson(brief: LessonBrief) -> tuple[GeneratedLesson, Usage]:  # while the call runs
        taken.append(lesson_job_key(course.id, target, Priority.HIGH) in world.dedupe.keys)
        return model_lesson(brief)

    world.model.lesson = lesson  # type: ignore[method-assign]
    world.model.fail_next = 1
    assert world.generator.write_lesson(job_for(course, target), FIRST) == Outcome.RETRYING
    assert taken == [False]  # dropped when the job was taken
    # then held again by the job sent for after the backoff: a poll meanwhile sends nothing
    assert world.dedupe.ttls[lesson_job_key(course.id, target, Priority.HIGH)] >= STUCK + 4
    assert world.queue.lesson_ids(Priority.HIGH) == [target, target]
    _retry_now(world, course.id, target)
    world.service.open_lesson("alice", course.id, target, utcnow())
    assert world.queue.lesson_ids(Priority.HIGH) == [target, target]


def test_a_skipped_job_drops_its_dedupe_key_too(world: World) -> None:
    course = world.ready_course()
    target = ids_of(course)[3]
    world.service.open_lesson("alice", course.id, target, utcnow())
    assert world.generator.write_lesson(job_for(course, target), FIRST) == Outcome.DONE
    world.dedupe.keys.add(lesson_job_key(course.id, target, Priority.HIGH))  # a duplicate's key
    assert world.generator.write_lesson(job_for(course, target), FIRST) == Outcome.SKIPPED
    assert lesson_job_key(course.id, target, Priority.HIGH) not in world.dedupe.keys


def test_opening_a_lesson_whose_job_was_lost_sends_it_again(world: World) -> None:
    course = world.ready_course()
    target = ids_of(course)[6]
    opened = utcnow()
    world.service.open_lesson("alice", course.id, target, opened)
    world.queue.lesson_jobs[Priority.HIGH].clear()  # the message is lost; its dedupe key is still there
    world.service.open_lesson("alice", course.id, target, opened + timedelta(seconds=STUCK - 1))
    assert world.queue.lesson_ids(Priority.HIGH) == []  # still within its time: the key holds
    later = opened + timedelta(seconds=STUCK + 1)
    view = world.service.open_lesson("alice", course.id, target, later)
    assert world.queue.lesson_ids(Priority.HIGH) == [target]
    assert view.requested_at == opened  # time-to-lesson still counts from the first open
    # and the re-send restarts the clock: the next poll does not send a third
    world.service.open_lesson("alice", course.id, target, later + timedelta(seconds=1))
    assert world.queue.lesson_ids(Priority.HIGH) == [target]


def test_the_reconciler_resends_stranded_lessons_at_both_priorities(world: World) -> None:
    course = world.ready_course()
    ids = ids_of(course)
    world.service.open_lesson("alice", course.id, ids[5], utcnow())  # high, plus lookahead 6 and 7 low
    world.queue.lesson_jobs = {Priority.HIGH: [], Priority.LOW: []}  # SQS lost everything
    assert world.reconcile(utcnow()) == (0, 0, 0)  # nothing is stranded yet
    later = utcnow() + timedelta(seconds=STUCK + 1)
    assert world.reconcile(later) == (0, 4, 0)
    assert world.queue.lesson_ids(Priority.HIGH) == [ids[5]]
    assert sorted(world.queue.lesson_ids(Priority.LOW)) == sorted([ids[0], ids[6], ids[7]])
    assert world.reconcile(later + timedelta(seconds=1)) == (0, 0, 0)  # re-sent, so not stranded again at once
    untouched = world.store.get_lesson("alice", course.id, ids[10])
    assert untouched is not None
    assert untouched.priority is None  # never requested: never sent (lazy by default)


def test_the_reconciler_reclaims_an_expired_lease_and_fails_the_last_attempt(world: World) -> None:
    course = world.ready_course()
    ids = ids_of(course)
    now = utcnow()
    world.service.open_lesson("alice", course.id, ids[2], now)
    world.service.open_lesson("alice", course.id, ids[3], now)
    dead = Attempt(receive_count=1, remaining_seconds=-LEASE_MARGIN_SECONDS - 1)  # its lease already ran out
    world.store.claim_lesson(course.id, ids[2], world.generator._claim(dead), now)
    for _ in range(3):
        world.store.claim_lesson(course.id, ids[3], world.generator._claim(dead), utcnow())
    world.queue.lesson_jobs[Priority.HIGH].clear()
    assert world.reconcile(utcnow() + timedelta(seconds=1)) == (0, 1, 1)
    assert world.queue.lesson_ids(Priority.HIGH) == [ids[2]]
    assert present(world.store.get_lesson("alice", course.id, ids[3])).status == LessonStatus.FAILED
    assert world.generator.write_lesson(job_for(course, ids[2]), FIRST) == Outcome.DONE


def test_the_reconciler_resends_a_course_whose_job_was_lost(world: World) -> None:
    course = world.service.create_course("alice", CreateCourseRequest(prompt="Rust ownership"), utcnow())
    world.queue.course_jobs.clear()
    assert world.reconcile(utcnow() + timedelta(seconds=STUCK + 1)) == (1, 0, 0)
    assert [j.course_id for j in world.queue.course_jobs] == [course.id]


# ---- what mutation testing showed unasserted ----------------------------------------------------


def _code(caught: pytest.ExceptionInfo[Exception]) -> str:
    return str(getattr(caught.value, "code", ""))


def test_every_refusal_has_its_code(world: World) -> None:
    course = world.ready_course()
    lesson_id = ids_of(course)[0]
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: world.service.get_course("alice", "../etc"), "invalid_course_id"),
        (lambda: world.service.get_course("alice", "f" * 32), "course_not_found"),
        (lambda: world.service.delete_course("bob", course.id), "course_not_found"),
        (lambda: world.service.open_lesson("alice", course.id, "lesson-1", utcnow()), "invalid_lesson_id"),
        (lambda: world.service.open_lesson("alice", course.id, "m99-l99", utcnow()), "lesson_not_found"),
        (lambda: world.service.list_courses("alice", "not-a-cursor", None), "invalid_cursor"),
        (lambda: world.service.retry_course("alice", course.id, utcnow()), "not_failed"),
        (lambda: world.service.retry_lesson("alice", course.id, lesson_id, utcnow()), "not_failed"),
    ]
    for call, code in cases:
        with pytest.raises((InvalidRequest, NotFound, Conflict)) as caught:
            call()
        assert _code(caught) == code


def test_a_course_keeps_what_was_asked_and_each_course_gets_its_own_job(world: World) -> None:
    first = world.service.create_course(
        "alice", CreateCourseRequest(prompt="Rust", level="advanced", size="short"), utcnow()
    )
    second = world.service.create_course("alice", CreateCourseRequest(prompt="Go channels"), utcnow())
    stored = world.store.get_course("alice", first.id)
    assert stored is not None
    assert (stored.level, stored.size) == ("advanced", "short")
    assert [j.course_id for j in world.queue.course_jobs] == [first.id, second.id]


def test_a_lesson_knows_its_neighbours(world: World) -> None:
    course = world.ready_course()
    ids = ids_of(course)
    first = world.service.open_lesson("alice", course.id, ids[0], utcnow())
    second = world.service.open_lesson("alice", course.id, ids[1], utcnow())
    middle = world.service.open_lesson("alice", course.id, ids[4], utcnow())
    next_to_last = world.service.open_lesson("alice", course.id, ids[-2], utcnow())
    last = world.service.open_lesson("alice", course.id, ids[-1], utcnow())
    assert (first.previous_lesson_id, first.next_lesson_id) == (None, ids[1])
    assert (second.previous_lesson_id, second.next_lesson_id) == (ids[0], ids[2])
    assert (middle.previous_lesson_id, middle.next_lesson_id) == (ids[3], ids[5])
    assert (next_to_last.previous_lesson_id, next_to_last.next_lesson_id) == (ids[-3], ids[-1])
    assert (last.previous_lesson_id, last.next_lesson_id) == (ids[-2], None)
    assert middle.requested_at is not None  # time-to-lesson starts at the first open


def test_lookahead_skips_lessons_already_done_or_already_high(world: World) -> None:
    course = world.ready_course()
    ids = ids_of(course)
    world.service.open_lesson("alice", course.id, ids[3], utcnow())  # high, prefetches 4 and 5
    assert world.generator.write_lesson(job_for(course, ids[4]), FIRST) == Outcome.DONE
    world.queue.lesson_jobs = {Priority.HIGH: [], Priority.LOW: []}
    world.dedupe.keys.clear()
    world.service.open_lesson("alice", course.id, ids[2], utcnow())  # next: 3 (high), 4 (generated)
    assert world.queue.lesson_ids(Priority.LOW) == []


def test_opening_a_generating_lesson_sends_it_again_only_once_its_lease_expired(world: World) -> None:
    course = world.ready_course()
    target = ids_of(course)[2]

    world.service.open_lesson("alice", course.id, target, utcnow())
    world.queue.lesson_jobs[Priority.HIGH].clear()
    now = utcnow()
    world.store.claim_lesson(course.id, target, world.generator._claim(Attempt(1, 60)), now)
    world.scheduler.forget_lesson(course.id, target)  # as the worker does when it takes the job
    world.service.open_lesson("alice", course.id, target, now)
    assert world.queue.lesson_ids(Priority.HIGH) == []  # a live worker holds it
    after = now + timedelta(seconds=60 + LEASE_MARGIN_SECONDS + 1)
    world.service.open_lesson("alice", course.id, target, after)
    assert world.queue.lesson_ids(Priority.HIGH) == [target]  # its worker died


def test_pages_end_exactly_at_the_last_course(world: World) -> None:
    start = utcnow()
    for i in range(6):
        world.service.create_course("alice", CreateCourseRequest(prompt=f"topic {i}"), start + timedelta(seconds=i))
    first = world.service.list_courses("alice", None, 3)
    second = world.service.list_courses("alice", first.next_cursor, 3)
    assert [c.prompt for c in first.items + second.items] == [f"topic {i}" for i in range(5, -1, -1)]
    assert second.next_cursor is None
    assert len(world.service.list_courses("alice", None, None).items) == 6
    assert len(world.service.list_courses("alice", None, 1000).items) == 6


def test_retrying_a_failed_course_requeues_it_past_its_key(world: World) -> None:
    course = world.service.create_course("alice", CreateCourseRequest(prompt="Rust"), utcnow())
    world.model.fail_next = 3
    for _ in range(3):
        world.generator.build_outline(world.queue.course_jobs[0], FIRST)
        world.store._update_course(course.id, retry_at=utcnow() - timedelta(seconds=1))
    assert present(world.store.get_course("alice", course.id)).status == CourseStatus.FAILED
    world.dedupe.keys.add(course_job_key(course.id))  # a key left from an earlier send
    sent = len(world.queue.course_jobs)
    retried = world.service.retry_course("alice", course.id, utcnow())
    assert retried.status == CourseStatus.PENDING and len(world.queue.course_jobs) == sent + 1
    assert world.generator.build_outline(world.queue.course_jobs[-1], FIRST) == Outcome.DONE


def test_deleting_a_course_deletes_its_lessons_and_only_for_its_owner(world: World) -> None:
    course = world.ready_course()
    with pytest.raises(NotFound):
        world.service.delete_course("bob", course.id)
    world.service.delete_course("alice", course.id)
    assert world.store.get_course("alice", course.id) is None
    assert world.store.list_lessons(course.id) == []
    with pytest.raises(NotFound):
        world.service.delete_course("alice", course.id)


def test_retrying_a_failed_lesson_sends_it_at_once_and_restarts_its_clock(world: World) -> None:
    course = world.ready_course()
    target = ids_of(course)[5]
    world.service.open_lesson("alice", course.id, target, utcnow())
    _fail_for_good(world, course, target)
    world.dedupe.keys.add(lesson_job_key(course.id, target, Priority.HIGH))  # a duplicate's key
    world.queue.lesson_jobs[Priority.HIGH].clear()
    at = utcnow() + timedelta(seconds=5)
    world.service.retry_lesson("alice", course.id, target, at)
    assert world.queue.lesson_ids(Priority.HIGH) == [target]
    assert present(world.store.get_lesson("alice", course.id, target)).updated_at == at


def test_the_scheduler_reports_what_it_sent(world: World) -> None:
    course = world.ready_course()
    jobs = [job_for(course, i) for i in ids_of(course)[3:6]]
    assert world.scheduler.schedule_lessons([], Priority.LOW) == 0
    assert world.scheduler.schedule_lessons(jobs, Priority.LOW) == 3
    assert world.scheduler.schedule_lessons(jobs, Priority.LOW) == 0  # deduped
    assert world.scheduler.schedule_lessons(jobs[:1], Priority.LOW, force=True) == 1
    job = CourseJob(course_id=course.id, owner_id="alice")
    assert world.scheduler.schedule_course(job) is True
    assert world.scheduler.schedule_course(job) is False
    world.scheduler.defer_lesson(jobs[0], Priority.HIGH, 0.2)
    assert world.queue.delays[-1] == 1  # SQS counts whole seconds, and at least one


def test_a_failed_lesson_send_releases_only_the_keys_it_took(world: World) -> None:
    course = world.ready_course()
    ids = ids_of(course)
    world.scheduler.schedule_lessons([job_for(course, ids[3])], Priority.LOW)
    world.queue.down = True
    with pytest.raises(Exception, match="unavailable"):
        world.scheduler.schedule_lessons([job_for(course, i) for i in ids[3:5]], Priority.LOW)
    assert lesson_job_key(course.id, ids[3], Priority.LOW) in world.dedupe.keys  # its job was sent earlier
    assert lesson_job_key(course.id, ids[4], Priority.LOW) not in world.dedupe.keys  # so the next try sends


def test_the_reconciler_counts_fails_and_keeps_to_its_limit(world: World) -> None:
    course = world.ready_course()
    ids = ids_of(course)
    now = utcnow()
    dead = Attempt(receive_count=1, remaining_seconds=-LEASE_MARGIN_SECONDS - 1)
    for target in ids[2:4]:
        world.service.open_lesson("alice", course.id, target, now)
        for _ in range(3):
            world.store.claim_lesson(course.id, target, world.generator._claim(dead), utcnow())
    assert world.reconcile(utcnow() + timedelta(seconds=1)) == (0, 0, 2)
    failed = world.store.get_lesson("alice", course.id, ids[2])
    assert failed is not None
    assert failed.status == LessonStatus.FAILED and "lease expired on the last attempt" in present(failed.error)

    for target in ids[5:8]:
        world.service.open_lesson("alice", course.id, target, now)
    later = now + timedelta(seconds=STUCK + 1)
    tunables = ReconcilerTunables(stuck_after_seconds=STUCK, max_receive_count=3)
    assert reconcile(world.store, world.scheduler, tunables, later, limit=2).lessons_resent == 2
    resent = [lesson for lesson in world.store.list_lessons(course.id) if lesson.updated_at == later]
    assert len(resent) == 2  # their clock restarted at the re-send


def test_the_reconciler_resends_a_course_whose_outline_worker_died(world: World) -> None:
    course = world.service.create_course("alice", CreateCourseRequest(prompt="Rust"), utcnow())
    dead = Attempt(receive_count=1, remaining_seconds=-LEASE_MARGIN_SECONDS - 1)
    world.store.claim_course(course.id, world.generator._claim(dead), utcnow())
    world.queue.course_jobs.clear()
    assert world.reconcile(utcnow() + timedelta(seconds=1)) == (1, 0, 0)
    assert world.generator.build_outline(world.queue.course_jobs[0], FIRST) == Outcome.DONE


def test_races_between_check_and_write_are_conflicts_with_their_code(world: World) -> None:
    course = world.ready_course()
    target = ids_of(course)[1]
    _fail_for_good(world, course, target)
    world.store.reset_failed_lesson = lambda *_: False  # type: ignore[method-assign]  # another retry got there first
    with pytest.raises(Conflict) as lesson_race:
        world.service.retry_lesson("alice", course.id, target, utcnow())
    assert _code(lesson_race) == "not_failed"

    failed = world.service.create_course("alice", CreateCourseRequest(prompt="Go channels"), utcnow())
    world.store._update_course(failed.id, status=CourseStatus.FAILED)
    world.store.reset_failed_course = lambda *_: False  # type: ignore[method-assign]
    with pytest.raises(Conflict) as course_race:
        world.service.retry_course("alice", failed.id, utcnow())
    assert _code(course_race) == "not_failed"

    def taken(course: object) -> None:
        raise AlreadyExists("k")

    world.store.insert_course = taken  # type: ignore[method-assign]  # the key is taken...
    world.store.find_course_by_idempotency_key = lambda *_: None  # type: ignore[method-assign]  # ...by a course deleted meanwhile
    with pytest.raises(Conflict) as gone:
        world.service.create_course("alice", CreateCourseRequest(prompt="Rust"), utcnow(), idempotency_key="k")
    assert _code(gone) == "course_gone"


def test_a_rate_limited_outline_goes_back_to_its_queue_after_the_wait(world: World) -> None:
    course = world.service.create_course("alice", CreateCourseRequest(prompt="Rust ownership"), utcnow())
    world.generator.limiter.acquire = lambda priority, tokens, **_: 3.5  # type: ignore[method-assign]
    assert world.generator.build_outline(world.queue.course_jobs[0], FIRST) == Outcome.DEFERRED
    stored = world.store.get_course("alice", course.id)
    assert stored is not None
    assert (stored.status, stored.attempts) == (CourseStatus.PENDING, 0)
    assert [j.course_id for j in world.queue.course_jobs] == [course.id, course.id]
    assert world.queue.delays[-1] == 4


def test_a_courses_tier_picks_its_budget_and_its_share_of_the_reserve() -> None:
    """The tier a course was created under travels to the worker: the budget it is reserved
    against and how much of the opened-lesson reserve its opened lessons may take."""
    world = World()
    seen: list[tuple[str, float]] = []

    def reserve(owner_id: str, course_id: str, tokens: int, tier: str = "free") -> str | None:
        seen.append((tier, -1.0))
        return None

    def acquire(priority: Priority, tokens: int, reserve_share: float = 1.0) -> float:
        seen.append(("", reserve_share))
        return 0.0

    world.generator.budget.reserve = reserve  # type: ignore[method-assign]
    world.generator.limiter.acquire = acquire  # type: ignore[method-assign]
    course = world.service.create_course("priya", CreateCourseRequest(prompt="Rust ownership"), utcnow(), tier="pro")
    assert present(world.store.get_course("priya", course.id)).tier == "pro"
    assert world.generator.build_outline(world.queue.course_jobs[-1], FIRST) == Outcome.DONE
    assert seen == [("pro", -1.0), ("", 1.0)]  # pro: its own budget, the whole reserve
    seen.clear()
    free = world.service.create_course("fran", CreateCourseRequest(prompt="Rust ownership"), utcnow())
    world.generator.build_outline(world.queue.course_jobs[-1], FIRST)
    assert present(world.store.get_course("fran", free.id)).tier == "free"
    assert seen == [("free", -1.0), ("", 0.5)]  # the default: free, half the reserve


# ---- counts that say what they count; rewrites refused when asked (issue 25) --------------------


def test_a_course_counts_each_written_lesson_once_however_often_it_was_rewritten(world: World) -> None:
    course = world.ready_course()
    target = ids_of(course)[0]
    assert world.generator.write_lesson(job_for(course, target), FIRST) == Outcome.DONE
    for _ in range(3):  # rewritten three times
        world.service.regenerate_lesson(
            "alice", course.id, target, RegenerateLessonRequest(instruction="simpler"), utcnow()
        )
        mid_rewrite = world.service.get_course("alice", course.id)
        assert mid_rewrite.lessons_generated == 0  # being written again: not written now
        assert world.generator.write_lesson(job_for(course, target), FIRST) == Outcome.DONE
    detail = world.service.get_course("alice", course.id)
    listed = world.service.list_courses("alice", None, None).items[0]
    assert detail.lessons_generated == listed.lessons_generated == 1 <= detail.lesson_count


def test_a_rewrite_is_refused_when_asked_once_the_course_spent_its_budget(world: World) -> None:
    course = world.ready_course()
    target = ids_of(course)[0]
    assert world.generator.write_lesson(job_for(course, target), FIRST) == Outcome.DONE
    spent = present(world.store.get_course("alice", course.id)).usage.total_tokens
    service = replace(world.service, tunables=world.service.tunables.model_copy(update={"course_token_budget": spent}))
    with pytest.raises(Conflict) as refused:
        service.regenerate_lesson("alice", course.id, target, RegenerateLessonRequest(instruction="again"), utcnow())
    assert _code(refused) == "course_budget_exhausted"
    lesson = present(world.store.get_lesson("alice", course.id, target))
    assert lesson.status == LessonStatus.GENERATED and lesson.version == 1  # the current version stays


def test_the_offline_model_writes_a_lesson_added_without_a_summary(world: World) -> None:
    from flowgen.adapters.offline_model import OfflineModel

    brief = LessonBrief("Rust", "", None, "Basics", "Lifetimes in traits", "", [], [])
    lesson, _ = OfflineModel().lesson(brief)
    points = next(block for block in lesson.blocks if block.type == "key_points")
    assert points.points[0] == "What Lifetimes in traits is and how to use it."
