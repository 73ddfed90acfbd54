"""A function's handler module loaded in this process, as the Lambda runtime loads it: its code
folder first on `sys.path` (its sibling modules import by their bare names) and the variables
its settings read set while it initialises. For tests of a handler and for tools that read what
a function would serve (`python -m flowgen_local.openapi`); the local stack runs functions in
processes of their own instead (lambda_host.py).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType

from flowgen_local.template import ROOT

FUNCTIONS = ROOT / "functions"

# What the api function's settings need to initialise; nothing is contacted at import.
PLACEHOLDER_API_ENVIRONMENT = {
    "MONGO_URI": "mongodb://127.0.0.1:1",
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "COURSE_QUEUE_URL": "http://127.0.0.1:1/000000000000/course",
    "LESSON_HIGH_QUEUE_URL": "http://127.0.0.1:1/000000000000/lesson-high",
    "LESSON_LOW_QUEUE_URL": "http://127.0.0.1:1/000000000000/lesson-low",
    "SHARE_KEY": "in-process-placeholder-share-link-key-not-a-secret",
}


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def load_function(function: str, environment: Mapping[str, str], module: str = "app") -> ModuleType:
    """`functions/<function>/<module>.py` as `<function>.<module>`: a fresh module each call, with
    its own module state (clients, settings). Its folder stays first on `sys.path`."""
    folder = FUNCTIONS / function
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    name = f"{function}.{module}"
    spec = importlib.util.spec_from_file_location(name, folder / f"{module}.py")
    assert spec and spec.loader, f"no {module}.py in {folder}"
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded  # pydantic resolves a model's annotations through its module
    with _environment(environment):
        spec.loader.exec_module(loaded)
    return loaded
