"""An SQS event source mapping, run the way Lambda runs it: receive a batch (waiting up to the
batching window to fill it), invoke the function, delete what succeeded, leave the rest to
reappear after the visibility timeout (SQS redrives a message to its DLQ after
maxReceiveCount receives). Receiving and deleting use the function's own role, as the
mapping does in AWS."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from flowgen_local.lambda_pool import FunctionPool, InvocationError
from flowgen_local.queues import LocalQueue
from flowgen_local.runtime import sqs_event
from flowgen_local.template import EventSource, FunctionSpec


@dataclass(frozen=True)
class BatchResult:
    received: int
    failed: int
    error: str | None = None


class EventSourceRunner:
    def __init__(
        self, spec: EventSource, function: FunctionSpec, pool: FunctionPool, sqs: Any, queue: LocalQueue
    ) -> None:
        self.spec = spec
        self.function = function
        self.pool = pool
        self.sqs = sqs
        self.queue = queue
        self.invocations = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # One idle poller at a time: see _loop.
        self._receiving = threading.Lock()

    def receive(self, wait_seconds: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue.url,
            MaxNumberOfMessages=max(1, min(limit or self.spec.batch_size, self.spec.batch_size, 10)),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def receive_batch(self, wait_seconds: int = 1) -> list[dict[str, Any]]:
        """Up to BatchSize messages: the first receive long-polls; while the batch is not full,
        more are received until MaximumBatchingWindowInSeconds has passed. Every message received
        is in the batch: none is received and then dropped."""
        messages = self.receive(wait_seconds)
        window_ends = time.monotonic() + self.spec.batching_window
        while messages and len(messages) < self.spec.batch_size and not self._stop.is_set():
            remaining = window_ends - time.monotonic()
            if remaining <= 0:
                break
            more = self.receive(min(int(remaining), 20), limit=self.spec.batch_size - len(messages))
            if not more:
                self._stop.wait(min(remaining, 0.1))
            messages += more
        return messages

    def poll_once(self, wait_seconds: int = 0) -> BatchResult | None:
        messages = self.receive(wait_seconds)
        return self.process(messages) if messages else None

    def process(self, messages: list[dict[str, Any]]) -> BatchResult:
        self.invocations += 1
        try:
            result = self.pool.invoke(sqs_event(messages, self.queue.arn))
        except InvocationError as exc:  # the whole batch fails: an error, a crash or a timeout
            return BatchResult(len(messages), len(messages), str(exc))
        failed_ids: set[str] = set()
        if self.spec.report_item_failures and isinstance(result, dict):
            failed_ids = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed_ids]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        return BatchResult(len(messages), len(failed_ids))

    # ---- background polling, at most MaximumConcurrency invocations at once ----------

    def start(self) -> None:
        self._stop.clear()
        self._threads = []
        for i in range(self.spec.max_concurrency):
            thread = threading.Thread(target=self._loop, name=f"poller-{self.spec.name}-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _loop(self) -> None:
        """Up to MaximumConcurrency pollers, taking turns to receive: one long-polls while the
        others wait for the turn, and a poller that received hands the turn on before it invokes.
        A backlog still gets every poller busy within a few receives of each other (a receive of
        messages takes milliseconds), while an idle queue costs one receive a second, not one per
        poller: with every poller long-polling, a running stack's 29 idle pollers cost moto's
        server and the stack's process about 30 requests a second between them (measured: the
        moto server alone at a fifth of a core with three stacks running)."""
        while not self._stop.is_set():
            try:
                with self._receiving:
                    messages = self.receive_batch(wait_seconds=1) if not self._stop.is_set() else []
                if messages and not self._stop.is_set():
                    self.process(messages)
            except Exception:  # keep polling through transient endpoint errors
                self._stop.wait(0.5)

    def signal_stop(self) -> None:
        self._stop.set()

    def stop(self, deadline: float | None = None) -> None:
        """Stops polling; waits for the pollers until `deadline` (monotonic), 5 s by default."""
        self._stop.set()
        deadline = deadline or time.monotonic() + 5
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads) and not self._stop.is_set()
