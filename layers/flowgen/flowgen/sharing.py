"""Share links (issue 22, design invariant 11): a course's owner shares it by an unguessable link;
anyone with the link reads it without signing in, and a signed-in reader makes it their own (a
fork). Nothing here starts generation for a viewer or reads anything of the owner's but the
course's content.

The token. One live link per course, and asking again gives the same link, yet the token is never
stored: it is an HMAC-SHA256, under a server key (a secret), of the course id and a random nonce
kept with the share. The store holds the nonce and the token's SHA-256; a viewer's token is looked
up by its hash (one indexed read, the same for an unknown token and a revoked one: a revoked
share is deleted), and the owner's link is derived again from the nonce. The database alone
yields no link; the key alone yields none either (docs/decisions.md, 2026-12-06).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from flowgen.errors import AlreadyExists, Conflict, IdempotencyKeyReused, InvalidRequest, NotFound
from flowgen.ids import is_lesson_id
from flowgen.ownership import owned_course
from flowgen.ports import CourseStore, ShareStore
from flowgen.progress import grade
from flowgen.records import Course, CourseStatus, Lesson, LessonStatus, ModuleOutline, Share
from flowgen.requests import QuizAnswers
from flowgen.views import (
    CourseView,
    LessonContentView,
    QuizGrade,
    SharedCourseView,
    SharedLessonStatus,
    SharedLessonSummary,
    SharedLessonView,
    SharedModuleView,
    ShareView,
)

TOKEN_CHARS = 43  # 32 bytes of HMAC-SHA256, base64url without padding: 256 bits
TOKEN_PATTERN = rf"^[A-Za-z0-9_-]{{{TOKEN_CHARS}}}$"
_TOKEN_RE = re.compile(TOKEN_PATTERN)
KEY_MIN_CHARS = 32  # the server key: at least 32 characters (a generated secret is 64 or more)
_CONTEXT = b"flowgen/share-link/v1"


class ShareKeyMissing(RuntimeError):
    """No usable server key (SHARE_KEY or SHARE_KEY_SECRET): sharing cannot work."""


def shared_path(token: str) -> str:
    """Where the web app shows a shared course (its hash router: the token stays in the fragment,
    which browsers send to no server, in no Referer)."""
    return f"/#/shared/{token}"


class ShareTokens:
    """Tokens derived from the server key: `token(course, nonce)`, and the hash the store keeps."""

    def __init__(self, key: str) -> None:
        if len(key) < KEY_MIN_CHARS:
            raise ShareKeyMissing(f"the share key must be at least {KEY_MIN_CHARS} characters (SHARE_KEY_SECRET)")
        self._key = key.encode()

    def token(self, course_id: str, nonce: str) -> str:
        message = b"\0".join((_CONTEXT, course_id.encode(), nonce.encode()))
        mac = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


def _not_found() -> NotFound:
    """The one answer for a token that leads nowhere: unknown, revoked, or its course deleted."""
    message = "nothing is shared at this link: it may be mistyped, or its owner stopped sharing"
    return NotFound(message, code="share_not_found")


def _shown(status: LessonStatus) -> SharedLessonStatus:
    """A viewer sees written or not: never whether the owner is writing or retrying it now."""
    return "GENERATED" if status == LessonStatus.GENERATED else "PENDING"


@dataclass(frozen=True)
class ShareService:
    store: CourseStore
    shares: ShareStore
    tokens: ShareTokens
    web_url: str = ""  # the web app's address; empty: links relative to it

    # ---- the owner's side ----------------------------------------------------------------

    def share(self, owner_id: str, course_id: str, now: datetime) -> tuple[ShareView, bool]:
        """The course's link, made now or the one it has already: (the link, made now). Only a
        READY course can be shared (409: its outline is not written)."""
        course = owned_course(self.store, owner_id, course_id)
        if course.status != CourseStatus.READY:
            raise Conflict(
                f"course is {course.status.value}: a course can be shared once its outline is written",
                code="course_not_ready",
            )
        for _ in range(3):
            fresh = self._new_share(course, now)
            live = self.shares.create(fresh)  # this one, or the course's live one: one link per course
            token = self._token(live)
            if token is not None:
                return self._view(live, token), live.nonce == fresh.nonce
            # made under an earlier key: it cannot be shown again, so it is replaced (it stops working)
            if self.shares.replace(live, fresh):
                return self._view(fresh, self.tokens.token(course_id, fresh.nonce)), True
        raise Conflict("the course's link changed meanwhile: try again", code="share_changed")

    def revoke(self, owner_id: str, course_id: str) -> None:
        """The link stops working at once (its share is deleted). Not shared: nothing to do."""
        owned_course(self.store, owner_id, course_id)
        self.shares.delete_course(owner_id, course_id)

    def link(self, owner_id: str, course_id: str) -> ShareView | None:
        """The owner's course's live link, for the course view (None: not shared)."""
        share = self.shares.get(owner_id, course_id)
        if share is None:
            return None
        token = self._token(share)
        return self._view(share, token) if token else ShareView(token=None, url=None, created_at=share.created_at)

    # ---- a viewer's side (no account: what the link shows, and nothing else) ---------------

    def shared_course(self, token: str) -> SharedCourseView:
        share, course = self._shared(token)
        lessons = {lesson.id: lesson for lesson in self.store.list_lessons(course.id)}
        modules = [
            SharedModuleView(
                id=module.id,
                title=module.title,
                lessons=[
                    SharedLessonSummary(
                        id=lesson.id,
                        title=lesson.title,
                        summary=lesson.summary,
                        order=lesson.order,
                        status=_shown(lesson.status),
                    )
                    for lesson_id in module.lesson_ids
                    if (lesson := lessons.get(lesson_id)) is not None
                ],
            )
            for module in course.modules
        ]
        listed = [lesson for module in modules for lesson in module.lessons]
        return SharedCourseView(
            title=course.title,
            description=course.description,
            language=course.language,
            level=course.level,
            objectives=course.objectives,
            lesson_count=len(listed),
            lessons_written=sum(lesson.status == "GENERATED" for lesson in listed),
            modules=modules,
        )

    def shared_lesson(self, token: str, lesson_id: str) -> SharedLessonView:
        """A lesson as the link shows it: written, or said not to be. Reading never queues it."""
        share, course = self._shared(token)
        lesson, siblings = self._lesson(share, course, lesson_id)
        position = next(i for i, s in enumerate(siblings) if s.id == lesson.id)
        content = lesson.content if lesson.status == LessonStatus.GENERATED else None
        return SharedLessonView(
            id=lesson.id,
            module_id=lesson.module_id,
            order=lesson.order,
            title=lesson.title,
            summary=lesson.summary,
            status="GENERATED" if content else "PENDING",
            content=LessonContentView.model_validate(content.model_dump()) if content else None,
            previous_lesson_id=siblings[position - 1].id if position > 0 else None,
            next_lesson_id=siblings[position + 1].id if position + 1 < len(siblings) else None,
        )

    def grade_quiz(self, token: str, lesson_id: str, answers: QuizAnswers, now: datetime) -> QuizGrade:
        """A viewer's quiz answers graded against the lesson, as a learner's are; nothing is kept."""
        share, course = self._shared(token)
        lesson, _ = self._lesson(share, course, lesson_id)
        full = self.store.get_lesson(share.owner_id, course.id, lesson.id) or lesson
        result = grade(full, answers.answers, now, reveal=answers.reveal)
        return QuizGrade.model_validate(result.model_dump(include=set(QuizGrade.model_fields)))

    # ---- making it one's own ---------------------------------------------------------------

    def fork(
        self, caller: str, token: str, now: datetime, *, idempotency_key: str | None = None, tier: str = "free"
    ) -> CourseView:
        """A new course of the caller's: the outline and every written lesson as they are now
        (content only: no earlier versions, no instructions, no usage), the other lessons to be
        written when the caller opens them, at the caller's budget. Nothing is written to the
        original or its share: its owner sees nothing of it. An Idempotency-Key makes a retry
        return the same fork (the same key for another request: 422)."""
        share, course = self._shared(token)
        if idempotency_key:
            earlier = self.store.find_course_by_idempotency_key(caller, idempotency_key)
            if earlier is not None:
                return self._same_fork(earlier, course)
        copy_id = uuid.uuid4().hex
        lessons = [self._copied(share, lesson, copy_id, caller, now) for lesson in self.store.list_lessons(course.id)]
        copy = _copy_of(course, copy_id, caller, lessons, now, idempotency_key=idempotency_key, tier=tier)
        try:
            self.store.insert_copy(copy, lessons)
        except AlreadyExists as clash:  # the same key, sent twice at once
            earlier = self.store.find_course_by_idempotency_key(caller, idempotency_key or "")
            if earlier is None:
                message = "the course made with this Idempotency-Key is gone; use a new key"
                raise Conflict(message, code="course_gone") from clash
            return self._same_fork(earlier, course)
        return CourseView.of(copy, sum(lesson.status == LessonStatus.GENERATED for lesson in lessons))

    # ---- helpers ---------------------------------------------------------------------------

    def _new_share(self, course: Course, now: datetime) -> Share:
        nonce = secrets.token_urlsafe(32)
        token = self.tokens.token(course.id, nonce)
        digest = self.tokens.hash(token)
        return Share(course_id=course.id, owner_id=course.owner_id, token_hash=digest, nonce=nonce, created_at=now)

    def _token(self, share: Share) -> str | None:
        """The share's token derived again; None when it was made under another key."""
        token = self.tokens.token(share.course_id, share.nonce)
        return token if hmac.compare_digest(self.tokens.hash(token), share.token_hash) else None

    def _view(self, share: Share, token: str) -> ShareView:
        return ShareView(token=token, url=self.web_url.rstrip("/") + shared_path(token), created_at=share.created_at)

    def _shared(self, token: str) -> tuple[Share, Course]:
        """The share and course a token leads to, or the one 404. Looked up by the token's hash
        only: the same single indexed read whether the token is unknown or was revoked."""
        digest = self.tokens.hash(token)
        share = self.shares.find(digest) if _TOKEN_RE.match(token) else None
        if share is None or not hmac.compare_digest(share.token_hash, digest):
            raise _not_found()
        course = self.store.get_course(share.owner_id, share.course_id)
        if course is None or course.status != CourseStatus.READY:
            raise _not_found()
        return share, course

    def _lesson(self, share: Share, course: Course, lesson_id: str) -> tuple[Lesson, list[Lesson]]:
        if not is_lesson_id(lesson_id):
            raise InvalidRequest("lessonId must look like m01-l02", code="invalid_lesson_id")
        siblings = self.store.list_lessons(course.id)
        lesson = self.store.get_lesson(share.owner_id, course.id, lesson_id)
        if lesson is None or all(s.id != lesson_id for s in siblings):
            raise NotFound("this course has no such lesson", code="lesson_not_found")
        return lesson, siblings

    def _copied(self, share: Share, lesson: Lesson, course_id: str, caller: str, now: datetime) -> Lesson:
        """A lesson of the fork: its content when written (read in full), else waiting to be opened."""
        full = None
        if lesson.status == LessonStatus.GENERATED:
            full = self.store.get_lesson(share.owner_id, lesson.course_id, lesson.id)
        written = full is not None and full.status == LessonStatus.GENERATED and full.content is not None
        return Lesson(
            id=lesson.id,
            course_id=course_id,
            module_id=lesson.module_id,
            owner_id=caller,
            order=lesson.order,
            title=lesson.title,
            summary=lesson.summary,
            status=LessonStatus.GENERATED if written else LessonStatus.PENDING,
            content=full.content if written and full else None,
            block_count=full.block_count if written and full else None,
            generated_at=now if written else None,
            updated_at=now,
        )

    def _same_fork(self, earlier: Course, original: Course) -> CourseView:
        if earlier.forked_from != original.id:
            raise IdempotencyKeyReused("this Idempotency-Key was used for another request")
        return CourseView.of(earlier, self.store.count_generated([earlier.id]).get(earlier.id, 0))


def _copy_of(
    course: Course,
    copy_id: str,
    caller: str,
    lessons: list[Lesson],
    now: datetime,
    *,
    idempotency_key: str | None,
    tier: str,
) -> Course:
    """The fork's course record: the original's outline and description, the caller's from now on."""
    kept = {lesson.id for lesson in lessons}
    return Course(
        id=copy_id,
        owner_id=caller,
        tier=tier,
        prompt=course.title or course.prompt,  # what it is about: the owner's own prompt is theirs
        level=course.level,
        size=course.size,
        language=course.language,
        status=CourseStatus.READY,
        title=course.title,
        description=course.description,
        objectives=course.objectives,
        modules=[
            ModuleOutline(id=m.id, title=m.title, lesson_ids=[i for i in m.lesson_ids if i in kept])
            for m in course.modules
        ],
        lesson_count=len(lessons),
        idempotency_key=idempotency_key,
        forked_from=course.id,
        created_at=now,
        updated_at=now,
    )
