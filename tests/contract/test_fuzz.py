"""The contract fuzz suite: schemathesis (an independent OpenAPI fuzzer) against a running local
stack, from the document the API serves, with a valid token and every check.

Bounded: `MAX_EXAMPLES` per operation and phase, a fixed seed (a failure reproduces), and the
run must finish within `TIME_LIMIT` seconds. Per-user limits are off for the run: one fuzzing
user sends far more than a person would (the limits have tests of their own in
tests/integration/test_api_contract.py). What the run found and how the API changed is in
docs/api.md; the two widened expectations are in schemathesis.toml, with their reasons.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flowgen_local.stack import LocalStack
from tests.helpers import User, wait_for

# the fuzzer speaks HTTP to the running stack, from the document it serves
pytestmark = [pytest.mark.e2e, pytest.mark.system]

CONFIG = Path(__file__).with_name("schemathesis.toml")
# `make test` runs a bounded part (the coverage phase's boundary cases and 10 random cases per
# operation); `make contract` runs every phase (stateful links included) with 50.
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
PHASES = os.environ.get("FUZZ_PHASES", "coverage,fuzzing")
TIME_LIMIT = 170  # seconds, for the fuzzer alone
SEED = 20261128


def _live_share_token(stack: LocalStack) -> str:
    """A shared course, its first lesson opened (written by the time the fuzzer reads it, most
    often): the share-link routes' token for the run (schemathesis.toml), so they are fuzzed past
    the 404 of a link nobody shared. Its writing is not awaited: on a loaded machine the model's
    2 s timeout may fail it, and a lesson not written is a route's answer too (200 PENDING, 409)."""
    owner = User(stack, "sharer")
    course_id = owner.create_course("Rust ownership for C++ programmers")["id"]
    wait_for(lambda: owner.call("GET", f"/courses/{course_id}").json()["status"] == "READY", timeout=60, every=0.5)
    assert owner.open_lesson(course_id, "m01-l01").status in (200, 202)
    shared = owner.call("POST", f"/courses/{course_id}/share")
    assert shared.status == 201, shared.body
    token: str = shared.json()["token"]
    return token


def test_schemathesis_finds_no_failure(running_stack: LocalStack, tmp_path: Path) -> None:
    stack = running_stack  # per-user limits are off on a running stack (tests.conftest)
    url = stack.api_url
    # the document is made on an instance's first request for it; schemathesis waits 10 s for it,
    # the function's timeout too, which a cold start and the document can pass on a loaded machine
    # (a timed-out instance is replaced: asked again until one answers)
    wait_for(lambda: stack.request("GET", "/openapi.json").status == 200, timeout=120, every=0)
    share_token = _live_share_token(stack)
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{url}/openapi.json",
        "--url",
        url,
        "--header",
        f"Authorization: Bearer {stack.token('fuzzer')}",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--phases",
        PHASES,
        "--seed",
        str(SEED),
        "--generation-database",
        "none",
        "--request-timeout",
        "10",
        # Hypothesis's health check on how fast it *generates* data (the language field's
        # any-script pattern is slow to satisfy on a loaded machine): it says nothing of the API
        "--suppress-health-check",
        "too_slow",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    started = time.monotonic()
    run = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT,
        env={**os.environ, "NO_COLOR": "1", "FLOWGEN_FUZZ_SHARE_TOKEN": share_token},
    )
    elapsed = time.monotonic() - started
    output = run.stdout + run.stderr
    summary = output[output.rfind("SUMMARY") :] if "SUMMARY" in output else output[-3000:]
    operations = re.search(r"Tested: (\d+)", summary)
    cases = re.search(r"(\d+) generated", summary)
    print(  # the numbers docs/api.md quotes
        f"\nschemathesis: {operations.group(1) if operations else '?'} operations, "
        f"{cases.group(1) if cases else '?'} test cases, exit {run.returncode}, {elapsed:.0f}s"
    )
    assert run.returncode == 0, output[-12000:]
