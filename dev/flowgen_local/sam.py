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
