"""An SQS event source mapping, run the way Lambda runs it: receive a batch, invoke the
function, delete what succeeded, leave the rest to reappear after the visibility timeout
(SQS itself redrives a message to its DLQ after maxReceiveCount receives)."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from flowgen_dev.queues import LocalQueue
from flowgen_dev.runtime import Handler, LambdaContext, sqs_event
from flowgen_dev.template import EventSource, FunctionSpec


@dataclass(frozen=True)
class BatchResult:
    received: int
    failed: int
    error: str | None = None


class EventSourceRunner:
    def __init__(
        self, spec: EventSource, function: FunctionSpec, handler: Handler, sqs: Any, queue: LocalQueue
    ) -> None:
        self.spec = spec
        self.function = function
        self.handler = handler
        self.sqs = sqs
        self.queue = queue
        self.invocations = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pool = ThreadPoolExecutor(max_workers=spec.max_concurrency, thread_name_prefix=f"fn-{spec.name}")

    def receive(self, wait_seconds: int = 0) -> list[dict]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue.url,
            MaxNumberOfMessages=min(self.spec.batch_size, 10),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        )
        return response.get("Messages", [])

    def poll_once(self, wait_seconds: int = 0) -> BatchResult | None:
        messages = self.receive(wait_seconds)
        return self.process(messages) if messages else None

    def process(self, messages: list[dict]) -> BatchResult:
        event = sqs_event(messages, self.queue.arn)
        self.invocations += 1
        future: Future = self._pool.submit(
            self.handler, event, LambdaContext(self.function.name, self.function.timeout)
        )
        try:
            result = future.result(timeout=self.function.timeout)
        except FutureTimeout:
            return BatchResult(len(messages), len(messages), f"timed out after {self.function.timeout}s")
        except Exception as exc:  # the whole batch fails, as when a Lambda raises
            return BatchResult(len(messages), len(messages), f"{type(exc).__name__}: {exc}")
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
        for i in range(self.spec.max_concurrency):
            thread = threading.Thread(target=self._loop, name=f"poller-{self.spec.name}-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self.receive(wait_seconds=1)
                if messages and self.spec.batching_window and len(messages) < self.spec.batch_size:
                    self._stop.wait(self.spec.batching_window)
                    messages += self.receive(wait_seconds=0)[: self.spec.batch_size - len(messages)]
                if messages and not self._stop.is_set():
                    self.process(messages)
            except Exception:  # keep polling through transient endpoint errors
                self._stop.wait(0.5)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)
