"""S3's browser POST upload as the local stack checks it (issue 24): the policy's conditions, the
signature and the principal's s3:PutObject, which moto's own server does not check."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from flowgen_local.s3_post import FormRefused, check_form, policy_problem

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def _form(
    conditions: Sequence[object], *, expires: datetime = NOW + timedelta(minutes=5), **fields: str
) -> dict[str, str]:
    policy = {"expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"), "conditions": conditions}
    return {"policy": base64.b64encode(json.dumps(policy).encode()).decode(), **fields}


def test_the_policy_holds_the_upload_to_its_bucket_key_type_and_size() -> None:
    conditions = [
        {"bucket": "b"},
        {"key": "sources/a"},
        {"Content-Type": "application/pdf"},
        ["content-length-range", 5, 5],
    ]
    form = {**_form(conditions, key="sources/a"), "Content-Type": "application/pdf"}
    assert policy_problem(form, "b", 5, NOW) is None
    assert "content-length-range" in (policy_problem(form, "b", 6, NOW) or "")
    assert "sources/a" in (policy_problem({**form, "key": "sources/b"}, "b", 5, NOW) or "")
    assert "Content-Type" in (policy_problem({**form, "Content-Type": "text/html"}, "b", 5, NOW) or "")
    assert "bucket" in (policy_problem(form, "other", 5, NOW) or "")
    assert policy_problem(_form(conditions, expires=NOW - timedelta(seconds=1)), "b", 5, NOW) == (
        "Invalid according to Policy: Policy expired."
    )
    assert policy_problem(_form([["starts-with", "$key", "sources/"]], key="sources/x"), "b", 1, NOW) is None
    assert policy_problem(_form([["starts-with", "$key", "sources/"]], key="x"), "b", 1, NOW) is not None


@pytest.fixture
def aws() -> Iterator[boto3.session.Session]:
    with mock_aws():
        yield boto3.session.Session(region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")


def test_a_form_signed_by_an_allowed_role_passes_and_anything_else_is_refused(aws: boto3.session.Session) -> None:
    iam = aws.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    arn = iam.create_role(RoleName="api", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    grant = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/sources/*"}
    iam.put_role_policy(
        RoleName="api", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [grant]})
    )
    c = aws.client("sts").assume_role(RoleArn=arn, RoleSessionName="api-local")["Credentials"]
    role = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id=c["AccessKeyId"],
        aws_secret_access_key=c["SecretAccessKey"],
        aws_session_token=c["SessionToken"],
        config=Config(signature_version="s3v4"),
    )
    post = role.generate_presigned_post(Bucket="b", Key="sources/a", Conditions=[["content-length-range", 3, 3]])
    fields = dict(post["fields"])
    check_form(fields, "b", "sources/a", 3, "123456789012")
    with pytest.raises(FormRefused, match="content-length-range"):
        check_form(fields, "b", "sources/a", 4, "123456789012")
    with pytest.raises(FormRefused, match="signature"):
        check_form({**fields, "x-amz-signature": "0" * 64}, "b", "sources/a", 3, "123456789012")
    elsewhere = role.generate_presigned_post(Bucket="b", Key="other/a")
    with pytest.raises(FormRefused, match="Access Denied"):
        check_form(dict(elsewhere["fields"]), "b", "other/a", 3, "123456789012")
