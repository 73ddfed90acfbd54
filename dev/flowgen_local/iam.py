"""Each function's execution role, as the SAM transform writes it, enforced by moto's IAM.

The roles come from `sam.transform_template`: policy templates such as `SQSSendMessagePolicy`
expand to the statements AWS would attach, and managed policies (by ARN) take their documents
from moto's copy of the AWS managed policies. The local Lambda service assumes each role
through moto's STS and hands the function only those credentials, so a call the template does
not grant fails with AccessDenied here as it would in AWS.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"
PARTITION = "aws"
NO_VALUE = object()

# AWS authorizes a batch action by its single action (SendMessageBatch needs sqs:SendMessage);
# moto checks the batch action's own name, so each grant is widened to its batch twin.
_BATCH_TWINS = {
    "sqs:SendMessage": "sqs:SendMessageBatch",
    "sqs:DeleteMessage": "sqs:DeleteMessageBatch",
    "sqs:ChangeMessageVisibility": "sqs:ChangeMessageVisibilityBatch",
}


@dataclass(frozen=True)
class RoleCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str

    def environment(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


class Intrinsics:
    """Evaluates the CloudFormation intrinsics a role document uses, against local values."""

    def __init__(self, template: Mapping[str, Any], parameters: Mapping[str, str], attributes: Mapping[str, str]):
        self.template = template
        self.values: dict[str, str] = {
            "AWS::Partition": PARTITION,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "flowgen-local",
            **parameters,
            **attributes,
        }

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template.get("Conditions", {})[name]))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(item) for item in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return NO_VALUE if arg == "AWS::NoValue" else self.values.get(arg, arg)
            if key == "Fn::GetAtt":
                return self.values.get(".".join(arg), ".".join(arg))
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::If":
                name, yes, no = arg
                return self.resolve(yes if self.condition(name) else no)
            if key == "Fn::Equals":
                left, right = (self.resolve(a) for a in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Join":
                separator, items = arg
                return separator.join(str(i) for i in self.resolve(items))
        return {k: r for k, r in ((k, self.resolve(v)) for k, v in value.items()) if r is not NO_VALUE}

    def _sub(self, arg: Any) -> str:
        text, local = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        names = {**self.values, **{k: str(self.resolve(v)) for k, v in local.items()}}
        return re.sub(r"\$\{([\w:.]+)\}", lambda m: str(names.get(m.group(1), m.group(0))), text)


@cache
def _managed_policies() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return dict(json.loads(aws_managed_policies_data))


def managed_policy_document(arn: str) -> dict[str, Any]:
    name = arn.rsplit("/", 1)[-1]
    return dict(_managed_policies()[name]["Document"])


def _with_batch_twins(document: dict[str, Any]) -> dict[str, Any]:
    document.setdefault("Version", "2012-10-17")  # SAM's inline documents omit it; moto insists
    statements = document.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else list(actions)
        statement["Action"] = actions + [_BATCH_TWINS[a] for a in actions if a in _BATCH_TWINS]
    return document


def role_policies(transformed: Mapping[str, Any], role_name: str, intrinsics: Intrinsics) -> dict[str, dict[str, Any]]:
    """Policy name -> document, inline and managed, with every intrinsic resolved."""
    props = transformed["Resources"][role_name]["Properties"]
    documents: dict[str, dict[str, Any]] = {}
    for arn in intrinsics.resolve(props.get("ManagedPolicyArns", [])):
        documents[arn.rsplit("/", 1)[-1]] = managed_policy_document(arn)
    for policy in intrinsics.resolve(props.get("Policies", [])):
        documents[policy["PolicyName"]] = policy["PolicyDocument"]
    return {name: _with_batch_twins(doc) for name, doc in documents.items()}


def function_roles(transformed: Mapping[str, Any]) -> dict[str, str]:
    """Function logical id -> its role's logical id (SAM names it <Function>Role)."""
    roles: dict[str, str] = {}
    for name, resource in transformed["Resources"].items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        role = resource["Properties"].get("Role", {})
        if isinstance(role, dict) and "Fn::GetAtt" in role:
            roles[name] = role["Fn::GetAtt"][0]
    return roles


class LocalIam:
    """Creates the template's roles in moto's IAM and assumes them for the functions."""

    def __init__(self, admin_session: Any, endpoint_url: str, prefix: str) -> None:
        self.iam = admin_session.client("iam", endpoint_url=endpoint_url, region_name=REGION)
        self.sts = admin_session.client("sts", endpoint_url=endpoint_url, region_name=REGION)
        self.admin_arn = self.sts.get_caller_identity()["Arn"]
        self.prefix = prefix

    def create_role(self, function: str, policies: dict[str, dict[str, Any]]) -> str:
        """The role, trusted by Lambda as in AWS and by the local Lambda service that assumes it."""
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com", "AWS": self.admin_arn},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        name = f"{self.prefix}-{function}"[:64]
        arn = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        for policy_name, document in policies.items():
            self.iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
        return str(arn)

    def assume(self, role_arn: str, session_name: str) -> RoleCredentials:
        creds = self.sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name[:64], DurationSeconds=43200)[
            "Credentials"
        ]
        return RoleCredentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
