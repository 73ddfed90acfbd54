"""An overall deadline for a blocking call, taken from the invocation's remaining time.

The openai client's timeout applies to each read, so a server trickling a byte a second can
keep a call alive for ever. The call runs in a daemon thread; past the deadline the caller
gets CallAbandoned and moves on (retries later or gives up, commits nothing). The abandoned call
is told so (`raise_if_abandoned`): the model adapter checks between a stream's chunks and before
a repair call, so it closes its connection and pays for nothing more.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from dataclasses import dataclass

from flowgen.errors import CallAbandoned

_abandoned: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar("abandoned", default=None)

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


def raise_if_abandoned() -> None:
    """In a call run by `call_with_deadline`: CallAbandoned once its caller has given up on it."""
    abandoned = _abandoned.get()
    if abandoned is not None and abandoned.is_set():
        raise CallAbandoned("the caller gave up on this call at its deadline")


def call_with_deadline[T](fn: Callable[[], T], seconds: float) -> T:
    """`fn()`, or CallAbandoned once `seconds` have passed without an answer."""
    if seconds <= 0:
        raise CallAbandoned("no time left in this invocation for a model call")
    outcome: list[T] = []
    failure: list[BaseException] = []
    done, abandoned = threading.Event(), threading.Event()
    context = contextvars.copy_context()
    context.run(_abandoned.set, abandoned)

    def run() -> None:
        try:
            outcome.append(context.run(fn))
        except BaseException as exc:  # handed to the caller's thread below
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name="model-call", daemon=True).start()
    if not done.wait(seconds):
        abandoned.set()
        raise CallAbandoned(f"model call still running at the invocation's deadline ({seconds:.1f}s)")
    if failure:
        raise failure[0]
    return outcome[0]
