"""Writes template.yaml after the real SAM transform (samtranslator, as `sam validate` and
`sam deploy` run it) as JSON, for checkers that do not understand SAM (checkov).

    .venv/bin/python .ci/transform.py OUT.json
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from samcli.yamlhelper import yaml_parse
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

ROOT = Path(__file__).resolve().parents[1]


def main(out: str) -> None:
    sam = yaml_parse((ROOT / "template.yaml").read_text())
    for resource in sam["Resources"].values():  # local paths become artefacts, as after `sam package`
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            props["CodeUri"] = "s3://artefacts/function.zip"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = "s3://artefacts/layer.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    translator = Translator(managed_policy_map=None, sam_parser=Parser(), plugins=[])
    template = translator.translate(sam_template=sam, parameter_values={}, get_managed_policy_map=lambda: {})
    Path(out).write_text(json.dumps(template, indent=1, default=str))


if __name__ == "__main__":
    main(sys.argv[1])
