"""The discrete-event model of the deployed system (SimPy).

What it follows, step by step, as the code and AWS do it:
- the API records a course and sends its job; opening a lesson that is not generated sends a
  high-priority job (deduped: once per lesson) and prefetches the next `lookahead` pending
  lessons at low priority; the course worker's outline prefetches `initial_lessons`;
- each queue is drained by its event source mapping: batches of up to `BatchSize` (waiting up to
  the batching window for a full batch), at most `MaximumConcurrency` invocations, and no more
  than the pollers have scaled to (5 at first, up to 300 more a minute while messages wait; back
  to 5 when the queue is empty); every invocation also needs one of the account's concurrency;
- a worker handles its batch's records one after another: a record whose lesson is already
  generated or claimed is skipped; otherwise it claims it, asks the rate limiter (deferring the
  job by re-sending it with a delay when limited, longer and jittered with each deferral of the
  job, as `flowgen.scheduling.deferral_delay` does), calls the model and commits;
- a failed call (an error, or a latency past the model timeout) leaves the message to reappear
  after the visibility timeout; the last receive marks the record FAILED; an invocation that
  outlives the function's timeout fails its whole batch;
- users arrive as a Poisson process at the peak hour's rate and read lessons one after another,
  polling every `poll_seconds` until the one they opened is ready.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import simpy

from flowgen_capacity.config import Lane
from flowgen_capacity.entities import (
    FAILED,
    GENERATED,
    GENERATING,
    PENDING,
    Course,
    Lesson,
    Message,
    Proc,
    Sample,
)
from flowgen_capacity.lanes import Account, EventSource, Function
from flowgen_capacity.limiter import RateLimiter
from flowgen_capacity.scenario import Scenario

MAX_DELAY_SECONDS = 900
DEFERRAL_GROWTH = {False: 4.0, True: 1.0}  # low, high: as flowgen.scheduling.DEFERRAL_GROWTH
DEFERRAL_JITTER = {False: (0.5, 1.5), True: (1.0, 1.0)}


def deferral_delay(wait: float, deferrals: int, high: bool, uniform: Callable[[float, float], float]) -> float:
    """flowgen.scheduling.deferral_delay (a test holds the two equal)."""
    grown = max(wait, 1.0) * DEFERRAL_GROWTH[high] ** max(0, deferrals)
    return float(min(MAX_DELAY_SECONDS, max(wait, grown * uniform(*DEFERRAL_JITTER[high]))))


@dataclass
class Counters:
    model_calls: int = 0
    outline_calls: int = 0
    lesson_calls: int = 0
    failed_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    deferrals_high: int = 0
    deferrals_low: int = 0
    resends_per_deferred_job: list[int] = field(default_factory=list)  # when it ran (or was skipped)
    api_requests: int = 0
    authorizer_invocations: int = 0
    sessions: int = 0
    calls_per_minute: dict[int, int] = field(default_factory=dict)
    tokens_per_minute: dict[int, int] = field(default_factory=dict)
    api_per_second: dict[int, int] = field(default_factory=dict)


class Simulation:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.env = simpy.Environment()
        self.rng = random.Random(scenario.seed)
        self.jitter = random.Random(scenario.seed + 1)  # the deferrals' own: the users' draws stay as they were
        s = scenario.system
        self.limiter = RateLimiter(s.requests_per_minute, s.tokens_per_minute, s.high_reserve)
        self.account = Account(self, scenario.platform.account_concurrency)
        self.lanes: dict[str, EventSource] = {}
        for lane in (s.course, s.high, s.low):
            self.lanes[lane.queue] = EventSource(self, lane)
        self.functions = {name: Function(mb) for name, mb in s.memory_mb.items()}
        for lane in (s.course, s.high, s.low):
            self.functions.setdefault(lane.function, Function(512))
        self.counters = Counters()
        self.lesson_samples: list[Sample] = []
        self.outline_samples: list[Sample] = []
        self.end = scenario.warmup + scenario.duration
        self.waiting: dict[int, tuple[float, Sample, Lesson]] = {}  # opened lessons not ready yet
        self.outstanding = 0  # lessons asked for (a job sent) and not generated or failed yet
        self.outstanding_at: dict[str, int] = {}  # at the window's "start" and "end"

    # ---- time --------------------------------------------------------------------------

    def in_window(self, t: float) -> bool:
        return self.scenario.warmup <= t < self.end

    def _minute(self, t: float) -> int:
        return int((t - self.scenario.warmup) // 60)

    # ---- the run ------------------------------------------------------------------------

    def run(self) -> Simulation:
        for source in self.lanes.values():
            self.env.process(source.dispatch())
        self.env.process(self._clock())
        self.env.process(self._arrivals())
        self.env.run(until=self.end + self.scenario.drain)
        self._censor()
        return self

    def _clock(self) -> Proc:
        while True:
            now = self.env.now
            measured = self.in_window(now)
            for source in self.lanes.values():
                source.tick(now, measured)
            if measured:
                self.account.peak = max(self.account.peak, self.account.used)
                self.outstanding_at.setdefault("start", self.outstanding)
            elif now >= self.end:
                self.outstanding_at.setdefault("end", self.outstanding)
            yield self.env.timeout(1.0)

    def _arrivals(self) -> Proc:
        sc = self.scenario
        if sc.sessions is not None:
            for start, new_course in sorted(sc.sessions):
                if start > self.env.now:
                    yield self.env.timeout(start - self.env.now)
                self.env.process(self._session(new_course))
            return
        rate = sc.session_rate
        if rate <= 0:
            return
        while True:
            yield self.env.timeout(self.rng.expovariate(rate))
            if self.env.now >= self.end:
                return
            self.env.process(self._session(self.rng.random() < sc.user.new_course_share))

    def _censor(self) -> None:
        """Opens of the window still waiting at the end: counted as waiting until then."""
        stop = self.env.now
        for opened, sample, lesson in self.waiting.values():
            if not lesson.ready.triggered and self.in_window(opened):
                sample.wait, sample.censored = stop - opened, True
                self.lesson_samples.append(sample)

    # ---- users and the API --------------------------------------------------------------

    def _api(self, t: float, count: int = 1) -> None:
        if self.in_window(t):
            self.counters.api_requests += count
            second = int(t)
            self.counters.api_per_second[second] = self.counters.api_per_second.get(second, 0) + count

    def _seen(self, asked: float, ready: float) -> float:
        """When a client polling every poll_seconds after asking sees a result ready at `ready`."""
        poll = self.scenario.user.poll_seconds
        if ready <= asked or poll <= 0:
            return max(ready, asked)
        polls = math.ceil((ready - asked) / poll - 1e-9)
        for m in range(1, polls + 1):
            self._api(asked + m * poll)
        return asked + polls * poll

    def _session(self, new_course: bool) -> Proc:
        env, um, rng = self.env, self.scenario.user, self.rng
        started = env.now
        measured = self.in_window(started)
        if measured:
            self.counters.sessions += 1
        if new_course:
            course = self._create_course()
            asked = env.now
            yield course.outline
            seen = self._seen(asked, env.now)
            yield env.timeout(max(0.0, seen - env.now))
            if self.in_window(asked):
                self.outline_samples.append(Sample(asked, seen - asked, True, course.status == FAILED))
            self._api(env.now)  # the course view
            if course.status == FAILED:
                return
            yield env.timeout(um.browse_seconds)
            start = 0
        else:
            course, start = self._existing_course()
        for i in range(start, min(course.size, start + um.lessons_in_session(rng))):
            lesson = course.lessons[i]
            opened = env.now
            cold = lesson.status != GENERATED and lesson.status != FAILED
            self._open_lesson(lesson)
            sample = Sample(opened, 0.0, cold)
            if cold:
                self.waiting[id(sample)] = (opened, sample, lesson)
                yield lesson.ready
                del self.waiting[id(sample)]
                seen = self._seen(opened, env.now)
                yield env.timeout(max(0.0, seen - env.now))
                sample.wait, sample.failed = seen - opened, lesson.status == FAILED
            if self.in_window(opened):
                self.lesson_samples.append(sample)
            yield env.timeout(um.reading.sample(rng))
        cache = self.scenario.system.authorizer_cache_seconds
        if measured:
            self.counters.authorizer_invocations += 1 + (int((env.now - started) // cache) if cache > 0 else 0)

    def _new_course(self, size: int) -> Course:
        course = Course(outline=self.env.event(), size=size)
        course.lessons = [Lesson(course=course, index=i, ready=self.env.event()) for i in range(size)]
        return course

    def _create_course(self) -> Course:
        course = self._new_course(self.scenario.user.lessons_per_course)
        self._api(self.env.now)
        self.lanes[self.scenario.system.course.queue].queue.send([Message(course, True, self.env.now)])
        return course

    def _existing_course(self) -> tuple[Course, int]:
        """A course read before: up to some lesson, with the next `lookahead` prefetched then."""
        size = self.scenario.user.lessons_per_course
        course = self._new_course(size)
        course.status = GENERATED
        course.outline.succeed()
        position = self.rng.randint(1, max(1, size - 1))
        for lesson in course.lessons[: position + self.scenario.system.lookahead]:
            lesson.status = GENERATED
            lesson.ready.succeed()
        return course, min(position, size - 1)

    def _open_lesson(self, lesson: Lesson) -> None:
        now, s = self.env.now, self.scenario.system
        self._api(now)
        if lesson.claimable(now) and "high" not in lesson.sent:
            self._requested(lesson)
            lesson.sent.add("high")
            lesson.high = True
            self.lanes[s.high.queue].queue.send([Message(lesson, True, now)])
        course = lesson.course
        ahead = [
            n
            for n in course.lessons[lesson.index + 1 : lesson.index + 1 + s.lookahead]
            if n.status == PENDING and not n.high and "low" not in n.sent
        ]
        self._prefetch(ahead)

    def _requested(self, lesson: Lesson) -> None:
        if not lesson.sent:
            self.outstanding += 1

    def _prefetch(self, lessons: list[Lesson]) -> None:
        if not lessons:
            return
        now = self.env.now
        for lesson in lessons:
            self._requested(lesson)
            lesson.sent.add("low")
        self.lanes[self.scenario.system.low.queue].queue.send([Message(n, False, now) for n in lessons])

    # ---- the workers ---------------------------------------------------------------------

    def handle(self, message: Message, lane: Lane, deadline: float) -> Proc:
        """One record of a batch: "ok" (done, skipped or deferred), "fail" or "timeout"."""
        env, p, s, mp = self.env, self.scenario.platform, self.scenario.system, self.scenario.model
        target = message.target
        yield env.timeout(p.skip_seconds)
        is_course = isinstance(target, Course)
        if isinstance(target, Course):
            if target.status != PENDING:
                self._deferred_done(message)
                return "ok"
            target.status = GENERATING
        elif not target.claimable(env.now):
            self._deferred_done(message)
            return "ok"
        else:
            target.status, target.lease_until = GENERATING, deadline  # the lease ends with the invocation
        estimate = s.outline_estimate if is_course else s.lesson_estimate
        wait = self.limiter.acquire(env.now, message.high, estimate)
        if wait > 0:
            target.status = PENDING
            if self.in_window(env.now):
                if message.high:
                    self.counters.deferrals_high += 1
                else:
                    self.counters.deferrals_low += 1
            delay = deferral_delay(wait, message.deferrals, message.high, self.jitter.uniform)
            again = Message(target, message.high, env.now, deferrals=message.deferrals + 1)
            self.lanes[lane.queue].queue.send([again], delay=max(1, min(MAX_DELAY_SECONDS, math.ceil(delay))))
            return "ok"
        self._deferred_done(message)
        latency = (mp.outline_latency if is_course else mp.lesson_latency).sample(self.rng)
        errored = latency > s.model_timeout or (mp.error_rate > 0 and self.rng.random() < mp.error_rate)
        spent = min(latency, s.model_timeout) + p.record_overhead_seconds
        self._count_call(env.now, is_course)
        if env.now + spent > deadline:
            yield env.timeout(max(0.0, deadline - env.now))
            self.limiter.settle(estimate, 0)
            return "timeout"  # the claim stays leased until it expires
        yield env.timeout(spent)
        final = message.receives >= lane.max_receive_count
        if errored:
            self.limiter.settle(estimate, 0)
            target.status = FAILED if final else PENDING
            if final:
                self._finish(target)
            return "fail"
        tokens_in = mp.outline_input_tokens if is_course else mp.lesson_input_tokens
        tokens_out = mp.outline_output_tokens if is_course else mp.lesson_output_tokens
        self.limiter.settle(estimate, tokens_in + tokens_out)
        self._count_tokens(env.now, tokens_in, tokens_out)
        target.status = GENERATED
        self._finish(target)
        if isinstance(target, Course):
            first = target.lessons[: s.initial_lessons]
            self._prefetch([n for n in first if n.status == PENDING and "low" not in n.sent])
        return "ok"

    def _deferred_done(self, message: Message) -> None:
        """A deferred job taken at last (or found done by another): how often it was re-sent."""
        if message.deferrals and self.in_window(self.env.now):
            self.counters.resends_per_deferred_job.append(message.deferrals)

    def _finish(self, target: Course | Lesson) -> None:
        if isinstance(target, Lesson) and target.sent:
            self.outstanding -= 1
        event = target.outline if isinstance(target, Course) else target.ready
        if not event.triggered:
            event.succeed()

    def _count_call(self, t: float, outline: bool) -> None:
        if not self.in_window(t):
            return
        c = self.counters
        c.model_calls += 1
        if outline:
            c.outline_calls += 1
        else:
            c.lesson_calls += 1
        minute = self._minute(t)
        c.calls_per_minute[minute] = c.calls_per_minute.get(minute, 0) + 1

    def _count_tokens(self, t: float, tokens_in: int, tokens_out: int) -> None:
        if not self.in_window(t):
            return
        c = self.counters
        c.input_tokens += tokens_in
        c.output_tokens += tokens_out
        minute = self._minute(t)
        c.tokens_per_minute[minute] = c.tokens_per_minute.get(minute, 0) + tokens_in + tokens_out


def simulate(scenario: Scenario) -> Simulation:
    return Simulation(scenario).run()
