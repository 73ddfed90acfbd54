"""Creates the template's buckets on moto's S3, with the notifications that tell a queue of each
new object (issue 24: the sources bucket and its ingest queue), as CloudFormation would."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowgen_local.queues import LocalQueue
from flowgen_local.template import Template


@dataclass(frozen=True)
class LocalBucket:
    name: str
    arn: str


def create_buckets(
    s3: Any, template: Template, queues: dict[str, LocalQueue], *, prefix: str
) -> dict[str, LocalBucket]:
    """One bucket per AWS::S3::Bucket, named `<prefix>-<logical id>` (lower case: S3's rule); its
    queue notifications point at the stack's queues. moto sends S3's test event at once."""
    created: dict[str, LocalBucket] = {}
    for spec in template.buckets.values():
        name = f"{prefix}-{spec.name}".lower()
        s3.create_bucket(Bucket=name)
        if spec.notifications:
            configurations = [
                {
                    "QueueArn": queues[queue].arn,
                    "Events": list(events),
                    **(
                        {"Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": key_prefix}]}}}
                        if key_prefix
                        else {}
                    ),
                }
                for queue, events, key_prefix in spec.notifications
            ]
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"QueueConfigurations": configurations}
            )
        created[spec.name] = LocalBucket(name, f"arn:aws:s3:::{name}")
    return created


def bucket_refs(buckets: dict[str, LocalBucket]) -> dict[str, str]:
    """What `!Ref Bucket` and `!GetAtt Bucket.Arn` resolve to, for Template.resolve."""
    refs: dict[str, str] = {}
    for logical, bucket in buckets.items():
        refs[logical] = bucket.name
        refs[f"{logical}.Arn"] = bucket.arn
    return refs
