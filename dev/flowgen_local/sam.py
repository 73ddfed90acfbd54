"""template.yaml through the real SAM transform (samtranslator, as `sam validate` and
CloudFormation run it), so the local stack sees the IAM roles and event sources AWS would."""

from __future__ import annotations

import copy
import functools
import json
import os
from pathlib import Path
from typing import Any

from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

_PLACEHOLDER_URI = "s3://flowgen-local/placeholder.zip"


class _NoManagedPolicyLookup(ManagedPolicyLoader):
    """The template names managed policies by ARN only, so no IAM lookup is needed."""

    def __init__(self) -> None:
        pass

    def load(self) -> dict[str, str]:
        return {}


def transform_template(path: Path, parameter_values: dict[str, str] | None = None) -> dict[str, Any]:
    """The CloudFormation template SAM would deploy. Local code and layer paths are replaced by
    a placeholder S3 URI first, as `sam validate` does; nothing else is changed."""
    key = (str(path), path.stat().st_mtime_ns, json.dumps(parameter_values or {}, sort_keys=True))
    return copy.deepcopy(_transform(*key))


@functools.lru_cache(maxsize=16)
def _transform(path_name: str, _mtime_ns: int, parameters_json: str) -> dict[str, Any]:
    path = Path(path_name)
    parameter_values = json.loads(parameters_json)
    document = yaml_parse(path.read_text())
    prepared = copy.deepcopy(document)
    for resource in prepared.get("Resources", {}).values():
        props = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = _PLACEHOLDER_URI
        if resource.get("Type") == "AWS::Serverless::LayerVersion" and isinstance(props.get("ContentUri"), str):
            props["ContentUri"] = _PLACEHOLDER_URI
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    transformed: dict[str, Any] = transform(prepared, dict(parameter_values or {}), _NoManagedPolicyLookup())
    return transformed


_NO_VALUE = object()


def holds(template: dict[str, Any], name: str, parameters: dict[str, str] | None = None) -> bool:
    """A template condition (Fn::Equals, Fn::Not, Condition) with the parameters' defaults, or
    the values given."""
    values = {k: str(p.get("Default", "")) for k, p in template.get("Parameters", {}).items()}
    values.update(parameters or {})

    def value(expr: Any) -> Any:
        if isinstance(expr, dict) and len(expr) == 1:
            ((key, arg),) = expr.items()
            if key == "Fn::Not":
                return not value(arg[0])
            if key == "Fn::Equals":
                return value(arg[0]) == value(arg[1])
            if key == "Condition":
                return holds(template, arg, parameters)
            if key == "Ref":
                return values.get(arg, arg)
        return expr

    return bool(value(template.get("Conditions", {})[name]))


def resolve_conditions(template: dict[str, Any], parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """The template with each Fn::If decided and AWS::NoValue removed, as CloudFormation does
    (moto's CloudFormation turns a NoValue in a list into null and fails on it)."""

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (walk(n) for n in node) if v is not _NO_VALUE]
        if isinstance(node, dict):
            if node == {"Ref": "AWS::NoValue"}:
                return _NO_VALUE
            if len(node) == 1 and "Fn::If" in node:
                name, then, otherwise = node["Fn::If"]
                return walk(then if holds(template, name, parameters) else otherwise)
            return {k: v for k, v in ((k, walk(n)) for k, n in node.items()) if v is not _NO_VALUE}
        return node

    resolved: dict[str, Any] = walk(template)
    return resolved


# Resource types moto's CloudFormation cannot create, yet others' properties read an attribute of
# (a GetAtt of a skipped resource fails the whole stack there): each stands in as a supported
# type answering that attribute. AWS needs none of this.
MOTO_STAND_INS = {
    "AWS::CloudFront::Distribution": {"Type": "AWS::S3::Bucket", "Properties": {}},  # GetAtt DomainName
}


def for_moto_cloudformation(template: dict[str, Any]) -> dict[str, Any]:
    """The template with its conditions decided and MOTO_STAND_INS in place, for moto's
    CloudFormation (the deploy rehearsal, the teardown test)."""
    resolved = resolve_conditions(template)
    for name, resource in resolved["Resources"].items():
        if resource["Type"] in MOTO_STAND_INS:
            stand_in = copy.deepcopy(MOTO_STAND_INS[resource["Type"]])
            resolved["Resources"][name] = {**stand_in, **{k: v for k, v in resource.items() if k == "DependsOn"}}
    # moto has no AWS::Lambda::Alias: what invokes an alias (the lesson worker's `live`, for
    # SnapStart) invokes its function there
    aliases = {n: r for n, r in resolved["Resources"].items() if r["Type"] == "AWS::Lambda::Alias"}
    for name in aliases:
        del resolved["Resources"][name]
    functions = {name: alias["Properties"]["FunctionName"] for name, alias in aliases.items()}
    replaced: dict[str, Any] = _replace_refs(resolved, functions)
    return replaced


def _replace_refs(value: Any, targets: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in targets:
            return copy.deepcopy(targets[value["Ref"]])
        return {k: _replace_refs(v, targets) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_refs(v, targets) for v in value]
    return value
