"""The fake model server's faults, each as a caller sees it (over HTTP, no stack)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from flowgen_local.fake_openai import FakeOpenAI, FaultRule, Faults


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


def _lesson_request(title: str) -> dict[str, Any]:
    payload = {"course": "Rust", "lesson": title, "module": "Basics", "lesson_summary": "s"}
    return {
        "model": "fake",
        "messages": [{"role": "user", "content": json.dumps(payload)}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "GeneratedLesson"}},
    }


def _call(fake: FakeOpenAI, title: str, timeout: float = 5) -> httpx.Response:
    return httpx.post(f"{fake.base_url}/chat/completions", json=_lesson_request(title), timeout=timeout)


def _succeeded(fake: FakeOpenAI, expected: list[str]) -> bool:
    """A success is counted once the answer is written, a moment after the caller has it."""
    deadline = time.monotonic() + 2
    while fake.stats.succeeded != expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return fake.stats.succeeded == expected


def _content(response: httpx.Response) -> str:
    return str(response.json()["choices"][0]["message"]["content"])


def test_a_rule_fails_the_matching_lesson_its_number_of_times(fake: FakeOpenAI) -> None:
    fake.faults.rules = [FaultRule("Rust :: Ownership", "500", times=1), FaultRule("Borrowing", "429")]
    fake.faults.retry_after_seconds = 3
    assert _call(fake, "Ownership").status_code == 500
    assert _call(fake, "Ownership").status_code == 200  # once only
    limited = _call(fake, "Borrowing")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
    assert _call(fake, "Borrowing").status_code == 429  # times=None: every call
    assert _call(fake, "Lifetimes").status_code == 200
    assert _succeeded(fake, ["Rust :: Ownership", "Rust :: Lifetimes"])
    assert fake.stats.failures == {"500": 1, "429": 2}


def test_truncated_and_invalid_json_are_answered_with_200(fake: FakeOpenAI) -> None:
    fake.faults.scripted = ["truncated_json", "invalid_json"]
    truncated = _call(fake, "A")
    with pytest.raises(ValueError, match="Unterminated|Expecting|Invalid"):
        json.loads(_content(truncated))
    invalid = json.loads(_content(_call(fake, "B")))
    assert "blocks" not in invalid  # well-formed, but not the schema
    assert "blocks" in json.loads(_content(_call(fake, "C")))
    assert _succeeded(fake, ["Rust :: C"])


def test_a_hang_never_answers_and_is_bounded(fake: FakeOpenAI) -> None:
    fake.faults.rules = [FaultRule("Slow", "hang", times=2)]
    with pytest.raises(httpx.ReadTimeout):
        _call(fake, "Slow", timeout=0.5)
    fake.faults.hang_seconds = 0.3
    with pytest.raises(httpx.RemoteProtocolError):  # dropped without an answer
        _call(fake, "Slow", timeout=5)
    assert fake.stats.succeeded == []


def test_a_trickle_sends_a_byte_at_a_time_then_stops(fake: FakeOpenAI) -> None:
    fake.faults.rules = [FaultRule("Drip", "trickle")]
    fake.faults.trickle_interval_seconds = 0.05
    fake.faults.trickle_seconds = 0.5
    received = bytearray()

    def read() -> None:
        url = f"{fake.base_url}/chat/completions"
        with httpx.stream("POST", url, json=_lesson_request("Drip"), timeout=2) as response:
            assert response.status_code == 200
            for chunk in response.iter_raw():
                received.extend(chunk)

    with pytest.raises(httpx.RemoteProtocolError):
        read()
    assert 3 <= len(received) <= 15  # about one byte per interval, cut after trickle_seconds
    assert fake.stats.succeeded == []


def test_a_rate_fails_that_share_of_calls_reproducibly(fake: FakeOpenAI) -> None:
    def failures(seed: int) -> list[int]:
        fake.reset()
        fake.set_faults(Faults(rate=0.3, rate_kinds=["500"], seed=seed))
        return [_call(fake, f"L{i}").status_code for i in range(20)]

    first = failures(7)
    assert first == failures(7)
    assert 1 <= first.count(500) <= 14


def test_faults_are_set_and_checked_over_http(fake: FakeOpenAI) -> None:
    control = f"{fake.base_url.removesuffix('/v1')}/_fake/faults"
    body = {"rules": [{"match": "X", "kind": "trickle", "times": 1}], "trickle_seconds": 2, "rate": 0.1}
    assert httpx.post(control, json=body).status_code == 200
    assert httpx.get(control).json()["rules"] == [{"match": "X", "kind": "trickle", "times": 1}]
    assert fake.faults.rules == [FaultRule("X", "trickle", 1)] and fake.faults.trickle_seconds == 2
    refused = httpx.post(control, json={"scripted": ["teapot"]})
    assert refused.status_code == 400 and "unknown fault kind" in refused.text


def _streamed_contents(fake: FakeOpenAI, title: str) -> list[str]:
    request = {**_lesson_request(title), "stream": True}
    with httpx.stream("POST", f"{fake.base_url}/chat/completions", json=request, timeout=10) as response:
        events = [line[len("data: ") :] for line in response.iter_lines() if line.startswith("data: {")]
    return [d["content"] for e in events for c in json.loads(e)["choices"] if (d := c["delta"]).get("content")]


def test_tokens_per_chunk_sends_the_same_text_in_fewer_chunks() -> None:
    """The test session's fake sends 8 tokens a chunk (tests/conftest.py): the text is the one a
    token at a time would send, cut at token boundaries (4 characters a token)."""
    one, eight = FakeOpenAI().start(), FakeOpenAI(tokens_per_chunk=8).start()
    try:
        single = _streamed_contents(one, "Borrowing")
        grouped = _streamed_contents(eight, "Borrowing")
    finally:
        one.stop()
        eight.stop()
    assert "".join(grouped) == "".join(single) and len(single) > 40
    assert len(grouped) == -(-len(single) // 8)
    assert all(len(c) == 32 for c in grouped[:-1])
