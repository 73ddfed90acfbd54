"""Creates the template's buckets on moto's S3, with the notifications that tell a queue of each
new object (issue 24: the sources bucket and its ingest queue), as CloudFormation would.

moto's S3 keeps nothing when its server stops, so a stack with a data directory keeps its buckets'
objects itself, as it keeps its DLQs (dead_letters.py): a clean stop writes each object under
`<data dir>/buckets/<logical id>/` and the next start puts them back before the bucket's
notifications exist, so what was already ingested is not ingested again. A run that did not stop
cleanly could not write what it received; its sources' records and passages are in MongoDB.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from flowgen_local.queues import LocalQueue
from flowgen_local.template import Template

SAVED = "buckets"
TYPES = "content-types.json"  # key -> Content-Type, beside a bucket's objects


@dataclass(frozen=True)
class LocalBucket:
    name: str
    arn: str


def create_buckets(
    s3: Any, template: Template, queues: dict[str, LocalQueue], *, prefix: str, data_dir: Path | None = None
) -> dict[str, LocalBucket]:
    """One bucket per AWS::S3::Bucket, named `<prefix>-<logical id>` (lower case: S3's rule); its
    queue notifications point at the stack's queues. moto sends S3's test event at once. With a
    `data_dir`, the objects a clean stop saved are put back first (no event for them)."""
    created: dict[str, LocalBucket] = {}
    for spec in template.buckets.values():
        name = f"{prefix}-{spec.name}".lower()
        s3.create_bucket(Bucket=name)
        if data_dir:
            _restore(s3, name, data_dir / SAVED / spec.name)
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


def save_objects(s3: Any, buckets: dict[str, LocalBucket], data_dir: Path) -> int:
    """Writes every object of every bucket under `data_dir`, replacing what an earlier stop wrote;
    how many."""
    saved = 0
    for logical, bucket in buckets.items():
        folder = data_dir / SAVED / logical
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        types: dict[str, str] = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket.name):
            for item in page.get("Contents", []):
                got = s3.get_object(Bucket=bucket.name, Key=item["Key"])
                (folder / quote(item["Key"], safe="")).write_bytes(got["Body"].read())
                types[item["Key"]] = got.get("ContentType", "binary/octet-stream")
                saved += 1
        (folder / TYPES).write_text(json.dumps(types))
    return saved


def _restore(s3: Any, bucket: str, folder: Path) -> None:
    if not (folder / TYPES).is_file():
        return
    types: dict[str, str] = json.loads((folder / TYPES).read_text())
    for path in folder.iterdir():
        key = unquote(path.name)
        if key in types:
            s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType=types[key])
