"""Scheduled: re-sends jobs whose intent is recorded but stuck (design invariant 5)."""

from dataclasses import asdict
from typing import Any

from flowgen import wiring
from flowgen.clock import utcnow
from flowgen.observability import logger, metrics, tracer
from flowgen.reconcile import reconcile
from flowgen.settings import ReconcilerSettings


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict, context: Any) -> dict:
    return asdict(reconcile(wiring.store(), wiring.scheduler(), wiring.settings(ReconcilerSettings).policy(), utcnow()))
