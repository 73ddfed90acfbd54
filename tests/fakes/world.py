"""The domain on in-memory fakes, shared by the unit tests: a course service, a scheduler and a
generator over MemoryStore, RecordingQueue, MemoryDedupe and a ScriptedModel (World), and a
learner with progress on top (Learner)."""

from __future__ import annotations

from datetime import datetime

from flowgen.clock import utcnow
from flowgen.courses import CourseService
from flowgen.deadline import Attempt
from flowgen.generation import Generator, Outcome
from flowgen.messages import LessonJob
from flowgen.progress import ProgressService, quiz_questions
from flowgen.reconcile import reconcile
from flowgen.requests import CreateCourseRequest, ProgressUpdate
from flowgen.scheduling import JobScheduler
from flowgen.settings import ApiTunables, ReconcilerTunables, WorkerTunables
from flowgen.views import CourseDetail, LessonProgress
from tests.fakes.ports import MemoryDedupe, RecordingQueue, ScriptedModel
from tests.fakes.progress import MemoryProgressStore
from tests.fakes.store import MemoryStore

STUCK = 300
FIRST = Attempt(receive_count=1, remaining_seconds=120)


class World:
    def __init__(self, model: ScriptedModel | None = None) -> None:
        self.store, self.queue, self.dedupe = MemoryStore(), RecordingQueue(), MemoryDedupe()
        self.model = model or ScriptedModel()
        self.scheduler = JobScheduler(self.queue, self.dedupe, dedupe_ttl_seconds=STUCK)
        self.service = CourseService(
            self.store, self.scheduler, ApiTunables(lesson_lookahead=2, stuck_after_seconds=STUCK)
        )
        tunables = WorkerTunables(initial_lessons=1, max_receive_count=3)
        self.generator = Generator(self.store, self.scheduler, self.model, tunables, utcnow)

    def ready_course(self, owner: str = "alice") -> CourseDetail:
        course = self.service.create_course(owner, CreateCourseRequest(prompt="Rust ownership"), utcnow())
        assert self.generator.build_outline(self.queue.course_jobs[-1], FIRST) == Outcome.DONE
        return self.service.get_course(owner, course.id)

    def reconcile(self, now: datetime) -> tuple[int, int, int]:
        tunables = ReconcilerTunables(stuck_after_seconds=STUCK, max_receive_count=3)
        result = reconcile(self.store, self.scheduler, tunables, now)
        return result.courses_resent, result.lessons_resent, result.lessons_failed


def ids_of(course: CourseDetail) -> list[str]:
    """The course's lesson ids, in order."""
    return [lesson.id for m in course.modules for lesson in m.lessons]


def job_for(course: CourseDetail, lesson_id: str, owner: str = "alice") -> LessonJob:
    return LessonJob(course_id=course.id, lesson_id=lesson_id, owner_id=owner)


class Learner:
    """alice with a ready course, and her progress through it."""

    def __init__(self) -> None:
        self.world = World()
        self.progress = MemoryProgressStore()
        self.service = ProgressService(self.world.store, self.progress)
        self.course: CourseDetail = self.world.ready_course()
        self.ids = ids_of(self.course)

    def generate(self, lesson_id: str) -> None:
        self.world.service.open_lesson("alice", self.course.id, lesson_id, utcnow())
        self.world.generator.write_lesson(job_for(self.course, lesson_id), FIRST)

    def right_answers(self, lesson_id: str) -> list[int | None]:
        lesson = self.world.store.get_lesson("alice", self.course.id, lesson_id)
        assert lesson is not None
        return [q.answer_index for q in quiz_questions(lesson)]

    def put(self, lesson_id: str, owner: str = "alice", **fields: object) -> LessonProgress:
        update = ProgressUpdate.model_validate(fields)
        return self.service.update_lesson(owner, self.course.id, lesson_id, update, utcnow())
