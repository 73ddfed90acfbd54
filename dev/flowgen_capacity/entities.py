"""The things the simulation moves: courses, lessons, queue messages, and what users waited."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

Proc = Generator[simpy.Event, Any, Any]

PENDING, GENERATING, GENERATED, FAILED = "PENDING", "GENERATING", "GENERATED", "FAILED"


@dataclass
class Lesson:
    course: Course
    index: int
    ready: simpy.Event
    status: str = PENDING
    high: bool = False  # promoted to high priority
    sent: set[str] = field(default_factory=set)  # dedupe keys held: "high", "low"
    lease_until: float = 0.0

    def claimable(self, now: float) -> bool:
        return self.status == PENDING or (self.status == GENERATING and self.lease_until < now)


@dataclass
class Course:
    outline: simpy.Event
    size: int
    status: str = PENDING
    lessons: list[Lesson] = field(default_factory=list)


@dataclass
class Message:
    target: Course | Lesson
    high: bool
    sent_at: float
    receives: int = 0
    deferrals: int = 0  # times the limiter sent this job back (the job carries it, as LessonJob does)


@dataclass
class Sample:
    """One opened lesson (or outline): when it was asked for and how long the user waited."""

    at: float
    wait: float
    cold: bool  # not generated when opened
    failed: bool = False
    censored: bool = False  # still waiting when the simulation stopped
