"""The local stack's buckets (issue 24): made from the template's AWS::S3::Bucket resources on
moto, each new object under a notification's prefix told to its queue as S3 tells it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config
from moto import mock_aws

from flowgen_local.buckets import bucket_refs, create_buckets
from flowgen_local.queues import create_queues
from flowgen_local.template import load

TEMPLATE = """
Resources:
  IngestQueue:
    Type: AWS::SQS::Queue
    Properties: { VisibilityTimeout: 60 }
  Files:
    Type: AWS::S3::Bucket
    Properties:
      NotificationConfiguration:
        QueueConfigurations:
          - Event: s3:ObjectCreated:*
            Queue: !GetAtt IngestQueue.Arn
            Filter: { S3Key: { Rules: [{ Name: prefix, Value: sources/ }] } }
  Plain:
    Type: AWS::S3::Bucket
"""


@pytest.fixture
def aws() -> Iterator[boto3.session.Session]:
    with mock_aws():
        yield boto3.session.Session(region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")


def test_a_new_object_under_the_prefix_reaches_the_queue(tmp_path: Path, aws: boto3.session.Session) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    template = load(path)
    assert template.buckets["Files"].notifications == (("IngestQueue", ("s3:ObjectCreated:*",), "sources/"),)
    sqs, s3 = aws.client("sqs"), aws.client("s3", config=Config(signature_version="s3v4"))
    queues = create_queues(sqs, template, prefix="t")
    buckets = create_buckets(s3, template, queues, prefix="t-1")
    assert bucket_refs(buckets) == {
        "Files": "t-1-files",
        "Files.Arn": "arn:aws:s3:::t-1-files",
        "Plain": "t-1-plain",
        "Plain.Arn": "arn:aws:s3:::t-1-plain",
    }
    form = s3.generate_presigned_post(Bucket="t-1-files", Key="sources/one", Fields={"Content-Type": "text/plain"})
    answer = requests.post(form["url"], data=form["fields"], files={"file": ("a.txt", b"hi", "text/plain")}, timeout=5)
    assert answer.status_code == 204
    s3.put_object(Bucket="t-1-files", Key="elsewhere/two", Body=b"x")  # not under the prefix
    bodies = [
        json.loads(m["Body"])
        for m in sqs.receive_message(QueueUrl=queues["IngestQueue"].url, MaxNumberOfMessages=10)["Messages"]
    ]
    created = [b["Records"][0]["s3"]["object"]["key"] for b in bodies if "Records" in b]
    assert created == ["sources%2Fone"]  # S3 sends keys URL-encoded
