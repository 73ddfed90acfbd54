"""How soon a client should look again at something being written (Retry-After).

A fixed interval either lags (a lesson ready 0.6 s after it was opened showed at 2 s) or costs
polls. The answer follows what the record is doing:

- the first block being written (words shown, no block finished): half an interval, so the first
  finished block, written at once, is seen soon after (the wait a learner feels most); the
  polls this adds last as long as one short block, about a second;
- later blocks flowing: one interval, as the text being written lands about that often;
- words shown and the expected end sooner than that: at the expected end, so a finished lesson
  is seen when it is done rather than up to an interval later (one poll more at most);
- being written, nothing shown yet: the interval, or sooner when the expected end is sooner;
- the expected end comes from recent model latencies: the claim-to-commit times of the lessons
  this course has already had written (same model, same course, same size of lesson);
- waiting in the queue: the interval (an opened lesson is claimed within about a poll);
- just opened or just claimed, nothing shown yet (the first `FIRST_WORDS_WINDOW_SECONDS`): every
  `FIRST_WORDS_POLL_SECONDS`, exact. The first words come one model's time to first token after
  the claim, and a poll told "a second" found the lesson claimed and empty and saw words written
  0.1 s later a second after (first words 1.16 s after the model's first token, issue 27); this
  costs about two more polls per opened lesson, only in the window where the first words land.

`Retry-After` is whole seconds (RFC 9110), so the API also gives the exact wait in milliseconds
(`retryAfterMs`) for clients that can use it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from flowgen.content import PartialContent
from flowgen.records import Lesson, LessonStatus, Priority

RECENT_LESSONS = 5  # the latest written lessons that make the estimate
MIN_WAIT_SECONDS = 0.25  # sooner than this, a poll would mostly find the commit still in flight
MARGIN_SECONDS = 0.1  # the commit and the read after the expected end
FIRST_WORDS_WINDOW_SECONDS = 2.0  # after an open or a claim: when a streaming model's first words land
FIRST_WORDS_POLL_SECONDS = 0.5  # how often a client looks in that window


@dataclass(frozen=True)
class PollAfter:
    seconds: float
    exact: bool = True  # False: only Retry-After is given, and a client may back off beyond it

    @property
    def header(self) -> int:
        """Retry-After in whole seconds, never 0 (0 would invite a client to spin)."""
        return max(1, math.ceil(self.seconds))

    @property
    def milliseconds(self) -> int | None:
        return round(self.seconds * 1000) if self.exact else None


def expected_lesson_seconds(siblings: Sequence[Lesson]) -> float | None:
    """The median claim-to-commit time of the course's latest written lessons; None before any."""
    return _median_of_latest(siblings, lambda s: s.generation_seconds)


def expected_block_count(siblings: Sequence[Lesson]) -> int | None:
    """About how many blocks a lesson of this course gets: the median of the latest written ones."""
    median = _median_of_latest(siblings, lambda s: s.block_count)
    return round(median) if median is not None else None


def _median_of_latest(siblings: Sequence[Lesson], value: Callable[[Lesson], float | None]) -> float | None:
    """The median of `value` over the latest RECENT_LESSONS written lessons that recorded it."""
    written = [(s.generated_at, v) for s in siblings if s.generated_at is not None and (v := value(s)) is not None]
    latest = sorted(written, key=lambda pair: pair[0])[-RECENT_LESSONS:]
    return statistics.median(v for _, v in latest) if latest else None


def lesson_poll_after(
    lesson: Lesson, live: PartialContent | None, now: datetime, expected: float | None, interval: float
) -> PollAfter:
    """When to look again at a lesson that is not written yet; `live` is what a live attempt has
    written (a dead attempt's partial content says nothing about when the lesson comes). Queued,
    or written with nothing to show and no end in sight, the wait is not exact: a client may
    back off (a lesson deferred by the provider's rate limit can wait minutes)."""
    if lesson.status != LessonStatus.GENERATING:
        return _queued_poll_after(lesson, now, interval)
    until_end = _until_expected_end(lesson.updated_at, now, expected, interval)
    if live is not None and live.writes > 0:
        flowing = interval if live.blocks else interval / 2
        # the end, when it is due sooner than the next look at the text: seen then, not after it
        return until_end if until_end.exact and until_end.seconds < flowing else PollAfter(flowing)
    if _within_first_words(lesson.updated_at, now):
        return PollAfter(min(until_end.seconds, interval, FIRST_WORDS_POLL_SECONDS))
    return until_end


def _queued_poll_after(lesson: Lesson, now: datetime, interval: float) -> PollAfter:
    """A lesson not being written: just opened (and not backing off), every first-words poll,
    as it is claimed within a fraction of the interval; otherwise the interval, not exact."""
    if _just_opened(lesson, now) and _within_first_words(lesson.updated_at, now):
        return PollAfter(min(interval, FIRST_WORDS_POLL_SECONDS))  # claimed within a fraction of it
    return PollAfter(interval, exact=False)


def _just_opened(lesson: Lesson, now: datetime) -> bool:
    """Pending at high priority (opened) and not waiting out a backoff (which is not soon)."""
    opened_now = lesson.status == LessonStatus.PENDING and lesson.priority == Priority.HIGH
    waiting_out = lesson.retry_at is not None and lesson.retry_at > now
    return opened_now and not waiting_out


def _within_first_words(since: datetime | None, now: datetime) -> bool:
    """Within the window after `since` (a moment before it too: the worker's clock is not ours)."""
    if since is None:
        return False
    # a record read back without its zone (the operator's tools, some stores) is UTC, like `now`
    since = since.replace(tzinfo=now.tzinfo) if (since.tzinfo is None) != (now.tzinfo is None) else since
    return (now - since).total_seconds() < FIRST_WORDS_WINDOW_SECONDS


def _until_expected_end(
    claimed_at: datetime | None, now: datetime, expected: float | None, interval: float
) -> PollAfter:
    """Sooner than the interval when the lesson should be done sooner; else the interval."""
    if expected is None or claimed_at is None:
        return PollAfter(interval, exact=False)
    wait = expected - (now - claimed_at).total_seconds() + MARGIN_SECONDS
    if wait <= MARGIN_SECONDS or wait >= interval:  # overdue (it may land any moment), or not soon
        return PollAfter(interval, exact=False)
    return PollAfter(max(MIN_WAIT_SECONDS, wait))
