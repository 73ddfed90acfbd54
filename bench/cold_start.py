"""Cold-start import cost of each built handler, as Lambda pays it.

Measures the BUILT artefact (`make build`: .aws-sam/build): each function's directory and the
layer's `python/` on sys.path (as /var/task and /opt/python), the handler module imported in a
fresh interpreter with bytecode writes disabled (PYTHONDONTWRITEBYTECODE=1: /opt and /var/task
are read-only on Lambda), `-S` so nothing outside those directories and the standard library
can be found. Median of N runs, interleaved so load on the machine spreads evenly.

The layer is built for arm64; its compiled extensions (pydantic-core, cryptography, ...) do not
load on an x86_64 host. There the bench installs the same lock with the same layer Makefile for
the host (LAYER_PLATFORM=host) into .aws-sam/bench/, copies the built layer's own files over it
(the flowgen package and its bytecode) and says so. boto3/botocore come with the Lambda runtime,
not the layer: a precompiled copy of this venv's versions stands in for /var/runtime.

Baselines from the same run: `python -c pass` (the interpreter alone, whole process), `import
boto3`, and PyJWT + cryptography alone (the authorizer's budget is 2x that).

    .venv/bin/python bench/cold_start.py [--runs N] [--no-bytecode]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / ".aws-sam" / "build"
BENCH = ROOT / ".aws-sam" / "bench"
FUNCTIONS = {
    "AuthorizerFunction": "authorizer",
    "ApiFunction": "api",
    "CourseWorkerFunction": "course_worker",
    "LessonWorkerFunction": "lesson_worker",
    "ReconcilerFunction": "reconciler",
}
API_BUDGET_MS, REFERENCE_BOTO3_MS = 300, 182  # issue 8's budget, and `import boto3` where it was measured
RUNTIME_PACKAGES = ["boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"]
# What a cold start sees in its environment (values never reach a network: nothing connects at import).
ENVIRONMENT = {
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "POWERTOOLS_SERVICE_NAME": "flowgen",
    "POWERTOOLS_METRICS_NAMESPACE": "FlowGen",
    "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here; the SDK is still imported
    "JWKS_URL": "https://example.eu.auth0.com/.well-known/jwks.json",
    "JWT_ISSUER": "https://example.eu.auth0.com/",
    "JWT_AUDIENCE": "https://api.flowgen.dev",
    "MONGO_URI_SECRET": "flowgen/mongo-uri",
    "REDIS_URL_SECRET": "flowgen/redis-url",
    "OPENAI_API_KEY_SECRET": "flowgen/openai-api-key",
    "COURSE_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/course",
    "LESSON_HIGH_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/high",
    "LESSON_LOW_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/low",
}
# Workers build their clients at init. Everything is imported as on Lambda, but the two things
# that need the network are left out: MongoDB's store (it creates indexes) is replaced after its
# modules are imported, and the secrets are given as plain values after Powertools' parameters
# module and boto3 (which fetching them imports) are imported. Network time is not measured.
_OFFLINE_INIT = """import boto3
from aws_lambda_powertools.utilities import parameters
import flowgen.adapters.mongo_client, flowgen.adapters.mongo_store
from flowgen import wiring
wiring.override(store=object())
import app"""
INIT = {"CourseWorkerFunction": _OFFLINE_INIT, "LessonWorkerFunction": _OFFLINE_INIT}
WORKER_ENVIRONMENT = {"REDIS_URL": "redis://127.0.0.1:6379/0", "OPENAI_API_KEY": "sk-bench"}
TIMED = """
import sys, time
sys.path[:0] = {front!r}
sys.path.extend({back!r})
t = time.process_time()
{body}
print(time.process_time() - t)
"""


def _sh(*args: str, **kwargs: object) -> None:
    subprocess.run(args, check=True, **kwargs)  # type: ignore[call-overload]


def layer_for_this_machine(built: Path, note: list[str]) -> Path:
    """The built layer if it loads here, else a host twin from the same lock and Makefile."""
    aarch64 = any(built.rglob("*aarch64-linux-gnu.so"))
    if not aarch64 or platform.machine() == "aarch64":
        note.append(f"layer: the built artefact as is ({built})")
        return built
    lock = (ROOT / "layers" / "flowgen" / "requirements.txt").read_bytes()
    twin = BENCH / f"layer-{platform.machine()}-{hashlib.sha256(lock).hexdigest()[:12]}"
    if not (twin / "python").is_dir():
        shutil.rmtree(twin, ignore_errors=True)
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        _sh(
            "make",
            "-s",
            "-C",
            str(ROOT / "layers" / "flowgen"),
            "build-FlowgenLayer",
            f"ARTIFACTS_DIR={twin}",
            "LAYER_PLATFORM=host",
            env=env,
            stdout=subprocess.DEVNULL,
        )
    # The built layer's own code and bytecode over the twin's (same sources, same pyc files).
    shutil.rmtree(twin / "python" / "flowgen")
    shutil.copytree(built / "flowgen", twin / "python" / "flowgen")
    note.append(
        f"layer: {platform.machine()} twin of the arm64 build (same requirements.txt and Makefile, "
        f"LAYER_PLATFORM=host) with the built flowgen package copied in: {twin / 'python'}"
    )
    return twin / "python"


def runtime_sdk(note: list[str]) -> Path:
    """A precompiled boto3/botocore standing in for the runtime's (/var/runtime)."""
    from importlib.metadata import version

    pins = [f"{name}=={version(name)}" for name in RUNTIME_PACKAGES]
    target = BENCH / ("runtime-" + hashlib.sha256(" ".join(pins).encode()).hexdigest()[:12])
    if not target.is_dir():
        tmp = Path(tempfile.mkdtemp(dir=BENCH))
        _sh(
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(tmp),
            *pins,
            stderr=subprocess.DEVNULL,
        )
        _sh(sys.executable, "-m", "compileall", "-q", "-j", "0", str(tmp))
        tmp.rename(target)
    note.append(f"runtime SDK (as /var/runtime, precompiled): {', '.join(pins[:2])}")
    return target


def without_bytecode(layer: Path, function_dirs: dict[str, Path]) -> tuple[Path, dict[str, Path]]:
    """Copies with every .pyc removed: what the layer cost before it shipped bytecode."""
    root = Path(tempfile.mkdtemp(dir=BENCH, prefix="nopyc-"))
    shutil.copytree(layer, root / "layer", ignore=shutil.ignore_patterns("__pycache__"))
    copies = {}
    for name, path in function_dirs.items():
        copies[name] = root / name
        shutil.copytree(path, copies[name], ignore=shutil.ignore_patterns("__pycache__"))
    return root / "layer", copies


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(body: str, front: list[str], back: list[str]) -> tuple[float, float]:
    """(CPU seconds of the imports, measured inside the interpreter; CPU seconds of the whole
    process). CPU time, not wall time: on a shared machine the wall clock measures the
    neighbours. Reading files is CPU time too (page cache, after the first run)."""
    code = TIMED.format(front=front, back=back, body=body)
    env = {"PATH": os.environ["PATH"], "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8", **ENVIRONMENT}
    if "wiring.override" in body:
        env.update(WORKER_ENVIRONMENT)
    started = _children_cpu()
    # -B: -I ignores PYTHONDONTWRITEBYTECODE (it ignores every PYTHON* variable)
    out = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", code], capture_output=True, text=True, env=env)
    wall = _children_cpu() - started
    if out.returncode:
        raise RuntimeError(f"{body!r} failed:\n{out.stderr[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1]), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--no-bytecode", action="store_true", help="also measure with every .pyc removed")
    args = parser.parse_args()
    if not (BUILD / "FlowgenLayer" / "python").is_dir():
        sys.exit("no built artefact: run `make build` first")
    BENCH.mkdir(parents=True, exist_ok=True)
    note: list[str] = []
    layer = layer_for_this_machine(BUILD / "FlowgenLayer" / "python", note)
    sdk = runtime_sdk(note)
    functions = {name: BUILD / name for name in FUNCTIONS if (BUILD / name / "app.py").is_file()}

    cases: dict[str, tuple[str, list[str], list[str]]] = {
        "python -c pass": ("pass", [], []),
        "import boto3": ("import boto3", [], [str(sdk)]),
        "PyJWT + cryptography": (
            "import jwt\nfrom jwt import PyJWKClient\nfrom cryptography.hazmat.primitives.asymmetric import rsa",
            [str(layer)],
            [],
        ),
    }
    for name, path in functions.items():
        cases[name] = (INIT.get(name, "import app"), [str(path), str(layer)], [str(sdk)])
    bare_root = None
    if args.no_bytecode:
        bare_layer, bare_functions = without_bytecode(layer, functions)
        bare_root = bare_layer.parent
        for name, path in bare_functions.items():
            cases[f"{name} (no .pyc)"] = (INIT.get(name, "import app"), [str(path), str(bare_layer)], [str(sdk)])

    samples: dict[str, list[tuple[float, float]]] = {case: [] for case in cases}
    for _ in range(args.runs):
        for case, (body, front, back) in cases.items():
            samples[case].append(run(body, front, back))
    if bare_root:
        shutil.rmtree(bare_root)
    imports = {case: statistics.median(s[0] for s in runs) for case, runs in samples.items()}
    walls = {case: statistics.median(s[1] for s in runs) for case, runs in samples.items()}

    print(
        f"cold start of each built handler: CPU time, median of {args.runs} fresh interpreters, "
        "PYTHONDONTWRITEBYTECODE=1"
    )
    for line in note:
        print(f"  {line}")
    print(f"  host: {platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} CPUs")
    pass_wall, boto3_import = walls["python -c pass"], imports["import boto3"]
    jwt_import = imports["PyJWT + cryptography"]
    print()
    header = f"{'':<34}{'import ms':>10}{'process ms':>11}{'x pass':>8}{'x boto3':>9}"  # CPU ms
    print(header)
    print("-" * len(header))
    for case in cases:
        print(
            f"{case:<34}{imports[case] * 1000:>10.0f}{walls[case] * 1000:>11.0f}"
            f"{walls[case] / pass_wall:>8.1f}{imports[case] / boto3_import:>9.2f}"
        )
    print()
    print("ms are CPU ms. x pass: whole process against `python -c pass`; x boto3: imports against `import boto3`")
    if "AuthorizerFunction" in imports:
        ratio = imports["AuthorizerFunction"] / jwt_import
        print(f"authorizer: {ratio:.2f}x PyJWT + cryptography alone (budget 2x): {'ok' if ratio <= 2 else 'OVER'}")
    if "ApiFunction" in imports:
        ms = imports["ApiFunction"] * 1000
        verdict = "ok" if ms <= API_BUDGET_MS else "OVER"
        print(f"api: {ms:.0f} ms of imports (budget 300 ms on this machine as it runs now): {verdict}")
        # The budget was set where `import boto3` took REFERENCE_BOTO3_MS (issue 8). This machine's
        # speed drifts by 1.5x within a day, so the budget is also checked against boto3 in this run.
        ratio, allowed = imports["ApiFunction"] / boto3_import, API_BUDGET_MS / REFERENCE_BOTO3_MS
        verdict = "ok" if ratio <= allowed else "OVER"
        print(
            f"api: {ratio:.2f}x `import boto3` in this run (budget {allowed:.2f}x: 300 ms where it took "
            f"{REFERENCE_BOTO3_MS} ms; {ratio * REFERENCE_BOTO3_MS:.0f} ms there): {verdict}"
        )


if __name__ == "__main__":
    main()
