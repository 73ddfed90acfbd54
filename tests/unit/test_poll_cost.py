"""A poll that changes nothing writes nothing (issue 13): once a lesson is requested, polling it
sends nothing and writes nothing to the store; the lessons ahead are requested once."""

from __future__ import annotations

from typing import Any

from flowgen.clock import utcnow
from flowgen.records import LessonStatus, Priority
from tests.fakes.world import World, ids_of

WRITES = ("request_lessons", "mark_requeued", "insert_course", "reset_failed_lesson")


class CountingStore:
    """Wraps the in-memory store and counts the calls that write."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.writes = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name in WRITES:

            def counted(*args: Any, **kwargs: Any) -> Any:
                self.writes += 1
                return attr(*args, **kwargs)

            return counted
        return attr


def test_polling_an_unchanged_lesson_writes_and_sends_nothing() -> None:
    world = World()
    course = world.ready_course()
    target = ids_of(course)[5]
    counting = CountingStore(world.store)
    object.__setattr__(world.service, "store", counting)

    first = world.service.open_lesson("alice", course.id, target, utcnow())
    assert first.status == LessonStatus.PENDING and first.priority == Priority.HIGH
    sent_after_first = len(world.queue.lesson_jobs[Priority.HIGH]) + len(world.queue.lesson_jobs[Priority.LOW])
    writes_after_first = counting.writes
    assert writes_after_first == 2  # the opened lesson at high, the next two at low: one write each batch

    for _ in range(5):
        again = world.service.open_lesson("alice", course.id, target, utcnow())
        assert again.retry_after == 1
    sent = len(world.queue.lesson_jobs[Priority.HIGH]) + len(world.queue.lesson_jobs[Priority.LOW])
    assert counting.writes == writes_after_first  # five polls, no write
    assert sent == sent_after_first  # and nothing sent again
