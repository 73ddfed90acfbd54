"""`python -m flowgen_local.openapi [OUT]`: the OpenAPI document the api function serves at
`GET /openapi.json`, written to OUT (or printed). The web app's API types are generated from it
(`make web-types`), and CI checks they are current."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from flowgen_local.in_process import PLACEHOLDER_API_ENVIRONMENT, load_function


def api_document() -> dict[str, Any]:
    api = load_function("api", PLACEHOLDER_API_ENVIRONMENT)
    document: dict[str, Any] = api.openapi_document()
    return document


def main(argv: list[str]) -> int:
    text = json.dumps(api_document(), indent=2, sort_keys=True) + "\n"
    if argv:
        Path(argv[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
