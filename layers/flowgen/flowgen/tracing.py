"""Powertools' Tracer for the queue workers and the reconciler (see flowgen.observability), built
only where it traces.

Building a Tracer imports the X-Ray SDK, whose recorder builds a botocore X-Ray client for its
sampler at import: about 1.5x `import boto3` of a worker's init (issue 27), paid even when the
Tracer is disabled, where it records nothing. So `tracer` is Powertools' Tracer when Powertools'
own rule says tracing is on (in Lambda, not under SAM local, `POWERTOOLS_TRACE_DISABLED` not set)
and otherwise a stand-in whose `capture_lambda_handler` leaves the handler as it is: what a
disabled Tracer does, less the SDK. Decided once, at import, like the Tracer itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Tracer


class UntracedHandlers:
    """What a disabled Tracer does to a handler (nothing), without importing the X-Ray SDK."""

    disabled = True

    def capture_lambda_handler(
        self,
        lambda_handler: Callable[..., Any] | None = None,
        capture_response: bool | None = None,  # noqa: ARG002 - the Tracer's signature; nothing to capture
        capture_error: bool | None = None,  # noqa: ARG002
    ) -> Callable[..., Any]:
        if lambda_handler is None:  # with options: @tracer.capture_lambda_handler(capture_response=False)
            return lambda handler: handler
        return lambda_handler


def tracing_enabled() -> bool:
    """Powertools' own decision (the environment variable, SAM local, outside Lambda)."""
    return not Tracer._is_tracer_disabled()


tracer: Tracer | UntracedHandlers = Tracer() if tracing_enabled() else UntracedHandlers()
