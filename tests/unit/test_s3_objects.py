"""The sources bucket through moto (issue 24): a presigned POST whose policy names exactly the
key, type and size, uploaded as a browser would; reads capped; a missing object is None."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from moto import mock_aws

from flowgen.adapters.s3_objects import S3SourceObjects
from flowgen.library import FileTooLarge

BUCKET = "flowgen-sources-test"


@pytest.fixture
def objects() -> Iterator[S3SourceObjects]:
    with mock_aws():
        client = boto3.client(
            "s3",
            region_name="us-east-1",
            aws_access_key_id="k",
            aws_secret_access_key="s",
            config=Config(signature_version="s3v4"),  # as wiring builds it: a SigV4 policy
        )
        client.create_bucket(Bucket=BUCKET)
        yield S3SourceObjects(client, BUCKET)


def _policy(fields: dict[str, str]) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads(base64.b64decode(fields["policy"]))
    return policy


def test_the_form_admits_only_this_key_type_and_exact_size(objects: S3SourceObjects) -> None:
    url, fields = objects.upload_form("sources/abc", "application/pdf", 1234, 900)
    assert fields["key"] == "sources/abc" and fields["Content-Type"] == "application/pdf"
    conditions = _policy(fields)["conditions"]
    assert {"Content-Type": "application/pdf"} in conditions
    assert ["content-length-range", 1234, 1234] in conditions
    assert {"key": "sources/abc"} in conditions and {"bucket": BUCKET} in conditions
    assert BUCKET in url and fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"


def test_an_upload_through_the_form_is_read_back(objects: S3SourceObjects) -> None:
    data = b"%PDF-1.7 pretend"
    url, fields = objects.upload_form("sources/abc", "application/pdf", len(data), 900)
    answer = requests.post(url, data=fields, files={"file": ("notes.pdf", data, "application/pdf")}, timeout=5)
    assert answer.status_code == 204
    assert objects.read("sources/abc", 100) == data
    with pytest.raises(FileTooLarge):
        objects.read("sources/abc", len(data) - 1)
    objects.delete("sources/abc")
    assert objects.read("sources/abc", 100) is None
    objects.delete("sources/abc")  # deleting twice is no error
