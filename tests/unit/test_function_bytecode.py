"""What ships of each function: its code and that code's bytecode. /var/task is read-only on
Lambda, so a function without .pyc compiles its app.py on every cold start (about 11 ms for the
api's). functions/Makefile builds every function (template.yaml: BuildMethod makefile,
ContextPath functions) as layers/flowgen/Makefile builds the layer: unchecked-hash .pyc for
python3.12."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flowgen_local.template import ROOT, load

RAW = load().raw
FUNCTIONS = {
    name: ROOT / resource["Properties"]["CodeUri"]
    for name, resource in RAW["Resources"].items()
    if resource["Type"] == "AWS::Serverless::Function"
}
MAKEFILE = ROOT / "functions" / "Makefile"
BUILD = ROOT / ".aws-sam" / "build"
UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, check_source off


def shipped(directory: Path) -> set[str]:
    """Every file under directory, relative, without bytecode or dotfiles (an editor's, a
    desktop's): what SAM's python builder copied."""
    return {
        p.relative_to(directory).as_posix()
        for p in directory.rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and p.suffix != ".pyc"
        and not any(part.startswith(".") for part in p.relative_to(directory).parts)
    }


def assert_compiled_for_lambda(built: Path, source: Path) -> None:
    """built holds exactly source's files plus, for each .py, its unchecked-hash python3.12 .pyc
    (checked against the .py built next to it)."""
    sources = shipped(source)
    expected = sources | {
        (Path(s).parent / "__pycache__" / f"{Path(s).stem}.cpython-312.pyc").as_posix()
        for s in sources
        if s.endswith(".py")
    }
    assert {p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file()} == expected
    for name in sources:
        if name.endswith(".py"):
            path = built / name
            pyc = (path.parent / "__pycache__" / f"{path.stem}.cpython-312.pyc").read_bytes()
            assert pyc[:4] == importlib.util.MAGIC_NUMBER, f"{name}: not bytecode for python3.12"
            assert int.from_bytes(pyc[4:8], "little") == UNCHECKED_HASH, f"{name}: not unchecked-hash"
            assert pyc[8:16] == importlib.util.source_hash(path.read_bytes()), f"{name}: compiled from other source"


def test_every_function_builds_with_the_shared_makefile_outside_its_code() -> None:
    assert set(FUNCTIONS) == {
        "ApiFunction",
        "AuthorizerFunction",
        "CourseWorkerFunction",
        "LessonWorkerFunction",
        "ReconcilerFunction",
        "SourceWorkerFunction",  # issue 24: a learner's sources, ingested
    }
    assert RAW["Globals"]["Function"]["Runtime"] == "python3.12"
    for name, code in FUNCTIONS.items():
        metadata = RAW["Resources"][name]["Metadata"]
        assert metadata["BuildMethod"] == "makefile", name
        assert (ROOT / metadata["ContextPath"] / "Makefile").resolve() == MAKEFILE, name
        assert code.parent.resolve() == MAKEFILE.parent, f"{name}: the Makefile must not be in its CodeUri"
        assert metadata["checkov"]["skip"], f"{name}: its checkov skips are gone"
    makefile = MAKEFILE.read_text()
    assert "PYTHON ?= python3.12" in makefile
    assert "-m compileall" in makefile and "--invalidation-mode unchecked-hash" in makefile


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_the_makefile_ships_the_code_with_its_bytecode_as_sam_runs_it(name: str, tmp_path: Path) -> None:
    """As the custom make workflow runs it: in a scratch copy of the CodeUri (stale bytecode
    and dotfiles included), `make --makefile functions/Makefile build-<LogicalId>` with ARTIFACTS_DIR set and,
    as `make build` does, this interpreter's bin first in PATH."""
    assert sys.version_info[:2] == (3, 12)
    scratch, artifacts = tmp_path / "scratch", tmp_path / "artifacts"
    shutil.copytree(FUNCTIONS[name], scratch)
    (scratch / "__pycache__").mkdir(exist_ok=True)
    (scratch / "__pycache__" / "app.cpython-312.pyc").write_bytes(b"stale")
    (scratch / ".DS_Store").write_bytes(b"desktop")
    (scratch / ".idea").mkdir()
    (scratch / ".idea" / "workspace.xml").write_text("editor")
    artifacts.mkdir()
    env = {
        **os.environ,
        "ARTIFACTS_DIR": str(artifacts),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    env.pop("PYTHON", None)
    out = subprocess.run(
        ["make", "--makefile", str(MAKEFILE), f"build-{name}"],  # noqa: S607 - make from PATH, as SAM runs it
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert_compiled_for_lambda(artifacts, FUNCTIONS[name])


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_the_built_function_has_its_code_and_its_bytecode_only(name: str) -> None:
    if not (BUILD / name).is_dir():
        pytest.skip("no `make build` output")
    assert_compiled_for_lambda(BUILD / name, FUNCTIONS[name])
