"""Queues and the event source mappings that drain them, with Lambda's poller scaling, each
mapping's MaximumConcurrency and the account's concurrency."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Protocol

import simpy

from flowgen_capacity.config import Lane
from flowgen_capacity.entities import Message, Proc
from flowgen_capacity.scenario import Scenario


class Simulation(Protocol):
    """What the queues and event sources use of the simulation that runs them."""

    env: simpy.Environment
    scenario: Scenario
    lanes: dict[str, EventSource]
    account: Account
    functions: dict[str, Function]

    def handle(self, message: Message, lane: Lane, deadline: float) -> Proc: ...
    def in_window(self, t: float) -> bool: ...


class Queue:
    def __init__(self, sim: Simulation, lane: Lane) -> None:
        self.sim = sim
        self.lane = lane
        self.visible: deque[Message] = deque()
        self.send_requests = 0
        self.messages_sent = 0
        self.dead_letters = 0
        self.peak_depth = 0
        self.peak_age = 0.0

    def send(self, messages: list[Message], delay: float = 0.0) -> None:
        self.send_requests += math.ceil(len(messages) / 10)
        self.messages_sent += len(messages)
        for message in messages:
            if delay > 0:
                self.sim.env.process(self._later(message, delay))
            else:
                self.push(message)

    def _later(self, message: Message, delay: float) -> Proc:
        yield self.sim.env.timeout(delay)
        self.push(message)

    def push(self, message: Message) -> None:
        self.visible.append(message)
        source = self.sim.lanes[self.lane.queue]
        source.wake()
        for waiting in source.collectors:  # invocations filling a batch within the batching window
            if not waiting.triggered:
                waiting.succeed()
        source.collectors.clear()

    def observe(self, now: float) -> None:
        self.peak_depth = max(self.peak_depth, len(self.visible))
        if self.visible:
            self.peak_age = max(self.peak_age, now - min(m.sent_at for m in list(self.visible)[:50]))


class EventSource:
    """An event source mapping with Lambda's poller scaling and its MaximumConcurrency."""

    def __init__(self, sim: Simulation, lane: Lane) -> None:
        self.sim = sim
        self.lane = lane
        self.queue = Queue(sim, lane)
        p = sim.scenario.platform
        self.cap = min(lane.max_concurrency, p.pollers_max)
        self.initial = min(p.pollers_initial, self.cap)
        self.pollers = float(self.initial)
        self.busy = 0
        self._wake: simpy.Event = sim.env.event()
        self.invocations = 0
        self.receives = 0
        self.deletes = 0
        self.duration = 0.0  # invocation seconds
        self.idle_receives = 0.0
        self.per_minute: dict[int, float] = {}  # busy seconds by minute of the window
        self.saturated_seconds = 0
        self.collectors: list[simpy.Event] = []

    @property
    def limit(self) -> int:
        return min(int(self.pollers), self.lane.max_concurrency)

    def wake(self) -> None:
        if not self._wake.triggered:
            self._wake.succeed()

    def dispatch(self) -> Proc:
        env, account = self.sim.env, self.sim.account
        while True:
            while self.queue.visible and self.busy < self.limit and account.free > 0:
                batch = [
                    self.queue.visible.popleft() for _ in range(min(self.lane.batch_size, len(self.queue.visible)))
                ]
                self.busy += 1
                account.used += 1
                env.process(self.invoke(batch))
            self._wake = env.event()
            yield self._wake

    def tick(self, now: float, measured: bool) -> None:
        """Once a second: scale the pollers, sample the load."""
        step = self.sim.scenario.platform.pollers_per_minute / 60
        if self.queue.visible and self.busy >= self.limit:
            self.pollers = min(float(self.cap), self.pollers + step)
            self.wake()
        elif not self.queue.visible:
            self.pollers = float(max(self.initial, self.busy))
        if measured:
            minute = int((now - self.sim.scenario.warmup) // 60)
            self.per_minute[minute] = self.per_minute.get(minute, 0.0) + self.busy
            if self.queue.visible and self.busy >= self.lane.max_concurrency:
                self.saturated_seconds += 1
            idle = max(0.0, self.pollers - self.busy)
            self.idle_receives += idle * self.sim.scenario.platform.idle_receives_per_poller_minute / 60
            self.queue.observe(now)

    def invoke(self, batch: list[Message]) -> Proc:
        sim, env, p = self.sim, self.sim.env, self.sim.scenario.platform
        started = env.now
        yield env.timeout(p.pickup_seconds)
        window_end = env.now + self.lane.batching_window
        while len(batch) < self.lane.batch_size and env.now < window_end:
            if self.queue.visible:
                batch.append(self.queue.visible.popleft())
                continue
            wake = env.event()
            self.collectors.append(wake)
            yield wake | env.timeout(window_end - env.now)
        for message in batch:
            message.receives += 1
        self.receives += 1
        function = sim.functions[self.lane.function]
        function.running += 1
        if function.running > function.environments:
            function.environments += 1
            yield env.timeout(p.cold_start_seconds)
        deadline = env.now + self.lane.function_timeout
        failed: list[Message] = []
        ok = 0
        for message in batch:
            outcome = yield env.process(sim.handle(message, self.lane, deadline))
            if outcome == "timeout":  # the function timed out: the whole batch comes back
                failed, ok = list(batch), 0
                break
            if outcome == "fail":
                failed.append(message)
            else:
                ok += 1
        function.running -= 1
        self.invocations += 1
        if ok:
            self.deletes += 1
        elapsed = env.now - started
        if sim.in_window(started):
            self.duration += elapsed
            function.gb_seconds += elapsed * function.memory_mb / 1024
            function.invocations += 1
        for message in failed:
            if message.receives >= self.lane.max_receive_count:
                self.queue.dead_letters += 1
            else:
                env.process(self.queue._later(message, self.lane.visibility_timeout))
        self.busy -= 1
        sim.account.release()


@dataclass
class Function:
    memory_mb: int
    running: int = 0
    environments: int = 0
    gb_seconds: float = 0.0
    invocations: int = 0


class Account:
    def __init__(self, sim: Simulation, concurrency: int) -> None:
        self.sim = sim
        self.concurrency = concurrency
        self.used = 0
        self.peak = 0

    @property
    def free(self) -> int:
        return self.concurrency - self.used

    def release(self) -> None:
        self.used -= 1
        for lane in self.sim.lanes.values():
            lane.wake()
