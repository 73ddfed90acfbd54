"""Consumes both lesson queues: claim, generate, commit under the lease."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import Json

from flowgen import wiring
from flowgen.models import LessonJob
from flowgen.observability import logger, metrics, tracer
from flowgen.settings import LessonWorkerSettings


class LessonJobRecord(SqsRecordModel):
    body: Json[LessonJob]  # type: ignore[assignment]


processor = BatchProcessor(event_type=EventType.SQS, model=LessonJobRecord)


def record_handler(record: LessonJobRecord) -> str:
    receive_count = int(record.attributes.ApproximateReceiveCount)
    return wiring.generator(LessonWorkerSettings).write_lesson(record.body, receive_count).value


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict, context: Any) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
