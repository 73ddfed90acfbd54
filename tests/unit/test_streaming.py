"""Streaming lessons (issue 13, design invariant 9) on in-memory fakes: finished blocks are
written as partial content under the lease, at most once per interval plus once per block
boundary; a lost lease writes nothing; a failed attempt leaves nothing partial and its
successor starts clean and says it restarted; the final commit happens exactly once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest

from flowgen.adapters.mongo_store import MongoCourseStore
from flowgen.adapters.offline_model import OfflineModel
from flowgen.clock import utcnow
from flowgen.content import GeneratedLesson, LessonContent, MarkdownBlock
from flowgen.deadline import Attempt
from flowgen.errors import CallAbandoned, ModelError
from flowgen.generation import Generator, Outcome
from flowgen.ports import Claim, CourseStore, LessonBrief, OnBlocks
from flowgen.records import LessonStatus, Usage
from flowgen.settings import WorkerTunables
from flowgen.streaming import BlockReader, LeaseLost, PartialWriter, complete_blocks
from tests.fakes.mongomock_db import mongomock_database
from tests.fakes.ports import ScriptedModel
from tests.fakes.records import outlined_course
from tests.fakes.store import MemoryStore
from tests.fakes.world import FIRST, World, ids_of, job_for
from tests.narrow import present


class StreamingModel(ScriptedModel):
    """Hands its lesson's blocks over one at a time; `between(n)` runs after the n-th block
    (a test looks at the store there, or takes the lease away); `fail_after` blocks, then a
    ModelError (a stream cut mid-way)."""

    def __init__(self, between: Callable[[int], None] = lambda n: None, fail_after: int | None = None) -> None:
        super().__init__()
        self.between = between
        self.fail_after = fail_after
        self.streamed = 0

    def lesson_stream(self, brief: LessonBrief, on_blocks: OnBlocks) -> tuple[GeneratedLesson, Usage]:
        self.streamed += 1
        lesson, usage = self.lesson(brief)
        for n in range(1, len(lesson.blocks) + 1):
            on_blocks(lesson.blocks[:n], "")
            if self.fail_after is not None and n >= self.fail_after:
                self.fail_after = None
                raise ModelError("stream cut")
            self.between(n)
        return lesson, usage


def _brief(title: str = "Borrowing") -> LessonBrief:
    return LessonBrief("Rust", "", None, "Basics", title, "summary", [], [])


def _world(model: ScriptedModel, **tunables: object) -> World:
    world = World(model)
    settings = WorkerTunables(initial_lessons=1, max_receive_count=3, **tunables)
    world.generator = Generator(world.store, world.scheduler, model, settings, utcnow)
    return world


# ---- finished blocks from a streamed text ------------------------------------------------------


def test_complete_blocks_grow_with_the_text_and_end_with_every_block() -> None:
    lesson, _ = OfflineModel().lesson(_brief())
    text = lesson.model_dump_json()
    counts = [len(complete_blocks(text[:i])) for i in range(len(text) + 1)]
    assert counts == sorted(counts)  # never fewer as the text grows
    assert counts[-1] == len(lesson.blocks)
    # a block counts only once its closing brace has arrived
    first_end = text.index('"}', text.index('"markdown":"')) + 2
    assert counts[first_end - 1] == 0 and counts[first_end] == 1
    assert complete_blocks(text[:first_end])[0] == lesson.blocks[0]


def test_the_reader_gives_the_markdown_being_written_and_only_finished_blocks_as_blocks() -> None:
    lesson, _ = OfflineModel().lesson(_brief())
    text = lesson.model_dump_json()
    reader = BlockReader()
    assert isinstance(lesson.blocks[0], MarkdownBlock)
    first = lesson.blocks[0].markdown
    opened = text.index('"markdown":"') + len('"markdown":"')
    assert reader.read(text[: opened + 10]) == ([], first[:10])
    assert reader.read(text[: opened + 20]) == ([], first[:20])
    finished, writing = reader.read(text[: text.index('"code"')])
    assert finished == lesson.blocks[:2] and writing == ""  # a code block in progress is not shown
    assert reader.read(text) == (list(lesson.blocks), "")


def test_complete_blocks_stop_at_a_block_that_breaks_the_schema() -> None:
    text = (
        '{"blocks":[{"type":"markdown","markdown":"ok"},{"type":"code","code":"x"},{"type":"markdown","markdown":"y"}]}'
    )
    assert [b.type for b in complete_blocks(text)] == ["markdown"]  # code lacks language and caption


# ---- the writer: throttled, under the lease ---------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _leased() -> tuple[MemoryStore, str, str, Claim]:
    world = World()
    store = world.store
    course = world.ready_course()
    lesson_id = ids_of(course)[2]
    claim = Claim(token="t1", expires_at=utcnow() + timedelta(minutes=5))
    assert store.claim_lesson(course.id, lesson_id, claim, utcnow()) is not None
    return store, course.id, lesson_id, claim


def test_partial_writes_are_one_per_interval_plus_one_per_block_boundary() -> None:
    store, course_id, lesson_id, claim = _leased()
    lesson, _ = OfflineModel().lesson(_brief())
    clock = Clock()
    writer = PartialWriter(store, course_id, lesson_id, claim, interval=1.0, monotonic=clock)
    # a token every 25 ms; each block takes 2 s to write, its text growing meanwhile
    for n in range(len(lesson.blocks)):
        for tick in range(80):
            writer(lesson.blocks[:n], f"text of block {n + 1}, token {tick}")
            clock.now += 0.025
        before = len(store.partial_writes)
        writer(lesson.blocks[: n + 1], "")  # block n + 1 is finished: written at once
        assert len(store.partial_writes) == before + 1 and store.partial_writes[-1][1] == n + 1
    elapsed = clock.now - 100.0
    text_writes = writer.writes - len(lesson.blocks)
    assert text_writes <= 1 + elapsed / 1.0  # one per second at most, the first at once
    assert writer.writes > len(lesson.blocks)  # the text being written was shown too
    written = [n for _, n in store.partial_writes]
    assert written == sorted(written)
    assert present(present(store.get_lesson("alice", course_id, lesson_id)).partial).writes == writer.writes


def test_the_text_being_written_is_written_too_once_per_interval() -> None:
    store, course_id, lesson_id, claim = _leased()
    clock = Clock()
    writer = PartialWriter(store, course_id, lesson_id, claim, interval=1.0, monotonic=clock)
    text = "Ownership means each value has one owner. " * 10
    for i in range(1, len(text) + 1, 4):  # a token every 25 ms, for about 2.7 s
        writer([], text[:i])
        clock.now += 0.025
    assert store.partial_writes[0][1] == 0 and writer.writes == 3  # at once, then after 1 s and 2 s
    partial = present(store.get_lesson("alice", course_id, lesson_id)).partial
    assert partial is not None
    assert partial.blocks == [] and partial.writing and text.startswith(partial.writing)


def test_a_writer_whose_lease_is_gone_writes_nothing_and_says_so() -> None:
    store, course_id, lesson_id, claim = _leased()
    blocks, _ = OfflineModel().lesson(_brief())
    writer = PartialWriter(store, course_id, lesson_id, claim, interval=0.0)
    writer(blocks.blocks[:1])
    # the lease expires and another worker claims the lesson
    store._update_lesson(
        (course_id, lesson_id),
        lease=present(store.lessons[(course_id, lesson_id)].lease).model_copy(
            update={"expires_at": utcnow() - timedelta(seconds=1)}
        ),
    )
    other = Claim(token="t2", expires_at=utcnow() + timedelta(minutes=5))
    assert store.claim_lesson(course_id, lesson_id, other, utcnow()) is not None
    assert present(store.get_lesson("alice", course_id, lesson_id)).partial is None  # the new claim starts clean
    with pytest.raises(LeaseLost):
        writer(blocks.blocks[:2])
    with pytest.raises(LeaseLost):
        writer(blocks.blocks[:3])
    assert present(store.get_lesson("alice", course_id, lesson_id)).partial is None
    assert len(store.partial_writes) == 1  # only the write made while the lease was held


def test_a_closed_writer_writes_nothing() -> None:
    store, course_id, lesson_id, claim = _leased()
    blocks, _ = OfflineModel().lesson(_brief())
    writer = PartialWriter(store, course_id, lesson_id, claim, interval=0.0)
    writer.close()
    with pytest.raises(CallAbandoned):  # and the call still streaming is told to stop
        writer(blocks.blocks[:2])
    assert store.partial_writes == []


# ---- the worker ------------------------------------------------------------------------------


def test_a_streamed_lesson_shows_its_blocks_as_partial_then_commits_once() -> None:
    views = []

    def look(n: int) -> None:
        time.sleep(0.002)  # longer than the write interval, so every block is written
        views.append(world.service.open_lesson("alice", course.id, target, utcnow()))

    model = StreamingModel(between=look)
    world = _world(model, partial_write_seconds=0.001)
    course = world.ready_course()
    target = ids_of(course)[3]
    world.service.open_lesson("alice", course.id, target, utcnow())
    assert world.generator.write_lesson(job_for(course, target), FIRST) == Outcome.DONE

    assert views, "the model never streamed"
    for view in views:  # while it is written: GENERATING, partial blocks, no content
        assert view.status == LessonStatus.GENERATING and view.content is None and view.retry_after == 1
        assert view.partial is not None and present(view.progress).blocks_written == len(view.partial.blocks)
        assert present(view.progress).restarts == 0
    assert present(views[0].progress).blocks_written >= 1
    assert max(present(v.progress).blocks_written for v in views) > present(views[0].progress).blocks_written
    final = world.service.open_lesson("alice", course.id, target, utcnow())
    assert final.status == LessonStatus.GENERATED and final.partial is None and final.progress is None
    assert world.store.lesson_commits.count((course.id, target)) == 1
    assert world.store.lessons[(course.id, target)].partial is None
    assert world.store.lessons[(course.id, target)].partial_writes == len(world.store.partial_writes)
    assert model.streamed == 1 and model.lesson_calls.count(final.title) == 1


def test_streaming_off_calls_the_model_plainly_and_writes_nothing_partial() -> None:
    model = StreamingModel()
    world = _world(model, stream_lessons=False)
    course = world.ready_course()
    target = ids_of(course)[1]
    assert world.generator.write_lesson(job_for(course, target), FIRST) == Outcome.DONE
    assert model.streamed == 0 and world.store.partial_writes == []
    assert world.store.lesson_commits == [(course.id, target)]


def test_a_stream_cut_mid_way_leaves_nothing_partial_and_the_next_attempt_restarts_clean() -> None:
    model = StreamingModel(fail_after=2)
    world = _world(model, partial_write_seconds=0.001)
    course = world.ready_course()
    target = ids_of(course)[4]
    world.service.open_lesson("alice", course.id, target, utcnow())
    assert world.generator.write_lesson(job_for(course, target), Attempt(1, 120)) == Outcome.RETRYING
    assert world.store.partial_writes, "the first attempt wrote partial blocks"
    lesson = world.store.lessons[(course.id, target)]
    assert lesson.status == LessonStatus.PENDING and lesson.partial is None  # nothing left behind
    view = world.service.open_lesson("alice", course.id, target, utcnow())
    assert view.partial is None and present(view.progress).restarts == 1  # the reader sees it will restart

    seen = []
    model.between = lambda n: seen.append(world.service.open_lesson("alice", course.id, target, utcnow()))
    world.store._update_lesson((course.id, target), retry_at=utcnow() - timedelta(seconds=1))  # its backoff passed
    assert world.generator.write_lesson(job_for(course, target), Attempt(2, 120)) == Outcome.DONE
    assert present(seen[0].progress).blocks_written == 1  # the second attempt started from nothing
    assert all(present(v.progress).restarts == 1 for v in seen)
    assert world.store.lesson_commits == [(course.id, target)]


def test_a_worker_that_loses_its_lease_mid_stream_stops_and_commits_nothing() -> None:
    def steal(n: int) -> None:
        if n == 1:  # the lease runs out; the reconciler's redelivery claims it for another worker
            key = (course.id, target)
            lease = world.store.lessons[key].lease
            assert lease is not None
            world.store._update_lesson(key, lease=lease.model_copy(update={"expires_at": utcnow() - timedelta(1)}))
            other = Claim(token="other", expires_at=utcnow() + timedelta(minutes=5))
            assert world.store.claim_lesson(course.id, target, other, utcnow()) is not None

    model = StreamingModel(between=steal)
    world = _world(model, partial_write_seconds=0.001)
    course = world.ready_course()
    target = ids_of(course)[2]
    assert world.generator.write_lesson(job_for(course, target), FIRST) == Outcome.LEASE_LOST
    lesson = world.store.lessons[(course.id, target)]
    assert lesson.status == LessonStatus.GENERATING and present(lesson.lease).token == "other"
    assert lesson.partial is None  # the stale worker wrote nothing over the new attempt
    assert len(world.store.partial_writes) == 1  # its one write before it lost the lease
    assert world.store.lesson_commits == []


def test_a_model_thread_abandoned_at_the_deadline_writes_nothing_afterwards() -> None:
    go_on, done = threading.Event(), threading.Event()

    class Slow(StreamingModel):
        def lesson_stream(self, brief: LessonBrief, on_blocks: OnBlocks) -> tuple[GeneratedLesson, Usage]:
            lesson, usage = self.lesson(brief)
            on_blocks(lesson.blocks[:1], "")
            go_on.wait(10)  # past the invocation's deadline
            try:
                on_blocks(lesson.blocks[:3], "")
            finally:
                done.set()
            return lesson, usage

    world = _world(Slow(), partial_write_seconds=0.001)
    course = world.ready_course()
    target = ids_of(course)[1]
    assert world.generator.write_lesson(job_for(course, target), Attempt(1, remaining_seconds=0.3)) == Outcome.RETRYING
    go_on.set()
    assert done.wait(5)
    lesson = world.store.lessons[(course.id, target)]
    assert lesson.status == LessonStatus.PENDING and lesson.partial is None
    assert [n for _, n in world.store.partial_writes] == [1]
    assert world.store.lesson_commits == []


# ---- the store's side, held by the MongoDB adapter and the in-memory fake alike ----------------


@pytest.fixture(params=["memory", "mongo"])
def any_store(request: pytest.FixtureRequest) -> CourseStore:
    if request.param == "memory":
        return MemoryStore()
    store = MongoCourseStore(mongomock_database())
    store.ensure_indexes()
    return store


def _claimed(store: CourseStore) -> tuple[str, str, Claim]:
    course = outlined_course(store)
    claim = Claim("t1", utcnow() + timedelta(minutes=5))
    assert store.claim_lesson(course.id, "m01-l01", claim, utcnow()) is not None
    return course.id, "m01-l01", claim


def test_a_partial_write_lands_only_under_the_lease(any_store: CourseStore) -> None:
    course_id, lesson_id, claim = _claimed(any_store)
    blocks = OfflineModel().lesson(_brief())[0].blocks
    assert any_store.write_partial_lesson(course_id, lesson_id, claim, blocks[:2], writing=None, restarted=False)
    stranger = Claim("someone-else", claim.expires_at)
    assert not any_store.write_partial_lesson(course_id, lesson_id, stranger, blocks[:3], writing=None, restarted=False)
    partial = present(any_store.get_lesson("alice", course_id, lesson_id)).partial
    assert partial is not None and partial.blocks == blocks[:2] and partial.writes == 1
    assert any_store.write_partial_lesson(course_id, lesson_id, claim, [], writing=None, restarted=True)
    partial = present(any_store.get_lesson("alice", course_id, lesson_id)).partial
    assert partial is not None
    assert partial.blocks == [] and partial.writes == 2 and partial.restarts == 1
    assert all(lesson.partial is None for lesson in any_store.list_lessons(course_id))  # lists carry none


@pytest.mark.parametrize("end", ["release", "fail", "unclaim", "reclaim", "commit"])
def test_every_end_of_an_attempt_and_every_claim_clears_partial_content(any_store: CourseStore, end: str) -> None:
    course_id, lesson_id, claim = _claimed(any_store)
    blocks = OfflineModel().lesson(_brief())[0].blocks
    assert any_store.write_partial_lesson(course_id, lesson_id, claim, blocks[:2], writing=None, restarted=False)
    if end in ("release", "fail"):
        any_store.release_lesson(course_id, lesson_id, claim, "model: cut", failed=end == "fail")
    elif end == "unclaim":
        any_store.unclaim_lesson(course_id, lesson_id, claim)
    elif end == "reclaim":  # the lease ran out; the next attempt claims it
        later = utcnow() + timedelta(minutes=10)
        assert any_store.claim_lesson(course_id, lesson_id, Claim("t2", later + timedelta(minutes=5)), later)
    else:
        lesson = any_store.get_lesson("alice", course_id, lesson_id)
        content = LessonContent(blocks=list(blocks), generator="test")
        assert lesson is not None
        done = lesson.model_copy(update={"content": content, "status": LessonStatus.GENERATED, "partial_writes": 1})
        assert any_store.commit_lesson(done, claim, utcnow())
    lesson = any_store.get_lesson("alice", course_id, lesson_id)
    assert lesson is not None
    assert lesson.partial is None
    if end == "commit":
        assert lesson.partial_writes == 1 and lesson.content is not None
    assert not any_store.write_partial_lesson(course_id, lesson_id, claim, blocks[:3], writing=None, restarted=False)
