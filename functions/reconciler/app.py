"""Scheduled: re-sends jobs whose intent is recorded but stranded (design invariant 5)."""

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from flowgen import wiring
from flowgen.clock import utcnow
from flowgen.observability import logger, metrics
from flowgen.reconcile import reconcile
from flowgen.settings import ReconcilerSettings
from flowgen.tracing import tracer

SETTINGS = wiring.settings(ReconcilerSettings)  # parsed at cold start


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    store, scheduler = wiring.reconciler_parts(SETTINGS)
    return asdict(reconcile(store, scheduler, SETTINGS, utcnow(), questions=wiring.question_store(SETTINGS)))
