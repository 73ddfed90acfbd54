"""Share links (issue 22, design invariant 11) on in-memory fakes: the token's design, the owner's
side (one live link, revoking, the course view), what a viewer reads (an allow-list, nothing
queued, one 404 for every dead token) and forking; the share store's contract on the fake and on
the MongoDB adapter (mongomock), and the copy a fork inserts."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from flowgen.adapters.mongo_shares import MongoShareStore
from flowgen.adapters.mongo_store import MongoCourseStore
from flowgen.clock import utcnow
from flowgen.courses import CourseService
from flowgen.deadline import Attempt
from flowgen.errors import AlreadyExists, Conflict, IdempotencyKeyReused, InvalidRequest, NotFound
from flowgen.generation import Generator, Outcome
from flowgen.messages import LessonJob
from flowgen.ports import ShareStore
from flowgen.progress import quiz_questions
from flowgen.records import Course, CourseStatus, Lesson, LessonStatus, Priority, Share
from flowgen.requests import (
    CreateCourseRequest,
    EditOutlineRequest,
    OutlineLessonEdit,
    OutlineModuleEdit,
    QuizAnswers,
    RegenerateLessonRequest,
)
from flowgen.scheduling import JobScheduler
from flowgen.settings import ApiTunables, WorkerTunables
from flowgen.sharing import TOKEN_CHARS, ShareKeyMissing, ShareService, ShareTokens
from flowgen.views import CourseDetail
from tests.fakes.mongomock_db import mongomock_database
from tests.fakes.ports import MemoryDedupe, RecordingQueue, ScriptedModel
from tests.fakes.shares import MemoryShareStore
from tests.fakes.store import MemoryStore
from tests.narrow import present

KEY = "k" * 48
FIRST = Attempt(receive_count=1, remaining_seconds=120)
WEB = "https://app.example.com"


class World:
    def __init__(self, key: str = KEY) -> None:
        self.store, self.queue, self.dedupe = MemoryStore(), RecordingQueue(), MemoryDedupe()
        self.shares = MemoryShareStore()
        self.model = ScriptedModel()
        self.scheduler = JobScheduler(self.queue, self.dedupe, dedupe_ttl_seconds=300)
        self.sharing = ShareService(self.store, self.shares, ShareTokens(key), web_url=WEB)
        self.courses = CourseService(
            self.store,
            self.scheduler,
            ApiTunables(lesson_lookahead=2),
            learner_records=(self.shares,),
            shares=self.sharing,
        )
        self.generator = Generator(self.store, self.scheduler, self.model, WorkerTunables(), utcnow)

    def ready_course(self, owner: str = "alice", written: int = 2) -> CourseDetail:
        """A READY course whose first `written` lessons are written (the queues left empty)."""
        course = self.courses.create_course(owner, CreateCourseRequest(prompt="Rust ownership"), utcnow())
        assert self.generator.build_outline(self.queue.course_jobs.pop(), FIRST) == Outcome.DONE
        self.queue.lesson_jobs = {Priority.HIGH: [], Priority.LOW: []}
        for lesson_id in _ids(self.courses.get_course(owner, course.id))[:written]:
            job = LessonJob(course_id=course.id, lesson_id=lesson_id, owner_id=owner)
            self.store.request_lessons(course.id, [lesson_id], Priority.HIGH, utcnow())
            assert self.generator.write_lesson(job, FIRST) == Outcome.DONE
        self.queue.lesson_jobs = {Priority.HIGH: [], Priority.LOW: []}
        self.dedupe.keys.clear()
        return self.courses.get_course(owner, course.id)

    def shared(self, owner: str = "alice", written: int = 2) -> tuple[CourseDetail, str]:
        course = self.ready_course(owner, written)
        link, made = self.sharing.share(owner, course.id, utcnow())
        assert made and link.token
        return course, link.token


@pytest.fixture
def world() -> World:
    return World()


def _ids(course: CourseDetail) -> list[str]:
    return [lesson.id for m in course.modules for lesson in m.lessons]


def _keys(value: Any, prefix: str = "") -> set[str]:
    """Every field path in a JSON value (list items as `[]`)."""
    if isinstance(value, dict):
        return {p for k, v in value.items() for p in {f"{prefix}{k}"} | _keys(v, f"{prefix}{k}.")}
    if isinstance(value, list):
        return {p for item in value for p in _keys(item, f"{prefix}[].")}
    return set()


def _dead(call: Any) -> tuple[int, str, str]:
    with pytest.raises(NotFound) as caught:
        call()
    return caught.value.status, caught.value.code, caught.value.message


# ---- the token ----------------------------------------------------------------------------------


def test_a_token_is_256_bits_derived_from_the_key_the_course_and_a_nonce() -> None:
    tokens = ShareTokens(KEY)
    token = tokens.token("c" * 32, "nonce-1")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token) and len(token) == TOKEN_CHARS  # 43 * 6 >= 256 bits
    assert tokens.token("c" * 32, "nonce-1") == token  # recomputed, never stored
    others = {
        tokens.token("c" * 32, "nonce-2"),
        tokens.token("d" * 32, "nonce-1"),
        ShareTokens("x" * 48).token("c" * 32, "nonce-1"),
    }
    assert token not in others and len(others) == 3
    assert tokens.hash(token) != token and len(tokens.hash(token)) == 64


def test_a_short_or_missing_key_is_refused() -> None:
    for key in ("", "short", "k" * 31):
        with pytest.raises(ShareKeyMissing):
            ShareTokens(key)


# ---- the owner's side ---------------------------------------------------------------------------


def test_sharing_stores_only_the_tokens_hash_and_asking_again_gives_the_same_link(world: World) -> None:
    course = world.ready_course()
    first, made = world.sharing.share("alice", course.id, utcnow())
    again, made_again = world.sharing.share("alice", course.id, utcnow())
    assert made and not made_again
    assert first == again and first.token and first.url == f"{WEB}/#/shared/{first.token}"
    stored = world.shares.shares[course.id]
    assert first.token not in stored.model_dump_json()  # the hash and the nonce, never the token
    assert stored.token_hash == ShareTokens.hash(first.token)
    assert world.courses.get_course("alice", course.id).share == first  # the course view says so


def test_only_the_owner_shares_or_revokes_and_only_a_ready_course(world: World) -> None:
    course = world.ready_course()
    for call in (world.sharing.share, lambda owner, cid, _now: world.sharing.revoke(owner, cid)):
        with pytest.raises(NotFound):
            call("bob", course.id, utcnow())
        with pytest.raises(InvalidRequest):
            call("alice", "not-an-id", utcnow())
    pending = world.courses.create_course("alice", CreateCourseRequest(prompt="Go channels"), utcnow())
    with pytest.raises(Conflict) as caught:
        world.sharing.share("alice", pending.id, utcnow())
    assert caught.value.code == "course_not_ready"
    assert world.shares.shares == {}


def test_revoking_kills_the_link_at_once_and_sharing_again_makes_a_new_one(world: World) -> None:
    course, token = world.shared()
    world.sharing.revoke("alice", course.id)
    world.sharing.revoke("alice", course.id)  # idempotent
    assert world.courses.get_course("alice", course.id).share is None
    with pytest.raises(NotFound):
        world.sharing.shared_course(token)
    new, made = world.sharing.share("alice", course.id, utcnow())
    assert made and new.token != token
    with pytest.raises(NotFound):
        world.sharing.shared_course(token)  # the old link stays dead
    assert world.sharing.shared_course(present(new.token)).title == course.title


def test_deleting_the_course_deletes_its_link_and_an_outline_edit_keeps_it(world: World) -> None:
    course, token = world.shared()
    first = course.modules[0]
    edit = EditOutlineRequest(
        version=course.version,
        modules=[
            OutlineModuleEdit(
                id=first.id, title=first.title, lessons=[OutlineLessonEdit(id=first.lessons[0].id, title="Kept")]
            )
        ],
    )
    world.courses.edit_outline("alice", course.id, edit, utcnow())
    shown = world.sharing.shared_course(token)
    assert [lesson.id for m in shown.modules for lesson in m.lessons] == [
        first.lessons[0].id
    ]  # the view follows the outline
    world.courses.delete_course("alice", course.id)
    assert world.shares.shares == {}
    with pytest.raises(NotFound):
        world.sharing.shared_course(token)


def test_a_link_made_under_an_earlier_key_still_works_and_sharing_again_replaces_it() -> None:
    old = World(key="o" * 48)
    course, token = old.shared()
    rotated = ShareService(old.store, old.shares, ShareTokens("n" * 48), web_url=WEB)
    assert rotated.shared_course(token).title == course.title  # looked up by its hash: still works
    shown = rotated.link("alice", course.id)
    assert shown is not None and shown.token is None and shown.url is None  # it cannot be derived again
    new, made = rotated.share("alice", course.id, utcnow())
    assert made and new.token and new.token != token
    with pytest.raises(NotFound):
        rotated.shared_course(token)


# ---- a viewer's side ----------------------------------------------------------------------------

SHARED_COURSE_FIELDS = {
    "title", "description", "language", "level", "objectives", "lessonCount", "lessonsWritten", "modules",
    "modules.[].id", "modules.[].title", "modules.[].lessons",
    *(f"modules.[].lessons.[].{f}" for f in ("id", "title", "summary", "order", "status")),
}  # fmt: skip


def test_the_shared_course_is_an_allow_list_and_says_which_lessons_are_written(world: World) -> None:
    course, token = world.shared(written=2)
    view = world.sharing.shared_course(token)
    dumped = view.model_dump(mode="json", by_alias=True)
    assert _keys(dumped) == SHARED_COURSE_FIELDS
    assert "alice" not in view.model_dump_json() and view.title != "Rust ownership"
    statuses = [lesson.status for module in view.modules for lesson in module.lessons]
    assert statuses[:2] == ["GENERATED", "GENERATED"] and set(statuses[2:]) == {"PENDING"}
    assert (view.lesson_count, view.lessons_written) == (course.lesson_count, 2)


def test_a_viewer_reads_a_written_lesson_without_the_quiz_answers(world: World) -> None:
    course, token = world.shared(written=1)
    first = _ids(course)[0]
    lesson = world.sharing.shared_lesson(token, first)
    assert lesson.status == "GENERATED" and lesson.content is not None
    dumped = lesson.model_dump_json(by_alias=True)
    for hidden in ("answerIndex", "explanation", "optionFeedback", "alice", "usage", "versions", "instruction"):
        assert hidden not in dumped
    assert lesson.previous_lesson_id is None and lesson.next_lesson_id == _ids(course)[1]


def test_a_viewer_never_queues_a_lesson_or_writes_anything(world: World) -> None:
    course, token = world.shared(written=0)
    before = {k: v.model_dump_json() for k, v in world.store.lessons.items()}
    for lesson_id in _ids(course):
        view = world.sharing.shared_lesson(token, lesson_id)
        assert view.status == "PENDING" and view.content is None
    world.sharing.shared_course(token)
    assert world.queue.lesson_jobs == {Priority.HIGH: [], Priority.LOW: []} and world.dedupe.keys == set()
    assert {k: v.model_dump_json() for k, v in world.store.lessons.items()} == before
    assert world.model.lesson_calls == []


def test_a_lesson_being_rewritten_or_not_in_the_outline_is_not_shown(world: World) -> None:
    course, token = world.shared(written=1)
    first = _ids(course)[0]
    world.courses.regenerate_lesson("alice", course.id, first, RegenerateLessonRequest(instruction="simpler"), utcnow())
    view = world.sharing.shared_lesson(token, first)
    assert view.status == "PENDING" and view.content is None  # no earlier version shown
    with pytest.raises(NotFound) as caught:
        world.sharing.shared_lesson(token, "m09-l09")
    assert caught.value.code == "lesson_not_found"
    with pytest.raises(InvalidRequest):
        world.sharing.shared_lesson(token, "../x")


def test_unknown_revoked_malformed_and_deleted_links_are_one_404(world: World) -> None:
    course, token = world.shared()
    other, other_token = world.shared(owner="carol")
    unknown = ShareTokens(KEY).token(course.id, "never-made")
    answers: set[tuple[int, str, str]] = set()
    answers.add(_dead(lambda: world.sharing.shared_course(unknown)))
    answers.add(_dead(lambda: world.sharing.shared_lesson(unknown, "m01-l01")))
    for malformed in ("", "x", token[:-1], token + "A", token.replace(token[0], "!", 1)):
        answers.add(_dead(lambda t=malformed: world.sharing.shared_course(t)))
    world.sharing.revoke("alice", course.id)
    answers.add(_dead(lambda: world.sharing.shared_course(token)))
    answers.add(_dead(lambda: world.sharing.fork("bob", token, utcnow())))
    answers.add(_dead(lambda: world.sharing.grade_quiz(token, "m01-l01", QuizAnswers(answers=[0]), utcnow())))
    world.courses.delete_course("carol", other.id)
    answers.add(_dead(lambda: world.sharing.shared_course(other_token)))
    assert answers == {(404, "share_not_found", answers.copy().pop()[2])}


def test_a_token_leads_to_its_own_course_only(world: World) -> None:
    mine, token = world.shared(owner="alice", written=1)
    theirs, their_token = world.shared(owner="carol", written=0)
    assert world.sharing.shared_lesson(token, _ids(mine)[0]).status == "GENERATED"
    assert world.sharing.shared_lesson(their_token, _ids(theirs)[0]).status == "PENDING"  # carol's, unwritten
    world.sharing.revoke("carol", theirs.id)
    with pytest.raises(NotFound):
        world.sharing.shared_lesson(their_token, _ids(mine)[0])


def test_a_viewers_quiz_is_graded_and_nothing_is_kept(world: World) -> None:
    course, token = world.shared(written=1)
    first = _ids(course)[0]
    stored = present(world.store.get_lesson("alice", course.id, first))
    questions = quiz_questions(stored)
    key: list[int | None] = [q.answer_index for q in questions]
    wrong: list[int | None] = [(q.answer_index + 1) % len(q.options) for q in questions]
    graded = world.sharing.grade_quiz(token, first, QuizAnswers(answers=wrong), utcnow())
    assert not graded.passed and graded.solution is None and graded.score == 0
    passed = world.sharing.grade_quiz(token, first, QuizAnswers(answers=key), utcnow())
    assert passed.passed and passed.solution is not None
    assert set(passed.model_dump(by_alias=True)) == {"score", "total", "passed", "answers", "correct", "feedback"} | {
        "solution"
    }
    with pytest.raises(Conflict):  # not written: no quiz
        world.sharing.grade_quiz(token, _ids(course)[1], QuizAnswers(answers=key), utcnow())


# ---- forking ------------------------------------------------------------------------------------


def test_a_fork_copies_the_outline_and_written_lessons_for_the_caller(world: World) -> None:
    course, token = world.shared(written=2)
    first = _ids(course)[0]
    world.courses.regenerate_lesson("alice", course.id, first, RegenerateLessonRequest(instruction="mine"), utcnow())
    job = LessonJob(course_id=course.id, lesson_id=first, owner_id="alice")
    assert world.generator.write_lesson(job, FIRST) == Outcome.DONE  # version 2, with version 1 kept
    world.queue.lesson_jobs = {Priority.HIGH: [], Priority.LOW: []}
    original = {k: v.model_dump_json() for k, v in world.store.lessons.items()}
    original_course = world.store.courses[course.id].model_dump_json()

    fork = world.sharing.fork("bob", token, utcnow(), tier="pro")
    assert fork.id != course.id and fork.status == CourseStatus.READY and fork.lessons_generated == 2
    copy = world.courses.get_course("bob", fork.id)
    assert _ids(copy) == _ids(course) and [m.title for m in copy.modules] == [m.title for m in course.modules]
    assert copy.share is None and copy.prompt == course.title and copy.usage.total_tokens == 0
    stored = present(world.store.get_course("bob", fork.id))
    assert stored.tier == "pro" and stored.forked_from == course.id
    written = present(world.store.get_lesson("bob", fork.id, first))
    source = present(world.store.get_lesson("alice", course.id, first))
    assert written.status == LessonStatus.GENERATED and written.content == source.content
    assert written.versions == [] and written.instruction is None and written.usage.total_tokens == 0
    assert written.version == 1 and written.owner_id == "bob"
    waiting = present(world.store.get_lesson("bob", fork.id, _ids(course)[2]))
    assert waiting.status == LessonStatus.PENDING and waiting.priority is None  # written when bob opens it
    assert world.queue.lesson_jobs == {Priority.HIGH: [], Priority.LOW: []}
    # the original owner sees nothing of it
    assert world.store.courses[course.id].model_dump_json() == original_course
    assert {k: v.model_dump_json() for k, v in world.store.lessons.items() if k[0] == course.id} == original
    assert [c.id for c in world.store.list_courses("alice", limit=10, before=None)] == [course.id]


def test_a_forked_lesson_is_written_when_its_new_owner_opens_it(world: World) -> None:
    course, token = world.shared(written=1)
    fork = world.sharing.fork("bob", token, utcnow())
    target = _ids(course)[3]
    view = world.courses.open_lesson("bob", fork.id, target, utcnow())
    assert view.status == LessonStatus.PENDING and view.priority == Priority.HIGH
    job = world.queue.lesson_jobs[Priority.HIGH][-1]
    assert (job.course_id, job.lesson_id, job.owner_id) == (fork.id, target, "bob")  # bob's budget
    assert world.generator.write_lesson(job, FIRST) == Outcome.DONE
    assert present(world.store.get_lesson("bob", fork.id, target)).status == LessonStatus.GENERATED
    assert present(world.store.get_lesson("alice", course.id, target)).status == LessonStatus.PENDING


def test_a_fork_with_an_idempotency_key_is_made_once(world: World) -> None:
    course, token = world.shared()
    _, other_token = world.shared(owner="carol")
    first = world.sharing.fork("bob", token, utcnow(), idempotency_key="k1")
    again = world.sharing.fork("bob", token, utcnow(), idempotency_key="k1")
    assert first.id == again.id and len(world.store.list_courses("bob", limit=10, before=None)) == 1
    with pytest.raises(IdempotencyKeyReused):
        world.sharing.fork("bob", other_token, utcnow(), idempotency_key="k1")
    own = world.sharing.fork("alice", token, utcnow())  # one's own course: a copy
    assert own.id != course.id


# ---- the stores' contracts: the fake and the MongoDB adapter --------------------------------------


def _mongo_shares() -> MongoShareStore:
    shares = MongoShareStore(mongomock_database())
    shares.ensure_indexes()
    return shares


@pytest.fixture(params=["memory", "mongo"])
def shares(request: pytest.FixtureRequest) -> ShareStore:
    return MemoryShareStore() if request.param == "memory" else _mongo_shares()


def _share(course: str = "c" * 32, owner: str = "alice", nonce: str = "n1") -> Share:
    return Share(course_id=course, owner_id=owner, token_hash=f"{course}:{nonce}", nonce=nonce, created_at=utcnow())


def test_one_share_per_course_the_first_wins(shares: ShareStore) -> None:
    first = shares.create(_share(nonce="n1"))
    second = shares.create(_share(nonce="n2"))
    assert first.nonce == second.nonce == "n1"
    assert shares.get("alice", "c" * 32) == first and shares.get("bob", "c" * 32) is None
    assert shares.find(first.token_hash) == first and shares.find("c" * 32 + ":n2") is None


def test_a_share_is_replaced_only_while_it_is_current(shares: ShareStore) -> None:
    first = shares.create(_share(nonce="n1"))
    assert shares.replace(first, _share(nonce="n2"))
    assert not shares.replace(first, _share(nonce="n3"))
    assert present(shares.get("alice", "c" * 32)).nonce == "n2" and shares.find(first.token_hash) is None


def test_deleting_a_course_revokes_its_share_and_removing_lessons_does_not(shares: ShareStore) -> None:
    share = shares.create(_share())
    shares.delete_course("alice", share.course_id, ["m01-l01"])
    assert shares.find(share.token_hash) == share
    shares.delete_course("bob", share.course_id)  # not bob's
    assert shares.find(share.token_hash) == share
    shares.delete_course("alice", share.course_id)
    assert shares.find(share.token_hash) is None and shares.get("alice", share.course_id) is None


def _copy(owner: str = "bob", key: str | None = None) -> tuple[Course, list[Lesson]]:
    now = utcnow()
    course = Course(
        id="f" * 32, owner_id=owner, prompt="t", status=CourseStatus.READY, idempotency_key=key,
        created_at=now, updated_at=now,
    )  # fmt: skip
    lessons = [
        Lesson(
            id=f"m01-l0{i}", course_id=course.id, module_id="m01", owner_id=owner, order=i, title=f"L{i}",
            summary="", status=LessonStatus.PENDING, updated_at=now - timedelta(seconds=i),
        )
        for i in (1, 2)
    ]  # fmt: skip
    return course, lessons


@pytest.mark.parametrize("kind", ["memory", "mongo"])
def test_a_copy_is_inserted_whole_or_not_at_all(kind: str) -> None:
    store: Any = MemoryStore() if kind == "memory" else MongoCourseStore(mongomock_database())
    if kind == "mongo":
        store.ensure_indexes()
    course, lessons = _copy(key="k")
    store.insert_copy(course, lessons)
    assert [lesson.id for lesson in store.list_lessons(course.id)] == ["m01-l01", "m01-l02"]
    again = course.model_copy(update={"id": "e" * 32})
    again_lessons = [lesson.model_copy(update={"course_id": again.id}) for lesson in lessons]
    with pytest.raises(AlreadyExists):
        store.insert_copy(again, again_lessons)
    assert store.get_course("bob", again.id) is None and store.list_lessons(again.id) == []
