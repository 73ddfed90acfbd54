"""Consumes the course queue: one outline per job, partial batch failures reported."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import Json

from flowgen import wiring
from flowgen.models import CourseJob
from flowgen.observability import logger, metrics, tracer
from flowgen.settings import CourseWorkerSettings


class CourseJobRecord(SqsRecordModel):
    body: Json[CourseJob]  # type: ignore[assignment]


processor = BatchProcessor(event_type=EventType.SQS, model=CourseJobRecord)


def record_handler(record: CourseJobRecord) -> str:
    receive_count = int(record.attributes.ApproximateReceiveCount)
    return wiring.generator(CourseWorkerSettings).build_outline(record.body, receive_count).value


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict, context: Any) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
