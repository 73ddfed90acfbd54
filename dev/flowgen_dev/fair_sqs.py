"""moto's SQS server with Amazon SQS fair queues, which moto does not model.

The rule followed, from the AWS documentation ("How Amazon SQS fair queues work"):
- a tenant is a MessageGroupId; a message without one is a tenant of its own;
- a tenant is a noisy neighbour when its in-flight messages are more than 10 % of the queue's
  in-flight messages and at least 30, or when its share of the consumers' recent processing
  time is more than 10 % (here: the in-flight seconds of the last 60 s, by tenant);
- while quiet tenants have visible messages, a receive returns theirs first (oldest first);
  noisy tenants' messages follow, the noisy tenant with the fewest in-flight messages first;
- nothing is dropped or throttled: with no quiet message waiting, noisy messages flow as usual.

Run as `python -m flowgen_dev.fair_sqs -H 127.0.0.1 -p PORT` (moto.server's arguments). The
visible-message scan reads the clock once per receive instead of twice per message, which also
keeps a receive cheap behind a deep backlog.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import defaultdict, deque
from typing import Any

WINDOW_SECONDS = 60.0
SHARE = 0.10
MIN_IN_FLIGHT = 30


class _Usage:
    """Per queue: when each tenant's messages were received and finished, for the last minute."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: dict[str, tuple[str, float]] = {}  # message id -> (tenant, received at)
        self.finished: deque[tuple[str, float, float]] = deque()  # (tenant, received at, done at)

    def busy_seconds(self, now: float) -> dict[str, float]:
        since = now - WINDOW_SECONDS
        totals: dict[str, float] = defaultdict(float)
        with self.lock:
            while self.finished and self.finished[0][2] < since:
                self.finished.popleft()
            spans = [*self.finished, *((t, s, now) for t, s in self.started.values())]
        for tenant, start, end in spans:
            totals[tenant] += max(0.0, end - max(start, since))
        return totals


_usage: dict[int, _Usage] = defaultdict(_Usage)


def tenant_of(message: Any) -> str:
    return str(message.group_id) if message.group_id else f"message:{message.id}"


def fair_order(queue: Any) -> list[Any]:
    """The queue's visible messages in the order a fair queue delivers them."""
    now_ms = time.time() * 1000
    by_tenant: dict[str, list[Any]] = defaultdict(list)
    in_flight: dict[str, int] = defaultdict(int)
    for message in queue._messages:
        tenant = tenant_of(message)
        if message.visible_at < now_ms and message.delayed_until <= now_ms:
            by_tenant[tenant].append(message)
        elif message.approximate_receive_count:
            in_flight[tenant] += 1
    if len(by_tenant) <= 1 or queue.fifo_queue:
        return [m for messages in by_tenant.values() for m in messages]
    total_in_flight = sum(in_flight.values())
    busy = _usage[id(queue)].busy_seconds(now_ms / 1000)
    total_busy = sum(busy.values())

    def noisy(tenant: str) -> bool:
        crowded = in_flight[tenant] >= MIN_IN_FLIGHT and in_flight[tenant] > SHARE * total_in_flight
        slow = total_busy > 0 and busy.get(tenant, 0.0) > SHARE * total_busy
        return crowded or slow

    quiet = [t for t in by_tenant if not noisy(t)]
    loud = sorted((t for t in by_tenant if noisy(t)), key=lambda t: (in_flight[t], busy.get(t, 0.0)))
    ordered = sorted((m for t in quiet for m in by_tenant[t]), key=lambda m: m.sent_timestamp or 0)
    for tenant in loud:
        ordered.extend(by_tenant[tenant])
    return ordered


def install() -> None:
    from moto.sqs import models

    models.Queue.messages = property(fair_order)  # type: ignore[assignment,method-assign]
    receive = models.SQSBackend.receive_message
    delete = models.Queue.delete_message

    def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> list[Any]:
        result = receive(self, queue_name, *args, **kwargs)
        usage = _usage[id(self.get_queue(queue_name))]
        now = time.time()
        with usage.lock:
            for message in result:
                usage.started[message.id] = (tenant_of(message), now)
        return list(result)

    def delete_message(self: Any, receipt_handle: str) -> None:
        found = next((m for m in self._messages if m.had_receipt_handle(receipt_handle)), None)
        delete(self, receipt_handle)
        if found is not None:
            usage = _usage[id(self)]
            with usage.lock:
                started = usage.started.pop(found.id, None)
                if started:
                    usage.finished.append((started[0], started[1], time.time()))

    models.SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
    models.Queue.delete_message = delete_message  # type: ignore[method-assign]


def main() -> None:
    install()
    from moto.server import main as moto_main

    moto_main(sys.argv[1:])


if __name__ == "__main__":
    main()
