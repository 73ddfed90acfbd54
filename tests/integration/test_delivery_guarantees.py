"""At-least-once in, exactly-once effect (design invariants 1, 2 and 5)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import redis
from pymongo.collection import Collection

from flowgen import wiring
from flowgen.clock import utcnow
from flowgen.messages import LessonJob
from flowgen.ports import Claim
from flowgen.records import Lesson
from flowgen_local.fake_openai import FakeOpenAI, FaultRule
from flowgen_local.stack import LocalStack
from tests.helpers import User, lesson_ids
from tests.narrow import present


def _send_lesson_job(
    stack: LocalStack, course_id: str, lesson_id: str, queue: str = "LessonHighQueue", owner: str = "alice"
) -> None:
    job = LessonJob(course_id=course_id, lesson_id=lesson_id, owner_id=owner)
    stack.sqs.send_message(QueueUrl=stack.queues[queue].url, MessageBody=job.model_dump_json(by_alias=True))


def _age(collection: Collection[dict[str, Any]], doc_id: str, seconds: int) -> None:
    """Moves a record's last request back in time, as if its job had been waiting that long."""
    collection.update_one({"_id": doc_id}, {"$set": {"updatedAt": utcnow() - timedelta(seconds=seconds)}})


def test_fifty_concurrent_opens_make_one_job_and_one_model_call(stack: LocalStack, fake_model: FakeOpenAI) -> None:
    alice = User(stack, "alice")
    course = alice.ready_course()
    target = lesson_ids(course)[9]

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(lambda _: alice.open_lesson(course["id"], target), range(50)))
    assert {r.status for r in responses} == {202}
    assert stack.queue_depth("LessonHighQueue") == 1  # Redis SET NX let one enqueue through

    stack.drain("HighPriorityLessons")
    assert fake_model.stats.lesson_titles.count(responses[0].json()["title"]) == 1
    assert alice.open_lesson(course["id"], target).json()["status"] == "GENERATED"


def test_a_job_delivered_twice_generates_once(stack: LocalStack, fake_model: FakeOpenAI) -> None:
    alice = User(stack, "alice")
    course = alice.ready_course()
    target = lesson_ids(course)[5]
    _send_lesson_job(stack, course["id"], target)
    _send_lesson_job(stack, course["id"], target)

    stack.drain("HighPriorityLessons")
    title = alice.open_lesson(course["id"], target).json()["title"]
    assert fake_model.stats.lesson_titles.count(title) == 1
    assert stack.queue_depth("LessonHighQueue") == 0  # the duplicate was acknowledged, not retried


def test_a_live_lease_is_respected_and_an_expired_one_is_recovered(stack: LocalStack, fake_model: FakeOpenAI) -> None:
    alice = User(stack, "alice")
    course = alice.ready_course()
    target = lesson_ids(course)[4]
    store = wiring.store()

    # a worker claimed the lesson and is still within its lease: the duplicate job is acknowledged
    live = Claim(token="worker-a", expires_at=utcnow() + timedelta(minutes=5))
    assert store.claim_lesson(course["id"], target, live, utcnow()) is not None
    _send_lesson_job(stack, course["id"], target)
    stack.drain("HighPriorityLessons")
    assert fake_model.stats.calls["GeneratedLesson"] == 0
    assert alice.open_lesson(course["id"], target).json()["status"] == "GENERATING"

    # that worker died: its lease ran out, and the redelivered job generates the lesson
    expired = Claim(token="worker-b", expires_at=utcnow() - timedelta(seconds=1))
    store.lessons.update_one(
        {"_id": f"{course['id']}/{target}"},
        {"$set": {"lease": {"token": expired.token, "expiresAt": expired.expires_at}}},
    )
    _send_lesson_job(stack, course["id"], target)
    stack.drain("HighPriorityLessons")
    lesson = alice.open_lesson(course["id"], target).json()
    assert lesson["status"] == "GENERATED"
    assert fake_model.stats.calls["GeneratedLesson"] == 1

    # the dead worker wakes up and tries to commit: its stale lease cannot overwrite the result
    stale = store.get_lesson("alice", course["id"], target)
    assert not store.commit_lesson(stale, expired, utcnow())


def test_a_message_its_worker_cannot_read_fails_alone_in_its_batch(stack: LocalStack) -> None:
    alice = User(stack, "alice")
    course = alice.ready_course()  # queues the first two lessons at low priority
    first = lesson_ids(course)[0]
    stack.sqs.send_message(
        QueueUrl=stack.queues["LessonLowQueue"].url, MessageBody='{"not": "a job"}', MessageGroupId="alice"
    )
    failed = 0
    while (result := stack.runners["LowPriorityLessons"].poll_once()) is not None:
        assert result.failed <= 1  # only ever the unreadable one
        failed += result.failed
    max_receives = stack.template.queues["LessonLowQueue"].max_receive_count
    assert failed == max_receives and stack.queue_depth("LessonLowDLQ") == 1  # then its DLQ keeps it
    assert alice.open_lesson(course["id"], first).json()["status"] == "GENERATED"


def test_a_failing_model_call_is_retried_by_the_worker_and_its_neighbour_is_written(
    stack: LocalStack, fake_model: FakeOpenAI
) -> None:
    alice = User(stack, "alice")
    course = alice.ready_course()  # queues the first two lessons at low priority, one batch of 2
    first, second = lesson_ids(course)[:2]
    fake_model.faults.rules = [FaultRule(match=course["modules"][0]["lessons"][1]["title"], kind="500", times=1)]

    result = stack.runners["LowPriorityLessons"].poll_once()
    assert result is not None and (result.received, result.failed) == (2, 0)  # handled: no redelivery
    assert alice.open_lesson(course["id"], first).json()["status"] == "GENERATED"
    waiting = alice.open_lesson(course["id"], second).json()
    assert waiting["status"] == "PENDING" and waiting["attempts"] == 1
    assert waiting["error"] == "The writing service had a problem and gave no answer."  # for people
    stack.drain("LowPriorityLessons")  # its job was sent again, for after the backoff (none in these tests)
    assert alice.open_lesson(course["id"], second).json()["status"] == "GENERATED"
    assert fake_model.stats.lesson_titles.count(course["modules"][0]["lessons"][1]["title"]) == 2


def test_a_lesson_that_keeps_failing_ends_failed_after_its_attempts_and_can_be_retried(
    stack: LocalStack, fake_model: FakeOpenAI
) -> None:
    alice = User(stack, "alice")
    course = alice.ready_course()
    target = lesson_ids(course)[6]
    title = course["modules"][2]["lessons"][0]["title"]
    fake_model.faults.poison_lessons = [title]

    alice.open_lesson(course["id"], target)
    stack.drain("HighPriorityLessons")
    failed = alice.open_lesson(course["id"], target)
    assert failed.status == 200
    assert failed.json()["status"] == "FAILED"
    assert (
        failed.json()["error"]
        == "The writing service had a problem and gave no answer. Tried 3 times; you can try again."
    )
    max_attempts = stack.template.queues["LessonHighQueue"].max_receive_count
    assert fake_model.stats.lesson_titles.count(title) == max_attempts == failed.json()["attempts"]
    assert stack.queue_depth("LessonHighDLQ") == 0  # handled by the worker: nothing for the DLQ
    assert stack.queue_depth("LessonHighQueue") == 0

    fake_model.faults.poison_lessons = []
    retried = alice.call("POST", f"/courses/{course['id']}/lessons/{target}/retry")
    assert retried.status == 202 and retried.json()["status"] == "PENDING"
    stack.drain("HighPriorityLessons")
    assert alice.open_lesson(course["id"], target).json()["status"] == "GENERATED"
    # retrying something that is not FAILED is a conflict, not a second generation
    again = alice.call("POST", f"/courses/{course['id']}/lessons/{target}/retry")
    assert again.status == 409 and again.json()["error"]["code"] == "not_failed"


def test_a_failing_outline_marks_the_course_failed_and_retry_rebuilds_it(
    stack: LocalStack, fake_model: FakeOpenAI
) -> None:
    alice = User(stack, "alice")
    fake_model.faults.scripted = ["500", "500", "refusal", "malformed"]  # the last try fails its repair too
    course = alice.create_course()
    stack.drain("CourseJobs")
    failed = alice.call("GET", f"/courses/{course['id']}").json()
    assert failed["status"] == "FAILED" and failed["attempts"] == 3
    assert failed["error"].endswith("Tried 3 times; you can try again.") and "500" not in failed["error"]
    assert stack.queue_depth("CourseDLQ") == 0

    assert alice.call("POST", f"/courses/{course['id']}/retry").status == 202
    stack.drain("CourseJobs")
    assert alice.call("GET", f"/courses/{course['id']}").json()["status"] == "READY"


def test_a_transient_server_error_is_retried(stack: LocalStack, fake_model: FakeOpenAI) -> None:
    alice = User(stack, "alice")
    course = alice.ready_course()
    target = lesson_ids(course)[3]
    fake_model.faults.scripted = ["500"]
    alice.open_lesson(course["id"], target)
    stack.drain("HighPriorityLessons")
    assert alice.open_lesson(course["id"], target).json()["status"] == "GENERATED"
    assert fake_model.stats.failures["500"] == 1


def test_a_429_goes_back_to_the_queue_after_retry_after_without_spending_an_attempt(
    stack: LocalStack, fake_model: FakeOpenAI
) -> None:
    import time

    alice = User(stack, "alice")
    course = alice.ready_course()
    target = lesson_ids(course)[3]
    fake_model.faults.scripted = ["429"]  # Retry-After: 1
    alice.open_lesson(course["id"], target)
    stack.drain("HighPriorityLessons")
    lesson = wiring.store().get_lesson("alice", course["id"], target)
    assert lesson is not None
    assert lesson.status == "PENDING" and lesson.attempts == 0 and lesson.lease is None
    assert stack.queue_depth("LessonHighQueue") == 1  # re-sent with DelaySeconds, not failed
    time.sleep(1.2)
    stack.drain("HighPriorityLessons")
    assert alice.open_lesson(course["id"], target).json()["status"] == "GENERATED"
    assert stack.queue_depth("LessonHighDLQ") == 0


def test_reconciler_resends_a_course_whose_job_was_lost(stack: LocalStack, fake_model: FakeOpenAI) -> None:
    alice = User(stack, "alice")
    course = alice.create_course()
    stack.sqs.purge_queue(QueueUrl=stack.queues["CourseQueue"].url)  # the job is lost
    wiring.store().courses.update_one({"_id": course["id"]}, {"$set": {"updatedAt": utcnow() - timedelta(hours=1)}})
    result = stack.invoke("ReconcilerFunction", {})
    assert result == {
        "courses_resent": 1,
        "lessons_resent": 0,
        "lessons_failed": 0,
        "questions_resent": 0,
        "questions_failed": 0,
    }
    stack.drain("CourseJobs")
    assert alice.call("GET", f"/courses/{course['id']}").json()["status"] == "READY"


def test_reconciler_resends_stranded_lessons_of_both_priorities(stack: LocalStack, fake_model: FakeOpenAI) -> None:
    alice = User(stack, "alice")
    course = alice.ready_course()  # the outline prefetched the first lessons at low priority
    ids = lesson_ids(course)
    alice.open_lesson(course["id"], ids[9])  # high, and the next ones at low priority
    for queue in ("LessonHighQueue", "LessonLowQueue"):
        stack.sqs.purge_queue(QueueUrl=stack.queues[queue].url)  # SQS lost every job
    requested = [lesson for lesson in wiring.store().list_lessons(course["id"]) if lesson.priority]
    assert {lesson.priority for lesson in requested} == {"high", "low"}
    for lesson in requested:
        _age(wiring.store().lessons, f"{course['id']}/{lesson.id}", 3600)

    result = stack.invoke("ReconcilerFunction", {})
    assert result == {
        "courses_resent": 0,
        "lessons_resent": len(requested),
        "lessons_failed": 0,
        "questions_resent": 0,
        "questions_failed": 0,
    }
    stack.drain("HighPriorityLessons")
    stack.drain("LowPriorityLessons")
    statuses = {lesson.id: lesson.status for lesson in wiring.store().list_lessons(course["id"])}
    assert {statuses[lesson.id] for lesson in requested} == {"GENERATED"}


def test_opening_a_lesson_whose_job_was_lost_sends_it_again(stack: LocalStack, fake_model: FakeOpenAI) -> None:
    alice = User(stack, "alice")
    course = alice.ready_course()
    target = lesson_ids(course)[7]
    alice.open_lesson(course["id"], target)
    stack.sqs.purge_queue(QueueUrl=stack.queues["LessonHighQueue"].url)  # its dedupe key still stands
    alice.open_lesson(course["id"], target)
    assert stack.queue_depth("LessonHighQueue") == 0  # within STUCK_AFTER_SECONDS the key holds
    _age(wiring.store().lessons, f"{course['id']}/{target}", 3600)
    alice.open_lesson(course["id"], target)
    assert stack.queue_depth("LessonHighQueue") == 1
    stack.drain("HighPriorityLessons")
    assert alice.open_lesson(course["id"], target).json()["status"] == "GENERATED"


def test_a_used_idempotency_key_survives_the_loss_of_redis(stack: LocalStack, fake_model: FakeOpenAI) -> None:
    alice = User(stack, "alice")
    body, key = {"prompt": "Rust ownership for C++ programmers"}, {"idempotency-key": "order-66"}
    first = alice.call("POST", "/courses", body, headers=key)
    assert first.status == 202
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushall()  # a restart without persistence

    again = alice.call("POST", "/courses", body, headers=key)
    assert again.status == 202 and again.json()["id"] == first.json()["id"]
    other = alice.call("POST", "/courses", {"prompt": "Go channels"}, headers=key)
    assert other.status == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert [c["id"] for c in alice.call("GET", "/courses").json()["items"]] == [first.json()["id"]]
    assert stack.queue_depth("CourseQueue") == 1


def test_a_stale_worker_cannot_overwrite_the_worker_that_took_over(stack: LocalStack) -> None:
    alice = User(stack, "alice")
    course = alice.ready_course()
    target = lesson_ids(course)[2]
    store = wiring.store()
    now = utcnow()

    slow = Claim(token="slow-worker", expires_at=now - timedelta(seconds=1))  # already expired
    assert store.claim_lesson(course["id"], target, slow, now) is not None
    fresh = Claim(token="fresh-worker", expires_at=now + timedelta(minutes=2))
    taken = store.claim_lesson(course["id"], target, fresh, now)
    assert taken is not None and taken.attempts == 2  # the expired lease was re-claimed

    from flowgen.content import LessonContent, MarkdownBlock
    from flowgen.records import LessonStatus

    def result(text: str) -> Lesson:
        return taken.model_copy(
            update={
                "status": LessonStatus.GENERATED,
                "generated_at": now,
                "content": LessonContent(blocks=[MarkdownBlock(type="markdown", markdown=text)], generator="test"),
            }
        )

    assert not store.commit_lesson(result("stale"), slow, now)  # still GENERATING, but not its lease
    assert store.commit_lesson(result("fresh"), fresh, now)
    content = present(store.get_lesson("alice", course["id"], target)).content
    assert content is not None
    block = content.blocks[0]
    assert isinstance(block, MarkdownBlock) and block.markdown == "fresh"
