"""Creates the template's queues (with their redrive policies) on an SQS endpoint."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flowgen_local.template import Template


@dataclass(frozen=True)
class LocalQueue:
    name: str
    url: str
    arn: str
    visibility_timeout: int


def create_queues(
    sqs: Any, template: Template, *, prefix: str, visibility_timeout: int | None = None
) -> dict[str, LocalQueue]:
    """DLQs first, so each main queue's RedrivePolicy can point at its DLQ's ARN."""
    created: dict[str, LocalQueue] = {}
    ordered = sorted(template.queues.values(), key=lambda q: q.dead_letter_queue is not None)
    for spec in ordered:
        timeout = visibility_timeout if visibility_timeout is not None else spec.visibility_timeout
        attributes = {"VisibilityTimeout": str(timeout)}
        if spec.dead_letter_queue:
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": created[spec.dead_letter_queue].arn,
                    "maxReceiveCount": spec.max_receive_count,
                }
            )
        url = sqs.create_queue(QueueName=f"{prefix}-{spec.name}", Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        created[spec.name] = LocalQueue(spec.name, url, arn, timeout)
    return created


def queue_refs(queues: dict[str, LocalQueue]) -> dict[str, str]:
    """What `!Ref Queue` and `!GetAtt Queue.Arn` resolve to, for Template.resolve."""
    refs: dict[str, str] = {}
    for name, q in queues.items():
        refs[name] = q.url
        refs[f"{name}.Arn"] = q.arn
        refs[f"{name}.QueueName"] = q.url.rsplit("/", 1)[-1]
    return refs
