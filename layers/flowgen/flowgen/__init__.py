"""FlowGen: AI-generated courses on AWS Lambda.

Layers, one direction: handlers (functions/*/app.py) -> domain (this package's
top-level modules) -> adapters (flowgen.adapters, the only code that imports
boto3, pymongo, redis, openai or jwt).
"""
