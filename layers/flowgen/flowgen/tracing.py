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

import os
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


TRUE_WORDS = frozenset({"1", "y", "yes", "t", "true", "on"})


def tracing_enabled() -> bool:
    """Powertools' documented rule, read from the same public environment variables: tracing is off
    when POWERTOOLS_TRACE_DISABLED is true, outside Lambda (no LAMBDA_TASK_ROOT) and under SAM local
    or Chalice's local mode. tests/unit/test_tracing.py holds it to the Tracer's own decision."""
    if os.getenv("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in TRUE_WORDS:
        return False
    in_lambda = bool(os.getenv("LAMBDA_TASK_ROOT"))
    emulated = bool(os.getenv("AWS_SAM_LOCAL") or os.getenv("AWS_CHALICE_CLI_MODE"))
    return in_lambda and not emulated


tracer: Tracer | UntracedHandlers = Tracer() if tracing_enabled() else UntracedHandlers()
