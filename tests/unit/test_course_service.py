"""The course use cases (flowgen.courses.CourseService) on records laid out directly in the
in-memory stores: outline edits, lesson versions, export, paging, what a lesson view shows while
it is written, and every refusal's code. tests/unit/test_domain.py drives the same service
through the workers."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from pydantic import BaseModel

from flowgen.content import LessonContent, MarkdownBlock, PartialContent, PartialOutline
from flowgen.courses import CourseService
from flowgen.errors import AlreadyExists, FlowgenError
from flowgen.messages import LessonJob
from flowgen.records import (
    LESSON_VERSIONS_KEPT,
    Course,
    CourseStatus,
    Lease,
    Lesson,
    LessonStatus,
    LessonVersion,
    ModuleOutline,
    Priority,
    Question,
    QuestionStatus,
    Usage,
)
from flowgen.requests import (
    CreateCourseRequest,
    EditOutlineRequest,
    OutlineLessonEdit,
    OutlineModuleEdit,
    RegenerateLessonRequest,
    SelectVersionRequest,
)
from flowgen.scheduling import JobScheduler, lesson_job_key
from flowgen.settings import ApiTunables
from flowgen.views import LessonVersionSummary
from tests.fakes.ports import MemoryDedupe, RecordingQueue
from tests.fakes.progress import MemoryProgressStore
from tests.fakes.questions import MemoryQuestionStore
from tests.fakes.store import MemoryStore
from tests.narrow import present

STUCK = 300
NOW = datetime(2026, 3, 2, 9, 30, 15, 250_000, tzinfo=UTC)
EARLIER = NOW - timedelta(days=1)
USAGE = Usage(prompt_tokens=10, completion_tokens=20)


class Store(MemoryStore):
    """The in-memory store, remembering the page sizes it was asked for, losing the races named
    in `races` (another request got there between the use case's read and its write)."""

    def __init__(self) -> None:
        super().__init__()
        self.page_sizes: list[int] = []
        self.races: set[str] = set()

    def list_courses(self, owner_id: str, *, limit: int, before: tuple[datetime, str] | None) -> list[Course]:
        self.page_sizes.append(limit)
        return super().list_courses(owner_id, limit=limit, before=before)

    def edit_outline(self, course: Course, **edit: Any) -> bool:
        return "edit_outline" not in self.races and super().edit_outline(course, **edit)

    def replace_lesson_version(self, lesson: Lesson, **version: Any) -> bool:
        return "replace_lesson_version" not in self.races and super().replace_lesson_version(lesson, **version)

    def reset_failed_course(self, owner_id: str, course_id: str, now: datetime) -> bool:
        return "reset" not in self.races and super().reset_failed_course(owner_id, course_id, now)

    def reset_failed_lesson(self, owner_id: str, course_id: str, lesson_id: str, now: datetime) -> bool:
        return "reset" not in self.races and super().reset_failed_lesson(owner_id, course_id, lesson_id, now)


class Courses:
    def __init__(self, **tunables: int) -> None:
        self.store, self.queue, self.dedupe = Store(), RecordingQueue(), MemoryDedupe()
        self.progress, self.questions = MemoryProgressStore(), MemoryQuestionStore()
        self.scheduler = JobScheduler(self.queue, self.dedupe, dedupe_ttl_seconds=STUCK)
        api = ApiTunables(**{"lesson_lookahead": 0, "stuck_after_seconds": STUCK, **tunables})
        self.service = CourseService(self.store, self.scheduler, api, (self.progress, self.questions))

    def ready(self, *lessons_per_module: int, owner: str = "alice", **fields: Any) -> str:
        """A READY course of PENDING lessons (two modules of two by default): m01-l01, m01-l02, ..."""
        course_id = uuid.uuid4().hex
        modules = []
        for m, count in enumerate(lessons_per_module or (2, 2), start=1):
            ids = [f"m{m:02d}-l{n:02d}" for n in range(1, count + 1)]
            modules.append(ModuleOutline(id=f"m{m:02d}", title=f"Module {m}", lesson_ids=ids))
            for lesson_id in ids:
                self.store.lessons[course_id, lesson_id] = Lesson(
                    id=lesson_id,
                    course_id=course_id,
                    module_id=f"m{m:02d}",
                    owner_id=owner,
                    order=len(self.store.lessons),
                    title=f"Lesson {lesson_id}",
                    summary=f"About {lesson_id}",
                    status=LessonStatus.PENDING,
                )
        course = Course(
            id=course_id,
            owner_id=owner,
            prompt="Rust ownership",
            title="Rust ownership",
            status=CourseStatus.READY,
            modules=modules,
            lesson_count=sum(len(m.lesson_ids) for m in modules),
            created_at=EARLIER,
            updated_at=EARLIER,
        )
        self.store.courses[course_id] = course.model_copy(update=fields)
        return course_id

    def lesson(self, course_id: str, lesson_id: str, **fields: Any) -> Lesson:
        key = (course_id, lesson_id)
        self.store.lessons[key] = self.store.lessons[key].model_copy(update=fields)
        return self.store.lessons[key]

    def written(self, course_id: str, lesson_id: str, text: str = "Borrowing lends.", **fields: Any) -> Lesson:
        """GENERATED with `text` (version 1 unless `fields` say otherwise)."""
        written = {"status": LessonStatus.GENERATED, "content": _content(text), "generated_at": EARLIER}
        return self.lesson(course_id, lesson_id, **{**written, "usage": USAGE, "attempts": 1, **fields})

    def stored(self, course_id: str, lesson_id: str, owner: str = "alice") -> Lesson:
        return present(self.store.get_lesson(owner, course_id, lesson_id))

    def learner_records(self, course_id: str, lesson_id: str, owner: str = "alice") -> None:
        """Progress on the lesson and a question about it."""
        self.progress.record(owner, course_id, lesson_id, NOW, opened=True)
        self.questions.insert(
            Question(
                id=uuid.uuid4().hex,
                owner_id=owner,
                course_id=course_id,
                lesson_id=lesson_id,
                question="Why?",
                status=QuestionStatus.ANSWERED,
                asked_at=NOW,
            )
        )

    def has_records(self, course_id: str, lesson_id: str, owner: str = "alice") -> tuple[bool, bool]:
        progress = self.progress.get(owner, course_id, lesson_id) is not None
        questions = any(
            (q.owner_id, q.course_id, q.lesson_id) == (owner, course_id, lesson_id)
            for q in self.questions.questions.values()
        )
        return progress, questions


@pytest.fixture
def c() -> Courses:
    return Courses()


def _content(text: str) -> LessonContent:
    return LessonContent(blocks=[MarkdownBlock(type="markdown", markdown=text)], generator="offline")


def _says(content: BaseModel | None) -> list[str]:
    """The Markdown of each block of a lesson's content, as stored or as served."""
    return [str(block.get("markdown")) for block in present(content).model_dump()["blocks"]]


def _refused(call: Callable[[], object], code: str) -> FlowgenError:
    """The refusal `call` raises: its code, and a message for people."""
    with pytest.raises(FlowgenError) as caught:
        call()
    assert caught.value.code == code
    assert isinstance(caught.value.message, str) and caught.value.message.strip()
    return caught.value


LessonEdit = tuple[str | None, str, str | None]  # (id or None for a new lesson, title, summary or None)
ModuleEdit = tuple[str | None, str, list[LessonEdit]]  # (id or None for a new module, title, lessons)


def _edit(version: int, *modules: ModuleEdit) -> EditOutlineRequest:
    """The whole outline as it should be, in order."""
    return EditOutlineRequest(
        version=version,
        modules=[
            OutlineModuleEdit(
                id=module_id,
                title=title,
                lessons=[OutlineLessonEdit(id=i, title=t, summary=s) for i, t, s in lessons],
            )
            for module_id, title, lessons in modules
        ],
    )


# ---- refusals -----------------------------------------------------------------------------


def test_every_refusal_has_its_code_and_a_message(c: Courses) -> None:
    course_id = c.ready()
    c.written(course_id, "m01-l02")
    other = c.ready(owner="bob")
    s, first, seventh = c.service, SelectVersionRequest(version=1), SelectVersionRequest(version=7)
    stale = _edit(2, ("m01", "Basics", [("m01-l01", "One", None)]))
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: s.get_course("alice", "../etc"), "invalid_course_id"),
        (lambda: s.get_course("alice", other), "course_not_found"),
        (lambda: s.delete_course("alice", other), "course_not_found"),
        (lambda: s.open_lesson("alice", course_id, "lesson-1", NOW), "invalid_lesson_id"),
        (lambda: s.open_lesson("alice", course_id, "m09-l09", NOW), "lesson_not_found"),
        (lambda: s.list_courses("alice", "not a cursor", None), "invalid_cursor"),
        (lambda: s.retry_course("alice", course_id, NOW), "not_failed"),
        (lambda: s.retry_lesson("alice", course_id, "m01-l01", NOW), "not_failed"),
        (lambda: s.select_version("alice", course_id, "m01-l01", first, NOW), "being_written"),
        (lambda: s.select_version("alice", course_id, "m01-l02", seventh, NOW), "version_not_found"),
        (lambda: s.edit_outline("alice", course_id, stale, NOW), "version_conflict"),
    ]
    for call, code in cases:
        _refused(call, code)


def test_a_refused_retry_says_so_when_the_record_changed_meanwhile(c: Courses) -> None:
    course_id = c.ready(status=CourseStatus.FAILED)
    c.lesson(course_id, "m01-l01", status=LessonStatus.FAILED)
    c.store.races.add("reset")  # another retry got there first
    _refused(lambda: c.service.retry_course("alice", course_id, NOW), "not_failed")
    _refused(lambda: c.service.retry_lesson("alice", course_id, "m01-l01", NOW), "not_failed")


# ---- creating, replaying, listing, deleting ---------------------------------------------------


def test_a_course_keeps_the_language_it_was_asked_in(c: Courses) -> None:
    created = c.service.create_course("alice", CreateCourseRequest(prompt="Rust ownership", language="German"), NOW)
    assert (created.language, created.lessons_generated) == ("German", 0)
    assert present(c.store.get_course("alice", created.id)).language == "German"
    again = c.service.create_course(
        "alice", CreateCourseRequest(prompt="Rust ownership", language="German"), NOW, idempotency_key="k"
    )
    refused = _refused(
        lambda: c.service.create_course(
            "alice", CreateCourseRequest(prompt="Rust ownership"), NOW, idempotency_key="k"
        ),
        "idempotency_key_reused",
    )  # the same key with another language is another request
    assert refused.status == 422 and again.language == "German"


def test_a_replayed_create_names_its_course_only_while_it_is_there(c: Courses) -> None:
    created = c.service.create_course("alice", CreateCourseRequest(prompt="Rust ownership"), NOW)
    assert c.service.still_there("alice", created) == created
    _refused(lambda: c.service.still_there("bob", created), "course_gone")  # another owner's is not there
    c.service.delete_course("alice", created.id)
    gone = _refused(lambda: c.service.still_there("alice", created), "course_gone")
    assert gone.status == 409


def test_a_create_whose_earlier_course_was_deleted_is_a_conflict_with_a_message(c: Courses) -> None:
    def taken(course: Course) -> None:
        raise AlreadyExists("k")

    c.store.insert_course = taken  # type: ignore[method-assign]  # the key is taken by a course deleted since
    _refused(
        lambda: c.service.create_course("alice", CreateCourseRequest(prompt="Rust"), NOW, idempotency_key="k"),
        "course_gone",
    )


def test_a_page_holds_one_to_a_hundred_courses(c: Courses) -> None:
    for i in range(101):
        c.ready(created_at=EARLIER + timedelta(seconds=i))
    assert len(c.service.list_courses("alice", None, None).items) == 20
    assert len(c.service.list_courses("alice", None, 0).items) == 20
    smallest = c.service.list_courses("alice", None, -5)
    assert len(smallest.items) == 1 and smallest.next_cursor is not None
    largest = c.service.list_courses("alice", None, 1000)
    assert len(largest.items) == 100 and largest.next_cursor is not None


def test_courses_count_the_lessons_written_now(c: Courses) -> None:
    two, none = c.ready(created_at=NOW), c.ready(created_at=EARLIER)
    c.written(two, "m01-l01")
    c.written(two, "m02-l02")
    c.lesson(two, "m01-l02", status=LessonStatus.GENERATING)
    assert [(v.id, v.lessons_generated) for v in c.service.list_courses("alice", None, None).items] == [
        (two, 2),
        (none, 0),
    ]
    made = c.ready(idempotency_key="k")  # made by a create with this key, written since
    c.written(made, "m02-l01")
    replayed = c.service.create_course("alice", CreateCourseRequest(prompt="Rust ownership"), NOW, idempotency_key="k")
    assert (replayed.id, replayed.lessons_generated) == (made, 1)  # the course as it is now
    fresh = c.service.create_course("alice", CreateCourseRequest(prompt="Go channels"), NOW, idempotency_key="k2")
    again = c.service.create_course("alice", CreateCourseRequest(prompt="Go channels"), NOW, idempotency_key="k2")
    assert (again.id, again.lessons_generated) == (fresh.id, 0)
    failed = c.ready(status=CourseStatus.FAILED)
    assert c.service.retry_course("alice", failed, NOW).lessons_generated == 0


def test_a_page_reads_one_course_more_than_it_shows(c: Courses) -> None:
    """One more tells whether there is a next page; the store never reads the whole list."""
    for _ in range(4):
        c.ready()
    page = c.service.list_courses("alice", None, 2)
    assert c.store.page_sizes == [3] and len(page.items) == 2 and page.next_cursor is not None


def test_pages_walk_courses_created_at_the_same_moment_and_cursors_need_no_escaping(c: Courses) -> None:
    moments = [EARLIER, EARLIER, EARLIER, NOW.replace(microsecond=0), NOW, NOW]  # two cursor lengths
    made = [c.ready(created_at=moment) for moment in moments]
    seen: list[str] = []
    cursor: str | None = None
    for _ in moments:  # a page each, however the walk goes
        page = c.service.list_courses("alice", cursor, 1)
        seen += [course.id for course in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
        assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)  # it goes into a query string as it is
    created = dict(zip(made, moments, strict=True))
    assert seen == sorted(made, key=lambda i: (created[i], i), reverse=True)


def test_deleting_a_course_deletes_the_learners_records_on_it_and_no_others(c: Courses) -> None:
    course_id, kept = c.ready(), c.ready()
    c.learner_records(course_id, "m01-l01")
    c.learner_records(kept, "m01-l01")
    c.service.delete_course("alice", course_id)
    assert c.has_records(course_id, "m01-l01") == (False, False)
    assert c.has_records(kept, "m01-l01") == (True, True)


# ---- a course's outline while it is written -----------------------------------------------


def test_the_partial_outline_shows_while_its_attempt_holds_the_lease(c: Courses) -> None:
    course_id = c.ready(status=CourseStatus.GENERATING, attempts=2, modules=[])
    c.store.course_leases[course_id] = Lease(token="worker", expires_at=NOW)
    assert c.service.get_course("alice", course_id, NOW).partial_outline is None  # nothing written yet
    c.store.courses[course_id] = c.store.courses[course_id].model_copy(
        update={"partial_outline": PartialOutline(title="Rust ownership", writes=2, restarts=1)}
    )
    shown = present(c.service.get_course("alice", course_id, NOW).partial_outline)  # its last moment
    assert shown.title == "Rust ownership" and shown.restarts == 2  # the earlier attempt's and this one's
    assert c.service.get_course("alice", course_id, NOW + timedelta(microseconds=1)).partial_outline is None


# ---- outline edits ------------------------------------------------------------------------


class Edited:
    """alice's course m01 [l01 written, l02], m02 [l01, l02 written, with a job queued], m01-l03
    retired by an earlier edit; then one edit: m02 renamed, holding m01-l01 and a new lesson; a
    new module holding m01-l02 with a new summary; another with two new lessons; m02's own
    lessons removed."""

    def __init__(self, c: Courses) -> None:
        self.id = c.ready(retired_lesson_ids=["m01-l03"])
        c.written(self.id, "m01-l01", "Ownership moves.")
        c.written(self.id, "m02-l02")
        c.scheduler.schedule_lessons([_job(self.id, "m02-l02")], Priority.LOW)
        for lesson_id in ("m01-l01", "m02-l02"):
            c.learner_records(self.id, lesson_id)
        request = _edit(
            1,
            ("m02", "Moves, renamed", [("m01-l01", "Moves", None), (None, "Brand new", None)]),
            (None, "Extra", [("m01-l02", "Second", "A new summary")]),
            (None, "More", [(None, "Last", None), (None, "After last", "Two")]),
        )
        self.detail = c.service.edit_outline("alice", self.id, request, NOW)


def _job(course_id: str, lesson_id: str) -> LessonJob:
    return LessonJob(course_id=course_id, lesson_id=lesson_id, owner_id="alice")


def test_an_edit_renames_moves_removes_and_adds_lessons_in_one_new_version(c: Courses) -> None:
    edited = Edited(c)
    outline = [(m.id, m.title, [(s.id, s.title, s.summary) for s in m.lessons]) for m in edited.detail.modules]
    assert outline == [
        ("m02", "Moves, renamed", [("m01-l01", "Moves", "About m01-l01"), ("m02-l03", "Brand new", "")]),
        ("m03", "Extra", [("m01-l02", "Second", "A new summary")]),
        ("m04", "More", [("m04-l01", "Last", ""), ("m04-l02", "After last", "Two")]),
    ]  # kept ids, an unnamed summary kept (empty for a new lesson), new ids this course never had
    assert (edited.detail.version, edited.detail.lesson_count) == (2, 5)
    lessons = c.store.list_lessons(edited.id)
    assert [(s.id, s.module_id, s.order) for s in lessons] == [
        ("m01-l01", "m02", 0),
        ("m02-l03", "m02", 1),
        ("m01-l02", "m03", 2),
        ("m04-l01", "m04", 3),
        ("m04-l02", "m04", 4),
    ]
    moved = c.stored(edited.id, "m01-l01")
    assert moved.status == LessonStatus.GENERATED and present(moved.content) == _content("Ownership moves.")
    new = c.stored(edited.id, "m02-l03")
    assert (new.status, new.course_id, new.owner_id, new.content) == (LessonStatus.PENDING, edited.id, "alice", None)
    course = present(c.store.get_course("alice", edited.id))
    assert set(course.retired_lesson_ids) == {"m01-l03", "m02-l01", "m02-l02"}  # never given out again


def test_an_edit_takes_the_removed_lessons_jobs_and_learner_records_with_them(c: Courses) -> None:
    edited = Edited(c)
    assert c.store.get_lesson("alice", edited.id, "m02-l02") is None
    assert lesson_job_key(edited.id, "m02-l02", Priority.LOW) not in c.dedupe.keys
    assert c.has_records(edited.id, "m02-l02") == (False, False)
    assert c.has_records(edited.id, "m01-l01") == (True, True)  # a kept lesson keeps its learner's records


def test_an_edit_needs_a_ready_outline_at_the_version_it_was_made_on(c: Courses) -> None:
    writing = c.ready(status=CourseStatus.GENERATING)
    edit = _edit(1, ("m01", "Basics", [("m01-l01", "One", None)]))
    _refused(lambda: c.service.edit_outline("alice", writing, edit, NOW), "not_ready")
    stale = c.ready(version=3)
    assert "3" in _refused(lambda: c.service.edit_outline("alice", stale, edit, NOW), "version_conflict").message


def test_an_edit_that_loses_the_race_writes_and_forgets_nothing(c: Courses) -> None:
    course_id = c.ready()
    c.scheduler.schedule_lessons([_job(course_id, "m02-l01")], Priority.LOW)
    c.learner_records(course_id, "m02-l01")
    c.store.races.add("edit_outline")
    edit = _edit(1, ("m01", "Basics", [("m01-l01", "One", None)]))
    _refused(lambda: c.service.edit_outline("alice", course_id, edit, NOW), "version_conflict")
    assert lesson_job_key(course_id, "m02-l01", Priority.LOW) in c.dedupe.keys
    assert c.has_records(course_id, "m02-l01") == (True, True)
    assert len(c.store.list_lessons(course_id)) == 4


def test_an_edit_names_each_lesson_and_module_once_and_only_the_courses_own(c: Courses) -> None:
    course_id = c.ready()
    cases = [
        (_edit(1, ("m01", "A", [("m01-l01", "One", None), ("m01-l01", "Again", None)])), "duplicate_id"),
        (_edit(1, ("m01", "A", [("m01-l01", "One", None)]), ("m01", "B", [("m01-l02", "Two", None)])), "duplicate_id"),
        (_edit(1, ("m01", "A", [("m01-l09", "Nine", None)])), "unknown_id"),
        (_edit(1, ("m07", "A", [("m01-l01", "One", None)])), "unknown_id"),
    ]
    for edit, code in cases:
        _refused(partial(c.service.edit_outline, "alice", course_id, edit, NOW), code)
    assert present(c.store.get_course("alice", course_id)).version == 1


def test_an_outline_holds_at_most_60_lessons(c: Courses) -> None:
    course_id = c.ready()
    twelve: list[LessonEdit] = [(None, f"Lesson {n}", None) for n in range(12)]
    modules: list[ModuleEdit] = [(None, f"Module {m}", twelve) for m in range(5)]
    assert c.service.edit_outline("alice", course_id, _edit(1, *modules), NOW).lesson_count == 60
    more = _edit(2, *modules, (None, "Module 6", [(None, "One too many", None)]))
    _refused(lambda: c.service.edit_outline("alice", course_id, more, NOW), "outline_too_large")


def test_a_module_with_every_lesson_id_used_takes_no_new_lesson(c: Courses) -> None:
    course_id = c.ready(2, retired_lesson_ids=[f"m01-l{n:02d}" for n in range(3, 100)])
    edit = _edit(1, ("m01", "Basics", [("m01-l01", "One", None), ("m01-l02", "Two", None), (None, "New", None)]))
    _refused(lambda: c.service.edit_outline("alice", course_id, edit, NOW), "outline_too_large")


# ---- regenerating and switching versions --------------------------------------------------


def test_regenerating_keeps_the_written_version_and_sends_the_new_one_at_once(c: Courses) -> None:
    course_id = c.ready()
    c.written(course_id, "m01-l02", "Version one.", error="an earlier attempt failed")
    c.dedupe.keys.add(lesson_job_key(course_id, "m01-l02", Priority.HIGH))  # the finished job's key
    view = c.service.regenerate_lesson(
        "alice", course_id, "m01-l02", RegenerateLessonRequest(instruction="simpler", version=1), NOW
    )
    assert (view.status, view.version, view.instruction, view.priority) == (
        LessonStatus.PENDING,
        2,
        "simpler",
        Priority.HIGH,
    )
    assert view.requested_at == NOW and view.content is None
    assert view.versions == [
        LessonVersionSummary(number=1, generated_at=EARLIER, instruction=None),
        LessonVersionSummary(number=2, generated_at=None, instruction="simpler", current=True),
    ]
    stored = c.stored(course_id, "m01-l02")
    assert stored.versions == [
        LessonVersion(number=1, generated_at=EARLIER, content=_content("Version one."), usage=USAGE)
    ]
    assert (stored.usage, stored.error, stored.attempts, stored.generated_at) == (Usage(), None, 0, None)
    assert stored.updated_at == NOW  # the stranded clock of its job starts now
    assert c.queue.lesson_ids(Priority.HIGH) == ["m01-l02"]


def test_version_numbers_are_never_reused_and_ten_earlier_versions_are_kept(c: Courses) -> None:
    course_id = c.ready()
    earlier = [LessonVersion(number=n, content=_content(f"Version {n}.")) for n in range(1, 12) if n != 4]
    c.written(course_id, "m01-l01", "Version 4.", version=4, versions=earlier)  # switched back to 4 from 11
    view = c.service.regenerate_lesson("alice", course_id, "m01-l01", RegenerateLessonRequest(instruction="again"), NOW)
    assert view.version == 12
    kept = [v.number for v in c.stored(course_id, "m01-l01").versions]
    assert len(kept) == LESSON_VERSIONS_KEPT
    assert kept == [2, 3, 5, 6, 7, 8, 9, 10, 11, 4]  # the oldest went; the one just left is kept


def test_only_a_written_lesson_at_the_version_seen_can_be_regenerated(c: Courses) -> None:
    course_id = c.ready()
    c.written(course_id, "m01-l02", version=2)
    c.lesson(course_id, "m02-l01", status=LessonStatus.GENERATED)  # marked written, its content gone
    again = RegenerateLessonRequest(instruction="again")
    _refused(lambda: c.service.regenerate_lesson("alice", course_id, "m01-l01", again, NOW), "not_generated")
    _refused(lambda: c.service.regenerate_lesson("alice", course_id, "m02-l01", again, NOW), "not_generated")
    stale = RegenerateLessonRequest(instruction="again", version=1)
    assert (
        "2"
        in _refused(
            lambda: c.service.regenerate_lesson("alice", course_id, "m01-l02", stale, NOW), "version_conflict"
        ).message
    )
    c.store.races.add("replace_lesson_version")
    _refused(lambda: c.service.regenerate_lesson("alice", course_id, "m01-l02", again, NOW), "version_conflict")
    assert c.stored(course_id, "m01-l02").version == 2 and c.queue.lesson_ids(Priority.HIGH) == []


def test_a_course_that_spent_its_budget_rewrites_none_of_its_lessons() -> None:
    c = Courses(course_token_budget=30)
    course_id = c.ready(usage=USAGE)  # 30 tokens spent
    c.written(course_id, "m01-l01")
    again = RegenerateLessonRequest(instruction="again")
    _refused(lambda: c.service.regenerate_lesson("alice", course_id, "m01-l01", again, NOW), "course_budget_exhausted")
    assert c.stored(course_id, "m01-l01").version == 1 and c.queue.lesson_ids(Priority.HIGH) == []


def test_switching_back_to_an_earlier_version_keeps_the_one_it_leaves(c: Courses) -> None:
    course_id = c.ready()
    first = LessonVersion(number=1, generated_at=EARLIER, content=_content("One."), usage=Usage(prompt_tokens=1))
    c.written(course_id, "m01-l01", "Two.", version=2, instruction="simpler", generated_at=NOW, versions=[first])
    view = c.service.select_version("alice", course_id, "m01-l01", SelectVersionRequest(version=1), NOW)
    assert (view.status, view.version, view.instruction, view.generated_at) == (
        LessonStatus.GENERATED,
        1,
        None,
        EARLIER,
    )
    assert _says(view.content) == ["One."] and view.usage == Usage(prompt_tokens=1)
    assert [(v.number, v.current) for v in view.versions] == [(1, True), (2, False)]
    stored = c.stored(course_id, "m01-l01")
    assert stored.versions == [
        LessonVersion(number=2, generated_at=NOW, instruction="simpler", content=_content("Two."), usage=USAGE)
    ]
    back = c.service.select_version("alice", course_id, "m01-l01", SelectVersionRequest(version=2), NOW)
    assert (back.version, back.instruction, _says(back.content)) == (2, "simpler", ["Two."])


def test_versions_stay_in_number_order_whatever_order_they_were_left_in(c: Courses) -> None:
    """1, 2, 3 written, 1 selected, then regenerated as 4: `versions` holds 2, 3, 1."""
    course_id = c.ready()
    earlier = [LessonVersion(number=n, content=_content(f"Version {n}.")) for n in (2, 3, 1)]
    c.written(course_id, "m01-l01", "Version 4.", version=4, versions=earlier)
    c.service.select_version("alice", course_id, "m01-l01", SelectVersionRequest(version=2), NOW)
    assert [v.number for v in c.stored(course_id, "m01-l01").versions] == [1, 3, 4]


def test_selecting_the_version_shown_changes_nothing(c: Courses) -> None:
    course_id = c.ready()
    c.written(course_id, "m01-l01", version=2, versions=[LessonVersion(number=1, content=_content("One."))])
    c.store.races.add("replace_lesson_version")  # any write would be refused
    view = c.service.select_version("alice", course_id, "m01-l01", SelectVersionRequest(version=2), NOW)
    assert view.version == 2 and _says(view.content) == ["Borrowing lends."]


def test_after_a_failed_regeneration_an_earlier_version_comes_back_and_the_failure_is_not_kept(c: Courses) -> None:
    course_id = c.ready()
    earlier = [LessonVersion(number=n, content=_content(f"Version {n}.")) for n in (1, 2)]
    c.lesson(course_id, "m01-l01", status=LessonStatus.FAILED, version=3, versions=earlier, error="the model failed")
    _refused(
        lambda: c.service.select_version("alice", course_id, "m01-l01", SelectVersionRequest(version=3), NOW),
        "version_not_found",
    )
    view = c.service.select_version("alice", course_id, "m01-l01", SelectVersionRequest(version=2), NOW)
    assert (view.status, view.version, view.error, _says(view.content)) == (
        LessonStatus.GENERATED,
        2,
        None,
        ["Version 2."],
    )
    assert [v.number for v in c.stored(course_id, "m01-l01").versions] == [1]


def test_a_switch_that_loses_the_race_is_a_conflict(c: Courses) -> None:
    course_id = c.ready()
    c.written(course_id, "m01-l01", version=2, versions=[LessonVersion(number=1, content=_content("One."))])
    c.store.races.add("replace_lesson_version")
    request = SelectVersionRequest(version=1)
    _refused(lambda: c.service.select_version("alice", course_id, "m01-l01", request, NOW), "version_conflict")


# ---- export -------------------------------------------------------------------------------


def test_an_export_is_the_course_as_markdown_with_each_written_lesson(c: Courses) -> None:
    course_id = c.ready(title="Rust: Ownership & Borrowing!")
    c.written(course_id, "m01-l02", "Borrowing lends a value.")
    name, text = c.service.export_course("alice", course_id)
    assert name == "rust-ownership-borrowing.md"
    assert text.startswith("# Rust: Ownership & Borrowing!\n")
    assert "Borrowing lends a value." in text  # the content, read beside the listing
    assert "Not generated yet" in text
    _refused(lambda: c.service.export_course("bob", course_id), "course_not_found")


@pytest.mark.parametrize(
    ("title", "prompt", "name"),
    [
        (None, "Go channels", "go-channels.md"),
        ("¿¡!?", "x", "course.md"),
        ("A" * 70, "x", "a" * 60 + ".md"),
        ("--Tokio 1.0--", "x", "tokio-1-0.md"),
    ],
)
def test_an_export_is_named_after_the_courses_title_or_prompt(
    c: Courses, title: str | None, prompt: str, name: str
) -> None:
    course_id = c.ready(title=title, prompt=prompt)
    assert c.service.export_course("alice", course_id)[0] == name


# ---- what an opened lesson shows ----------------------------------------------------------


def test_a_written_lesson_lists_its_versions_oldest_first(c: Courses) -> None:
    course_id = c.ready()
    assert c.service.open_lesson("alice", course_id, "m01-l02", NOW).versions == []  # nothing written yet
    c.written(course_id, "m01-l01")
    assert c.service.open_lesson("alice", course_id, "m01-l01", NOW).versions == [
        LessonVersionSummary(number=1, generated_at=EARLIER, instruction=None, current=True)
    ]
    later = [
        LessonVersion(number=3, generated_at=NOW, instruction="shorter", content=_content("Three.")),
        LessonVersion(number=1, generated_at=EARLIER, content=_content("One.")),
    ]
    c.written(course_id, "m01-l01", version=2, instruction="simpler", versions=later)
    assert c.service.open_lesson("alice", course_id, "m01-l01", NOW).versions == [
        LessonVersionSummary(number=1, generated_at=EARLIER, instruction=None),
        LessonVersionSummary(number=2, generated_at=EARLIER, instruction="simpler", current=True),
        LessonVersionSummary(number=3, generated_at=NOW, instruction="shorter"),
    ]


def test_a_lesson_not_being_written_shows_no_partial_content(c: Courses) -> None:
    course_id = c.ready()
    c.written(course_id, "m01-l01", partial=PartialContent(blocks=_content("Left over.").blocks, writes=1))
    view = c.service.open_lesson("alice", course_id, "m01-l01", NOW)
    assert view.partial is None and view.progress is None


def test_a_dead_attempts_blocks_are_not_shown(c: Courses) -> None:
    course_id = c.ready()
    partial = PartialContent(blocks=_content("Half.").blocks, writes=2)
    lease = Lease(token="worker", expires_at=NOW - timedelta(seconds=1))
    c.lesson(course_id, "m01-l01", status=LessonStatus.GENERATING, lease=lease, attempts=1, partial=partial)
    view = c.service.open_lesson("alice", course_id, "m01-l01", NOW)
    assert view.partial is None and present(view.progress).blocks_written == 0


def test_a_live_attempts_blocks_and_restarts_are_shown_until_its_lease_ends(c: Courses) -> None:
    course_id = c.ready()
    blocks = [*_content("One.").blocks, *_content("Two.").blocks]
    partial = PartialContent(blocks=blocks, writes=3, restarts=1)
    lease = Lease(token="worker", expires_at=NOW)  # its last moment
    writing = {"status": LessonStatus.GENERATING, "priority": Priority.HIGH, "lease": lease}
    c.lesson(course_id, "m01-l01", **writing, attempts=2, partial=partial)
    view = c.service.open_lesson("alice", course_id, "m01-l01", NOW)
    assert present(view.partial).blocks == blocks
    progress = present(view.progress)
    assert (progress.blocks_written, progress.restarts) == (2, 2)  # the first attempt's and this one's repair
    assert c.queue.lesson_ids(Priority.HIGH) == []  # its worker still holds it: nothing sent


def test_a_queued_lesson_shows_nothing_written_and_the_attempts_that_gave_up(c: Courses) -> None:
    course_id = c.ready()
    c.lesson(course_id, "m01-l01", attempts=1, error="the model failed")
    progress = present(c.service.open_lesson("alice", course_id, "m01-l01", NOW).progress)
    assert (progress.blocks_written, progress.restarts) == (0, 1)


def test_the_wait_follows_what_the_attempt_is_doing() -> None:
    c = Courses(poll_seconds=30)
    course_id = c.ready(2, 2)
    for lesson_id in ("m01-l01", "m01-l02"):
        c.written(course_id, lesson_id, generation_seconds=10.0)
    lease = Lease(token="worker", expires_at=NOW + timedelta(minutes=1))
    claimed = NOW - timedelta(seconds=2)
    c.lesson(course_id, "m02-l01", status=LessonStatus.GENERATING, lease=lease, attempts=1, updated_at=claimed)
    view = c.service.open_lesson("alice", course_id, "m02-l01", NOW)
    assert (view.retry_after, view.retry_after_ms) == (9, 8100)  # the others took 10 s: 8 s to go, and a margin
    writing = PartialContent(writing="The first wor", writes=1)
    c.lesson(course_id, "m02-l02", status=LessonStatus.GENERATING, lease=lease, attempts=1, partial=writing)
    view = c.service.open_lesson("alice", course_id, "m02-l02", NOW)
    assert (view.retry_after, view.retry_after_ms) == (15, 15_000)  # the first block is on its way


def test_the_open_that_promotes_a_lesson_answers_with_the_first_words_wait() -> None:
    """The opening GET answered with the lesson as read before its promotion (its clock minutes
    old): `Retry-After: 1` and no exact wait, so the first poll came a second after the open
    instead of half a second (bench/first_words.py's trace)."""
    c = Courses(poll_seconds=2)
    course_id = c.ready()
    c.lesson(course_id, "m01-l01", updated_at=NOW - timedelta(minutes=5))  # outlined minutes ago
    view = c.service.open_lesson("alice", course_id, "m01-l01", NOW)
    assert (view.status, view.priority) == (LessonStatus.PENDING, Priority.HIGH)
    assert (view.retry_after, view.retry_after_ms) == (1, 500)
    assert c.service.open_lesson("alice", course_id, "m01-l01", NOW).retry_after_ms == 500  # and the next poll


def test_a_lesson_waiting_out_its_backoff_is_sent_once_the_wait_is_over() -> None:
    c = Courses(max_receive_count=5)
    course_id = c.ready()
    c.lesson(course_id, "m01-l01", attempts=1, error="the model failed", retry_at=NOW + timedelta(microseconds=1))
    view = c.service.open_lesson("alice", course_id, "m01-l01", NOW)
    assert (view.attempts, view.max_attempts) == (1, 5)
    assert c.queue.lesson_ids(Priority.HIGH) == []  # its job is already sent for then
    c.lesson(course_id, "m01-l01", retry_at=NOW)
    c.service.open_lesson("alice", course_id, "m01-l01", NOW)
    assert c.queue.lesson_ids(Priority.HIGH) == ["m01-l01"]


def test_opening_a_lesson_while_the_queue_is_down_records_the_request(c: Courses) -> None:
    course_id = c.ready()
    c.queue.down = True
    view = c.service.open_lesson("alice", course_id, "m01-l02", NOW)
    assert view.priority == Priority.HIGH
    stored = c.stored(course_id, "m01-l02")
    assert (stored.priority, stored.requested_at) == (Priority.HIGH, NOW)  # the reconciler sends it later


def test_an_opened_lesson_is_sent_again_only_once_its_job_is_overdue(c: Courses) -> None:
    course_id = c.ready()
    c.service.open_lesson("alice", course_id, "m01-l01", NOW)
    c.queue.lesson_jobs[Priority.HIGH].clear()  # lost; its dedupe key outlives it
    due = NOW + timedelta(seconds=STUCK)
    c.service.open_lesson("alice", course_id, "m01-l01", due)
    assert c.queue.lesson_ids(Priority.HIGH) == []  # exactly its time: not overdue yet
    overdue = due + timedelta(microseconds=1)
    c.service.open_lesson("alice", course_id, "m01-l01", overdue)
    assert c.queue.lesson_ids(Priority.HIGH) == ["m01-l01"]
    assert c.stored(course_id, "m01-l01").updated_at == overdue  # its stranded clock starts again


def test_a_dead_attempts_lesson_is_sent_again_through_its_dedupe_key(c: Courses) -> None:
    """Only a queued lesson's job counts as lost; a lesson whose worker died is sent again like
    any request, so a job already queued for it is enough."""
    course_id = c.ready()
    lease = Lease(token="worker", expires_at=NOW - timedelta(seconds=1))
    claimed = NOW - timedelta(seconds=STUCK + 60)
    c.lesson(
        course_id, "m01-l01", status=LessonStatus.GENERATING, priority=Priority.HIGH, lease=lease, updated_at=claimed
    )
    c.dedupe.keys.add(lesson_job_key(course_id, "m01-l01", Priority.HIGH))
    c.service.open_lesson("alice", course_id, "m01-l01", NOW)
    assert c.queue.lesson_ids(Priority.HIGH) == []
    assert c.stored(course_id, "m01-l01").updated_at == claimed
