"""The operator tool (`flowgen status`, `retry-failed`, `redrive`, `reconcile`) imports nothing of
the developer tools: no moto, SAM translator, YAML, mongomock, SimPy or matplotlib, and none of
flowgen_local, flowgen_stand_in, flowgen_capacity or flowgen_faults (`python -X importtime`
lists every module a process imports). `make ops-check` runs the commands in a venv without the
dev extras."""

from __future__ import annotations

import subprocess
import sys

DEV_ONLY = ("moto", "samtranslator", "yaml", "mongomock", "simpy", "matplotlib", "schemathesis", "playwright")
DEV_PACKAGES = ("flowgen_local", "flowgen_stand_in", "flowgen_capacity", "flowgen_faults")


def _imported(code: str) -> set[str]:
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}


def test_the_operator_commands_import_no_developer_tool() -> None:
    code = (
        "import sys; from flowgen_ops import cli; sys.argv = ['flowgen', 'status', '--help']\n"
        "from flowgen_ops import status, retry, reconcile, target\n"
    )
    modules = _imported(code)
    assert {"flowgen_ops.cli", "flowgen_ops.status", "flowgen_ops.retry", "flowgen.reconcile"} <= modules
    leaked = {m for m in modules if m.split(".")[0] in DEV_ONLY + DEV_PACKAGES}
    assert leaked == set()


def test_a_developer_command_names_the_extra_it_needs_when_it_is_missing() -> None:
    """`flowgen local` in a venv without the dev extras: a sentence naming the extra, not a trace."""
    code = (
        "import builtins, sys\n"
        "real = builtins.__import__\n"
        "def refuse(name, *args, **kwargs):\n"
        "    if name.split('.')[0] == 'moto' or name.startswith('flowgen_local.stack'):\n"
        "        raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "    return real(name, *args, **kwargs)\n"
        "builtins.__import__ = refuse\n"
        "from flowgen_ops.cli import main\n"
        "sys.exit(main(['local', '--help']))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert run.returncode != 0
    assert "needs its extra: pip install -e '.[local]'" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
