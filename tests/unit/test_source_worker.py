"""The ingestion worker's handler (issue 24): S3's ObjectCreated events through SQS, a test event
and keys not ours ignored, an outage reported as that record's failure only."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from flowgen import wiring
from flowgen.clock import utcnow
from flowgen.library import CreateSourceRequest, LibrarySettings, SourceService, SourceStatus, object_key
from flowgen_local.documents import handbook_pages, pdf_bytes
from tests.fakes.lambda_context import Context
from tests.fakes.sources import MemoryObjects, MemorySourceStore

ROOT = Path(__file__).resolve().parents[2]


def _s3_event(*keys: str) -> str:
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": "us-east-1",
                    "eventTime": "2026-12-06T09:00:00.000Z",
                    "eventName": "ObjectCreated:Post",
                    "userIdentity": {"principalId": "AWS:x"},
                    "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                    "responseElements": {"x-amz-request-id": "r", "x-amz-id-2": "i"},
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "configurationId": "ingest",
                        "bucket": {
                            "name": "sources",
                            "ownerIdentity": {"principalId": "x"},
                            "arn": "arn:aws:s3:::sources",
                        },
                        "object": {"key": key, "size": 10, "eTag": "e", "sequencer": "0"},
                    },
                }
                for key in keys
            ]
        }
    )


def _record(message_id: str, body: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": "r",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1",
            "SenderId": "s",
            "ApproximateFirstReceiveTimestamp": "1",
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ingest",
        "awsRegion": "us-east-1",
    }


@pytest.fixture
def worker(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[ModuleType, SourceService, MemorySourceStore, MemoryObjects]]:
    for name, value in {
        "MONGO_URI": "mongodb://unused",
        "SOURCES_BUCKET": "sources",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    store, objects = MemorySourceStore(), MemoryObjects()
    service = SourceService(store, objects, LibrarySettings())
    wiring.reset()
    wiring.override(source_service=service)
    spec = importlib.util.spec_from_file_location("source_worker_under_test", ROOT / "functions/source_worker/app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module, service, store, objects
    wiring.reset()


def test_an_uploaded_file_is_ingested_and_a_redelivery_changes_nothing(
    worker: tuple[ModuleType, SourceService, MemorySourceStore, MemoryObjects],
) -> None:
    module, service, store, objects = worker
    upload = service.register(
        "alice", CreateSourceRequest(filename="h.pdf", content_type="application/pdf", size=10), utcnow()
    )
    objects.put(object_key(upload.id), pdf_bytes(handbook_pages(3)))
    event = {"Records": [_record("m1", _s3_event(object_key(upload.id)))]}
    assert module.lambda_handler(event, Context()) == {"batchItemFailures": []}
    assert store.sources[upload.id].status is SourceStatus.READY and len(store.chunk_rows[upload.id]) == 3
    reads = objects.reads
    assert module.lambda_handler(event, Context()) == {"batchItemFailures": []}
    assert objects.reads == reads


def test_test_events_and_other_keys_are_ignored_and_an_outage_fails_only_its_record(
    worker: tuple[ModuleType, SourceService, MemorySourceStore, MemoryObjects],
) -> None:
    module, service, store, objects = worker
    upload = service.register(
        "alice", CreateSourceRequest(filename="n.md", content_type="text/markdown", size=10), utcnow()
    )
    objects.put(object_key(upload.id), b"# Notes\n\nSome text.")
    test_event = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "t", "Bucket": "sources"})
    good = {"Records": [_record("t", test_event), _record("o", _s3_event("uploads/other.txt"))]}
    assert module.lambda_handler(good, Context()) == {"batchItemFailures": []}
    assert store.sources[upload.id].status is SourceStatus.UPLOADING
    store.down = True
    event = {"Records": [_record("down", _s3_event(object_key(upload.id))), _record("t2", test_event)]}
    assert module.lambda_handler(event, Context()) == {"batchItemFailures": [{"itemIdentifier": "down"}]}
    store.down = False
    assert module.lambda_handler(event, Context()) == {"batchItemFailures": []}
    assert store.sources[upload.id].status is SourceStatus.READY
