"""One deadline for everything an invocation asks of its clients.

A Lambda function that runs past its timeout is killed mid-request, and API Gateway answers a
500 nobody wrote. So the api sets a deadline well inside its timeout (`invocation_deadline`):
every MongoDB operation in it is bounded by pymongo's client-side timeout, and a queue send is
bounded by what is left (`bounded_call`), so a stalled dependency ends in our own fallback (the
intent is kept for the reconciler) or in a 503 with Retry-After, never in the function's death.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("invocation_deadline", default=None)


@contextmanager
def invocation_deadline(seconds: float) -> Iterator[None]:
    """Everything the block asks of MongoDB, and of the queues, ends within `seconds`."""
    import pymongo

    token = _deadline.set(time.monotonic() + seconds)
    try:
        with pymongo.timeout(max(seconds, 0.001)):
            yield
    finally:
        _deadline.reset(token)


def remaining(default: float) -> float:
    """Seconds left of the current invocation's deadline (`default` outside one)."""
    deadline = _deadline.get()
    return default if deadline is None else max(0.0, deadline - time.monotonic())


def bounded_call[T](fn: Callable[[], T], seconds: float) -> T:
    """`fn()`, or TimeoutError once `seconds` have passed; the call is left to finish in a daemon
    thread (a client call cannot be cancelled), its result unread."""
    if seconds <= 0:
        raise TimeoutError("no time left for this call")
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

    threading.Thread(target=run, name="bounded-call", daemon=True).start()
    if not done.wait(seconds):
        raise TimeoutError(f"no answer within {seconds:.1f}s")
    if failure:
        raise failure[0]
    return outcome[0]
