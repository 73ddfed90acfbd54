"""Streaming outlines (issue 13): the header and each finished module are written under the
course's lease as the model writes them and shown beside a GENERATING course, never as its
outline; a failed attempt leaves nothing and its successor starts clean; a lesson's Retry-After
follows what it is doing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from flowgen.adapters.mongo_store import MongoCourseStore
from flowgen.adapters.offline_model import OfflineModel
from flowgen.clock import utcnow
from flowgen.content import MarkdownBlock, OutlineDecision, PartialContent, PartialOutline
from flowgen.deadline import Attempt
from flowgen.errors import CallAbandoned, ModelError
from flowgen.generation import Generator, Outcome
from flowgen.polling import expected_lesson_seconds, lesson_poll_after
from flowgen.ports import Claim, CourseStore, OnOutline, OutlineBrief
from flowgen.records import CourseStatus, Lesson, LessonStatus, Usage
from flowgen.requests import CreateCourseRequest
from flowgen.settings import WorkerTunables
from flowgen.streaming import LeaseLost, OutlineWriter, read_outline
from tests.fakes.mongomock_db import mongomock_database
from tests.fakes.ports import ScriptedModel
from tests.fakes.records import new_course
from tests.fakes.store import MemoryStore
from tests.fakes.world import FIRST, World, job_for
from tests.narrow import present

BRIEF = OutlineBrief(prompt="Rust ownership", level=None, size=None, language=None)


def _decision() -> OutlineDecision:
    return OfflineModel().outline(BRIEF)[0]


# ---- reading a streamed outline -------------------------------------------------------------


def test_the_outline_grows_header_first_then_one_finished_module_at_a_time() -> None:
    decision = _decision()
    course = present(decision.course)
    text = decision.model_dump_json()
    seen: list[tuple[str | None, str | None, int, int]] = []
    for end in range(1, len(text) + 1):
        outline = read_outline(text[:end])
        shown = (
            None
            if outline is None
            else (outline.title, outline.description, len(outline.objectives), len(outline.modules))
        )
        if shown is not None and (not seen or seen[-1] != shown):
            seen.append(shown)
    assert seen[0] == (course.title, None, 0, 0)  # the title once the description has begun
    assert seen[1] == (course.title, course.description, 0, 0)
    assert seen[2] == (course.title, course.description, len(course.objectives), 0)
    assert [modules for *_, modules in seen[2:]] == list(range(len(course.modules) + 1))
    whole = present(read_outline(text))
    assert whole.modules == course.modules and whole.objectives == course.objectives


def test_a_module_counts_only_once_it_is_closed_and_valid() -> None:
    decision = _decision()
    text = decision.model_dump_json()
    second = text.index('{"title":"' + present(decision.course).modules[1].title)  # the second module's start
    assert len(present(read_outline(text[: second - 1])).modules) == 1  # "...}" closes the first
    assert len(present(read_outline(text[: second - 2])).modules) == 0  # its last brace has not come
    broken = json.loads(text)
    broken["course"]["modules"][0]["lessons"] = []  # too few lessons: the schema refuses it
    assert present(read_outline(json.dumps(broken))).modules == []


def test_a_refusal_reads_as_nothing() -> None:
    refusal = OutlineDecision(learnable=False, refusal_reason="not a topic", course=None).model_dump_json()
    assert all(read_outline(refusal[:end]) is None for end in range(len(refusal) + 1))


# ---- writing it under the lease ---------------------------------------------------------------


class StreamingOutlineModel(ScriptedModel):
    """Streams its outline one header field, then one module, at a time; `between()` runs after
    each; `fail_after` partial outlines, then a ModelError (a stream cut mid-way)."""

    def __init__(self, between: Callable[[], None] = lambda: None, fail_after: int | None = None) -> None:
        super().__init__()
        self.between, self.fail_after, self.streamed = between, fail_after, 0

    def outline_stream(self, brief: OutlineBrief, on_outline: OnOutline) -> tuple[OutlineDecision, Usage]:
        self.streamed += 1
        decision, usage = self.outline(brief)
        course = present(decision.course)
        steps = [PartialOutline(title=course.title), PartialOutline(title=course.title, description=course.description)]
        header = {"title": course.title, "description": course.description, "objectives": course.objectives}
        steps += [PartialOutline(**header, modules=course.modules[:n]) for n in range(len(course.modules) + 1)]
        for n, step in enumerate(steps, 1):
            on_outline(step)
            if self.fail_after is not None and n >= self.fail_after:
                self.fail_after = None
                raise ModelError("stream cut")
            self.between()
        return decision, usage


def _world(model: ScriptedModel, **tunables: object) -> World:
    world = World(model)
    world.generator = Generator(
        world.store, world.scheduler, model, WorkerTunables(initial_lessons=1, max_receive_count=3, **tunables), utcnow
    )
    return world


def test_a_streamed_outline_shows_its_modules_as_they_come_then_commits_once() -> None:
    views = []
    model = StreamingOutlineModel(between=lambda: views.append(world.service.get_course("alice", course.id)))
    world = _world(model)
    course = world.service.create_course("alice", CreateCourseRequest(prompt="Rust ownership"), utcnow())
    assert world.generator.build_outline(world.queue.course_jobs[-1], FIRST) == Outcome.DONE

    assert views, "the model never streamed"
    for view in views:  # while written: GENERATING, a partial outline, no modules, Retry-After
        assert view.status == CourseStatus.GENERATING and view.modules == [] and view.retry_after == 1
        assert present(view.partial_outline).restarts == 0
    counts = [len(present(v.partial_outline).modules) for v in views]
    assert counts == sorted(counts) and counts[0] == 0 and counts[-1] >= 3
    final = world.service.get_course("alice", course.id)
    assert final.status == CourseStatus.READY and final.partial_outline is None and final.retry_after is None
    assert len(final.modules) == counts[-1]
    assert world.store.courses[course.id].partial_outline is None
    assert model.streamed == 1


def test_streaming_outlines_off_calls_the_model_plainly() -> None:
    model = StreamingOutlineModel()
    world = _world(model, stream_outlines=False)
    world.ready_course()
    assert model.streamed == 0


def test_a_cut_outline_stream_leaves_nothing_and_the_next_attempt_says_it_restarted() -> None:
    model = StreamingOutlineModel(fail_after=4)
    world = _world(model)
    course = world.service.create_course("alice", CreateCourseRequest(prompt="Rust ownership"), utcnow())
    job = world.queue.course_jobs[-1]
    assert world.generator.build_outline(job, Attempt(1, 120)) == Outcome.RETRYING
    assert world.store.courses[course.id].partial_outline is None
    assert world.store.courses[course.id].status == CourseStatus.PENDING
    world.store._update_course(course.id, retry_at=utcnow() - timedelta(seconds=1))  # its backoff has passed
    seen = []
    model.between = lambda: seen.append(world.service.get_course("alice", course.id))
    assert world.generator.build_outline(job, Attempt(2, 120)) == Outcome.DONE
    assert present(seen[0].partial_outline).modules == [] and present(seen[0].partial_outline).restarts == 1


def test_the_outline_writer_writes_only_what_was_finished_and_stops_without_its_lease() -> None:
    writes: list[PartialOutline] = []
    lease = {"held": True}

    class Store:
        def write_partial_outline(
            self, course_id: str, claim: Claim, outline: PartialOutline, *, restarted: bool
        ) -> bool:
            writes.append(outline)
            return lease["held"]

    writer = OutlineWriter(Store(), "c1", Claim("t", utcnow()))
    course = present(_decision().course)
    writer(None)  # nothing yet: nothing written
    writer(PartialOutline(title=course.title))
    writer(PartialOutline(title=course.title))  # unchanged: nothing written
    writer(PartialOutline(title=course.title, description="d", objectives=["o"], modules=course.modules[:1]))
    assert len(writes) == 2 and writer.writes == 2
    lease["held"] = False
    with pytest.raises(LeaseLost):
        writer(PartialOutline(title=course.title, description="d", objectives=["o"], modules=course.modules[:2]))
    with pytest.raises(LeaseLost):  # and every later call, without writing
        writer(PartialOutline(title=course.title, description="d", objectives=["o"], modules=course.modules))
    assert len(writes) == 3
    writer.close()
    with pytest.raises(CallAbandoned):  # a call still streaming after the attempt ended is stopped
        writer(None)
    assert len(writes) == 3


@pytest.fixture(params=["memory", "mongo"])
def any_store(request: pytest.FixtureRequest) -> CourseStore:
    if request.param == "memory":
        return MemoryStore()
    store = MongoCourseStore(mongomock_database())
    store.ensure_indexes()
    return store


@pytest.mark.parametrize("end", ["release", "unclaim", "reclaim", "commit", "refuse"])
def test_a_partial_outline_lands_under_the_lease_and_every_end_clears_it(any_store: CourseStore, end: str) -> None:
    course = new_course()
    any_store.insert_course(course)
    claim = Claim("t1", utcnow() + timedelta(minutes=5))
    assert any_store.claim_course(course.id, claim, utcnow()) is not None
    header = PartialOutline(title="T", description="D", objectives=["o"])
    assert any_store.write_partial_outline(course.id, claim, header, restarted=False)
    assert not any_store.write_partial_outline(course.id, Claim("other", claim.expires_at), header, restarted=False)
    read = present(any_store.get_course("alice", course.id))
    # the expiry is read, the token is not (MongoDB keeps milliseconds)
    assert abs(present(read.lease).expires_at - claim.expires_at) < timedelta(milliseconds=1)
    kept = present(read.partial_outline)
    assert (kept.title, kept.description, kept.objectives, kept.writes, kept.restarts) == ("T", "D", ["o"], 1, 0)
    assert any_store.write_partial_outline(course.id, claim, PartialOutline(), restarted=True)
    assert present(present(any_store.get_course("alice", course.id)).partial_outline).restarts == 1
    if end == "release":
        any_store.release_course(course.id, claim, "model: cut", failed=False)
    elif end == "unclaim":
        any_store.unclaim_course(course.id, claim)
    elif end == "reclaim":
        later = utcnow() + timedelta(minutes=10)
        assert any_store.claim_course(course.id, Claim("t2", later + timedelta(minutes=5)), later) is not None
    elif end == "refuse":
        any_store.refuse_course(course.id, claim, "not a topic", Usage())
    else:
        ready = course.model_copy(update={"title": "T", "status": CourseStatus.READY})
        assert any_store.commit_outline(ready, claim, [], utcnow())
    assert present(any_store.get_course("alice", course.id)).partial_outline is None
    assert not any_store.write_partial_outline(course.id, claim, header, restarted=False)


def test_a_dead_attempt_s_partial_outline_is_not_shown() -> None:
    world = World()
    course = world.service.create_course("alice", CreateCourseRequest(prompt="Rust ownership"), utcnow())
    claim = Claim("t", utcnow() + timedelta(seconds=60))
    assert world.store.claim_course(course.id, claim, utcnow()) is not None
    assert world.store.write_partial_outline(course.id, claim, PartialOutline(title="T"), restarted=False)
    assert present(world.service.get_course("alice", course.id).partial_outline).title == "T"
    after_its_lease = utcnow() + timedelta(seconds=120)  # the worker died; nobody writes any more
    assert world.service.get_course("alice", course.id, after_its_lease).partial_outline is None


# ---- Retry-After follows the lesson -----------------------------------------------------------


def _lesson(status: LessonStatus, claimed_seconds_ago: float = 0.0, **fields: object) -> Lesson:
    now = utcnow()
    return Lesson(
        id="m01-l01",
        course_id="c",
        module_id="m01",
        owner_id="alice",
        order=0,
        title="t",
        summary="s",
        status=status,
        updated_at=now - timedelta(seconds=claimed_seconds_ago),
        **fields,
    )


def test_retry_after_follows_what_the_lesson_is_doing() -> None:
    now = utcnow()

    def wait(lesson: Lesson, expected: float | None) -> tuple[int, int | None]:
        after = lesson_poll_after(lesson, lesson.partial, now, expected, 1)
        return after.header, after.milliseconds

    assert wait(_lesson(LessonStatus.PENDING), 0.6) == (1, None)  # queued: a client may back off
    header, exact = wait(_lesson(LessonStatus.GENERATING, 0.2), 0.6)
    assert header == 1 and exact is not None and 400 <= exact <= 600  # its expected end, not a whole second
    first_block = _lesson(LessonStatus.GENERATING, 3, partial=PartialContent(writes=2, writing="Af"))
    assert wait(first_block, 15) == (1, 500)  # the first block shows soon after it is finished
    block = MarkdownBlock(type="markdown", markdown="After this lesson...")
    flowing = _lesson(LessonStatus.GENERATING, 3, partial=PartialContent(writes=3, blocks=[block]))
    assert wait(flowing, 15) == (1, 1000)  # then content lands about once a second
    assert wait(_lesson(LessonStatus.GENERATING, 1), 15) == (1, 500)  # just claimed: first words any moment
    assert wait(_lesson(LessonStatus.GENERATING, 3), 15) == (1, None)  # a long call, nothing shown yet
    assert wait(_lesson(LessonStatus.GENERATING, 20), 15) == (1, None)  # overdue
    assert wait(_lesson(LessonStatus.GENERATING, 3), None) == (1, None)  # no estimate yet
    dead = _lesson(LessonStatus.GENERATING, 3, partial=PartialContent(writes=2, writing="Af"))
    assert lesson_poll_after(dead, None, now, 15, 1).milliseconds is None  # a dead attempt's text says nothing


def test_the_expected_time_is_the_median_of_the_latest_written_lessons() -> None:
    now = utcnow()
    written = [
        _lesson(LessonStatus.GENERATED, generation_seconds=s, generated_at=now - timedelta(minutes=10 - i))
        for i, s in enumerate([30.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    ]
    assert expected_lesson_seconds(written) == 3.0  # the oldest (30 s) is not among the latest five
    assert expected_lesson_seconds([_lesson(LessonStatus.PENDING)]) is None


def test_blocks_expected_comes_from_the_course_s_written_lessons() -> None:
    world = World()
    course = world.ready_course()
    ids = [lesson.id for m in course.modules for lesson in m.lessons]
    before = world.service.open_lesson("alice", course.id, ids[1], utcnow())
    assert present(before.progress).blocks_expected is None  # nothing written yet: unknown
    assert world.generator.write_lesson(job_for(course, ids[0]), FIRST) == Outcome.DONE
    written = world.store.lessons[(course.id, ids[0])]
    assert written.block_count == len(present(written.content).blocks) >= 4
    after = world.service.open_lesson("alice", course.id, ids[2], utcnow())
    assert present(after.progress).blocks_expected == written.block_count
