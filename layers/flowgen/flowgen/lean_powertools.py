"""Importing this module first keeps two Powertools package `__init__`s out of a cold start.

Importing `aws_lambda_powertools.event_handler.api_gateway` runs `event_handler/__init__.py`,
which imports every resolver Powertools has (AppSync's brings asyncio, Bedrock's and VPC
Lattice's their event classes), and `api_gateway` then runs `utilities/data_classes/__init__.py`,
which imports all forty event classes. The api uses one resolver and one event: those two
`__init__`s cost about 30 ms of the api's 300 ms import budget (bench/cold_start.py).

`defer_package_init` registers such a package without running its `__init__`. A name asked of
the package is imported from the submodule its `__init__` imports it from (read from the
`__init__`'s source, so it follows Powertools upgrades), and only that submodule is loaded. A
name the `__init__` does not import from a submodule (`__all__`) runs the real `__init__`. So
nothing is missing, it only arrives when used. A package already imported is left as it is.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from functools import cached_property
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Any

EVENT_HANDLER = "aws_lambda_powertools.event_handler"
DATA_CLASSES = "aws_lambda_powertools.utilities.data_classes"


def names_imported_by_init(package: str, init_source: str) -> dict[str, str]:
    """{name: submodule} for each `from .submodule import name` at the top of the `__init__`."""
    found = {}
    for statement in ast.parse(init_source).body:
        if isinstance(statement, ast.ImportFrom) and statement.module and statement.level < 2:
            module = statement.module if statement.level == 0 else f"{package}.{statement.module}"
            if module.startswith(package + "."):
                found.update({alias.asname or alias.name: module for alias in statement.names})
    return found


class _DeferredInit:
    """The attribute fallback (PEP 562 `__getattr__`) of a package whose `__init__` has not run."""

    def __init__(self, module: ModuleType, spec: ModuleSpec) -> None:
        self.module, self.spec = module, spec
        self.ran_init = False

    @cached_property
    def defined_in(self) -> dict[str, str]:
        return names_imported_by_init(self.module.__name__, Path(str(self.spec.origin)).read_text(encoding="utf-8"))

    def __call__(self, name: str) -> Any:
        package = self.module.__name__
        if name in self.defined_in:
            value = getattr(importlib.import_module(self.defined_in[name]), name)
        elif importlib.util.find_spec(f"{package}.{name}") is not None:
            value = importlib.import_module(f"{package}.{name}")  # `from package import submodule`
        else:
            return self._from_the_real_init(name)
        setattr(self.module, name, value)
        return value

    def _from_the_real_init(self, name: str) -> Any:
        if self.ran_init or self.spec.loader is None:
            raise AttributeError(f"module {self.module.__name__!r} has no attribute {name!r}")
        self.ran_init = True
        self.spec.loader.exec_module(self.module)  # into this same module object
        return getattr(self.module, name)


def defer_package_init(package: str) -> ModuleType:
    """`package` in sys.modules with its `__init__` not run yet (see the module's docstring)."""
    if package in sys.modules:
        return sys.modules[package]
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None or spec.submodule_search_locations is None:
        raise ImportError(f"{package} is not a package with an __init__ file")
    module = importlib.util.module_from_spec(spec)
    module.__getattr__ = _DeferredInit(module, spec)  # type: ignore[method-assign]
    sys.modules[package] = module
    parent, _, child = package.rpartition(".")
    setattr(importlib.import_module(parent), child, module)
    return module


defer_package_init(EVENT_HANDLER)
defer_package_init(DATA_CLASSES)
