"""A Lambda context for calling a function's handler in process."""

from __future__ import annotations


class Context:
    function_name = "LessonWorkerFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:LessonWorkerFunction"
    aws_request_id = "test"

    def __init__(self, remaining_ms: int = 90_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms
