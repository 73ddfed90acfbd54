"""moto's SQS server with Amazon SQS fair queues, which moto does not model.

The rule followed, from the AWS documentation ("How Amazon SQS fair queues work"):
- a tenant is a MessageGroupId; a message without one is a tenant of its own;
- a tenant is a noisy neighbour when its in-flight messages are more than 10 % of the queue's
  in-flight messages and at least 30, or when its share of the consumers' recent processing
  time is more than 10 % (here: the in-flight seconds of the last 60 s, by tenant);
- while quiet tenants have visible messages, a receive returns theirs first (oldest first);
  noisy tenants' messages follow, the noisy tenant with the fewest in-flight messages first;
- nothing is dropped or throttled: with no quiet message waiting, noisy messages flow as usual.

Costs that do not grow with the queue's depth (issue 13: a deep backlog slowed every other
queue on the server, opened lessons included). moto keeps a queue's messages in one list and
scans it, often more than once, on every send, receive and delete; behind 10,000 messages a
send cost about 0.1 s and a receive about 0.6 s of the server's one interpreter. Here:
- each queue's list keeps an index beside it (`_Index`): its messages by tenant in send order,
  those received and not yet deleted (for in-flight counts), and every receipt handle;
- a receive looks at each tenant's first visible messages only (`fair_window`): its work grows
  with the tenants, the in-flight messages and the deliveries asked for, not with the backlog;
- a delete finds its message by receipt handle;
- `Queue.attributes` computes an attribute when it is read (moto reads the whole set, three
  full scans included, for each message sent and each message received); only GetQueueAttributes
  asking for the approximate counts scans, once per count.

Run as `python -m flowgen_local.fair_sqs -H 127.0.0.1 -p PORT` (moto.server's arguments).
"""

from __future__ import annotations

import heapq
import itertools
import json
import sys
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, SupportsIndex

WINDOW_SECONDS = 60.0
SHARE = 0.10
MIN_IN_FLIGHT = 30
RECEIVE_WINDOW = 10  # ReceiveMessage returns at most 10 messages


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


def _ready(message: Any, now_ms: float) -> bool:
    return bool(message.visible_at < now_ms and message.delayed_until <= now_ms)


def _noisy(in_flight: int, total_in_flight: int, busy: float, total_busy: float) -> bool:
    crowded = in_flight >= MIN_IN_FLIGHT and in_flight > SHARE * total_in_flight
    slow = total_busy > 0 and busy > SHARE * total_busy
    return crowded or slow


class _Index:
    """A queue's messages by tenant, in send order (each with its position in the queue's list),
    the messages received and still queued, and every receipt handle they were given."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tenants: dict[str, dict[str, tuple[int, Any]]] = {}  # tenant -> message id -> (seq, message)
        self.received: dict[str, Any] = {}  # message id -> message: received at least once, still queued
        self.handles: dict[str, Any] = {}  # receipt handle -> message
        self._seq = itertools.count()
        self.examined = 0  # messages a receive looked at, all told (tests count work with it)

    def add(self, message: Any) -> None:
        with self.lock:
            self.tenants.setdefault(tenant_of(message), {})[message.id] = (next(self._seq), message)
            if message.approximate_receive_count:
                self.note_received(message)

    def discard(self, message: Any) -> None:
        with self.lock:
            tenant = tenant_of(message)
            queued = self.tenants.get(tenant)
            if queued is None or queued.pop(message.id, None) is None:
                return
            if not queued:
                del self.tenants[tenant]
            self.received.pop(message.id, None)
            for handle in message.all_receipt_handles:
                self.handles.pop(handle, None)

    def note_received(self, message: Any) -> None:
        with self.lock:
            self.received[message.id] = message
            for handle in message.all_receipt_handles:
                if handle:
                    self.handles[handle] = message

    def queued(self, message_id: str, tenant: str) -> Any | None:
        with self.lock:
            entry = self.tenants.get(tenant, {}).get(message_id)
            return entry[1] if entry else None

    def fair_window(self, now_ms: float, busy: dict[str, float], limit: int, max_receives: int | None) -> list[Any]:
        """The first visible messages in fair order: enough for `limit` deliveries (a message
        moto will move to the DLQ instead, `max_receives` receives or more, does not count)."""
        with self.lock:
            in_flight = Counter(tenant_of(m) for m in self.received.values() if not _ready(m, now_ms))
            total_in_flight, total_busy = sum(in_flight.values()), sum(busy.values())
            quiet: list[Iterator[tuple[Any, ...]]] = []
            loud: list[tuple[tuple[float, float, int], Iterator[tuple[Any, ...]]]] = []
            for tenant, queued in self.tenants.items():
                visible = self._visible(queued.values(), now_ms)
                first = next(visible, None)
                if first is None:
                    continue
                rank = first[0]  # the tenant's first visible message's place in the list
                keyed = _keyed(rank, itertools.chain([first], visible))
                if _noisy(in_flight[tenant], total_in_flight, busy.get(tenant, 0.0), total_busy):
                    loud.append(((in_flight[tenant], busy.get(tenant, 0.0), rank), keyed))
                else:
                    quiet.append(keyed)
            ordered = itertools.chain(
                heapq.merge(*quiet), *(stream for _, stream in sorted(loud, key=lambda entry: entry[0]))
            )
            window: list[Any] = []
            deliverable = 0
            for *_, message in ordered:
                window.append(message)
                if max_receives is None or message.approximate_receive_count < max_receives:
                    deliverable += 1
                    if deliverable >= limit:
                        break
            return window

    def _visible(self, entries: Iterable[tuple[int, Any]], now_ms: float) -> Iterator[tuple[int, Any]]:
        for seq, message in entries:
            self.examined += 1
            if _ready(message, now_ms):
                yield seq, message


def _keyed(rank: int, visible: Iterable[tuple[int, Any]]) -> Iterator[tuple[Any, ...]]:
    """A tenant's visible messages as (sent, tenant's rank, place in the list, message): merged
    across tenants, the order of a stable sort by sent time over the tenants taken in rank order."""
    for seq, message in visible:
        yield message.sent_timestamp or 0, rank, seq, message


class _Messages(list[Any]):
    """moto's list of a queue's messages (appended, removed and replaced by moto as before),
    keeping the queue's `_Index` up to date."""

    def __init__(self, messages: Iterable[Any] = ()) -> None:
        super().__init__(messages)
        self.tenant_index = _Index()
        for message in self:
            self.tenant_index.add(message)

    def append(self, message: Any) -> None:
        super().append(message)
        self.tenant_index.add(message)

    def remove(self, message: Any) -> None:
        super().remove(message)
        self.tenant_index.discard(message)

    # moto does not change the list in other ways; if it ever does, the index is built again

    def _rebuild(self) -> None:
        index = _Index()
        for message in self:
            index.add(message)
        self.tenant_index = index

    def clear(self) -> None:
        super().clear()
        self._rebuild()

    def extend(self, messages: Iterable[Any]) -> None:
        super().extend(messages)
        self._rebuild()

    def insert(self, position: SupportsIndex, message: Any) -> None:
        super().insert(position, message)
        self._rebuild()

    def pop(self, position: SupportsIndex = -1) -> Any:
        message = super().pop(position)
        self._rebuild()
        return message


def _messages_of(queue: Any) -> _Messages:
    return queue.__dict__["_indexed_messages"]  # type: ignore[no-any-return]


def _set_messages(queue: Any, messages: Iterable[Any]) -> None:
    queue.__dict__["_indexed_messages"] = messages if isinstance(messages, _Messages) else _Messages(messages)


def _max_receives(queue: Any) -> int | None:
    if queue.dead_letter_queue is None or not queue.redrive_policy:
        return None
    return int(queue.redrive_policy["maxReceiveCount"])


def fair_order(queue: Any) -> list[Any]:
    """The first of the queue's visible messages in the order a fair queue delivers them: as
    many as one receive can use (FIFO queues: all of them, grouped by tenant, as before)."""
    now_ms = time.time() * 1000
    if queue.fifo_queue:
        return _scan_order(queue, now_ms)
    busy = _usage[id(queue)].busy_seconds(now_ms / 1000)
    return _messages_of(queue).tenant_index.fair_window(now_ms, busy, RECEIVE_WINDOW, _max_receives(queue))


def _scan_order(queue: Any, now_ms: float) -> list[Any]:
    by_tenant: dict[str, list[Any]] = defaultdict(list)
    for message in queue._messages:
        if _ready(message, now_ms):
            by_tenant[tenant_of(message)].append(message)
    return [m for messages in by_tenant.values() for m in messages]


class _Attributes(Mapping[str, Any]):
    """moto's `Queue.attributes`, each value computed when read (the same values)."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue
        names = list(queue.BASE_ATTRIBUTES)
        if queue.fifo_queue:
            names += queue.FIFO_ATTRIBUTES
        if queue.kms_master_key_id:
            names += queue.KMS_ATTRIBUTES
        self._names = names

    def __getitem__(self, name: str) -> Any:
        if name not in self._names:
            raise KeyError(name)
        from moto.core.utils import camelcase_to_underscores

        queue = self._queue
        if name == "RedrivePolicy" and queue.redrive_policy:
            return json.dumps(queue.redrive_policy)
        value = getattr(queue, camelcase_to_underscores(name))
        return str(value).lower() if isinstance(value, bool) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _count(queue: Any, state: str) -> int:
    """One pass and one clock reading for an approximate count (moto reads the clock per message)."""
    now_ms = time.time() * 1000
    messages = list(queue._messages)
    if state == "visible":
        return sum(1 for m in messages if _ready(m, now_ms))
    if state == "delayed":
        return sum(1 for m in messages if m.delayed_until > now_ms)
    return sum(1 for m in messages if m.visible_at >= now_ms)  # not visible


def install() -> None:
    """Patches moto's SQS models in this process (once)."""
    from moto.sqs import models

    queue_class: Any = models.Queue
    if vars(queue_class).get("_fair_sqs_installed"):
        return
    queue_class._fair_sqs_installed = True
    queue_class._messages = property(_messages_of, _set_messages)
    queue_class.messages = property(fair_order)
    queue_class.attributes = property(_Attributes)
    queue_class.approximate_number_of_messages = property(lambda q: _count(q, "visible"))
    queue_class.approximate_number_of_messages_delayed = property(lambda q: _count(q, "delayed"))
    queue_class.approximate_number_of_messages_not_visible = property(lambda q: _count(q, "in flight"))
    receive = models.SQSBackend.receive_message
    delete = models.Queue.delete_message

    def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> list[Any]:
        result = receive(self, queue_name, *args, **kwargs)
        queue = self.get_queue(queue_name)
        index = _messages_of(queue).tenant_index
        usage = _usage[id(queue)]
        now = time.time()
        for copy in result:  # moto returns copies: the index keeps the queued message
            queued = index.queued(copy.id, tenant_of(copy))
            if queued is not None:
                index.note_received(queued)
        with usage.lock:
            for message in result:
                usage.started[message.id] = (tenant_of(message), now)
        return list(result)

    def delete_message(self: Any, receipt_handle: str) -> None:
        messages = _messages_of(self)
        found = messages.tenant_index.handles.get(receipt_handle)
        if found is None or receipt_handle in self.deleted_messages:
            # moto's way (a scan): a handle deleted before is a no-op, an unknown one an error
            found = next((m for m in messages if m.had_receipt_handle(receipt_handle)), None)
            delete(self, receipt_handle)
        else:
            self.pending_messages.discard(found)
            self.deleted_messages.update(found.all_receipt_handles)
            messages.remove(found)
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
    from flowgen_local import s3_post

    s3_post.install()  # browser POST uploads checked as S3 checks them (issue 24)
    from moto.server import main as moto_main

    moto_main(sys.argv[1:])


if __name__ == "__main__":
    main()
