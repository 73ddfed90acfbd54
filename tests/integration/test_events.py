"""The committed sample events (the ones `sam local invoke -e` takes) run through `flowgen invoke`,
each against the data it is about, with the one outcome that event should produce: the function
resolved by the SAM CLI's own code (its code, handler, timeout, and the environment `sam local
invoke --env-vars env.json` would give it, env.json being what the local stack writes) and run
in the stack's Lambda host. The events are what `flowgen events` generates from template.yaml."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from flowgen import wiring
from flowgen.clock import utcnow
from flowgen.content import LessonContent, MarkdownBlock
from flowgen.library import Source, SourceStatus
from flowgen.ports import Claim
from flowgen.records import Course, CourseStatus, Lesson, LessonStatus, ModuleOutline, Priority, Share
from flowgen.requests import AskQuestionRequest
from flowgen.settings import (
    ApiSettings,
    AuthorizerSettings,
    CourseWorkerSettings,
    EnvSettings,
    LessonWorkerSettings,
    ReconcilerSettings,
    SourceWorkerSettings,
)
from flowgen_local.invoke import invoke, on_this_machine, resolve_function
from flowgen_local.sample_events import write_events
from flowgen_local.stack import LocalStack
from tests.narrow import present

EVENTS = Path(__file__).resolve().parents[2] / "events"
SAMPLE_COURSE = "0123456789abcdef0123456789abcdef"  # the ids the sample events carry
SAMPLE_LESSON = "m02-l01"
SAMPLE_USER = "auth0|sample-user"


def _event(name: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / f"{name}.json").read_text()))


def _seed_course(status: CourseStatus = CourseStatus.READY, *, age: timedelta = timedelta(0)) -> None:
    """The sample course, with two modules of two lessons when it has an outline."""
    store, then = wiring.store(), utcnow() - age
    course = Course(
        id=SAMPLE_COURSE,
        owner_id=SAMPLE_USER,
        prompt="Rust ownership",
        status=CourseStatus.PENDING,
        created_at=then,
        updated_at=then,
    )
    store.insert_course(course)
    if status == CourseStatus.PENDING:
        return
    claim = Claim("seed", utcnow() + timedelta(minutes=1))
    store.claim_course(SAMPLE_COURSE, claim, utcnow())
    if status == CourseStatus.FAILED:
        store.release_course(SAMPLE_COURSE, claim, "model: seeded failure", failed=True)
        return
    lessons = [
        Lesson(
            id=f"m{m:02d}-l{n:02d}",
            course_id=SAMPLE_COURSE,
            module_id=f"m{m:02d}",
            owner_id=SAMPLE_USER,
            order=2 * (m - 1) + n - 1,
            title=f"Lesson {m}.{n}",
            summary="seeded",
            status=LessonStatus.PENDING,
        )
        for m in (1, 2)
        for n in (1, 2)
    ]
    modules = [
        ModuleOutline(id=f"m{m:02d}", title=f"Module {m}", lesson_ids=[f"m{m:02d}-l01", f"m{m:02d}-l02"])
        for m in (1, 2)
    ]
    assert store.commit_outline(
        course.model_copy(update={"modules": modules, "lesson_count": 4}), claim, lessons, utcnow()
    )


def _seed_failed_lesson() -> None:
    _seed_course()
    store = wiring.store()
    claim = Claim("seed", utcnow() + timedelta(minutes=1))
    assert store.claim_lesson(SAMPLE_COURSE, SAMPLE_LESSON, claim, utcnow())
    store.release_lesson(SAMPLE_COURSE, SAMPLE_LESSON, claim, "model: seeded failure", failed=True)


def _seed_written_lesson() -> None:
    """The sample course with its sample lesson written (a question needs something to answer from)."""
    _seed_course()
    store = wiring.store()
    claim = Claim("seed", utcnow() + timedelta(minutes=1))
    lesson = present(store.claim_lesson(SAMPLE_COURSE, SAMPLE_LESSON, claim, utcnow()))
    content = LessonContent(blocks=[MarkdownBlock(type="markdown", markdown="Ownership moves.")], generator="seed")
    written = lesson.model_copy(update={"content": content, "status": LessonStatus.GENERATED})
    assert store.commit_lesson(written, claim, utcnow())


def _seed_card() -> None:
    """The sample course with one flashcard due for the sample user (issue 23)."""
    from flowgen.cards import new_card
    from flowgen.content import Flashcard

    _seed_course()
    card = Flashcard(front="What does a move leave behind?", back="A moved-from value.", block=0)
    wiring.review_store().sync_lesson(
        SAMPLE_USER, SAMPLE_COURSE, SAMPLE_LESSON, [new_card(SAMPLE_USER, SAMPLE_COURSE, SAMPLE_LESSON, card, utcnow())]
    )


def _seed_question() -> None:
    _seed_written_lesson()
    question = AskQuestionRequest(question="What does a move leave behind?")
    wiring.question_service(wiring.settings(ApiSettings)).ask(
        SAMPLE_USER, SAMPLE_COURSE, SAMPLE_LESSON, question, utcnow()
    )


def _seed_requested(priority: Priority) -> Callable[[], None]:
    def seed() -> None:
        _seed_course()
        wiring.store().request_lessons(SAMPLE_COURSE, [SAMPLE_LESSON], priority, utcnow())

    return seed


def _seed_shared_course() -> None:
    """The sample course shared: its link as the share store holds it (a hash and a nonce)."""
    _seed_course()
    share = Share(
        course_id=SAMPLE_COURSE, owner_id=SAMPLE_USER, token_hash="0" * 64, nonce="seeded", created_at=utcnow()
    )
    wiring.share_store().create(share)


def _body(result: dict[str, Any]) -> Any:
    return json.loads(result["body"]) if result.get("body") else None


def _sample_lesson() -> Lesson:
    lesson = wiring.store().get_lesson(SAMPLE_USER, SAMPLE_COURSE, SAMPLE_LESSON)
    assert lesson is not None
    return lesson


def check_create(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 202
    body = _body(result)
    assert body["status"] == "PENDING" and body["prompt"] == "Rust ownership for C++ programmers"
    assert body["level"] == "intermediate"
    assert stack.queue_depth("CourseQueue") == 1


def check_list(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 200
    assert [c["id"] for c in _body(result)["items"]] == [SAMPLE_COURSE]


def check_get(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 200
    body = _body(result)
    assert body["id"] == SAMPLE_COURSE and body["status"] == "READY"
    assert [[lesson["id"] for lesson in m["lessons"]] for m in body["modules"]] == [
        ["m01-l01", "m01-l02"],
        ["m02-l01", "m02-l02"],
    ]


def check_delete(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 204 and result["body"] == ""  # a 204 has no body
    assert wiring.store().get_course(SAMPLE_USER, SAMPLE_COURSE) is None


def check_retry_course(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 202 and _body(result)["status"] == "PENDING"
    assert stack.queue_depth("CourseQueue") == 1


def check_open_lesson(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 202
    assert result["headers"]["Retry-After"] == "1"
    body = _body(result)
    assert (body["id"], body["status"], body["priority"]) == (SAMPLE_LESSON, "PENDING", "high")
    assert stack.queue_depth("LessonHighQueue") == 1
    assert stack.queue_depth("LessonLowQueue") == 1  # the one lesson after it (the last of the course)


def check_retry_lesson(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 202 and _body(result)["status"] == "PENDING"
    assert stack.queue_depth("LessonHighQueue") == 1


def check_ask_question(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 202 and "Retry-After" in result["headers"]
    body = _body(result)
    assert (body["lessonId"], body["status"], body["answer"]) == (SAMPLE_LESSON, "QUEUED", None)
    assert body["question"] == "Why can a value have only one owner?"
    assert stack.queue_depth("LessonHighQueue") == 1  # asked at high priority: someone is waiting


def check_list_questions(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 200
    items = _body(result)["items"]
    assert [(q["question"], q["status"]) for q in items] == [("What does a move leave behind?", "QUEUED")]


def check_edit_outline(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 200, result
    titles = [lesson["title"] for m in _body(result)["modules"] for lesson in m["lessons"]]
    assert titles[0] == "Ownership, from first principles" and titles[1:] == ["Lesson 1.2", "Lesson 2.1", "Lesson 2.2"]


def check_export(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 200 and result["headers"]["Content-Type"].startswith("text/markdown")
    assert "Ownership moves." in result["body"]


def check_search(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 200, result
    (found,) = _body(result)["results"]  # the sample event searches "ownership": the written lesson says it
    assert found["lessonId"] == SAMPLE_LESSON and found["snippet"] == "Ownership moves."
    assert found["matches"] == [{"start": 0, "end": 9}]


def check_regenerate(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 202, result
    assert stack.queue_depth("LessonHighQueue") == 1


def check_select_version(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 200, result
    assert _body(result)["version"] == 1


def check_read_version(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 200, result
    assert result["headers"]["Cache-Control"] == "private, max-age=3600"
    read = _body(result)
    assert (read["number"], read["content"]["blocks"][0]["markdown"]) == (1, "Ownership moves.")
    assert stack.queue_depth("LessonHighQueue") == 0  # a read: nothing sent


def check_record_progress(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 200, result
    assert _body(result)["completedAt"] is not None and _body(result)["openedAt"] is not None


def check_course_progress(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 200, result
    assert _body(result)["courseId"] == SAMPLE_COURSE


def check_all_progress(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 200, result


def check_share(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 201, result
    body = _body(result)
    assert set(body) == {"token", "url", "createdAt"} and body["url"].endswith(f"/#/shared/{body['token']}")
    share = present(wiring.share_store().get(SAMPLE_USER, SAMPLE_COURSE))
    assert body["token"] not in share.model_dump_json()  # its hash is kept, never the token


def check_stop_sharing(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 204 and result["body"] == ""
    assert wiring.share_store().get(SAMPLE_USER, SAMPLE_COURSE) is None


def check_due_cards(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 200, result
    body = _body(result)
    assert body["due"] == 1 and [c["front"] for c in body["cards"]] == ["What does a move leave behind?"]


def check_review_card(stack: LocalStack, result: dict[str, Any]) -> None:
    """The sample card id has a card's shape, but no card of the sample user has it: a 404."""
    assert result["statusCode"] == 404 and _body(result)["error"]["code"] == "card_not_found", result
    assert wiring.review_store().count_due(SAMPLE_USER, utcnow()) == 1  # nothing was reviewed


def check_export_cards(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 200 and result["headers"]["Content-Type"].startswith("text/csv"), result
    assert "\nWhat does a move leave behind?,A moved-from value.,flowgen::" in result["body"]


def check_fork(stack: LocalStack, result: dict[str, Any]) -> None:
    """The sample token has a link's shape, but nobody shared it: the one answer of a dead link."""
    assert result["statusCode"] == 404 and _body(result)["error"]["code"] == "share_not_found"
    courses = wiring.store().list_courses(SAMPLE_USER, limit=10, before=None)
    assert [course.id for course in courses] == [SAMPLE_COURSE]  # no fork was made


def check_unmatched(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 404 and _body(result)["error"]["code"] == "route_not_found"


def check_course_worker(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result == {"batchItemFailures": []}
    assert present(wiring.store().get_course(SAMPLE_USER, SAMPLE_COURSE)).status == CourseStatus.READY


def check_lesson_worker(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result == {"batchItemFailures": []}
    assert _sample_lesson().status == LessonStatus.GENERATED


def check_reconciler(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result == {
        "courses_resent": 1,
        "lessons_resent": 0,
        "lessons_failed": 0,
        "questions_resent": 0,
        "questions_failed": 0,
    }
    assert stack.queue_depth("CourseQueue") == 1


SAMPLE_SOURCE = "fedcba9876543210fedcba9876543210"


def _seed_source() -> None:
    """The sample source, registered and waiting for its file (issue 24)."""
    now = utcnow()
    wiring.source_store().insert_source(
        Source(
            id=SAMPLE_SOURCE,
            owner_id=SAMPLE_USER,
            filename="lecture-3.pdf",
            content_type="application/pdf",
            size=482133,
            status=SourceStatus.UPLOADING,
            created_at=now,
            updated_at=now,
        )
    )


def check_create_source(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 201, result
    body = _body(result)
    assert body["status"] == "UPLOADING" and body["filename"] == "lecture-3.pdf"
    assert body["upload"]["url"].startswith(stack.endpoints.aws_url)  # type: ignore[union-attr]  # moto's S3
    assert body["upload"]["fields"]["key"] == f"sources/{body['id']}"


def check_list_sources(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 200, result
    assert [s["id"] for s in _body(result)["items"]] == [SAMPLE_SOURCE]


def check_get_source(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 200 and _body(result)["status"] == "UPLOADING", result


def check_delete_source(stack: LocalStack, result: dict[str, Any]) -> None:
    assert result["statusCode"] == 204, result
    assert wiring.source_store().find_source(SAMPLE_SOURCE) is None


def check_source_worker(stack: LocalStack, result: dict[str, Any]) -> None:
    """S3's event for a file that is not in the bucket: read under the worker's role (a denied
    read would fail the record instead), the source ends FAILED with the reason."""
    assert result == {"batchItemFailures": []}
    source = present(wiring.source_store().find_source(SAMPLE_SOURCE))
    assert source.status == SourceStatus.FAILED and source.error is not None and source.error.code == "missing"


# event -> (function, what to seed first, what must follow)
CASES: dict[str, tuple[str, Callable[[], None], Callable[[Any, Any], None]]] = {
    "api_create_course": ("ApiFunction", lambda: None, check_create),
    "api_list_courses": ("ApiFunction", _seed_course, check_list),
    "api_get_course": ("ApiFunction", _seed_course, check_get),
    "api_delete_course": ("ApiFunction", _seed_course, check_delete),
    "api_retry_course": ("ApiFunction", lambda: _seed_course(CourseStatus.FAILED), check_retry_course),
    "api_open_lesson": ("ApiFunction", _seed_course, check_open_lesson),
    "api_retry_lesson": ("ApiFunction", _seed_failed_lesson, check_retry_lesson),
    "api_ask_question": ("ApiFunction", _seed_written_lesson, check_ask_question),
    "api_list_questions": ("ApiFunction", _seed_question, check_list_questions),
    "api_edit_outline": ("ApiFunction", _seed_course, check_edit_outline),
    "api_export_course": ("ApiFunction", _seed_written_lesson, check_export),
    "api_search_course": ("ApiFunction", _seed_written_lesson, check_search),
    "api_regenerate_lesson": ("ApiFunction", _seed_written_lesson, check_regenerate),
    "api_select_version": ("ApiFunction", _seed_written_lesson, check_select_version),
    "api_read_version": ("ApiFunction", _seed_written_lesson, check_read_version),
    "api_record_progress": ("ApiFunction", _seed_written_lesson, check_record_progress),
    "api_course_progress": ("ApiFunction", _seed_written_lesson, check_course_progress),
    "api_all_progress": ("ApiFunction", _seed_course, check_all_progress),
    "api_share_course": ("ApiFunction", _seed_course, check_share),
    "api_stop_sharing": ("ApiFunction", _seed_shared_course, check_stop_sharing),
    "api_fork_shared_course": ("ApiFunction", _seed_course, check_fork),
    "api_due_cards": ("ApiFunction", _seed_card, check_due_cards),
    "api_review_card": ("ApiFunction", _seed_card, check_review_card),
    "api_export_cards": ("ApiFunction", _seed_card, check_export_cards),
    "api_unmatched_route": ("ApiFunction", lambda: None, check_unmatched),
    "course_worker": ("CourseWorkerFunction", lambda: _seed_course(CourseStatus.PENDING), check_course_worker),
    "lesson_worker_high": (
        "LessonWorkerFunction",
        _seed_requested(Priority.HIGH),
        check_lesson_worker,
    ),
    "lesson_worker_low": (
        "LessonWorkerFunction",
        _seed_requested(Priority.LOW),
        check_lesson_worker,
    ),
    "api_create_source": ("ApiFunction", lambda: None, check_create_source),
    "api_list_sources": ("ApiFunction", _seed_source, check_list_sources),
    "api_get_source": ("ApiFunction", _seed_source, check_get_source),
    "api_delete_source": ("ApiFunction", _seed_source, check_delete_source),
    "source_worker": ("SourceWorkerFunction", _seed_source, check_source_worker),
    "reconciler": (
        "ReconcilerFunction",
        lambda: _seed_course(CourseStatus.PENDING, age=timedelta(hours=1)),
        check_reconciler,
    ),
}


def test_there_is_a_case_for_every_sample_event() -> None:
    assert {p.stem for p in EVENTS.glob("*.json")} == set(CASES)


def test_the_committed_events_are_what_flowgen_events_writes(tmp_path: Path) -> None:
    written = write_events(tmp_path)
    assert {p.name: json.loads(p.read_text()) for p in written} == {
        p.name: json.loads(p.read_text()) for p in EVENTS.glob("*.json")
    }  # regenerate with `flowgen events` after changing a route


@pytest.mark.parametrize("name", sorted(CASES))
def test_sample_event_produces_its_outcome_through_flowgen_invoke(stack: LocalStack, name: str) -> None:
    function, seed, check = CASES[name]
    seed()
    env_json = stack.sam_env_vars()  # what `flowgen local` writes to .flowgen/env.json
    result = invoke(function, _event(name), env_vars=env_json, host=stack._host)
    check(stack, result.payload)


SETTINGS_OF: dict[str, type[EnvSettings]] = {
    "ApiFunction": ApiSettings,
    "CourseWorkerFunction": CourseWorkerSettings,
    "LessonWorkerFunction": LessonWorkerSettings,
    "ReconcilerFunction": ReconcilerSettings,
    "AuthorizerFunction": AuthorizerSettings,
    "SourceWorkerFunction": SourceWorkerSettings,
}


@pytest.mark.parametrize("function", sorted(SETTINGS_OF))
def test_sam_resolves_from_env_json_every_variable_the_function_needs(
    stack: LocalStack, function: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SAM's --env-vars sets only what the template declares (aws-sam-cli issues 6145, 1553): the
    function's settings, read from SAM's environment alone, point at this stack, not at AWS."""
    assert function in stack.template.functions
    resolved = on_this_machine(resolve_function(function, env_vars=stack.sam_env_vars()).environment)
    monkeypatch.setattr(os, "environ", {})  # nothing but what SAM resolved
    settings = SETTINGS_OF[function].model_validate(resolved).model_dump()
    assert stack.endpoints
    expected = {
        "mongo_uri": stack.endpoints.mongo_uri,
        "redis_url": stack.endpoints.redis_url,
        "sqs_endpoint_url": stack.endpoints.aws_url,
        "s3_endpoint_url": stack.endpoints.aws_url,
        "sources_bucket": stack.buckets["SourcesBucket"].name,
        "course_queue_url": stack.queues["CourseQueue"].url,
        "lesson_high_queue_url": stack.queues["LessonHighQueue"].url,
        "mongo_uri_secret": "",
        "redis_url_secret": "",
        "openai_api_key_secret": "",
        "share_key_secret": "",
        "jwks_url": stack.function_environment(function).get("JWKS_URL"),
    }
    checked = {key: value for key, value in expected.items() if key in settings}
    assert checked and {key: settings[key] for key in checked} == checked


def test_flowgen_invoke_prints_the_response_on_stdout_and_the_logs_on_stderr(stack: LocalStack, tmp_path: Path) -> None:
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps(stack.sam_env_vars()))
    _seed_course()
    done = subprocess.run(
        [sys.executable, "-m", "flowgen_ops.cli", "invoke", "ApiFunction", "-e", str(EVENTS / "api_list_courses.json"),
         "--env-vars", str(env_file)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "FLOWGEN_STATE_DIR": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    response = json.loads(done.stdout)
    assert response["statusCode"] == 200 and SAMPLE_COURSE in response["body"]
    assert "START RequestId:" in done.stderr and "REPORT RequestId:" in done.stderr


def test_the_authorizer_event_flowgen_token_makes_is_allowed(stack: LocalStack, tmp_path: Path) -> None:
    state = tmp_path / "stack.json"
    state.write_text(json.dumps(stack.describe()))
    (tmp_path / "jwt-signing-key.pem").write_bytes(stack.config.key_path.read_bytes())  # the stack's issuer key
    env = {**os.environ, "FLOWGEN_STATE_DIR": str(tmp_path)}
    made = subprocess.run(
        [sys.executable, "-m", "flowgen_ops.cli", "token", "--sub", "alice", "--authorizer-event"],
        capture_output=True, text=True, timeout=60, env=env, check=True,
    )  # fmt: skip
    result = invoke("AuthorizerFunction", json.loads(made.stdout), env_vars=stack.sam_env_vars(), host=stack._host)
    assert result.payload["isAuthorized"] is True and result.payload["context"]["sub"] == "alice"
    forged = json.loads(made.stdout)
    forged["identitySource"] = [forged["identitySource"][0][:-4] + "AAAA"]
    forged["headers"]["authorization"] = forged["identitySource"][0]
    denied = invoke("AuthorizerFunction", forged, env_vars=stack.sam_env_vars(), host=stack._host)
    assert denied.payload == {"isAuthorized": False}
