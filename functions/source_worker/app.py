"""Consumes the ingest queue (issue 24): S3's ObjectCreated events for the sources bucket, one
source ingested per object; partial batch failures reported. A file that cannot be read ends
FAILED (flowgen.library); only an outage fails the record, and its message comes back."""

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Json

from flowgen import wiring
from flowgen.clock import utcnow
from flowgen.library import SourceService, source_id_of
from flowgen.observability import batch_logger, logger, metrics
from flowgen.settings import SourceWorkerSettings
from flowgen.tracing import tracer


class S3Object(BaseModel):
    key: str  # URL-encoded, as S3 sends it


class S3Entity(BaseModel):
    object: S3Object


class S3EventRecord(BaseModel):
    eventName: str
    s3: S3Entity


class S3Event(BaseModel):
    """What the worker reads of S3's ObjectCreated event: the keys. (Powertools' S3Model also
    requires fields S3 sends and this needs not, which moto's local events lack.)"""

    Records: list[S3EventRecord]


class S3TestEvent(BaseModel):
    """What S3 sends once when a notification is configured: nothing to ingest."""

    Event: str


class IngestRecord(SqsRecordModel):
    body: Json[S3Event | S3TestEvent]  # narrows SqsRecordModel's str body to S3's event


SETTINGS = wiring.settings(SourceWorkerSettings)
library: SourceService = wiring.source_service(SETTINGS)


def record_handler(record: IngestRecord) -> str:
    if isinstance(record.body, S3TestEvent):
        return "test event"
    outcomes = []
    for s3_record in record.body.Records:
        source_id = source_id_of(unquote_plus(s3_record.s3.object.key))
        if source_id is None:
            continue  # not a source's key: nothing of ours
        outcome = library.ingest(source_id, utcnow())
        metrics.add_metric(name=f"Sources{(outcome or 'Skipped').title()}", unit=MetricUnit.Count, value=1)
        outcomes.append(f"{source_id}:{outcome}")
    return ",".join(outcomes)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    processor = BatchProcessor(event_type=EventType.SQS, model=IngestRecord, logger=batch_logger)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
