"""Defaults for when no limiter, budget or video search is configured: allow everything."""

from __future__ import annotations

from flowgen.content import VideoBlock
from flowgen.records import Priority


class NoRateLimit:
    def acquire(self, priority: Priority, tokens: int, *, reserve_share: float = 1.0) -> float:
        return 0.0

    def settle(self, estimated: int, actual: int) -> None:
        pass


class NoBudget:
    def reserve(self, owner_id: str, course_id: str, tokens: int, *, tier: str = "free") -> str | None:
        return None

    def settle(self, owner_id: str, course_id: str, estimated: int, actual: int) -> None:
        pass


class NoVideos:
    def find(self, query: str) -> VideoBlock | None:
        return None
