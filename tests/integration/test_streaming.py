"""Streaming lessons through the real openai SDK and the fake model server, and through the
local stack: a lesson being written answers 202 with its finished blocks, then 200 GENERATED."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from openai import OpenAI

from flowgen.adapters.offline_model import OfflineModel
from flowgen.adapters.openai_model import OpenAIModel
from flowgen.content import GeneratedBlock, MarkdownBlock
from flowgen.ports import LessonBrief
from flowgen_local.fake_openai import NOTICE, FakeOpenAI, Faults
from flowgen_local.stack import LocalStack
from tests.helpers import User, lesson_ids

BRIEF = LessonBrief("Rust", "A course", None, "Basics", "Borrowing", "What borrowing is", [], [])


def _adapter(fake: FakeOpenAI) -> OpenAIModel:
    client = OpenAI(api_key="test", base_url=fake.base_url, max_retries=0, timeout=5)
    return OpenAIModel(client, outline_model="m", lesson_model="m")


def test_the_sdk_streams_finished_blocks_one_by_one_and_the_lesson_is_whole(fake_model: FakeOpenAI) -> None:
    fake_model.set_faults(Faults(first_token_seconds=0.1, tokens_per_second=2000, lesson_tokens=800))
    seen: list[tuple[float, int]] = []
    texts: list[str] = []
    started = time.monotonic()

    def on_blocks(blocks: Sequence[GeneratedBlock], writing: str) -> None:
        if not blocks and writing:
            texts.append(writing)
        if not seen or len(blocks) != seen[-1][1]:
            seen.append((time.monotonic() - started, len(blocks)))

    lesson, usage = _adapter(fake_model).lesson_stream(BRIEF, on_blocks)
    assert (
        texts
        and texts == sorted(texts, key=len)
        and isinstance(lesson.blocks[0], MarkdownBlock)
        and lesson.blocks[0].markdown.startswith(texts[-1])
    )
    counts = [n for _, n in seen]
    assert counts == list(range(counts[0], len(lesson.blocks) + 1))  # one more at a time, to the last
    assert seen[1][0] < seen[-1][0] - 0.1  # the first block came well before the end
    assert 700 <= usage.completion_tokens <= 900 and usage.prompt_tokens > 0  # from the usage chunk
    assert any(isinstance(block, MarkdownBlock) and NOTICE in block.markdown for block in lesson.blocks)
    assert fake_model.stats.calls["GeneratedLesson"] == 1


def test_plain_calls_take_as_long_as_the_stream_would(fake_model: FakeOpenAI) -> None:
    fake_model.set_faults(Faults(first_token_seconds=0.2, tokens_per_second=1000, lesson_tokens=800))
    started = time.monotonic()
    lesson, usage = _adapter(fake_model).lesson(BRIEF)
    assert time.monotonic() - started >= 0.2 + 0.7  # first token, then ~800 tokens at 1000/s
    assert len(lesson.blocks) > len(OfflineModel().lesson(BRIEF)[0].blocks)  # padded with sections


def test_a_stream_cut_by_its_length_starts_again_from_nothing(fake_model: FakeOpenAI) -> None:
    fake_model.set_faults(Faults(scripted=["truncated"], tokens_per_second=0))
    counts: list[int] = []
    lesson, _ = _adapter(fake_model).lesson_stream(BRIEF, lambda blocks, _: counts.append(len(blocks)))
    shown = next(i for i, n in enumerate(counts) if n > 0)  # the cut answer's blocks were shown...
    assert 0 in counts[shown:]  # ...then the repair started again from none
    assert counts[-1] == len(lesson.blocks)
    assert fake_model.stats.calls["GeneratedLesson"] == 2  # the cut answer, then the repair


def test_a_lesson_being_written_answers_202_with_its_finished_blocks_then_200(
    stack: LocalStack, fake_model: FakeOpenAI
) -> None:
    alice = User(stack, "alice")
    course = alice.ready_course()
    # ~800 tokens at 150 tokens/s: about five seconds of writing
    fake_model.set_faults(Faults(first_token_seconds=0.3, tokens_per_second=150, lesson_tokens=800))
    target = lesson_ids(course)[4]
    assert alice.open_lesson(course["id"], target).status == 202

    worker = threading.Thread(target=stack.drain, args=("HighPriorityLessons",), daemon=True)
    worker.start()
    partial_views = []
    deadline = time.monotonic() + 60
    while worker.is_alive() and time.monotonic() < deadline:
        response = alice.open_lesson(course["id"], target)
        body = response.json()
        if response.status == 202 and body["partial"] and body["partial"]["blocks"]:
            assert body["status"] == "GENERATING" and body["content"] is None
            assert response.headers["retry-after"] == "1"
            assert body["progress"]["blocksWritten"] == len(body["partial"]["blocks"])
            assert body["progress"]["restarts"] == 0
            partial_views.append(body)
        time.sleep(0.2)
    worker.join(60)
    assert partial_views, "no 202 ever showed a written block"
    written = [view["progress"]["blocksWritten"] for view in partial_views]
    assert written == sorted(written) and written[-1] > written[0]  # it grew while we watched

    final = alice.open_lesson(course["id"], target)
    assert final.status == 200
    body = final.json()
    assert body["status"] == "GENERATED" and body["partial"] is None and body["progress"] is None
    blocks = body["content"]["blocks"]
    for view in partial_views:  # what was shown is what the lesson begins with
        assert view["partial"]["blocks"] == blocks[: len(view["partial"]["blocks"])]
    assert fake_model.stats.calls["GeneratedLesson"] == 1


def test_an_outline_being_written_shows_its_modules_as_they_come_then_the_course(
    stack: LocalStack, fake_model: FakeOpenAI
) -> None:
    alice = User(stack, "alice")
    # the outline's ~500 tokens at 150 tokens/s: about three seconds of writing
    fake_model.set_faults(Faults(first_token_seconds=0.3, tokens_per_second=150))
    course = alice.create_course("Rust ownership", size="long")
    worker = threading.Thread(target=stack.drain, args=("CourseJobs",), daemon=True)
    worker.start()
    views = []
    deadline = time.monotonic() + 60
    while worker.is_alive() and time.monotonic() < deadline:
        response = alice.call("GET", f"/courses/{course['id']}")
        body = response.json()
        if body["status"] == "GENERATING" and body["partialOutline"]:
            assert body["modules"] == [] and response.headers["retry-after"] == "1"
            assert body["partialOutline"]["restarts"] == 0
            views.append(body["partialOutline"])
        time.sleep(0.1)
    worker.join(60)
    counts = [len(view["modules"]) for view in views]
    assert counts and counts == sorted(counts) and counts[-1] > counts[0], counts  # it grew while we watched

    final = alice.call("GET", f"/courses/{course['id']}")
    body = final.json()
    assert body["status"] == "READY" and body["partialOutline"] is None and "retry-after" not in final.headers
    for view in views:  # what was shown is what the outline begins with
        assert view["title"] == body["title"]
        assert [m["title"] for m in view["modules"]] == [m["title"] for m in body["modules"]][: len(view["modules"])]
    assert fake_model.stats.calls["OutlineDecision"] == 1
