"""An in-memory ProgressStore with the MongoDB adapter's semantics: one record per
(owner, course, lesson), each write one atomic step."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from flowgen.records import CompletedBy, ProgressRecord, QuizResult, ReadingPosition


class MemoryProgressStore:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str, str], ProgressRecord] = {}
        self.lock = threading.Lock()

    def get(self, owner_id: str, course_id: str, lesson_id: str) -> ProgressRecord | None:
        return self.records.get((owner_id, course_id, lesson_id))

    def list_course(self, owner_id: str, course_id: str) -> list[ProgressRecord]:
        return [r for (o, c, _), r in self.records.items() if (o, c) == (owner_id, course_id)]

    def list_owner(self, owner_id: str) -> list[ProgressRecord]:
        return [r for (o, _, _), r in self.records.items() if o == owner_id]

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
        key = (owner_id, course_id, lesson_id)
        with self.lock:
            current = self.records.get(key) or ProgressRecord(
                owner_id=owner_id, course_id=course_id, lesson_id=lesson_id
            )
            fields: dict[str, object] = {"updated_at": now}
            if opened:
                fields["opened_at"] = min(current.opened_at or now, now)
            if completed is not None:
                done, by = completed
                fields["completed_at"] = min(current.completed_at or now, now) if done else None
                fields["completed_by"] = by if done else None
            if quiz is not None:
                fields["quiz"] = quiz
            if position is not None:
                fields["position"] = position
                fields["position_at"] = now
            self.records[key] = current.model_copy(update=fields)
            return self.records[key]

    def delete_course(self, owner_id: str, course_id: str, lesson_ids: Sequence[str] | None = None) -> None:
        with self.lock:
            for key in [k for k in self.records if k[:2] == (owner_id, course_id)]:
                if lesson_ids is None or key[2] in lesson_ids:
                    del self.records[key]
