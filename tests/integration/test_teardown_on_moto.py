"""Teardown of the deployed stack (issue 21), on moto's CloudFormation: the part of the deploy
rehearsal (`make deploy-rehearsal`, dev/deploy_rehearsal.py) fast enough to be a test. The
template as CloudFormation receives it (after the SAM transform, its conditions decided) is
created, the web bucket filled as an upload leaves it (object versions, a delete marker), and
the stack deleted: every resource goes but the web bucket, which keeps every version.

moto leaves a non-empty bucket behind silently where AWS fails the delete (BucketNotEmpty), so
the retention is shown on an empty bucket too, beside a control without the DeletionPolicy whose
empty bucket moto does delete. Resource types moto's CloudFormation cannot create (the HTTP API,
CloudFront, alarms, metric filters, the schedule) are skipped by it; the distribution, whose
DomainName the api's WEB_URL reads, stands in as a bucket (docs/alarms-and-teardown.md).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from flowgen_local.sam import for_moto_cloudformation, transform_template
from flowgen_local.template import ROOT

REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "teardown")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "teardown")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield


def deployable() -> dict[str, Any]:
    """The transformed template as moto can create it (conditions decided, the CloudFront
    distribution a stand-in bucket), its code where it says (the transform's placeholder)."""
    template = for_moto_cloudformation(transform_template(ROOT / "template.yaml"))
    s3 = boto3.client("s3", region_name=REGION)
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        location = props.get("Code") or props.get("Content") or {}
        bucket, key = location.get("S3Bucket"), location.get("S3Key")
        if bucket and key:
            if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
                s3.create_bucket(Bucket=bucket)
            archive = io.BytesIO()
            with zipfile.ZipFile(archive, "w") as zipped:
                zipped.writestr("app.py", "def lambda_handler(event, context):\n    return {}\n")
            s3.put_object(Bucket=bucket, Key=key, Body=archive.getvalue())
    return template


def create(name: str, template: dict[str, Any]) -> dict[str, str]:
    """The stack created; its resources' physical ids by logical id (those moto created)."""
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    # as `sam deploy` does: a change set, then its execution (moto's CreateStack refuses a GetAtt
    # of a resource type it skips, the CloudFront distribution; its change sets do not)
    cloudformation.create_change_set(
        StackName=name,
        ChangeSetName="deploy",
        ChangeSetType="CREATE",
        TemplateBody=json.dumps(template),
        Capabilities=["CAPABILITY_IAM"],
    )
    cloudformation.execute_change_set(StackName=name, ChangeSetName="deploy")
    (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    listed = cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in listed if r.get("LogicalResourceId")}


def delete(name: str) -> str:
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.delete_stack(StackName=name)
    summaries = cloudformation.list_stacks()["StackSummaries"]
    return next(s["StackStatus"] for s in summaries if s["StackName"] == name)


def buckets() -> set[str]:
    return {b["Name"] for b in boto3.client("s3", region_name=REGION).list_buckets()["Buckets"]}


def test_deleting_the_stack_removes_everything_but_the_web_bucket_with_every_version(aws: None) -> None:
    resources = create("flowgen", deployable())
    bucket = resources["WebBucket"]
    s3, sqs = boto3.client("s3", region_name=REGION), boto3.client("sqs", region_name=REGION)
    template_queues = [r for r in deployable()["Resources"].values() if r["Type"] == "AWS::SQS::Queue"]
    assert len(sqs.list_queues().get("QueueUrls", [])) == len(template_queues) >= 6
    # moto ignores the template's VersioningConfiguration: switched on as AWS has it
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"<h1>v1</h1>", b"<h1>v2</h1>"):
        s3.put_object(Bucket=bucket, Key="index.html", Body=body)
    s3.put_object(Bucket=bucket, Key="config.json", Body=b"{}")
    s3.delete_object(Bucket=bucket, Key="config.json")

    assert delete("flowgen") == "DELETE_COMPLETE"

    assert bucket in buckets()
    listing = s3.list_object_versions(Bucket=bucket)
    assert (len(listing["Versions"]), len(listing["DeleteMarkers"])) == (3, 1)
    assert sqs.list_queues().get("QueueUrls", []) == []  # the queues went with the stack
    assert boto3.client("lambda", region_name=REGION).list_functions()["Functions"] == []
    sns = boto3.client("sns", region_name=REGION)
    assert sns.list_topics()["Topics"] == []  # the alarm topic too


@pytest.mark.parametrize(("retained", "kept"), [(True, True), (False, False)])
def test_the_deletion_policy_is_what_keeps_the_empty_web_bucket(aws: None, retained: bool, kept: bool) -> None:
    """The control: without the template's DeletionPolicy moto deletes the (empty) bucket."""
    template = deployable()
    if not retained:
        template["Resources"]["WebBucket"].pop("DeletionPolicy")
        template["Resources"]["WebBucket"].pop("UpdateReplacePolicy")
    bucket = create("flowgen", template)["WebBucket"]
    assert delete("flowgen") == "DELETE_COMPLETE"
    assert (bucket in buckets()) is kept
