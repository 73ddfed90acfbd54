"""Issue 25 ("no failure looks like waiting, and no 500 under load"), the fault scenarios at the
CI size (`make faults` runs them at full size: docs/faults.md), each asserting the counts that
the issue's defects would break:

- model-failing-polled: a lesson and an outline whose model call always fails, polled by two
  tabs every 1-2 s: at most MaxReceiveCount (3) model calls each (a poll once sent a job again,
  and each job was a call), the failure visible in the API within 30 s (it waited out SQS's
  12-minute visibility), FAILED with a reason a person reads (it showed "model: ..." internals).
- sqs-stalled: moto's SQS SIGSTOPped for 6 s under clients on every route that queues work: no
  5xx (a stalled send outlived the api's timeout: API Gateway answered 500) and every accepted
  intent written in the end.
- trickle-past-deadline: a stream trickling past the worker's deadline, then cut mid-answer: no
  repair call for the abandoned attempt (it made one, paid, when its stream ended).
- stream-ignored: a server answering streamed requests with one plain body: courses READY,
  lessons GENERATED, a question ANSWERED, none FAILED (they failed on every attempt).

Each scenario takes 20-40 s on its own stack (about 2 min for the four), so they carry the
`faults` mark: `make faults` runs them, `make test` leaves them out (tests/integration and
tests/unit hold the fast tests of each fix). Two defects the scenarios found, since fixed, are
tested below at the adapter level, each reproduced with the fake model server alone: those run in
`make test`."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from openai import OpenAI

from flowgen.adapters.openai_model import OpenAIModel
from flowgen.deadline import call_with_deadline
from flowgen.errors import CallAbandoned
from flowgen.ports import LessonBrief
from flowgen_faults import CI, SCENARIOS, Counts, Services
from flowgen_faults.__main__ import merged
from flowgen_faults.harness import MARKDOWN_HEADER
from flowgen_local.fake_openai import FakeOpenAI, FaultRule, Faults
from flowgen_local.lambda_pool import LambdaHost
from flowgen_local.services import AwsServer


@pytest.fixture
def services(
    redis_url: str, aws: AwsServer, mongo_server: str, lambda_host: LambdaHost, fake_model_server: FakeOpenAI
) -> Services:
    return Services(redis_url, aws, mongo_server, lambda_host, fake_model_server)


def _run(name: str, services: Services) -> Counts:
    counts = SCENARIOS[name](services, CI)
    print(f"\n{counts.HEADER}\n{counts.line()}\n{counts.notes}\n{counts.problems}")
    return counts


def _explain(counts: Counts) -> str:
    return f"{counts.line()}\n{counts.notes}\n{counts.problems}"


@pytest.mark.e2e
@pytest.mark.faults
def test_a_failing_lesson_polled_by_tabs_costs_at_most_the_cap_and_shows_its_failure(services: Services) -> None:
    counts = _run("model-failing-polled", services)
    calls, cap = int(counts.value("most model calls for a failing record")), int(counts.value("cap"))
    assert cap == 3 and 1 <= calls <= cap, _explain(counts)
    assert float(counts.value("to visible")) <= 30, _explain(counts)
    assert "to FAILED" in counts.measured, _explain(counts)
    assert counts.server_errors == 0, _explain(counts)
    assert counts.ok, _explain(counts)  # and each reason readable, each record FAILED then retried


@pytest.mark.e2e
@pytest.mark.faults
def test_a_stalled_queue_answers_no_5xx_and_loses_no_intent(services: Services) -> None:
    counts = _run("sqs-stalled", services)
    assert counts.server_errors == 0, _explain(counts)
    assert int(counts.value("sent while SQS stopped")) >= 3, _explain(counts)  # each client, one route each
    assert counts.ok, _explain(counts)  # every accepted course, open, rewrite and question written


@pytest.mark.e2e
@pytest.mark.faults
def test_an_abandoned_trickling_stream_makes_no_repair_call(services: Services) -> None:
    counts = _run("trickle-past-deadline", services)
    assert counts.value("calls paid after abandonment (events)") == 0, _explain(counts)
    assert counts.value("repair calls") == 0, _explain(counts)
    assert counts.ok, _explain(counts)  # the retry wrote every lesson


@pytest.mark.e2e
@pytest.mark.faults
def test_a_server_ignoring_stream_still_writes_everything_the_first_time(services: Services) -> None:
    counts = _run("stream-ignored", services)
    assert not counts.problems, _explain(counts)  # READY, GENERATED and ANSWERED, none FAILED
    assert counts.failed_retryable == 0 and counts.stuck == 0, _explain(counts)
    assert counts.requested == counts.generated > 0, _explain(counts)


# ---- defects found, fixed, tested at the adapter (no stack) -------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


def _model(fake: FakeOpenAI) -> OpenAIModel:
    client = OpenAI(api_key="faults", base_url=fake.base_url, timeout=2, max_retries=0)
    return OpenAIModel(client, outline_model="fake", lesson_model="fake")


BRIEF = LessonBrief(
    course_title="Rust", course_description="", level=None, module_title="Basics", lesson_title="Ownership",
    lesson_summary="who frees what", previous_titles=[], next_titles=[], language=None, instruction=None,
)  # fmt: skip


def test_a_stream_answered_in_one_body_is_paid_once(fake: FakeOpenAI) -> None:
    fake.set_faults(Faults(ignore_stream=True))
    lesson, _ = _model(fake).lesson_stream(BRIEF, lambda blocks, writing: None)
    assert lesson.blocks
    assert fake.stats.total_calls == 1, fake.stats.succeeded


def test_an_abandoned_stream_that_delivered_nothing_makes_no_other_call(fake: FakeOpenAI) -> None:
    fake.set_faults(
        Faults(trickle_seconds=2, trickle_interval_seconds=1.0, rules=[FaultRule("Rust :: Ownership", "trickle")])
    )
    model = _model(fake)
    with pytest.raises(CallAbandoned):
        call_with_deadline(lambda: model.lesson_stream(BRIEF, lambda blocks, writing: None), 1.0)
    time.sleep(2.5)  # the trickle is cut at 2 s; whatever the abandoned call does next is done
    assert fake.stats.total_calls == 1, dict(fake.stats.calls)


# ---- the table in docs/faults.md ----------------------------------------------------------------


def test_a_run_of_some_scenarios_replaces_their_rows_under_one_header() -> None:
    """`--only ... --markdown` merges into the table there: the rows of the scenarios run are
    replaced, the others kept, and the header written once, whatever columns the old one had (an
    earlier header's separator was kept as a row, and the table had two)."""
    old = (
        "\n| scenario | requested | result |\n| --- | ---: | --- |\n"
        "| model-500 | 36 | ok |\n| sqs-stalled | 36 | FAIL |\n\n_2026-11-28 02:09 UTC, size full, 737 s_\n"
    )
    stamp = "_2026-12-06 09:00 UTC, size full, 84 s: sqs-stalled_"
    lines = merged(old, ["| sqs-stalled | 36 | ok |"], stamp).splitlines()
    assert lines[:2] == MARKDOWN_HEADER.splitlines()
    assert [line for line in lines if line.startswith("| ")][2:] == [
        "| model-500 | 36 | ok |",
        "| sqs-stalled | 36 | ok |",
    ]
    assert lines[-2:] == ["_2026-11-28 02:09 UTC, size full, 737 s_", stamp]
