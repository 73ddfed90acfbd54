"""`flowgen smoke` against the local stack running as deployed (its HTTP front, every event source
polling, the fake model): the whole path passes and leaves nothing behind; a token the API refuses,
an API nobody serves and an outline that never comes each fail at the step they happen in, with
the API's status, and a course made before the failure is deleted."""

from __future__ import annotations

import re

import pytest

from flowgen_local.stack import LocalStack
from flowgen_ops.cli import main as ops_main
from tests.conftest import SharedStack
from tests.helpers import User

pytestmark = pytest.mark.e2e  # over HTTP, with the stack's pollers and schedules running (not in `make test-fast`)
STEPS = ("create", "outline", "open", "lesson", "read", "delete")


def _smoke(capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, str]:
    code = ops_main(["smoke", *flags])
    return code, capsys.readouterr().out


def test_a_course_goes_through_every_step_and_is_deleted(
    running_stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    token = running_stack.token("smoke-alice")
    code, out = _smoke(capsys, "--api-url", running_stack.api_url, "--token", token, "--timeout", "60")
    assert code == 0, out
    for step in STEPS:  # each step on its own line with its time
        assert re.search(rf"^ok    {step:<8} +\d+\.\d\d s  ", out, re.MULTILINE), (step, out)
    assert re.search(r"^ok    outline .*READY: \d+ modules, \d+ lessons$", out, re.MULTILINE), out
    assert re.search(r"^ok    read .*\d+ blocks \(.*markdown", out, re.MULTILINE), out
    assert "204; the course is gone (404)" in out
    assert out.rstrip().splitlines()[-1].startswith("smoke: passed in ")
    listing = User(running_stack, "smoke-alice").call("GET", "/courses").json()
    assert listing["items"] == []  # nothing left behind


def test_the_token_may_come_from_the_environment(
    running_stack: LocalStack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWGEN_TOKEN", running_stack.token("smoke-env"))
    code, out = _smoke(capsys, "--api-url", running_stack.api_url)
    assert code == 0, out


def test_an_expired_token_fails_the_create_step_with_401(
    running_stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    expired = running_stack.token("smoke-bob", expires_in=-60)
    code, out = _smoke(capsys, "--api-url", running_stack.api_url, "--token", expired)
    assert code == 1
    assert re.search(r"^FAIL  create +\d+\.\d\d s  401 token_expired: ", out, re.MULTILINE), out
    assert out.rstrip().splitlines()[-1].startswith("smoke: FAILED at step create: 401 token_expired")
    assert "ok    " not in out


def test_a_token_the_authorizer_denies_fails_the_create_step_with_403(
    running_stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    """Signed by another key: API Gateway answers 403 Forbidden when the authorizer denies."""
    code, out = _smoke(capsys, "--api-url", running_stack.api_url, "--token", "not.a.token")
    assert code == 1
    assert "smoke: FAILED at step create: 403 Forbidden (expected 202)" in out


def test_an_api_nobody_serves_fails_the_create_step(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _smoke(capsys, "--api-url", "http://127.0.0.1:9", "--token", "t", "--timeout", "1")
    assert code == 1
    assert re.search(r"smoke: FAILED at step create: URLError: .*Connection refused", out), out


def test_an_outline_that_never_comes_fails_at_the_timeout_and_the_course_is_deleted(
    shared_stack: SharedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = shared_stack(running=True, paused=("CourseJobs",))  # the course worker never runs
    token = stack.token("smoke-carol")
    code, out = _smoke(capsys, "--api-url", stack.api_url, "--token", token, "--timeout", "2")
    assert code == 1
    assert re.search(r"^ok    create ", out, re.MULTILINE)
    assert "smoke: FAILED at step outline: not done after 2 s (last: PENDING)" in out
    course_id = re.search(r"course ([0-9a-f]{32}) PENDING", out)
    assert course_id, out
    assert f"note: course {course_id.group(1)} deleted" in out
    assert User(stack, "smoke-carol").call("GET", "/courses").json()["items"] == []


def test_the_api_url_must_be_http(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match="--api-url must be an http"):
        ops_main(["smoke", "--api-url", "file:///etc/passwd", "--token", "t"])
