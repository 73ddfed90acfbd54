"""Schedule and ScheduleV2 events, run as EventBridge Scheduler would: the target function is
invoked at the template's rate, the first time when the schedule starts."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

from flowgen_local.lambda_pool import FunctionPool, InvocationError
from flowgen_local.template import Schedule

log = logging.getLogger(__name__)


class ScheduleRunner:
    def __init__(self, schedule: Schedule, function: FunctionPool, period_seconds: float) -> None:
        self.schedule = schedule
        self.function = function
        self.period = period_seconds
        self.runs = 0
        self.results: list[Any] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def event(self) -> dict[str, Any]:
        return {"id": str(uuid.uuid4()), "source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": {}}

    def run_once(self) -> Any:
        self.runs += 1
        try:
            result = self.function.invoke(self.event())
        except InvocationError as exc:
            log.warning("scheduled %s failed: %s", self.schedule.name, exc)
            result = {"error": str(exc)}
        self.results.append(result)
        return result

    def _loop(self) -> None:
        next_run = time.monotonic()
        while not self._stop.is_set():
            self.run_once()
            next_run += self.period
            self._stop.wait(max(0.0, next_run - time.monotonic()))

    def start(self) -> None:
        if self._thread is not None and not self._thread.is_alive():
            self._thread = None
        self._stop.clear()
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=f"schedule-{self.schedule.name}", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
