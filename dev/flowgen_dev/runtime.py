"""Runs Lambda handlers in-process the way the Lambda runtime does: module by path, a context."""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from flowgen_dev.template import FunctionSpec

Handler = Callable[[dict, Any], Any]


class LambdaContext:
    def __init__(self, function_name: str, timeout_seconds: int, memory_mb: int = 512) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handler(spec: FunctionSpec) -> Handler:
    """Imports `<CodeUri>/<module>.py` under a name of its own, as each Lambda has its own module."""
    module_name, func_name = spec.handler.rsplit(".", 1)
    path = spec.code_uri / f"{module_name}.py"
    import_spec = importlib.util.spec_from_file_location(f"flowgen_function_{spec.name}", path)
    assert import_spec and import_spec.loader, f"cannot load {path}"
    module = importlib.util.module_from_spec(import_spec)
    sys.modules[import_spec.name] = module  # as an import would: pydantic resolves annotations through it
    import_spec.loader.exec_module(module)
    return getattr(module, func_name)


def invoke(spec: FunctionSpec, handler: Handler, event: dict) -> Any:
    return handler(event, LambdaContext(spec.name, spec.timeout))


def sqs_event(messages: list[dict], queue_arn: str) -> dict:
    """An SQS event as Lambda builds it from ReceiveMessage results."""
    records = []
    for m in messages:
        attrs = m.get("Attributes", {})
        records.append(
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {
                    "ApproximateReceiveCount": attrs.get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": attrs.get("SentTimestamp", str(int(time.time() * 1000))),
                    "SenderId": attrs.get("SenderId", "local"),
                    "ApproximateFirstReceiveTimestamp": attrs.get(
                        "ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000))
                    ),
                },
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}
