"""The local Lambda host imports shared code once, before it forks instances. What it imports must
read no environment variable: an instance runs with its own function's environment, and a value
read in the host would be the host's, the same in every function."""

from __future__ import annotations

import json
import subprocess
import sys

# Runs in a fresh interpreter: the libraries first (their import reads settings of their own),
# then the layer's modules with every environment read recorded.
PROBE = """
import importlib, json, os, sys
from flowgen_local.lambda_host import LAYER_PRELOAD, PRELOAD

for name in PRELOAD:
    importlib.import_module(name)
reads = set()

class Recorded(dict):
    def __getitem__(self, key):
        reads.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        reads.add(key)
        return super().get(key, default)

    def __contains__(self, key):
        reads.add(key)
        return super().__contains__(key)

os.environ = Recorded(os.environ)
os.getenv = lambda key, default=None: os.environ.get(key, default)
for name in LAYER_PRELOAD:
    importlib.import_module(name)
print(json.dumps({"reads": sorted(reads), "modules": sorted(m for m in sys.modules if m.startswith("flowgen"))}))
"""

# pydantic asks this of every model class it builds: a library setting, not a function's
PYDANTIC_OWN = {"PYDANTIC_DISABLE_PLUGINS"}


def _probe() -> dict[str, list[str]]:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True)
    result: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_layer_modules_the_host_preloads_read_no_environment_and_log_nothing() -> None:
    probe = _probe()
    assert set(probe["reads"]) <= PYDANTIC_OWN, probe["reads"]
    # Powertools' Logger, Metrics and Tracer read the function's environment when built at import
    assert "flowgen.observability" not in probe["modules"]
    assert "flowgen.tracing" not in probe["modules"]
    assert "flowgen.wiring" in probe["modules"] and "flowgen.views" in probe["modules"]


def test_the_probe_sees_a_module_that_reads_the_environment() -> None:
    """The check above can fail: importing the Logger's module through the same probe is seen."""
    probe = PROBE.replace("for name in LAYER_PRELOAD:", "for name in ('flowgen.observability',):")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    reads = set(json.loads(done.stdout.strip().splitlines()[-1])["reads"])
    assert "POWERTOOLS_SERVICE_NAME" in reads
