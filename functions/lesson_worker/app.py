"""Consumes both lesson queues: claim, generate, commit under the lease. A job naming a
question answers that question about its lesson (the same claim, lease and commit)."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Json

from flowgen import snapstart, wiring
from flowgen.answering import QuestionAnswerer
from flowgen.deadline import Attempt
from flowgen.generation import Generator
from flowgen.messages import LessonJob
from flowgen.observability import batch_logger, logger, metrics
from flowgen.settings import LessonWorkerSettings
from flowgen.tracing import tracer


class LessonJobRecord(SqsRecordModel):
    body: Json[LessonJob]  # narrows SqsRecordModel's str body to the parsed job


# Cold start: the settings are parsed (a missing variable fails here, named) and the generator is
# built, model client included. The seam for tests: replace `generator`, or wiring.override(...).
SETTINGS = wiring.settings(LessonWorkerSettings)
generator: Generator = wiring.lesson_generator(SETTINGS)


def rebuild_generator() -> None:
    """After a SnapStart restore (LessonWorkerSnapStart): the snapshot's clients were closed before
    it was taken, so the generator is built again on fresh ones; the imports are the snapshot's."""
    global generator
    generator = wiring.lesson_generator(SETTINGS)


snapstart.rebuild_after_restore(rebuild_generator)


def answerer() -> QuestionAnswerer:
    """Built on the first question job (cached per container): a worker that only writes lessons
    never opens the questions collection."""
    return wiring.question_answerer(SETTINGS)


def record_handler(record: LessonJobRecord, lambda_context: LambdaContext) -> str:
    remaining = lambda_context.get_remaining_time_in_millis() / 1000
    attempt = Attempt(receive_count=int(record.attributes.ApproximateReceiveCount), remaining_seconds=remaining)
    job = record.body
    if job.question_id is not None:
        return answerer().answer(job, attempt).value
    return generator.write_lesson(job, attempt).value


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    processor = BatchProcessor(
        event_type=EventType.SQS, model=LessonJobRecord, logger=batch_logger
    )  # per invocation, never shared
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
