"""wiring builds the ingestion worker's SourceService from its settings (issue 24): the bucket,
SigV4 forms, the limits, and max_receive_count as the attempts a poisoned file gets."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from flowgen import wiring
from flowgen.clock import utcnow
from flowgen.library import CreateSourceRequest, SourceStatus, object_key
from flowgen.settings import SourceWorkerSettings
from flowgen_local.documents import handbook_pages, pdf_bytes
from tests.fakes.sources import MemorySourceStore


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    wiring.reset()
    with mock_aws():
        yield
    wiring.reset()


def test_the_worker_service_is_wired_to_its_bucket_and_limits(aws: None) -> None:
    boto3.client("s3").create_bucket(Bucket="sources")
    store = MemorySourceStore()
    wiring.override(source_store=store)
    cfg = SourceWorkerSettings(
        mongo_uri="mongodb://unused", sources_bucket="sources", source_max_pages=7, max_receive_count=4
    )
    service = wiring.source_service(cfg)
    assert (service.settings.max_pages, service.settings.max_attempts) == (7, 4)
    upload = service.register(
        "alice", CreateSourceRequest(filename="a.pdf", content_type="application/pdf", size=9), utcnow()
    )
    assert upload.upload.fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256" and "sources" in upload.upload.url
    boto3.client("s3").put_object(Bucket="sources", Key=object_key(upload.id), Body=pdf_bytes(handbook_pages(8)))
    assert service.ingest(upload.id, utcnow()) is SourceStatus.FAILED  # 8 pages > 7
    error = store.sources[upload.id].error
    assert error is not None and error.reason == "over 7 pages (8)"
