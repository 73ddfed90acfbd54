"""A local stack you can leave running (issue 28): the functions' logs go to files read by
`flowgen logs` (never to a pipe that fills), the template's parameter bounds are enforced as
CloudFormation enforces them, the DLQs outlive a clean restart (and an unclean one is said),
and a `kill -9` leaves nothing in the temporary folder."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from flowgen_local.function_logs import LogFile, follow, read
from flowgen_local.lambda_pool import FunctionConfig, FunctionPool, LambdaHost
from flowgen_local.services import AwsServer
from flowgen_local.stack import LocalStack, StackConfig
from flowgen_local.template import TemplateError, load, parameter_problems, with_parameter_bounds
from tests.conftest import shared_lambda_host

FIXTURES = Path(__file__).parent / "fixtures"


# ---- logs that flow -------------------------------------------------------------------------


def _noisy_pool(host: LambdaHost, log: Path | None) -> FunctionPool:
    config = FunctionConfig(
        name="NoisyFunction",
        code_uri=FIXTURES / "noisy",
        handler="app.lambda_handler",
        timeout=5,
        environment={},
        log_path=log,
    )
    return FunctionPool(host, config)


def test_a_function_that_logs_more_than_a_pipe_holds_is_not_blocked(lambda_host: LambdaHost, tmp_path: Path) -> None:
    """Issue 28: instances inherited the host's stdout, a pipe only its first line of was read;
    once 64 KiB waited in it, every write blocked and invocations hung until their Timeout."""
    log = tmp_path / "logs" / "NoisyFunction.log"
    pool = _noisy_pool(lambda_host, log)
    try:
        started = time.monotonic()
        for _ in range(3):  # 600 KB of output in all
            assert pool.invoke({"lines": 2000}) == {"lines": 2000}
        assert time.monotonic() - started < 5  # each well under its 5 s Timeout
        lines = list(read(log))
        printed = [line for line in lines if line.endswith("x" * 99)]
        assert len(printed) == 6000 and printed[-1].startswith("001999 ")  # nothing lost, whole lines
        assert sum(line.startswith("START RequestId:") for line in lines) == 3
        assert sum(line.startswith("REPORT RequestId:") and "Duration:" in line for line in lines) == 3
        assert "to stderr too" in lines
    finally:
        pool.close()


def test_an_instance_with_no_log_file_writes_nowhere_and_is_not_blocked(lambda_host: LambdaHost) -> None:
    pool = _noisy_pool(lambda_host, None)
    try:
        for _ in range(3):
            assert pool.invoke({"lines": 2000}) == {"lines": 2000}
    finally:
        pool.close()


def _write_lines(path: str, writer: int, count: int) -> None:
    log = LogFile(Path(path), max_bytes=20_000, backups=50)
    for n in range(count):
        log.write(f"writer {writer} line {n:04d} {'y' * 60}\n".encode())
    log.close()


def test_log_files_rotate_and_concurrent_writers_keep_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "Fn.log"
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_write_lines, args=(str(path), w, 500)) for w in range(3)]
    for w in writers:
        w.start()
    for w in writers:
        w.join(30)
    generations = sorted(tmp_path.glob("Fn.log*"))
    assert len(generations) > 5  # ~130 KB in 20 KB files
    assert all(p.stat().st_size <= 20_000 for p in generations)
    lines = [line for p in generations for line in p.read_text().splitlines()]
    assert len(lines) == 1500 and all(line.endswith("y" * 60) for line in lines)  # none torn, none lost
    for writer in range(3):
        assert [line for line in read(path) if line.startswith(f"writer {writer} ")] == [
            f"writer {writer} line {n:04d} {'y' * 60}" for n in range(500)
        ]  # in order across rotations


def test_follow_reads_across_a_rotation(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "Fn.log"
    log = LogFile(path, max_bytes=200, backups=3)
    seen: list[str] = []
    stop = threading.Event()
    follower = threading.Thread(target=follow, args=(lambda: {"Fn": path}, lambda _, line: seen.append(line), stop),
                                kwargs={"from_start": True, "period": 0.05})  # fmt: skip
    follower.start()
    for n in range(20):  # a rotation every 5 lines, well apart from the next (the follower polls every 0.05 s)
        log.write(f"line {n:02d} {'z' * 30}\n".encode())
        time.sleep(0.05)
    deadline = time.monotonic() + 5
    while len(seen) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    follower.join()
    assert [line.split()[1] for line in seen] == [f"{n:02d}" for n in range(20)]


def test_flowgen_logs_reads_a_stack_functions_log(
    redis_url: str, aws: AwsServer, mongo_uri: tuple[str, str], tmp_path: Path
) -> None:
    from tests.helpers import User

    stack = _data_stack(redis_url, aws, mongo_uri, tmp_path)
    try:
        assert stack.describe()["log_dir"] == str(tmp_path / "logs")
        User(stack, "alice").create_course()
        stack.sqs.send_message(QueueUrl=stack.queues["LessonLowQueue"].url, MessageBody="not a job", MessageGroupId="x")
        stack.drain("LowPriorityLessons", max_batches=1)
        api_invocations = stack.functions["ApiFunction"].stats.invocations
    finally:
        stack.stop()

    def flowgen_logs(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "flowgen_ops.cli", "logs", *args, "--log-dir", str(tmp_path / "logs")]
        return subprocess.run(command, capture_output=True, text=True, timeout=60)

    api = flowgen_logs("api").stdout.splitlines()  # a prefix names the function
    assert sum(line.startswith("START RequestId:") for line in api) == api_invocations
    reports = flowgen_logs("ApiFunction", "--filter", "REPORT").stdout.splitlines()
    assert len(reports) == api_invocations and all(line.startswith("REPORT RequestId:") for line in reports)
    # Issue 28: a message no worker could read left no line anywhere (Powertools logs it at DEBUG)
    worker = flowgen_logs("-n", "LessonWorkerFunction").stdout.splitlines()
    warnings = [json.loads(line) for line in worker if line.startswith("{") and '"WARNING"' in line]
    assert any(w["message"] == "Record processing exception; skipping this record" for w in warnings), worker
    assert any("not a job" in w.get("exception", "") or "Json" in w.get("exception", "") for w in warnings)
    unknown = flowgen_logs("nope")
    assert unknown.returncode == 1 and "ApiFunction" in unknown.stderr  # says which functions it knows


# ---- the template's rules -------------------------------------------------------------------


def test_parameter_bounds_are_enforced_as_cloudformation_does() -> None:
    declared = load().raw["Parameters"]
    defaults = {k: str(v["Default"]) for k, v in declared.items()}
    assert parameter_problems(declared, defaults) == []

    def problems(**values: str) -> list[str]:
        return parameter_problems(declared, {**defaults, **values})

    assert problems(WorkerTimeoutSeconds="8") == ["Parameter 'WorkerTimeoutSeconds' must be a number not less than 30"]
    assert problems(WorkerTimeoutSeconds="901") == [
        "Parameter 'WorkerTimeoutSeconds' must be a number not greater than 900"
    ]
    assert problems(WorkerTimeoutSeconds="ten") == ["Parameter 'WorkerTimeoutSeconds' must be a number"]
    assert problems(DefaultTier="gold") == ["Parameter 'DefaultTier' must be one of AllowedValues"]
    assert problems(LogRetentionDays="2") == ["Parameter 'LogRetentionDays' must be one of AllowedValues"]
    assert problems(LogRetentionDays="14.0") == []  # a number, compared as one
    assert problems(FreeReserveShare="1.5") == [
        "Parameter 'FreeReserveShare' must match pattern ^(0(\\.[0-9]+)?|1(\\.0+)?)$"
    ]
    assert problems(AlarmEmail="not an address") == [
        "Parameter 'AlarmEmail' failed to satisfy constraint: empty, or one e-mail address"
    ]
    assert problems(NoSuchParameter="1") == ["Parameters: [NoSuchParameter] do not exist in the template"]


def test_the_local_stack_refuses_a_parameter_out_of_bounds_before_starting_anything() -> None:
    """Issue 28: `WorkerTimeoutSeconds=8` ran, although the template's MinValue is 30."""
    with pytest.raises(TemplateError, match="WorkerTimeoutSeconds' must be a number not less than 30"):
        LocalStack(StackConfig(parameter_overrides={"WorkerTimeoutSeconds": "8"}))
    refused = subprocess.run(
        [sys.executable, "-m", "flowgen_ops.cli", "local", "--ephemeral", "--parameter-overrides",
         "WorkerTimeoutSeconds=8"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2 and "not less than 30" in refused.stderr


def test_a_copy_of_the_template_with_other_bounds_runs_its_code() -> None:
    copy = with_parameter_bounds({"WorkerTimeoutSeconds": {"MinValue": 5}})
    relaxed = load(copy, {"WorkerTimeoutSeconds": "8"})
    assert relaxed.functions["LessonWorkerFunction"].timeout == 8
    assert relaxed.functions["ApiFunction"].code_uri == load().functions["ApiFunction"].code_uri.resolve()
    assert relaxed.routes == load().routes and relaxed.event_sources == load().event_sources
    with pytest.raises(TemplateError):
        load(copy, {"WorkerTimeoutSeconds": "4"})  # the copy's own bound holds


# ---- dead-letter queues across restarts -----------------------------------------------------


def _data_stack(redis_url: str, aws: AwsServer, mongo_uri: tuple[str, str], data: Path) -> LocalStack:
    return LocalStack(
        StackConfig(
            redis_url=redis_url,
            aws=aws,
            mongo_uri=mongo_uri[0],
            mongo_db=mongo_uri[1],
            data_dir=data,
            lambda_host=shared_lambda_host(),
        )
    ).start(pollers=False)


def test_dead_letters_survive_a_clean_restart(
    redis_url: str, aws: AwsServer, mongo_uri: tuple[str, str], tmp_path: Path
) -> None:
    """Issue 28: the SQS emulation keeps nothing, so a restart emptied the DLQs."""
    first = _data_stack(redis_url, aws, mongo_uri, tmp_path)
    try:
        first.sqs.send_message(QueueUrl=first.queues["LessonLowDLQ"].url, MessageBody='{"a": 1}', MessageGroupId="u1")
        first.sqs.send_message(QueueUrl=first.queues["CourseDLQ"].url, MessageBody='{"b": 2}')
    finally:
        first.stop()
    second = _data_stack(redis_url, aws, mongo_uri, tmp_path)
    try:
        assert (second.queue_depth("LessonLowDLQ"), second.queue_depth("CourseDLQ")) == (1, 1)
        kept = second.sqs.receive_message(
            QueueUrl=second.queues["LessonLowDLQ"].url, MessageSystemAttributeNames=["MessageGroupId"]
        )["Messages"][0]
        assert kept["Body"] == '{"a": 1}' and kept["Attributes"]["MessageGroupId"] == "u1"
        assert second.notices == []
    finally:
        second.stop()


def test_uploaded_files_survive_a_clean_restart_without_being_ingested_again(
    redis_url: str, aws: AwsServer, mongo_uri: tuple[str, str], tmp_path: Path
) -> None:
    """Issue 24: moto's S3 keeps nothing either, so a restart lost the learners' files."""
    first = _data_stack(redis_url, aws, mongo_uri, tmp_path)
    try:
        bucket = first.buckets["SourcesBucket"].name
        first.s3.put_object(Bucket=bucket, Key="sources/abc", Body=b"# Notes\n\nkept", ContentType="text/markdown")
        first.sqs.purge_queue(QueueUrl=first.queues["IngestQueue"].url)  # S3's event for it: handled
    finally:
        first.stop()
    second = _data_stack(redis_url, aws, mongo_uri, tmp_path)
    try:
        got = second.s3.get_object(Bucket=second.buckets["SourcesBucket"].name, Key="sources/abc")
        assert (got["Body"].read(), got["ContentType"]) == (b"# Notes\n\nkept", "text/markdown")
        events = second.sqs.receive_message(QueueUrl=second.queues["IngestQueue"].url, MaxNumberOfMessages=10)
        assert all("sources/abc" not in m["Body"] for m in events.get("Messages", []))  # not read again
    finally:
        second.stop()


def test_an_unclean_stop_is_said_by_flowgen_status(
    redis_url: str, aws: AwsServer, mongo_uri: tuple[str, str], tmp_path: Path
) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "running.json").write_text(json.dumps({"pid": dead.pid, "startedAt": "2026-12-06T07:00:00+00:00"}))
    stack = _data_stack(redis_url, aws, mongo_uri, tmp_path)
    try:
        assert len(stack.notices) == 1 and "stopped without saving its dead-letter queues" in stack.notices[0]
        state = tmp_path / "stack.json"
        state.write_text(json.dumps(stack.describe()))
        from flowgen_ops.status import status
        from flowgen_ops.target import Target

        report = status(Target.resolve(None, state_file=state)).render()
        assert report.startswith("NOTE: The local stack started at 2026-12-06T07:00:00+00:00 stopped without")
    finally:
        stack.stop()


# ---- no leftovers ---------------------------------------------------------------------------


def test_a_killed_lambda_host_leaves_nothing_in_the_temporary_folder() -> None:
    """Issue 28: each `kill -9` left a flowgen-lambda-* socket directory behind."""
    temporary = Path(tempfile.gettempdir())
    before = set(temporary.iterdir())
    host = LambdaHost()
    pool = FunctionPool(host, FunctionConfig("NoisyFunction", FIXTURES / "noisy", "app.lambda_handler", 5, {}))
    try:
        assert pool.invoke({"lines": 1}) == {"lines": 1}
    finally:
        os.kill(host.process.pid, signal.SIGKILL)
        host.process.wait()
        pool.close()
    assert set(temporary.iterdir()) - before == set()
