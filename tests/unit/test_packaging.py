"""What ships to Lambda: a hash-locked layer with bytecode, nothing the runtime provides, and an
authorizer whose imports stay within budget (bench/cold_start.py measures it; this keeps the
heavy modules out)."""

from __future__ import annotations

import ast
import dataclasses
import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from flowgen.adapters.jwt_verifier import VerifierConfig
from flowgen.settings import AuthorizerSettings

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "flowgen"
RUNTIME_PROVIDED = {
    "boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six",
    "snapshot-restore-py",  # SnapStart's runtime hooks: in Lambda's Python 3.12+ runtimes (flowgen.snapstart)
}  # fmt: skip


def _name(requirement: str) -> str:
    return re.split(r"[\[=<>~ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def locked() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) from requirements.txt."""
    text = (LAYER / "requirements.txt").read_text().replace("\\\n", " ")
    pins = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        requirement, *options = line.split()
        name, _, version = requirement.partition("==")
        pins[_name(name)] = (version, [o.removeprefix("--hash=") for o in options if o.startswith("--hash=sha256:")])
    return pins


def test_the_lock_pins_every_package_by_version_and_hash() -> None:
    pins = locked()
    assert len(pins) > 20
    for name, (version, hashes) in pins.items():
        assert re.fullmatch(r"[\w.]+", version), f"{name} is not pinned to one version"
        assert hashes, f"{name} has no hash"


def test_the_lock_resolves_requirements_in_exactly() -> None:
    pins = locked()
    for line in (LAYER / "requirements.in").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = _name(line), line.rsplit("==", 1)[1]
            assert pins[name][0] == version, f"{name}: requirements.in says {version}, the lock {pins[name][0]}"


def test_the_layer_ships_nothing_the_runtime_provides() -> None:
    assert not RUNTIME_PROVIDED & set(locked())


def test_the_layer_build_installs_arm64_wheels_by_hash_and_compiles_bytecode() -> None:
    makefile = (LAYER / "Makefile").read_text()
    for flag in (
        "--require-hashes",
        "--no-deps",
        "--only-binary=:all:",
        "manylinux2014_aarch64",
        "--python-version 3.12",
    ):
        assert flag in makefile, flag
    assert "-m compileall" in makefile and "--invalidation-mode unchecked-hash" in makefile


BUILT = ROOT / ".aws-sam" / "build" / "FlowgenLayer" / "python"


@pytest.mark.skipif(not BUILT.is_dir(), reason="no `make build` output")
def test_the_built_layer_has_bytecode_for_every_module_and_no_sdk() -> None:
    sources = list(BUILT.rglob("*.py"))
    compiled = {p.parent.parent / (p.name.split(".")[0] + ".py") for p in BUILT.rglob("__pycache__/*.cpython-312.pyc")}
    assert sources and not [s for s in sources if s not in compiled][:5]
    assert not {"boto3", "botocore"} & {p.name for p in BUILT.iterdir()}


def test_the_authorizer_reads_the_variables_of_its_settings_model_without_pydantic() -> None:
    assert {f.name for f in dataclasses.fields(VerifierConfig)} == set(AuthorizerSettings.model_fields)
    with pytest.raises(RuntimeError, match="JWKS_URL, JWT_ISSUER, JWT_AUDIENCE"):
        VerifierConfig.from_environ({})
    config = VerifierConfig.from_environ({"JWKS_URL": "u", "JWT_ISSUER": "i", "JWT_AUDIENCE": "a"})
    assert (
        config.jwks_refresh_cooldown_seconds == AuthorizerSettings.model_fields["jwks_refresh_cooldown_seconds"].default
    )


# Powertools imports the bare `botocore` package (under 1 ms) to tag the SDK's user agent; its
# session and clients are what cost.
HEAVY = ["pydantic", "pydantic_settings", "boto3", "botocore.session", "aws_xray_sdk", "pymongo", "redis", "openai"]


def test_the_authorizer_imports_neither_wiring_nor_heavy_libraries() -> None:
    """The budget is 2x PyJWT + cryptography alone; any of these alone would break it."""
    code = (
        "import sys, app; heavy = "
        + repr(HEAVY + ["flowgen.wiring", "flowgen.settings", "flowgen.observability"])
        + "; print(sorted(m for m in heavy if m in sys.modules))"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "functions" / "authorizer"), str(LAYER)]),
        "JWKS_URL": "https://tenant.example/.well-known/jwks.json",
        "JWT_ISSUER": "https://tenant.example/",
        "JWT_AUDIENCE": "https://api.example",
    }
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# Powertools' OpenAPI models (about 100 ms of pydantic class building) load with the document.
API_NEVER_USES = ["aws_lambda_powertools.event_handler.openapi.models"]


def test_the_api_imports_no_client_library_and_builds_only_what_it_uses() -> None:
    """The api's budget is 300 ms of imports (bench/cold_start.py): nothing it never uses is
    imported (not even pydantic-settings), and the settings of other functions are never built
    (defer_build)."""
    code = (
        "import sys, app; from flowgen import settings; heavy = "
        + repr([*HEAVY[1:], *API_NEVER_USES])
        + "; print(sorted(m for m in heavy if m in sys.modules),"
        " settings.ApiSettings.__pydantic_complete__, settings.LessonWorkerSettings.__pydantic_complete__)"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "functions" / "api"), str(LAYER)]),
        "MONGO_URI": "mongodb://127.0.0.1:1",
        "REDIS_URL": "redis://127.0.0.1:1",
        "COURSE_QUEUE_URL": "http://127.0.0.1:1/course",
        "LESSON_HIGH_QUEUE_URL": "http://127.0.0.1:1/high",
        "LESSON_LOW_QUEUE_URL": "http://127.0.0.1:1/low",
    }
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[] True False"


@pytest.mark.parametrize("function", ["course_worker", "lesson_worker"])
def test_a_worker_builds_its_model_client_at_init_not_on_its_first_job(function: str) -> None:
    """openai costs about 400 ms to import: at init it is off the first lesson's critical path
    (issue 8). The store is replaced after its modules load: it would create indexes."""
    code = (
        "import sys, flowgen.adapters.mongo_store\n"
        "from flowgen import wiring\n"
        "wiring.override(store=object(), review_store=object())\n"
        "import app\n"
        "print('openai' in sys.modules, type(app.generator.model).__name__)"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "functions" / function), str(LAYER)]),
        "MONGO_URI": "mongodb://127.0.0.1:1",
        "REDIS_URL": "redis://127.0.0.1:1",
        "OPENAI_API_KEY": "sk-test",
        "COURSE_QUEUE_URL": "http://127.0.0.1:1/course",
        "LESSON_HIGH_QUEUE_URL": "http://127.0.0.1:1/high",
        "LESSON_LOW_QUEUE_URL": "http://127.0.0.1:1/low",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "True OpenAIModel"


def _runtime_imports(tree: ast.AST) -> set[str]:
    """Top-level names of every module a file imports, outside `if TYPE_CHECKING:` blocks."""
    found: set[str] = set()
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            found |= set().union(*(_runtime_imports(child) for child in node.orelse))
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        found |= _runtime_imports(node)
    return found


def test_everything_the_deployed_code_imports_ships_in_the_lock_or_the_runtime() -> None:
    """The dev venv has more than Lambda (moto brings pydantic-settings, for one): an import of
    a package outside the lock would pass every local test and fail on Lambda."""
    shipped = set(locked()) | RUNTIME_PROVIDED
    distributions = importlib.metadata.packages_distributions()
    sources = [*(LAYER / "flowgen").rglob("*.py"), *(ROOT / "functions").glob("*/*.py")]
    missing = {}
    for source in sources:
        own = {sibling.stem for sibling in source.parent.glob("*.py")}  # a function's modules import each other
        for module in (
            _runtime_imports(ast.parse(source.read_text())) - set(sys.stdlib_module_names) - {"flowgen"} - own
        ):
            names = {_name(d) for d in distributions.get(module, [module])}
            if not names & shipped:
                missing[str(source.relative_to(ROOT))] = module
    assert len(sources) > 40 and not missing
