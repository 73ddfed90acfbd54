"""In-memory fakes of the ports, for domain unit tests."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from flowgen.adapters.offline_model import OfflineModel
from flowgen.content import GeneratedLesson, OutlineDecision, PartialOutline
from flowgen.errors import DedupeUnavailable, DependencyUnavailable, ModelError
from flowgen.messages import CourseJob, LessonJob
from flowgen.ports import LessonBrief, OnBlocks, OnOutline, OnText, OutlineBrief, QuestionBrief
from flowgen.records import Priority, Usage


class RecordingQueue:
    def __init__(self) -> None:
        self.course_jobs: list[CourseJob] = []
        self.lesson_jobs: dict[Priority, list[LessonJob]] = {Priority.HIGH: [], Priority.LOW: []}
        self.delays: list[int] = []
        self.down = False

    def send_course_jobs(self, jobs: Sequence[CourseJob], delay_seconds: int = 0) -> None:
        if self.down:
            raise DependencyUnavailable("queue")
        self.delays.append(delay_seconds)
        self.course_jobs.extend(jobs)

    def send_lesson_jobs(self, jobs: Sequence[LessonJob], priority: Priority, delay_seconds: int = 0) -> None:
        self.delays.append(delay_seconds)
        if self.down:
            raise DependencyUnavailable("queue")
        self.lesson_jobs[priority].extend(jobs)

    def lesson_ids(self, priority: Priority) -> list[str]:
        return [job.lesson_id for job in self.lesson_jobs[priority]]


class MemoryDedupe:
    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.ttls: dict[str, int] = {}
        self.down = False

    def acquire_many(self, keys: Sequence[str], ttl_seconds: int) -> list[bool]:
        if self.down:
            raise DedupeUnavailable("down")
        fresh = []
        for key in keys:
            fresh.append(key not in self.keys)
            if fresh[-1]:
                self.ttls[key] = ttl_seconds
            self.keys.add(key)
        return fresh

    def release_many(self, keys: Sequence[str]) -> None:
        if self.down:
            raise DedupeUnavailable("down")
        self.keys.difference_update(keys)


class ScriptedModel:
    """The offline model, counting calls, failing the calls it is told to."""

    name = "scripted"

    def __init__(self) -> None:
        self.inner = OfflineModel()
        self.lesson_calls: list[str] = []
        self.answer_calls: list[QuestionBrief] = []
        self.fail_next = 0

    def _maybe_fail(self) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ModelError("scripted failure")

    def outline(self, brief: OutlineBrief) -> tuple[OutlineDecision, Usage]:
        self._maybe_fail()
        return self.inner.outline(brief)

    def lesson(self, brief: LessonBrief) -> tuple[GeneratedLesson, Usage]:
        self.lesson_calls.append(brief.lesson_title)
        self._maybe_fail()
        return self.inner.lesson(brief)

    def outline_stream(self, brief: OutlineBrief, on_outline: OnOutline) -> tuple[OutlineDecision, Usage]:
        """As `outline` (a subclass's too): its title, then the whole outline."""
        decision, usage = self.outline(brief)
        if decision.course is not None:
            on_outline(PartialOutline(title=decision.course.title))
            on_outline(PartialOutline(**decision.course.model_dump()))
        return decision, usage

    def lesson_stream(self, brief: LessonBrief, on_blocks: OnBlocks) -> tuple[GeneratedLesson, Usage]:
        """As `lesson` (a subclass's too), every block at once, as the offline model streams."""
        lesson, usage = self.lesson(brief)
        on_blocks(lesson.blocks, "")
        return lesson, usage

    def answer(self, brief: QuestionBrief) -> tuple[str, Usage]:
        self.answer_calls.append(brief)
        self._maybe_fail()
        return self.inner.answer(brief)

    def answer_stream(self, brief: QuestionBrief, on_text: OnText) -> tuple[str, Usage]:
        """As `answer` (a subclass's too), its first half, then all of it."""
        text, usage = self.answer(brief)
        on_text(text[: len(text) // 2])
        on_text(text)
        return text, usage


class BlockingModel(ScriptedModel):
    """Answers only once `release` is set (or never): a provider that stops answering."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.started = threading.Event()

    def lesson(self, brief: LessonBrief) -> tuple[GeneratedLesson, Usage]:
        self.started.set()
        self.release.wait(30)
        return super().lesson(brief)

    def outline(self, brief: OutlineBrief) -> tuple[OutlineDecision, Usage]:
        self.started.set()
        self.release.wait(30)
        return super().outline(brief)
