"""An overall deadline for a blocking call, taken from the invocation's remaining time.

The openai client's timeout applies to each read, so a server trickling a byte a second can
keep a call alive for ever. The call runs in a daemon thread; past the deadline the caller
gets a ModelError and moves on (releases its claim, commits nothing). The abandoned thread
ends with the invocation: Lambda freezes or kills it, and its result is never read.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from dataclasses import dataclass

from flowgen.errors import ModelError

LEASE_MARGIN_SECONDS = 30.0  # a lease outlives its invocation's deadline by this much
COMMIT_RESERVE_SECONDS = 10.0  # kept back from the model call for the commit and its writes


@dataclass(frozen=True)
class Attempt:
    """One delivery of a job: which receive it is and how long its invocation may still run."""

    receive_count: int
    remaining_seconds: float

    @property
    def lease_seconds(self) -> float:
        """Lambda kills the invocation at its timeout, so a lease need not outlive it by much."""
        return self.remaining_seconds + LEASE_MARGIN_SECONDS

    @property
    def call_seconds(self) -> float:
        """Time the model call may take: the rest, less a reserve to commit or release."""
        reserve = min(COMMIT_RESERVE_SECONDS, self.remaining_seconds / 10)
        return self.remaining_seconds - reserve


def call_with_deadline[T](fn: Callable[[], T], seconds: float) -> T:
    """`fn()`, or ModelError once `seconds` have passed without an answer."""
    if seconds <= 0:
        raise ModelError("no time left in this invocation for a model call")
    outcome: list[T] = []
    failure: list[BaseException] = []
    done = threading.Event()
    context = contextvars.copy_context()

    def run() -> None:
        try:
            outcome.append(context.run(fn))
        except BaseException as exc:  # handed to the caller's thread below
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name="model-call", daemon=True).start()
    if not done.wait(seconds):
        raise ModelError(f"model call still running at the invocation's deadline ({seconds:.1f}s)")
    if failure:
        raise failure[0]
    return outcome[0]
