"""Writes template.yaml after the real SAM transform (samtranslator, as `sam validate` and
`sam deploy` run it) as JSON, for checkers that do not understand SAM (checkov).

    .venv/bin/python .ci/transform.py OUT.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from flowgen_local.sam import transform_template

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(transform_template(ROOT / "template.yaml"), indent=1, default=str))
