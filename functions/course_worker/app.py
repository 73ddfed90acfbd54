"""Consumes the course queue: one outline per job, partial batch failures reported."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Json

from flowgen import wiring
from flowgen.deadline import Attempt
from flowgen.generation import Generator
from flowgen.messages import CourseJob
from flowgen.observability import batch_logger, logger, metrics
from flowgen.settings import CourseWorkerSettings
from flowgen.tracing import tracer


class CourseJobRecord(SqsRecordModel):
    body: Json[CourseJob]  # narrows SqsRecordModel's str body to the parsed job


# Cold start: the settings are parsed (a missing variable fails here, named) and the generator is
# built, model client included. The seam for tests: replace `generator`, or wiring.override(...).
SETTINGS = wiring.settings(CourseWorkerSettings)
generator: Generator = wiring.course_generator(SETTINGS)


def record_handler(record: CourseJobRecord, lambda_context: LambdaContext) -> str:
    remaining = lambda_context.get_remaining_time_in_millis() / 1000
    attempt = Attempt(receive_count=int(record.attributes.ApproximateReceiveCount), remaining_seconds=remaining)
    return generator.build_outline(record.body, attempt).value


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    processor = BatchProcessor(
        event_type=EventType.SQS, model=CourseJobRecord, logger=batch_logger
    )  # per invocation, never shared
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
