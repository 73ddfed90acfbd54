"""An in-memory QuestionStore with the MongoDB adapter's semantics: each method one atomic step
(one lock), the claim a compare-and-set, partial writes, commit and release conditioned on the
lease token. tests/unit/test_question_store.py holds both to the same contract."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from flowgen.content import SourceCitation
from flowgen.errors import DependencyUnavailable
from flowgen.ports import Claim
from flowgen.records import Lease, Question, QuestionStatus, Usage


class MemoryQuestionStore:
    def __init__(self) -> None:
        self.questions: dict[str, Question] = {}
        self.lock = threading.RLock()
        self.down = False
        self.partial_writes: list[tuple[str, str]] = []  # (question id, text) per landed write
        self.commits: list[str] = []  # question ids committed ANSWERED, one entry each

    def _check(self) -> None:
        if self.down:
            raise DependencyUnavailable("mongo")

    def _held(self, question_id: str, claim: Claim, *, answering: bool = True) -> Question | None:
        question = self.questions.get(question_id)
        if question is None or question.lease is None or question.lease.token != claim.token:
            return None
        if answering and question.status != QuestionStatus.ANSWERING:
            return None
        return question

    def _update(self, question_id: str, **fields: object) -> None:
        self.questions[question_id] = self.questions[question_id].model_copy(update=fields)

    def insert(self, question: Question) -> None:
        with self.lock:
            self._check()
            self.questions[question.id] = question

    def thread(self, owner_id: str, course_id: str, lesson_id: str, *, limit: int) -> list[Question]:
        with self.lock:
            self._check()
            found = [
                q
                for q in self.questions.values()
                if (q.owner_id, q.course_id, q.lesson_id) == (owner_id, course_id, lesson_id)
            ]
            return sorted(found, key=lambda q: (q.asked_at, q.id))[:limit]

    def claim(self, question_id: str, claim: Claim, now: datetime) -> Question | None:
        with self.lock:
            self._check()
            question = self.questions.get(question_id)
            if question is None:
                return None
            expired = question.lease is not None and question.lease.expires_at < now
            waiting = question.retry_at is not None and question.retry_at > now
            if not (
                (question.status == QuestionStatus.QUEUED and not waiting)
                or (question.status == QuestionStatus.ANSWERING and expired)
            ):
                return None
            self._update(
                question_id,
                status=QuestionStatus.ANSWERING,
                lease=Lease(token=claim.token, expires_at=claim.expires_at),
                updated_at=now,
                attempts=question.attempts + 1,
                partial=None,
                error=None,
                retry_at=None,
            )
            return self.questions[question_id]

    def write_partial(self, question_id: str, claim: Claim, text: str) -> bool:
        with self.lock:
            self._check()
            question = self._held(question_id, claim)
            if question is None:
                return False
            self._update(question_id, partial=text, partial_writes=question.partial_writes + 1)
            self.partial_writes.append((question_id, text))
            return True

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
        with self.lock:
            self._check()
            if self._held(question_id, claim) is None:
                return False
            self._update(
                question_id,
                status=QuestionStatus.ANSWERED,
                answer=answer,
                usage=usage,
                answered_at=now,
                updated_at=now,
                partial_writes=writes,
                citations=list(citations),
                lease=None,
                partial=None,
                error=None,
            )
            self.commits.append(question_id)
            return True

    def release(
        self, question_id: str, claim: Claim, error: str, *, failed: bool, retry_at: datetime | None = None
    ) -> None:
        with self.lock:
            self._check()
            if self._held(question_id, claim, answering=True) is None:
                return
            status = QuestionStatus.FAILED if failed else QuestionStatus.QUEUED
            self._update(question_id, status=status, error=error, lease=None, partial=None, retry_at=retry_at)

    def unclaim(self, question_id: str, claim: Claim) -> None:
        with self.lock:
            self._check()
            question = self._held(question_id, claim, answering=True)
            if question is None:
                return
            self._update(
                question_id, status=QuestionStatus.QUEUED, lease=None, partial=None, attempts=question.attempts - 1
            )

    def stuck(self, older_than: datetime, now: datetime, limit: int) -> list[Question]:
        with self.lock:
            self._check()
            found = [
                q
                for q in self.questions.values()
                if (q.status == QuestionStatus.QUEUED and q.updated_at is not None and q.updated_at < older_than)
                or (q.status == QuestionStatus.ANSWERING and q.lease is not None and q.lease.expires_at < now)
            ]
            return found[:limit]

    def mark_requeued(self, question_ids: Sequence[str], now: datetime) -> None:
        with self.lock:
            self._check()
            for question_id in question_ids:
                if question_id in self.questions:
                    self._update(question_id, updated_at=now)

    def delete_course(self, owner_id: str, course_id: str, lesson_ids: Sequence[str] | None = None) -> None:
        with self.lock:
            self._check()
            for key, q in list(self.questions.items()):
                if (q.owner_id, q.course_id) == (owner_id, course_id) and (
                    lesson_ids is None or q.lesson_id in lesson_ids
                ):
                    del self.questions[key]
