"""flowgen.lean_powertools: Powertools' package `__init__`s run only when a name needs them, and
every name still resolves to the object the real package exports. Each check runs in a fresh
interpreter: whether the stand-in is installed depends on what was imported first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "layers" / "flowgen")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def test_every_name_the_real_package_exports_resolves_to_the_same_object() -> None:
    """A Powertools upgrade that changes an `__init__` is followed, or fails here."""
    out = _python(
        "import importlib\n"
        "import aws_lambda_powertools.event_handler as eh\n"
        "import aws_lambda_powertools.utilities.data_classes as dc\n"
        "from flowgen import lean_powertools as lean\n"
        "assert lean.defer_package_init(lean.EVENT_HANDLER) is eh  # imported already: left as it is\n"
        "for pkg in (eh, dc):\n"
        "    where = lean.names_imported_by_init(pkg.__name__, open(pkg.__file__).read())\n"
        "    exported = [n for n in dir(pkg) if not n.startswith('_') and not isinstance(getattr(pkg, n), type(eh))]\n"
        "    wrong = [n for n in exported if n not in where or getattr(importlib.import_module(where[n]), n) "
        "is not getattr(pkg, n)]\n"
        "    print(len(exported) > 10, wrong)"
    )
    assert out.splitlines() == ["True []", "True []"]


def test_the_api_s_imports_leave_the_other_resolvers_and_events_unloaded_until_asked() -> None:
    out = _python(
        "import sys\n"
        "import flowgen.lean_powertools\n"
        "import aws_lambda_powertools.event_handler as eh\n"
        "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types\n"
        "from aws_lambda_powertools.event_handler.middlewares.openapi_validation import "
        "OpenAPIRequestValidationMiddleware\n"
        "unused = ['asyncio', 'aws_lambda_powertools.event_handler.appsync',"
        " 'aws_lambda_powertools.utilities.data_classes.s3_event']\n"
        "print([m for m in unused if m in sys.modules])\n"
        "import aws_lambda_powertools.utilities.batch  # sqs_event asks the half-built package for S3Event\n"
        "print('aws_lambda_powertools.event_handler.appsync' in sys.modules)\n"
        "from aws_lambda_powertools.event_handler import AppSyncResolver  # not listed: the real __init__ runs\n"
        "print([m for m in unused if m in sys.modules] == unused, all(hasattr(eh, n) for n in eh.__all__))\n"
        "try:\n"
        "    eh.NoSuchResolver\n"
        "except AttributeError as exc:\n"
        "    print(exc)\n"
    )
    assert out.splitlines() == [
        "[]",
        "False",
        "True True",
        "module 'aws_lambda_powertools.event_handler' has no attribute 'NoSuchResolver'",
    ]
