"""The local SQS's fair queues (dev/flowgen_local/fair_sqs.py) on moto's models in this process: the
fair-queue rule, and costs that do not grow with the queue's depth (issue 13: behind 10,000
queued lessons moto scanned every message several times per send and per receive, and opened
lessons waited on that). Work is counted (messages looked at, full passes over a queue), not timed.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from moto.sqs import models
from moto.sqs.exceptions import ReceiptHandleIsInvalid

from flowgen_local import fair_sqs

ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.fixture
def backend() -> Iterator[models.SQSBackend]:
    """A fresh SQS backend with the fair-queue patches, taken out again afterwards (other tests
    in this process use moto as it is)."""
    saved = {
        (cls, name): vars(cls)[name]
        for cls in (models.Queue, models.SQSBackend)
        for name in ("_messages", "messages", "attributes", "receive_message", "delete_message")
        + tuple(f"approximate_number_of_messages{s}" for s in ("", "_delayed", "_not_visible"))
        if name in vars(cls)
    }
    fair_sqs.install()
    backend = models.sqs_backends[ACCOUNT][REGION]  # moto finds a DLQ through this one
    backend.queues.clear()
    try:
        yield backend
    finally:
        backend.queues.clear()
        for cls in (models.Queue, models.SQSBackend):
            for name in ("_fair_sqs_installed", "_messages"):
                if name in vars(cls) and (cls, name) not in saved:
                    delattr(cls, name)
        for (cls, name), value in saved.items():
            setattr(cls, name, value)
        fair_sqs._usage.clear()


def send(backend: models.SQSBackend, queue: str, tenant: str | None, n: int = 1, delay: int = 0) -> None:
    for _ in range(n):
        backend.send_message(queue, json.dumps({"tenant": tenant}), group_id=tenant, delay_seconds=delay)


def handle(message: Any) -> str:
    assert message.receipt_handle is not None
    return str(message.receipt_handle)


def tenants(messages: list[Any]) -> list[str | None]:
    return [json.loads(m.body)["tenant"] for m in messages]


def index_of(backend: models.SQSBackend, queue: str) -> Any:
    return fair_sqs._messages_of(backend.get_queue(queue)).tenant_index


# ---- the rule -------------------------------------------------------------------------


def test_a_quiet_tenants_messages_go_before_a_noisy_tenants(backend: models.SQSBackend) -> None:
    backend.create_queue("q", VisibilityTimeout="300")
    send(backend, "q", "alice", 40)
    assert tenants(backend.receive_message("q", 10, 0, 300)) == ["alice"] * 10  # one tenant: in order
    for _ in range(3):
        backend.receive_message("q", 10, 0, 300)  # alice: 40 in flight, so noisy
    send(backend, "q", "alice", 5)
    send(backend, "q", "bob", 2)
    send(backend, "q", "carol", 1)
    assert tenants(backend.receive_message("q", 10, 0, 300)) == ["bob", "bob", "carol"] + ["alice"] * 5


def test_noisy_tenants_follow_with_the_fewest_in_flight_first(backend: models.SQSBackend) -> None:
    backend.create_queue("q", VisibilityTimeout="300")
    send(backend, "q", "alice", 40)
    send(backend, "q", "bob", 33)
    for _ in range(8):
        backend.receive_message("q", 10, 0, 300)  # 73 in flight: alice 40, bob 33
    send(backend, "q", "alice", 2)
    send(backend, "q", "bob", 2)
    assert tenants(backend.receive_message("q", 10, 0, 300)) == ["bob", "bob", "alice", "alice"]


def test_nothing_is_dropped_and_deletes_leave_the_rest(backend: models.SQSBackend) -> None:
    backend.create_queue("q", VisibilityTimeout="300")
    for i in range(30):
        send(backend, "q", f"t{i % 7}")
    seen = 0
    while batch := backend.receive_message("q", 3, 0, 300):
        seen += len(batch)
        for message in batch:
            backend.delete_message("q", handle(message))
    assert seen == 30
    assert not backend.get_queue("q")._messages
    assert not index_of(backend, "q").tenants and not index_of(backend, "q").handles


def test_a_delayed_message_waits_and_a_deleted_one_is_gone(backend: models.SQSBackend) -> None:
    backend.create_queue("q", VisibilityTimeout="300")
    send(backend, "q", "alice", delay=60)
    send(backend, "q", "bob")
    (message,) = backend.receive_message("q", 10, 0, 300)
    assert tenants([message]) == ["bob"]
    backend.delete_message("q", handle(message))
    backend.delete_message("q", handle(message))  # again: a no-op, as in SQS
    with pytest.raises(ReceiptHandleIsInvalid):
        backend.delete_message("q", "not-a-receipt-handle")
    queue = backend.get_queue("q")
    assert (queue.approximate_number_of_messages, queue.approximate_number_of_messages_delayed) == (0, 1)


def test_messages_past_max_receive_count_go_to_the_dlq_and_do_not_hide_the_rest(
    backend: models.SQSBackend,
) -> None:
    dlq = backend.create_queue("dlq")
    redrive = json.dumps({"deadLetterTargetArn": dlq.queue_arn, "maxReceiveCount": 1})
    backend.create_queue("q", VisibilityTimeout="0", RedrivePolicy=redrive)
    send(backend, "q", "alice", 13)
    assert len(backend.receive_message("q", 10, 0, 0)) == 10  # received once, visible again at once
    # ten messages due for the DLQ come first: one receive moves them and still delivers one
    (delivered,) = backend.receive_message("q", 1, 0, 0)
    assert delivered.approximate_receive_count == 1
    assert len(dlq._messages) == 10
    assert len(backend.get_queue("q")._messages) == 3


def test_queue_attributes_are_moto_s_values(backend: models.SQSBackend) -> None:
    dlq = backend.create_queue("dlq")
    redrive = json.dumps({"deadLetterTargetArn": dlq.queue_arn, "maxReceiveCount": 3})
    backend.create_queue("q", VisibilityTimeout="300", RedrivePolicy=redrive)
    send(backend, "q", "alice", 3)
    send(backend, "q", "bob", 2, delay=60)
    backend.receive_message("q", 1, 0, 300)
    queue = backend.get_queue("q")
    attributes = backend.get_queue_attributes("q", ["All"])
    assert dict(attributes) == _moto_attributes(queue)
    assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"]) == (2, 1)
    assert attributes["ApproximateNumberOfMessagesDelayed"] == 2
    assert json.loads(attributes["RedrivePolicy"])["maxReceiveCount"] == 3
    assert backend.get_queue_attributes("q", ["MessageRetentionPeriod"]) == {"MessageRetentionPeriod": 345600}


def _moto_attributes(queue: Any) -> dict[str, Any]:
    """moto's own Queue.attributes (the dict it builds), over the same counts."""
    from moto.core.utils import camelcase_to_underscores

    names = queue.BASE_ATTRIBUTES + (queue.FIFO_ATTRIBUTES if queue.fifo_queue else [])
    result = {name: getattr(queue, camelcase_to_underscores(name)) for name in names}
    if queue.redrive_policy:
        result["RedrivePolicy"] = json.dumps(queue.redrive_policy)
    return {k: str(v).lower() if isinstance(v, bool) else v for k, v in result.items()}


# ---- the same order as the scan it replaces ---------------------------------------------


def _reference_order(messages: list[Any], now_ms: float, busy: dict[str, float]) -> list[Any]:
    """The fair order as fair_sqs computed it before issue 13: a scan and a sort of every message."""
    by_tenant: dict[str, list[Any]] = defaultdict(list)
    in_flight: dict[str, int] = defaultdict(int)
    for message in messages:
        tenant = fair_sqs.tenant_of(message)
        if message.visible_at < now_ms and message.delayed_until <= now_ms:
            by_tenant[tenant].append(message)
        elif message.approximate_receive_count:
            in_flight[tenant] += 1
    if len(by_tenant) <= 1:
        return [m for group in by_tenant.values() for m in group]
    total_in_flight, total_busy = sum(in_flight.values()), sum(busy.values())

    def noisy(t: str) -> bool:
        return fair_sqs._noisy(in_flight[t], total_in_flight, busy.get(t, 0.0), total_busy)

    quiet = [t for t in by_tenant if not noisy(t)]
    loud = sorted((t for t in by_tenant if noisy(t)), key=lambda t: (in_flight[t], busy.get(t, 0.0)))
    ordered = sorted((m for t in quiet for m in by_tenant[t]), key=lambda m: m.sent_timestamp or 0)
    for tenant in loud:
        ordered.extend(by_tenant[tenant])
    return ordered


def test_the_window_is_the_start_of_the_full_fair_order(backend: models.SQSBackend) -> None:
    rng = random.Random(13)  # noqa: S311 - a reproducible mix of operations
    backend.create_queue("q", VisibilityTimeout="300")
    queue = backend.get_queue("q")
    names = [f"t{i}" for i in range(6)] + ["loud"]
    for step in range(400):
        roll = rng.random()
        if roll < 0.55:
            tenant = "loud" if rng.random() < 0.5 else rng.choice(names)
            send(backend, "q", tenant, rng.randint(1, 4), delay=rng.choice([0, 0, 0, 30]))
        elif roll < 0.85:
            for message in backend.receive_message("q", rng.randint(1, 10), 0, 300):
                if rng.random() < 0.4:
                    backend.delete_message("q", handle(message))
        else:
            send(backend, "q", None)  # no group: a tenant of its own
        now_ms = time.time() * 1000
        busy = {name: rng.choice([0.0, 1.0, 5.0]) for name in names}
        window = fair_sqs._messages_of(queue).tenant_index.fair_window(now_ms, busy, 10, None)
        assert window == _reference_order(list(queue._messages), now_ms, busy)[:10], f"step {step}"


# ---- costs that do not grow with the depth ---------------------------------------------


class _PassCounter:
    """Counts full passes over a queue's message list (moto's scans, or ours)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.passes = 0
        original = fair_sqs._Messages.__iter__

        def counted(messages: fair_sqs._Messages) -> Iterator[Any]:
            self.passes += 1
            return original(messages)

        monkeypatch.setattr(fair_sqs._Messages, "__iter__", counted)


def _work_of_a_busy_minute(backend: models.SQSBackend, depth: int, counter: _PassCounter) -> tuple[int, int]:
    """Messages looked at and full passes made by 20 sends, 20 receives and their deletes, in a
    queue holding `depth` messages of 50 tenants (as the low lane works on a backlog)."""
    name = f"q{depth}"
    backend.create_queue(name, VisibilityTimeout="300")
    for i in range(depth):
        send(backend, name, f"owner-{i % 50}")
    index = index_of(backend, name)
    examined, counter.passes = index.examined, 0
    for i in range(20):
        send(backend, name, f"owner-{i % 50}")
        for message in backend.receive_message(name, 2, 0, 300):
            backend.delete_message(name, handle(message))
    return index.examined - examined, counter.passes


def test_send_receive_and_delete_do_not_scan_the_backlog(
    backend: models.SQSBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = _PassCounter(monkeypatch)
    shallow = _work_of_a_busy_minute(backend, 1_000, counter)
    deep = _work_of_a_busy_minute(backend, 10_000, counter)
    assert deep == shallow, f"depth 1,000: {shallow}, depth 10,000: {deep} (messages looked at, full passes)"
    assert deep[1] == 0  # no full pass over the queue at all
    assert deep[0] <= 20 * 50 * 2  # each receive looks at about one message per tenant
