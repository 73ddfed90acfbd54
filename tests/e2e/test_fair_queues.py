"""Fair by owner (design invariant 10): every job carries its owner as its MessageGroupId, and the
local SQS delivers as Amazon SQS fair queues do (dev/flowgen_local/fair_sqs.py), so one user's
backlog cannot hold back another user's background lessons."""

from __future__ import annotations

import pytest

from flowgen_local.fake_openai import FakeOpenAI
from tests.conftest import SharedStack
from tests.e2e.http_client import client, ready_course
from tests.helpers import wait_for

# the low lane's pollers at their MaximumConcurrency, against a real backlog
pytestmark = [pytest.mark.e2e, pytest.mark.system]


def test_a_second_users_background_lessons_overtake_the_first_users_backlog(
    shared_stack: SharedStack, fake_model: FakeOpenAI
) -> None:
    fake_model.faults.latency_seconds = 0.05
    # the provider's token limit (200,000 a minute) would pace the backlog: not the subject here
    unlimited = {"ModelTokensPerMinute": "0", "ModelRequestsPerMinute": "0"}
    stack = shared_stack({"InitialLessons": "24", **unlimited}, running=True, paused=("LowPriorityLessons",))
    try:
        alice, bob = client(stack, "alice"), client(stack, "bob")
        for i in range(9):
            ready_course(alice, f"Alice's topic {i}", size="long")
        backlog = 9 * 24
        wait_for(lambda: stack.queue_depth("LessonLowQueue"), lambda depth: depth == backlog, timeout=15)
        stack.runners["LowPriorityLessons"].start()
        wait_for(lambda: len(fake_model.stats.lesson_keys), lambda calls: calls >= 6, timeout=30)

        bobs = ready_course(bob, "Bob's topic", size="short")  # its outline queues 2 of its lessons
        first_two = {f"{bobs['title']} :: {lesson['title']}" for lesson in bobs["modules"][0]["lessons"][:2]}
        wait_for(lambda: first_two <= set(fake_model.stats.lesson_keys), lambda done: done, timeout=60)

        keys = fake_model.stats.lesson_keys
        bob_done_at = max(keys.index(key) for key in first_two)
        alice_before = sum(1 for key in keys[:bob_done_at] if key.startswith("Alice's"))
        assert alice_before < backlog / 2, f"{alice_before} of alice's {backlog} lessons went before bob's first two"
        assert stack.queue_depth("LessonLowQueue") > backlog / 3  # alice's backlog was far from drained
    finally:
        stack.runners["LowPriorityLessons"].stop()  # paused again for the stack's next test
