"""Every interface the domain depends on, and nothing else: adapters (flowgen.adapters) and the
test fakes (tests/fakes) implement them. Small on purpose: a use case asks only for what it uses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from flowgen.citations import Passage
from flowgen.content import (
    GeneratedBlock,
    GeneratedLesson,
    OutlineDecision,
    PartialOutline,
    SourceCitation,
    VideoBlock,
)
from flowgen.messages import CourseJob, LessonJob
from flowgen.records import (
    CompletedBy,
    Course,
    Lesson,
    LessonStatus,
    Priority,
    ProgressRecord,
    Question,
    QuizResult,
    ReadingPosition,
    Share,
    Usage,
)

if TYPE_CHECKING:
    from flowgen.cards import ReviewCard, ReviewEntry
    from flowgen.views import ShareView


@dataclass(frozen=True)
class Claim:
    """A lease on a record: only the holder of `token` may commit or release it."""

    token: str
    expires_at: datetime


class PartialLessonStore(Protocol):
    def write_partial_lesson(
        self,
        course_id: str,
        lesson_id: str,
        claim: Claim,
        blocks: Sequence[GeneratedBlock],
        *,
        writing: str | None,
        restarted: bool,
    ) -> bool:
        """The finished blocks so far (and the markdown being written), while `claim` holds the
        lesson (GENERATING); False when it does not. Every claim, release and commit clears them
        (design invariant 9)."""
        ...


class PartialOutlineStore(Protocol):
    def write_partial_outline(self, course_id: str, claim: Claim, outline: PartialOutline, *, restarted: bool) -> bool:
        """Sets the outline written so far while `claim` holds the course (GENERATING); False
        otherwise. Cleared by the next claim, and by every release and commit."""
        ...


class CourseStore(PartialLessonStore, PartialOutlineStore, Protocol):
    # courses
    def insert_course(self, course: Course) -> None:
        """Raises AlreadyExists when the owner already has a course with its idempotency key."""
        ...

    def find_course_by_idempotency_key(self, owner_id: str, idempotency_key: str) -> Course | None: ...
    def get_course(self, owner_id: str, course_id: str) -> Course | None: ...
    def list_courses(self, owner_id: str, *, limit: int, before: tuple[datetime, str] | None) -> list[Course]: ...
    def delete_course(self, owner_id: str, course_id: str) -> bool: ...
    def claim_course(self, course_id: str, claim: Claim, now: datetime) -> Course | None:
        """PENDING (its `retry_at` passed, if set) or GENERATING with an expired lease ->
        GENERATING under `claim`, attempts + 1, in one compare-and-set; None when not claimable."""
        ...

    def commit_outline(self, course: Course, claim: Claim, lessons: Sequence[Lesson], now: datetime) -> bool: ...
    def release_course(
        self, course_id: str, claim: Claim, error: str, *, failed: bool, retry_at: datetime | None = None
    ) -> None:
        """FAILED, or PENDING again (not claimable before `retry_at`), while `claim` holds it."""
        ...

    def unclaim_course(self, course_id: str, claim: Claim) -> None: ...
    def refuse_course(self, course_id: str, claim: Claim, reason: str, usage: Usage) -> None: ...
    def reset_failed_course(self, owner_id: str, course_id: str, now: datetime) -> bool: ...
    def add_course_usage(self, course_id: str, usage: Usage) -> None: ...
    def count_generated(self, course_ids: Sequence[str]) -> dict[str, int]:
        """How many of each course's lessons are GENERATED now (a course with none is left out)."""
        ...

    def edit_outline(
        self,
        course: Course,
        *,
        expected_version: int,
        lessons: Sequence[Lesson],
        removed: Sequence[str],
        now: datetime,
    ) -> bool:
        """Replaces a READY course's outline (`course.modules`, `lesson_count`, `version`,
        `retired_lesson_ids`) where the owner's stored course is still at `expected_version`; False
        when it moved on, and then nothing is written. Then every lesson of the new outline gets its
        module, order, title and summary (new ones are inserted PENDING) and the `removed` lessons'
        records go, so a worker writing one commits nothing (its conditional update finds none).
        A lesson's content, status and lease are never touched: a worker's commit and an edit both land."""
        ...

    def insert_copy(self, course: Course, lessons: Sequence[Lesson]) -> None:
        """A course made whole at once (a fork): its lessons, then the course, which makes them
        visible. Raises AlreadyExists (and leaves nothing) when the owner already has a course
        with its idempotency key."""
        ...

    # lessons
    def get_lesson(self, owner_id: str, course_id: str, lesson_id: str) -> Lesson | None: ...
    def list_lessons(self, course_id: str) -> list[Lesson]: ...
    def written_lessons(self, owner_id: str, course_id: str) -> list[Lesson]:
        """The owner's GENERATED lessons of a course, in order, with their current content only
        (no partial blocks, no earlier versions), in one read: what a search reads (issue 26)."""
        ...

    def request_lessons(self, course_id: str, lesson_ids: Sequence[str], priority: Priority, now: datetime) -> None:
        """Records that PENDING lessons are wanted at `priority` (high is never downgraded)."""
        ...

    def mark_requeued(self, course_id: str, lesson_ids: Sequence[str], now: datetime) -> None:
        """Their jobs were sent again now: `updatedAt` restarts the stranded clock."""
        ...

    def claim_lesson(self, course_id: str, lesson_id: str, claim: Claim, now: datetime) -> Lesson | None:
        """As claim_course, for a lesson."""
        ...

    def commit_lesson(self, lesson: Lesson, claim: Claim, now: datetime) -> bool: ...
    def release_lesson(
        self,
        course_id: str,
        lesson_id: str,
        claim: Claim,
        error: str,
        *,
        failed: bool,
        retry_at: datetime | None = None,
    ) -> None:
        """FAILED, or PENDING again (not claimable before `retry_at`), while `claim` holds it."""
        ...

    def unclaim_lesson(self, course_id: str, lesson_id: str, claim: Claim) -> None: ...
    def reset_failed_lesson(self, owner_id: str, course_id: str, lesson_id: str, now: datetime) -> bool: ...
    def replace_lesson_version(
        self, lesson: Lesson, *, expected_version: int, statuses: Sequence[LessonStatus], now: datetime
    ) -> bool:
        """Writes `lesson`'s version (status, content, version, instruction, versions, priority,
        requestedAt, generatedAt, usage, error, attempts) where the owner's stored lesson is still at
        `expected_version` in one of `statuses`, in one conditional update; False when it moved on."""
        ...

    # reconciliation
    def stuck_courses(self, older_than: datetime, now: datetime, limit: int) -> list[Course]: ...
    def stuck_lessons(self, older_than: datetime, now: datetime, limit: int) -> list[Lesson]:
        """Requested (any priority) and PENDING since before `older_than`, or leased until before `now`."""
        ...


class LearnerRecords(Protocol):
    """A learner's records kept beside a course's content (progress, questions): they go with the
    course, or with the lessons an outline edit removes."""

    def delete_course(self, owner_id: str, course_id: str, lesson_ids: Sequence[str] | None = None) -> None:
        """The owner's records on the course (only on `lesson_ids`, when given) are deleted."""
        ...


class ProgressStore(LearnerRecords, Protocol):
    def get(self, owner_id: str, course_id: str, lesson_id: str) -> ProgressRecord | None: ...
    def list_course(self, owner_id: str, course_id: str) -> list[ProgressRecord]: ...
    def list_owner(self, owner_id: str) -> list[ProgressRecord]: ...
    def record(
        self,
        owner_id: str,
        course_id: str,
        lesson_id: str,
        now: datetime,
        *,
        opened: bool = False,
        completed: tuple[bool, CompletedBy] | None = None,
        quiz: QuizResult | None = None,
        position: ReadingPosition | None = None,
    ) -> ProgressRecord:
        """One atomic upsert: `opened` keeps the earliest time, `completed=(True, by)` keeps an
        existing completion, `(False, _)` clears it, `quiz` replaces the stored result, `position`
        replaces the reading position (with `positionAt`)."""
        ...


class QuestionStore(LearnerRecords, Protocol):
    def insert(self, question: Question) -> None: ...
    def thread(self, owner_id: str, course_id: str, lesson_id: str, *, limit: int) -> list[Question]:
        """The owner's questions on a lesson, oldest first."""
        ...

    def claim(self, question_id: str, claim: Claim, now: datetime) -> Question | None:
        """QUEUED (its `retry_at` passed, if set) or ANSWERING with an expired lease -> ANSWERING
        under `claim`, in one compare-and-set; an attempt starts with no partial text. None when
        not claimable."""
        ...

    def write_partial(self, question_id: str, claim: Claim, text: str) -> bool:
        """The answer so far, while `claim` holds the question; False when it does not."""
        ...

    def commit(
        self,
        question_id: str,
        claim: Claim,
        answer: str,
        usage: Usage,
        now: datetime,
        writes: int,
        citations: Sequence[SourceCitation] = (),
    ) -> bool:
        """ANSWERED with `answer` (and its checked `citations`), only while `claim` holds it; False
        (nothing written) otherwise."""
        ...

    def release(
        self, question_id: str, claim: Claim, error: str, *, failed: bool, retry_at: datetime | None = None
    ) -> None:
        """FAILED, or QUEUED again (not claimable before `retry_at`), while `claim` holds it; partial
        text goes."""
        ...

    def unclaim(self, question_id: str, claim: Claim) -> None:
        """Back to QUEUED unused (rate limited): no attempt spent."""
        ...

    def stuck(self, older_than: datetime, now: datetime, limit: int) -> list[Question]:
        """QUEUED since before `older_than`, or ANSWERING with a lease expired before `now`."""
        ...

    def mark_requeued(self, question_ids: Sequence[str], now: datetime) -> None: ...


class ShareStore(LearnerRecords, Protocol):
    """Share links (the `shares` collection): one per shared course. `delete_course` revokes."""

    def create(self, share: Share) -> Share:
        """Inserts `share` unless its course has one already; the course's live share either way
        (one link per course, whoever asks at once)."""
        ...

    def replace(self, current: Share, new: Share) -> bool:
        """`new` in place of `current` while `current` is still the course's share; False otherwise."""
        ...

    def get(self, owner_id: str, course_id: str) -> Share | None: ...
    def find(self, token_hash: str) -> Share | None:
        """The share whose token has this SHA-256 (a unique index): the only read a link's viewer causes."""
        ...


class ReviewStore(LearnerRecords, Protocol):
    """Flashcards under review (issue 23): the `cards` collection (FSRS state per card, due cards
    by one indexed query on (ownerId, due)) and the `reviews` log. Every read is owner-scoped."""

    def sync_lesson(self, owner_id: str, course_id: str, lesson_id: str, cards: Sequence[ReviewCard]) -> None:
        """The lesson's cards are now `cards` (new ones, as `flowgen.cards.new_card` makes them):
        a card already stored keeps its review state (and comes back if it was retired), its text
        follows the new version; the lesson's other cards are retired."""
        ...

    def get(self, owner_id: str, card_id: str) -> ReviewCard | None: ...
    def due(self, owner_id: str, now: datetime, limit: int, course_id: str | None = None) -> list[ReviewCard]:
        """Live cards due by `now`, oldest due first (ties by id), at most `limit`."""
        ...

    def count_due(self, owner_id: str, now: datetime, course_id: str | None = None) -> int: ...
    def list_course(self, owner_id: str, course_id: str) -> list[ReviewCard]:
        """Every card of the course, retired ones included, by lesson then id."""
        ...

    def apply_review(self, before: ReviewCard, after: ReviewCard) -> bool:
        """`after` in place of `before` while the card still has `before.reps` reviews (compare-and-set)."""
        ...

    def log_review(self, entry: ReviewEntry) -> None:
        """Appends to the log; an entry with an idempotency key already logged is ignored."""
        ...

    def find_review(self, owner_id: str, idempotency_key: str) -> ReviewEntry | None: ...
    def history(self, owner_id: str, card_id: str) -> list[ReviewEntry]: ...


class ShareLinks(Protocol):
    def link(self, owner_id: str, course_id: str) -> ShareView | None:
        """The owner's course's live share link, for the course view; None when it is not shared."""
        ...


class JobQueue(Protocol):
    def send_course_jobs(self, jobs: Sequence[CourseJob], delay_seconds: int = 0) -> None: ...
    def send_lesson_jobs(self, jobs: Sequence[LessonJob], priority: Priority, delay_seconds: int = 0) -> None: ...


class DedupeLock(Protocol):
    def acquire_many(self, keys: Sequence[str], ttl_seconds: int) -> list[bool]:
        """SET NX EX for each key; True where this caller took it. Raises DedupeUnavailable."""
        ...

    def release_many(self, keys: Sequence[str]) -> None: ...


@dataclass(frozen=True)
class LessonBrief:
    """Everything the model needs to write one lesson that fits its course."""

    course_title: str
    course_description: str
    level: str | None
    module_title: str
    lesson_title: str
    lesson_summary: str
    previous_titles: list[str]
    next_titles: list[str]
    language: str | None = None  # the course's; None: the topic's language
    instruction: str | None = None  # the learner's, for a regeneration: data, never a system prompt
    grounded: bool = False  # a course from the learner's sources (issue 24): written from `passages`
    passages: tuple[Passage, ...] = ()  # retrieved for this lesson: data to quote, never instructions


@dataclass(frozen=True)
class OutlineBrief:
    prompt: str
    level: str | None
    size: str | None
    language: str | None = None
    passages: tuple[Passage, ...] = ()  # a digest of the course's sources (issue 24): data, never instructions


@dataclass(frozen=True)
class QuestionBrief:
    """A learner's question about one lesson, with what the model answers it from. The question
    and the lesson's text are data for the model, never instructions (flowgen.prompts)."""

    course_title: str
    lesson_title: str
    lesson_text: str  # the lesson's content as Markdown
    question: str
    language: str | None = None  # the course's; None: the question's language
    earlier: tuple[tuple[str, str], ...] = ()  # the thread's latest answered (question, answer) pairs
    passages: tuple[Passage, ...] = ()  # the course's sources retrieved for the question (issue 24)


OnText = Callable[[str], None]
"""Called as an answer streams, with its whole text so far; it may raise to stop the stream."""

OnOutline = Callable[[PartialOutline | None], None]
"""Called as an outline streams: the outline finished so far (None: nothing yet, or the model was
asked again)."""

OnBlocks = Callable[[Sequence[GeneratedBlock], str], None]
"""Called as a lesson streams: its finished blocks so far, and the text so far of a markdown block
still being written ("" when none)."""


class ModelClient(Protocol):
    name: str

    def outline(self, brief: OutlineBrief) -> tuple[OutlineDecision, Usage]: ...
    def outline_stream(self, brief: OutlineBrief, on_outline: OnOutline) -> tuple[OutlineDecision, Usage]:
        """`outline`, streamed: `on_outline` is called as often as the stream likes; it may raise
        to stop the stream."""
        ...

    def lesson(self, brief: LessonBrief) -> tuple[GeneratedLesson, Usage]: ...
    def lesson_stream(self, brief: LessonBrief, on_blocks: OnBlocks) -> tuple[GeneratedLesson, Usage]:
        """`lesson`, streamed: `on_blocks` is called as often as the stream likes (fewer blocks
        than before: the model was asked again); it may raise to stop the stream."""
        ...

    def answer(self, brief: QuestionBrief) -> tuple[str, Usage]:
        """The answer to a learner's question, as Markdown (raises ModelError when unusable)."""
        ...

    def answer_stream(self, brief: QuestionBrief, on_text: OnText) -> tuple[str, Usage]:
        """`answer`, streamed: `on_text` gets the text so far as often as the stream likes."""
        ...


class RateLimiter(Protocol):
    """Shared by every worker: the provider's requests and tokens per minute."""

    def acquire(self, priority: Priority, tokens: int, *, reserve_share: float = 1.0) -> float:
        """Takes one request and `tokens` if the limits allow; else returns seconds to wait.
        An opened lesson may dip into `reserve_share` of the reserve kept for opened lessons
        (its owner's tier sets the share)."""
        ...

    def settle(self, estimated: int, actual: int) -> None:
        """Corrects the token count once the real usage is known."""
        ...


class TokenBudget(Protocol):
    def reserve(self, owner_id: str, course_id: str, tokens: int, *, tier: str = "free") -> str | None:
        """Reserves tokens against the user's daily budget (its tier's) and the course's; a reason if over."""
        ...

    def settle(self, owner_id: str, course_id: str, estimated: int, actual: int) -> None: ...


class VideoSearch(Protocol):
    def find(self, query: str) -> VideoBlock | None: ...
