"""flowgen.tracing builds Powertools' Tracer (and so imports the X-Ray SDK) only where Powertools
would trace (issue 27: the SDK was about 1.5x `import boto3` of a worker's init, tracing on or off).

Each case runs in a fresh interpreter: which tracer exists is decided once, at import."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
import sys
from flowgen.tracing import tracer

@tracer.capture_lambda_handler(capture_response=False)
def handler(event, context):
    return {"seen": event}

print(type(tracer).__name__, "aws_xray_sdk" in sys.modules, handler(41, None) == {"seen": 41}, tracer.disabled)
"""


def _probe(**environment: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_TRACE", "LAMBDA_TASK_ROOT", "AWS_SAM"))}
    env.update(environment, AWS_REGION="eu-west-1", AWS_XRAY_CONTEXT_MISSING="IGNORE_ERROR")
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()


@pytest.mark.parametrize(
    "environment",
    [
        {"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"},  # Tracing disabled on Lambda
        {"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"},  # sam local invoke
        {},  # outside Lambda: tests, the local stack's tools
    ],
    ids=["disabled", "sam-local", "outside-lambda"],
)
def test_no_xray_sdk_where_tracing_is_off(environment: dict[str, str]) -> None:
    kind, xray_imported, same_result, disabled = _probe(**environment)
    assert (kind, xray_imported, same_result, disabled) == ("UntracedHandlers", "False", "True", "True")


def test_a_real_tracer_on_lambda_with_tracing_on() -> None:
    kind, xray_imported, same_result, disabled = _probe(LAMBDA_TASK_ROOT="/var/task")
    assert (kind, xray_imported, same_result, disabled) == ("Tracer", "True", "True", "False")


@pytest.mark.parametrize(
    "environment",
    [
        {},
        {"LAMBDA_TASK_ROOT": "/var/task"},
        {"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "1"},
        {"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "false"},
        {"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "ON"},
        {"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"},
        {"LAMBDA_TASK_ROOT": "/var/task", "AWS_CHALICE_CLI_MODE": "true"},
        {"POWERTOOLS_TRACE_DISABLED": "0"},
    ],
)
def test_the_rule_is_powertools_own(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """flowgen.tracing reads Powertools' public environment variables instead of calling the Tracer's
    private check; this holds the copy to the original, so a Powertools upgrade that changes the
    rule fails here (a test may look at a private method; the product may not)."""
    from aws_lambda_powertools import Tracer

    from flowgen.tracing import tracing_enabled

    for name in ("LAMBDA_TASK_ROOT", "AWS_SAM_LOCAL", "AWS_CHALICE_CLI_MODE", "POWERTOOLS_TRACE_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert tracing_enabled() is (not Tracer._is_tracer_disabled())
