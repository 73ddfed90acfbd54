"""The emulator itself: what AWS would refuse or stop, the local stack refuses or stops (IAM from
the SAM-transformed template, each function's own environment and process, Timeout enforced, a
mapping AWS would refuse), and schedules run."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from flowgen import wiring
from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.lambda_pool import InvocationError
from flowgen_local.services import AwsServer
from flowgen_local.stack import LocalStack, StackConfig
from tests.conftest import SharedStack, make_stack, shared_lambda_host
from tests.helpers import User, lesson_ids

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
API_SENDS_COURSE_JOBS = "        - SQSSendMessagePolicy: { QueueName: !GetAtt CourseQueue.QueueName }\n"


def _template_without(tmp_path: Path, line: str) -> Path:
    """A copy of template.yaml next to the real code, with one line (a grant) removed."""
    text = (ROOT / "template.yaml").read_text()
    assert text.count(line) >= 1, "the grant this test removes is no longer written this way"
    api_section = text.index("  ApiFunction:")
    cut = text.index(line, api_section)
    copy = ROOT / f".template-test-{tmp_path.name}.yaml"
    copy.write_text(text[:cut] + text[cut + len(line) :])
    return copy


def _role_sqs(stack: LocalStack, function: str):  # type: ignore[no-untyped-def]
    assert stack.endpoints
    return stack._role_session(function).client("sqs", endpoint_url=stack.endpoints.aws_url)


def test_a_call_the_template_does_not_grant_is_denied(
    stack: LocalStack,
    redis_url: str,
    aws: AwsServer,
    mongo_uri: tuple[str, str],
    fake_model: FakeOpenAI,
    tmp_path: Path,
) -> None:
    granted = stack
    User(granted, "alice").create_course()
    assert granted.queue_depth("CourseQueue") == 1  # the real template grants the api this send

    copy = _template_without(tmp_path, API_SENDS_COURSE_JOBS)
    try:
        stack = make_stack(redis_url, aws, mongo_uri, fake_model, template_path=copy)
    finally:
        copy.unlink()
    try:
        course = User(stack, "alice").create_course()  # the intent is kept: the reconciler re-sends it
        assert course["status"] == "PENDING"
        assert stack.queue_depth("CourseQueue") == 0  # the send was refused by IAM
        with pytest.raises(ClientError) as denied:
            _role_sqs(stack, "ApiFunction").send_message(QueueUrl=stack.queues["CourseQueue"].url, MessageBody="{}")
        assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    finally:
        stack.stop()


def test_workers_may_send_their_own_deferrals(stack: LocalStack, fake_model: FakeOpenAI) -> None:
    """A provider 429 re-sends the job to its own queue with a delay and spends no attempt. The
    template once let neither worker send there; with IAM enforced, this test caught it."""
    alice = User(stack, "alice")
    course = alice.ready_course()
    target = lesson_ids(course)[6]
    fake_model.faults.retry_after_seconds = 1
    fake_model.faults.scripted = ["429"]
    assert alice.open_lesson(course["id"], target).status == 202

    stack.drain("HighPriorityLessons")
    assert fake_model.stats.failures["429"] == 1
    assert stack.queue_depth("LessonHighQueue") == 1  # the deferral, delayed: sent with the worker's role
    time.sleep(1.2)
    stack.drain("HighPriorityLessons")
    lesson = wiring.store().get_lesson("alice", course["id"], target)
    assert lesson is not None and lesson.status == "GENERATED"
    assert lesson.attempts == 1  # the deferred call did not count as an attempt


def test_each_function_sees_only_its_own_environment_and_role(stack: LocalStack) -> None:
    envs = {name: stack.functions[name].probe_environment() for name in stack.functions}
    pids = {pid for pid, _ in envs.values()}
    assert len(pids) == len(envs)  # one process each: no module state is shared
    assert os.getpid() not in pids

    authorizer = envs["AuthorizerFunction"][1]
    assert "JWKS_URL" in authorizer
    assert not {"MONGO_URI", "REDIS_URL", "OPENAI_API_KEY", "COURSE_QUEUE_URL"} & set(authorizer)
    api = envs["ApiFunction"][1]
    assert {"MONGO_URI", "REDIS_URL", "COURSE_QUEUE_URL"} <= set(api)
    assert not {"OPENAI_API_KEY", "JWKS_URL", "OUTLINE_MODEL"} & set(api)
    assert "OPENAI_API_KEY" in envs["LessonWorkerFunction"][1]
    keys = {env["AWS_ACCESS_KEY_ID"] for _, env in envs.values()}
    assert len(keys) == len(envs)  # each function calls AWS as its own role
    assert all(env["AWS_LAMBDA_FUNCTION_NAME"] == name for name, (_, env) in envs.items())


def test_an_invocation_past_its_timeout_is_stopped(
    aws: AwsServer, redis_url: str, mongo_uri: tuple[str, str], tmp_path: Path
) -> None:
    mark = tmp_path / "mark"
    stack = LocalStack(
        StackConfig(
            redis_url=redis_url,
            aws=aws,
            mongo_uri=mongo_uri[0],
            mongo_db=mongo_uri[1],
            template_path=FIXTURES / "timeout_template.yaml",
            parameter_overrides={"MarkFile": str(mark)},
            lambda_host=shared_lambda_host(),
        )
    ).start(pollers=False)
    try:
        stack.sqs.send_message(QueueUrl=stack.queues["JobQueue"].url, MessageBody="{}")
        started = time.monotonic()
        result = stack.drain("Jobs", max_batches=1)
        assert result == 1
        assert time.monotonic() - started < 4  # stopped at the 2 s Timeout, not after its 5 s sleep
        pool = stack.functions["SleepyFunction"]
        assert pool.stats.timeouts == 1
        assert pool.instance_pids() == []  # the instance was killed, not returned to the pool
        time.sleep(4)
        assert not mark.exists()  # nothing it would have done after the timeout happened
        attrs = stack.sqs.get_queue_attributes(
            QueueUrl=stack.queues["JobQueue"].url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        assert attrs["ApproximateNumberOfMessagesNotVisible"] == "1"  # left to reappear, not deleted
        with pytest.raises(InvocationError, match="Sandbox.Timedout"):
            stack.invoke("SleepyFunction", {"Records": []})
        assert pool.stats.cold_starts == 2  # a new instance after the killed one
    finally:
        stack.stop()


def test_the_reconciler_runs_on_its_schedule(
    redis_url: str, aws: AwsServer, mongo_uri: tuple[str, str], fake_model: FakeOpenAI
) -> None:
    stack = make_stack(redis_url, aws, mongo_uri, fake_model, schedule_period=0.5)
    try:
        (schedule,) = stack.template.schedules
        assert (schedule.function, schedule.period_seconds) == ("ReconcilerFunction", 300)  # rate(5 minutes)
        runner = stack.schedules[schedule.name]
        runner.start()
        time.sleep(1.8)
        assert runner.runs >= 3  # at start, then every 0.5 s (the local override of the rate)
        assert all("error" not in result for result in runner.results), runner.results
    finally:
        stack.stop()


def test_a_batch_window_never_drops_received_messages(stack: LocalStack) -> None:
    """Topping a batch up must not receive more than it keeps: a message received and dropped
    stays invisible for a whole visibility timeout (12 minutes in the template)."""
    runner = stack.runners["LowPriorityLessons"]
    queue = stack.queues["LessonLowQueue"]
    stack.sqs.set_queue_attributes(QueueUrl=queue.url, Attributes={"VisibilityTimeout": "60"})
    for i in range(3):
        stack.sqs.send_message(QueueUrl=queue.url, MessageBody=f'{{"n": {i}}}')
    batch = runner.receive_batch(wait_seconds=1)
    assert len(batch) == runner.spec.batch_size == 2
    attrs = stack.sqs.get_queue_attributes(
        QueueUrl=queue.url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attrs == {"ApproximateNumberOfMessages": "1", "ApproximateNumberOfMessagesNotVisible": "2"}


def test_the_stack_refuses_a_visibility_timeout_an_invocation_could_outlive(
    redis_url: str, aws: AwsServer, mongo_uri: tuple[str, str]
) -> None:
    """As CreateEventSourceMapping refuses a queue whose visibility timeout is under the
    function's timeout: a message would reappear while its first invocation still runs."""
    stack = make_stack(redis_url, aws, mongo_uri, None)  # visibility 0 for draining; workers time out at 120 s
    try:
        with pytest.raises(ValueError, match="shorter than .*LessonWorkerFunction's timeout|shorter than"):
            stack.start_pollers()
        assert not any(runner._threads for runner in stack.runners.values())
    finally:
        stack.stop()


def test_a_paused_stack_polls_nothing_until_its_reset_starts_the_same_pollers(shared_stack: SharedStack) -> None:
    """The suite keeps stacks between tests and pauses those a test was not given
    (tests.conftest.StackPool): their pollers and schedules stop, every poller told at once,
    and the next reset starts the ones that ran, a paused event source staying paused."""
    stack = shared_stack(running=True, paused=("LowPriorityLessons",))
    ran = {name for name, runner in stack.runners.items() if runner.running}
    assert ran == {"CourseJobs", "HighPriorityLessons", "SourceUploads"}
    started = time.monotonic()
    stack.pause()
    assert time.monotonic() - started < 2.5  # one receive's wait (1 s), not one per event source
    assert not any(runner.running for runner in stack.runners.values())
    assert not any(schedule.running for schedule in stack.schedules.values())
    queue = stack.queues["CourseQueue"].url
    stack.sqs.send_message(QueueUrl=queue, MessageBody="{}")
    time.sleep(1.5)
    visible = stack.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
    assert visible["Attributes"]["ApproximateNumberOfMessages"] == "1"  # nobody received it
    stack.reset()
    assert {name for name, runner in stack.runners.items() if runner.running} == ran
    assert all(schedule.running for schedule in stack.schedules.values())
