"""Tunable numbers of the domain, filled from each function's settings."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    lookahead: int = 2  # lessons after an opened one that are prefetched at low priority
    initial_lessons: int = 2  # lessons prefetched when an outline is ready
    poll_seconds: int = 2  # Retry-After for a lesson that is not ready yet
    lease_seconds: int = 120  # >= the worker timeout, < the queue's visibility timeout
    max_receive_count: int = 3  # the queue's redrive maxReceiveCount
    page_size: int = 20
    stuck_after_seconds: int = 300
    outline_token_estimate: int = 2_000  # reserved against budgets and the limiter before a call
    lesson_token_estimate: int = 3_000
