"""The lesson worker runs as published versions behind the alias `live` (what SnapStart needs):
every change to what it runs (its code, the layer, a parameter its configuration reads, SnapStart
itself) must publish a version and move the alias, or the queues keep invoking the old one.

SAM decides to publish by hashing the function as written, with Refs unresolved; these tests run
the real SAM transform on variants of the template and check what CloudFormation would see."""

from __future__ import annotations

import copy
import json
import os
import re
from functools import cache
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from flowgen_local.sam import _NoManagedPolicyLookup, transform_template
from flowgen_local.template import ROOT

WORKER = "LessonWorkerFunction"


@cache
def _document() -> dict[str, Any]:
    return dict(yaml_parse((ROOT / "template.yaml").read_text()))


def _transformed(code: str = "s3://b/code", layer: str = "s3://b/layer", **params: str) -> dict[str, Any]:
    """The template as CloudFormation receives it, with packaged code and layer URIs."""
    document = copy.deepcopy(_document())
    for resource in document["Resources"].values():
        props = resource.get("Properties") or {}
        if resource["Type"] == "AWS::Serverless::Function":
            props["CodeUri"] = code
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = layer
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return dict(transform(document, params, _NoManagedPolicyLookup()))


def _version(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    versions = [
        (name, res)
        for name, res in template["Resources"].items()
        if res["Type"] == "AWS::Lambda::Version" and res["Properties"]["FunctionName"] == {"Ref": WORKER}
    ]
    assert len(versions) == 1, versions
    return versions[0]


def _parameters_read(value: Any, declared: set[str]) -> set[str]:
    text = json.dumps(value)
    names = set(re.findall(r'"Ref": "(\w+)"', text)) | set(re.findall(r"\$\{(\w+)\}", text))
    return names & declared


def test_every_parameter_the_workers_configuration_reads_is_in_its_version_description() -> None:
    """A parameter missing here would change $LATEST and leave the alias on the old version."""
    document = _document()
    declared = set(document["Parameters"])
    props = {k: v for k, v in document["Resources"][WORKER]["Properties"].items() if k != "Events"}
    described = props.pop("VersionDescription")
    read = _parameters_read(props, declared) | _parameters_read(document["Globals"]["Function"], declared)
    assert read, "the lesson worker reads parameters"
    assert read <= _parameters_read(described, declared), sorted(read - _parameters_read(described, declared))


def _description(**params: str) -> str:
    """The version's Description as CloudFormation resolves it (Lambda's limit: 256 characters)."""
    document = _document()
    values = {k: str(v.get("Default", "")) for k, v in document["Parameters"].items()} | params
    written = _version(_transformed(**params))[1]["Properties"]["Description"]["Fn::Sub"]
    return re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], written)


def test_a_new_parameter_value_changes_the_version_description_so_cloudformation_replaces_it() -> None:
    """AWS::Lambda::Version: a new Description requires replacement, that is a new version."""
    shipped = _description()
    assert len(shipped) <= 256
    assert _description(LessonModel="gpt-other") != shipped
    assert _description(LessonWorkerSnapStart="PublishedVersions") != shipped
    assert _description(MongoUriSecretName="other/mongo") != shipped


def test_new_code_or_a_new_layer_publishes_a_new_version() -> None:
    """The domain lives in the layer: a layer-only change must reach the alias too."""
    base = _version(_transformed())[0]
    assert _version(_transformed(code="s3://b/other-code"))[0] != base
    assert _version(_transformed(layer="s3://b/other-layer"))[0] != base
    assert _version(_transformed())[0] == base  # and nothing changed, nothing published


def test_both_lesson_queues_invoke_the_alias_and_snapstart_follows_its_parameter() -> None:
    template = transform_template(ROOT / "template.yaml", {"LessonWorkerSnapStart": "PublishedVersions"})
    resources = template["Resources"]
    alias = next(n for n, r in resources.items() if r["Type"] == "AWS::Lambda::Alias")
    assert resources[alias]["Properties"]["Name"] == "live"
    mappings = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
        and r["Properties"]["EventSourceArn"]["Fn::GetAtt"][0] in ("LessonHighQueue", "LessonLowQueue")
    ]
    assert len(mappings) == 2
    assert all(m["FunctionName"] == {"Ref": alias} for m in mappings)
    assert resources[WORKER]["Properties"]["SnapStart"] == {"ApplyOn": {"Ref": "LessonWorkerSnapStart"}}
    parameter = template["Parameters"]["LessonWorkerSnapStart"]
    assert parameter["Default"] == "None"  # it costs money: off unless asked for
    assert set(parameter["AllowedValues"]) == {"None", "PublishedVersions"}
