"""One logger and one metrics object for every entry point (service name from the environment).

The tracer lives in flowgen.tracing: building Powertools' Tracer loads the X-Ray SDK (about
0.8 s of imports), which the workers pay at init and the api and authorizer do not pay at all;
their invocations are still traced by Lambda's active tracing (template: Tracing: Active)."""

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()
