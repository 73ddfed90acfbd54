"""One logger and one metrics object for every entry point (service name from the environment).

The tracer lives in flowgen.tracing: building Powertools' Tracer loads the X-Ray SDK, which the
workers pay at init where they trace (Lambda with `Tracing: Active`) and the api and authorizer do
not pay at all; their invocations are still traced by Lambda's active tracing."""

import logging
import os
from typing import cast

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
# The template sets the namespace for every function; a process it does not start (`flowgen
# local` re-sending stranded jobs, `flowgen reconcile`) would otherwise fail on its 100th metric,
# when Powertools serialises the full set and finds no namespace.
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "FlowGen")

# Powertools' batch processor logs a record it could not process (an unreadable body among them)
# only at DEBUG unless given a logger; with ours, each is a WARNING with its traceback, so a
# message on its way to a DLQ leaves a line in the function's log. Its parameter is typed
# logging.Logger, which Powertools' Logger serves by delegation.
batch_logger = cast(logging.Logger, logger)
