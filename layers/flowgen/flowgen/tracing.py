"""Powertools' Tracer, for the queue workers and the reconciler (see flowgen.observability)."""

from aws_lambda_powertools import Tracer

tracer = Tracer()
