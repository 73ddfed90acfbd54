"""First words (issue 27): a lesson just opened or just claimed, nothing shown yet, is polled
every half second, exactly (retryAfterMs), so the first words a streaming model writes are seen
within about half a second; outside that window the wait is what it was."""

from __future__ import annotations

from datetime import timedelta

from flowgen.clock import utcnow
from flowgen.content import MarkdownBlock, PartialContent
from flowgen.polling import FIRST_WORDS_POLL_SECONDS, FIRST_WORDS_WINDOW_SECONDS, lesson_poll_after
from flowgen.records import Lesson, LessonStatus, Priority

NOW = utcnow()


def lesson(status: LessonStatus, seconds_ago: float, **fields: object) -> Lesson:
    return Lesson(
        id="m01-l01",
        course_id="c",
        module_id="m01",
        owner_id="alice",
        order=0,
        title="t",
        summary="s",
        status=status,
        updated_at=NOW - timedelta(seconds=seconds_ago),
        **fields,
    )


def wait(target: Lesson, expected: float | None = 15.0, interval: float = 1.0) -> tuple[int, int | None]:
    after = lesson_poll_after(target, target.partial, NOW, expected, interval)
    return after.header, after.milliseconds


def test_a_just_opened_lesson_is_looked_at_again_in_half_a_second() -> None:
    assert FIRST_WORDS_POLL_SECONDS == 0.5 and FIRST_WORDS_WINDOW_SECONDS == 2.0
    assert wait(lesson(LessonStatus.PENDING, 0.0, priority=Priority.HIGH)) == (1, 500)
    assert wait(lesson(LessonStatus.PENDING, 1.9, priority=Priority.HIGH)) == (1, 500)
    assert wait(lesson(LessonStatus.PENDING, 5.0, priority=Priority.HIGH)) == (1, None)  # queued long: back off
    assert wait(lesson(LessonStatus.PENDING, 0.0)) == (1, None)  # a prefetch nobody opened
    backing_off = lesson(LessonStatus.PENDING, 0.0, priority=Priority.HIGH, retry_at=NOW + timedelta(seconds=5))
    assert wait(backing_off) == (1, None)  # a failed attempt waits out its backoff: nothing soon


def test_a_just_claimed_lesson_with_nothing_shown_is_looked_at_every_half_second() -> None:
    assert wait(lesson(LessonStatus.GENERATING, 0.2)) == (1, 500)
    assert wait(lesson(LessonStatus.GENERATING, 0.2), expected=None) == (1, 500)  # no estimate needed
    assert wait(lesson(LessonStatus.GENERATING, 0.2), expected=0.4) == (1, 300)  # sooner still when done sooner
    assert wait(lesson(LessonStatus.GENERATING, -0.05)) == (1, 500)  # the worker's clock a little ahead
    assert wait(lesson(LessonStatus.GENERATING, 2.5)) == (1, None)  # past the window: a long call
    assert wait(lesson(LessonStatus.GENERATING, 0.2), interval=0.3) == (1, 300)  # never slower than asked
    words = lesson(LessonStatus.GENERATING, 0.2, partial=PartialContent(writes=1, writing="The"))
    assert wait(words, interval=2) == (1, 1000)  # words shown: the first block is on its way, as before


def test_a_lesson_read_back_without_its_zone_is_compared_as_utc() -> None:
    from datetime import UTC, datetime, timedelta

    from flowgen.polling import _within_first_words

    now = datetime(2026, 12, 6, 11, 0, tzinfo=UTC)
    assert _within_first_words((now - timedelta(seconds=1)).replace(tzinfo=None), now)
    assert not _within_first_words((now - timedelta(hours=1)).replace(tzinfo=None), now)


def test_words_flowing_are_looked_at_again_at_the_expected_end_when_it_comes_before_the_next_look() -> None:
    """A lesson whose text is flowing was looked at every interval, so a finished one was seen up
    to an interval late (ready seen about 3.1 s after the click for a 1.1-2.0 s model call)."""
    block = MarkdownBlock(type="markdown", markdown="Ownership moves.")
    flowing = lesson(LessonStatus.GENERATING, 3.0, partial=PartialContent(writes=3, blocks=[block]))
    assert wait(flowing, expected=3.4) == (1, 500)  # its end (0.4 s away) and the commit's margin
    assert wait(flowing, expected=10.0) == (1, 1000)  # the end not before the next look: the interval
    assert wait(flowing, expected=2.0) == (1, 1000)  # overdue: it may land any moment, the interval
    assert wait(flowing, expected=None) == (1, 1000)  # no estimate yet
    first_block = lesson(LessonStatus.GENERATING, 3.0, partial=PartialContent(writes=1, writing="Own"))
    assert wait(first_block, expected=3.2) == (1, 300)  # sooner than the first block's half interval
    assert wait(first_block, expected=3.9) == (1, 500)
