"""Mutation score of the domain's scheduling, reconciliation and course use cases: the share of
mutmut's mutants of each module that the fast unit tests kill. Exits 1 when a gated module
(scheduling, reconcile, courses) scores under the floor.

mutmut 3 mutates a package found at ./, src/ or source/ and names each mutant after its file's
path; the layer lives at layers/flowgen/flowgen (pyproject's package-dir), so mutmut runs on a
copy laid out as it expects:

    src/flowgen/          the layer (only MODULES are mutated)
    tests/                the unit tests that exercise them (TEST_FILES), tests/fakes, tests/narrow.py
                          and tests/unit/conftest.py (sockets refused); not tests/conftest.py, whose
                          session fixture starts the local stack's Lambda host for every mutant
    pyproject.toml        the project's [tool.pytest.ini_options] and this run's [tool.mutmut]

mutmut 3.8.1 is the first to run on pytest 9 and wants click>=8.4.2, which the SAM CLI (click==8.1.8)
refuses, so it lives in a venv of its own, .venv/mutmut (made on first use, as checkov's): its own
packages pinned to the project venv's versions but click, and the project venv's site-packages
after its own, so the tests run on the project's packages.

mutmut first runs the selection once, recording which tests reach each function, then runs each
mutant against only those tests, one forked process per mutant (`--max-children`, default one per
core). mutmut's own exclusion, `# pragma: no mutate`, is honoured in the copied sources.

    .venv/bin/python bench/mutation.py                      # all modules
    .venv/bin/python bench/mutation.py scheduling reconcile # some of them
    .venv/bin/python bench/mutation.py --survivors          # and the diff of every surviving mutant
    .venv/bin/python bench/mutation.py courses --only '*_mutmut_*[05]'  # a fifth of the mutants (fnmatch)
    .venv/bin/python bench/mutation.py --keep .flowgen/mutation  # keep the copy, then there:
                                                            #   ../../.venv/bin/mutmut browse
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "layers" / "flowgen" / "flowgen"
MUTMUT = "mutmut==3.8.1"
TOOL_VENV = Path(sys.prefix) / "mutmut"  # .venv/mutmut when run by the project venv's python

# module -> gated (its score must reach FLOOR); outline_plan and ownership were split out of
# courses.py and are reported as its successors
MODULES = {"scheduling": True, "reconcile": True, "courses": True, "outline_plan": False, "ownership": False}
FLOOR = 80.0

# the unit tests that reach these modules (through CourseService, JobScheduler, reconcile, the
# World of test_domain); mutmut narrows each mutant's run to the tests that reached its function
TEST_FILES = [
    "test_scheduling.py",
    "test_deferral.py",
    "test_reconcile.py",
    "test_course_service.py",
    "test_domain.py",
    "test_questions.py",
    "test_progress.py",
    "test_streaming.py",
    "test_outline_streaming.py",
    "test_poll_cost.py",
    "test_store_contract.py",
]
TEST_SUPPORT = ["__init__.py", "narrow.py", "fakes", "unit/__init__.py", "unit/conftest.py"]

# mutmut's exit codes (mutmut.__main__.status_by_exit_code): what counts as the tests noticing
KILLED = {"killed", "timeout", "segfault", "caught by type check"}
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped"}
STATUS |= {36: "timeout", 37: "caught by type check", 24: "timeout", -24: "timeout", 152: "timeout"}
STATUS |= {255: "timeout", -11: "segfault", -9: "segfault", 2: "interrupted", 35: "suspicious"}


@dataclass(frozen=True)
class Score:
    module: str
    statuses: Counter[str]
    survivors: list[str]

    @property
    def total(self) -> int:
        return sum(n for status, n in self.statuses.items() if status not in {"skipped", "not run"})

    @property
    def killed(self) -> int:
        return sum(n for status, n in self.statuses.items() if status in KILLED)

    @property
    def percent(self) -> float:
        return 100.0 * self.killed / self.total if self.total else 100.0


def lay_out(work: Path, modules: list[str]) -> None:
    """The copy mutmut runs on (see the module's docstring)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(LAYER, work / "src" / "flowgen", ignore=ignore)
    tests = ROOT / "tests"
    for name in TEST_SUPPORT:
        source, target = tests / name, work / "tests" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore)
        else:
            shutil.copy2(source, target)
    selected = [f"tests/unit/{name}" for name in TEST_FILES if (tests / "unit" / name).exists()]
    for path in selected:
        shutil.copy2(ROOT / path, work / path)
    pytest_options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    mutmut = {
        "source_paths": ["src"],
        "only_mutate": [f"src/flowgen/{module}.py" for module in modules],
        "pytest_add_cli_args": ["-p", "no:cacheprovider"],
        "pytest_add_cli_args_test_selection": selected,
        "use_git_change_detection": False,  # the copy is no repository
    }
    lines = ["[tool.pytest.ini_options]", *_toml(pytest_options), "", "[tool.mutmut]", *_toml(mutmut)]
    (work / "pyproject.toml").write_text("\n".join(lines) + "\n")


def _toml(table: dict[str, object]) -> list[str]:
    """Strings, numbers, booleans and lists of them: JSON writes each as TOML reads it."""
    return [f"{key} = {json.dumps(value)}" for key, value in table.items()]


def mutmut_command() -> str:
    """mutmut in its venv (see the module's docstring), made when missing."""
    marker = TOOL_VENV / f".installed-{MUTMUT}"
    if not marker.exists():
        print(f"installing {MUTMUT} into {TOOL_VENV}")
        shutil.rmtree(TOOL_VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(TOOL_VENV)], check=True)
        frozen = subprocess.run(
            [sys.executable, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        pins = [line for line in frozen if "==" in line and not line.lower().startswith("click==")]
        (TOOL_VENV / "constraints.txt").write_text("\n".join(pins) + "\n")
        pip = [str(TOOL_VENV / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, MUTMUT, "-c", str(TOOL_VENV / "constraints.txt")], check=True)
        tool_site = subprocess.run(
            [str(TOOL_VENV / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        project_site = sysconfig.get_paths()["purelib"]
        (Path(tool_site) / "zz_flowgen_project.pth").write_text(f"import site; site.addsitedir({project_site!r})\n")
        marker.touch()
    return str(TOOL_VENV / "bin" / "mutmut")


def run_mutmut(work: Path, max_children: int, quiet: bool, only: list[str]) -> None:
    command = [mutmut_command(), "run", "--max-children", str(max_children), *only]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with open(work / "mutmut.log", "w") as log:
        result = subprocess.run(command, cwd=work, env=env, stdout=log if quiet else None, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        if quiet:
            sys.stdout.write((work / "mutmut.log").read_text()[-4000:])
        raise SystemExit(f"mutmut run failed ({result.returncode}); the copy is kept in {work}")


def scores(work: Path, modules: list[str]) -> list[Score]:
    found = []
    for module in modules:
        meta = json.loads((work / "mutants" / "src" / "flowgen" / f"{module}.py.meta").read_text())
        statuses = {  # None: not run (left out by --only, or the run was stopped)
            name: "not run" if code is None else STATUS.get(code, "suspicious")
            for name, code in meta["exit_code_by_key"].items()
        }
        survivors = sorted(name for name, status in statuses.items() if status not in KILLED | {"skipped", "not run"})
        found.append(Score(module, Counter(statuses.values()), survivors))
    return found


def show(work: Path, names: list[str]) -> None:
    for name in names:
        shown = subprocess.run([mutmut_command(), "show", name], cwd=work, capture_output=True, text=True, check=False)
        print(shown.stdout.rstrip() or shown.stderr.rstrip(), end="\n\n")


def report(found: list[Score], seconds: float) -> bool:
    """Prints the table; True when every gated module reaches the floor."""
    print(f"\nmutation score (mutmut, {seconds / 60:.1f} min; killed = killed or timed out)")
    print(f"{'module':<14}{'killed/total':>14}{'score':>9}   other outcomes")
    passed = True
    for score in found:
        gated = MODULES[score.module]
        ok = score.percent >= FLOOR or not gated
        passed &= ok
        others = ", ".join(f"{n} {status}" for status, n in sorted(score.statuses.items()) if status != "killed")
        mark = "" if not gated else ("  ok" if ok else f"  UNDER {FLOOR:.0f}%")
        print(f"{score.module:<14}{score.killed:>8}/{score.total:<5}{score.percent:>8.1f}%   {others}{mark}")
    return passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help=f"default: all of {', '.join(MODULES)}")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--keep", type=Path, help="lay the copy out here (emptied first) and keep it")
    parser.add_argument("--survivors", action="store_true", help="print the diff of every surviving mutant")
    parser.add_argument("--quiet", action="store_true", help="mutmut's progress to <copy>/mutmut.log only")
    parser.add_argument(
        "--only", action="append", default=[], metavar="PATTERN",
        help="only the mutants whose name matches (fnmatch; '*_mutmut_*[05]': a fifth); the others count as not run",
    )  # fmt: skip
    args = parser.parse_args()
    modules = args.modules or list(MODULES)
    if unknown := set(modules) - set(MODULES):
        parser.error(f"not measured here: {', '.join(sorted(unknown))}")
    if args.keep:
        shutil.rmtree(args.keep, ignore_errors=True)
        args.keep.mkdir(parents=True)
        work = args.keep.resolve()
    else:
        work = Path(tempfile.mkdtemp(prefix="flowgen-mutation-"))
    started = time.monotonic()
    lay_out(work, modules)
    run_mutmut(work, args.max_children, args.quiet, args.only)  # on failure the copy stays, for its log
    found = scores(work, modules)
    passed = report(found, time.monotonic() - started)
    if args.survivors:  # a few seconds a mutant: the table first
        show(work, [name for score in found for name in score.survivors])
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
