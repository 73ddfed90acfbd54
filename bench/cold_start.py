"""Cold start of each built handler, as Lambda pays it: init, and init plus the first job.

Measures the BUILT artefact (`make build`: .aws-sam/build): each function's directory and the
layer's `python/` on sys.path (as /var/task and /opt/python), the handler module imported in a
fresh interpreter with bytecode writes disabled (PYTHONDONTWRITEBYTECODE=1: /opt and /var/task
are read-only on Lambda), `-S` so nothing outside those directories and the standard library
can be found. Median of N runs, interleaved so load on the machine spreads evenly.

Init plus first job (issue 27: work moved from init to the first job is not work removed): for
the course worker, the lesson worker and the reconciler, the same interpreter then runs one job
through the real handler (events/*.json with the job's ids): the openai SDK's first request goes
over HTTP to the local fake model (dev/flowgen_local/fake_openai.py, streaming as shipped);
MongoDB, SQS sends and Redis are in-memory fakes (tests/fakes) because they need the network.
The api and the authorizer are measured at init only. `--tracing-on` adds the three as Lambda
runs them with the template's `Tracing: Active` (Powertools' Tracer on, a sampled trace id).

The layer is built for arm64; its compiled extensions (pydantic-core, cryptography, ...) do not
load on an x86_64 host. There the bench installs the same lock with the same layer Makefile for
the host (LAYER_PLATFORM=host) into .aws-sam/bench/, copies the built layer's own files over it
(the flowgen package and its bytecode) and says so. boto3/botocore come with the Lambda runtime,
not the layer: a precompiled copy of this venv's versions stands in for /var/runtime.

Baselines from the same run: `python -c pass` (the interpreter alone, whole process), `import
boto3`, and PyJWT + cryptography alone (the authorizer's budget is 2x that). Goal (issue 27):
each worker's init plus first job at most 3x `import boto3`.

    .venv/bin/python bench/cold_start.py [--runs N] [--tracing-on] [--init-only] [--no-bytecode]
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
    "POWERTOOLS_TRACE_DISABLED": "true",  # tracing off (--tracing-on adds the workers as Lambda traces them)
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
# Workers build their clients at init. Everything is imported and built as on Lambda (the model
# client, the SQS client, the Redis clients, which connect lazily), but what needs the network at
# init is left out: MongoDB's stores (they create indexes) are in-memory ones (tests/fakes) after
# the Mongo adapters' modules are imported, and the secrets are given as plain values after
# Powertools' parameters module and boto3 (which fetching them imports) are imported.
_OFFLINE_INIT = """import boto3
from aws_lambda_powertools.utilities import parameters
import flowgen.adapters.mongo_client, flowgen.adapters.mongo_store, flowgen.adapters.mongo_reviews
import flowgen.adapters.mongo_questions
from flowgen import wiring
from tests.fakes.store import MemoryStore
from tests.fakes.reviews import MemoryReviewStore
from tests.fakes.questions import MemoryQuestionStore
wiring.override(store=MemoryStore(), review_store=MemoryReviewStore(), question_store=MemoryQuestionStore())
import app"""
INIT = {
    "CourseWorkerFunction": _OFFLINE_INIT,
    "LessonWorkerFunction": _OFFLINE_INIT,
    "ReconcilerFunction": _OFFLINE_INIT,
}
# The first job after init, timed apart: one SQS record through the real handler (Powertools'
# batch processor, the record model, the use case, the openai SDK's first request against the
# local fake model over HTTP, streaming as the template ships). Set up untimed: the job's record
# in the in-memory store, and the SQS sends and Redis calls pointed at in-memory fakes (network).
_WORKER_SETUP = """import json
from dataclasses import replace
from pathlib import Path
from flowgen.limits import NoBudget, NoRateLimit
from tests.fakes.ports import MemoryDedupe, RecordingQueue
from tests.fakes.lambda_context import Context
from tests.fakes import records
store = wiring.store()
app.generator.scheduler.queue, app.generator.scheduler.dedupe = RecordingQueue(), MemoryDedupe()
app.generator = replace(app.generator, limiter=NoRateLimit(), budget=NoBudget())
event = json.loads(Path({event!r}).read_text())
"""
FIRST_JOB_SETUP = {
    "CourseWorkerFunction": _WORKER_SETUP
    + """course = records.new_course("auth0|bench", prompt="Rust ownership")
store.insert_course(course)
event["Records"][0]["body"] = json.dumps({{"courseId": course.id, "ownerId": course.owner_id}})
def check(out):
    course_now = store.get_course(course.owner_id, course.id)
    assert out == {{"batchItemFailures": []}} and course_now.status.value == "READY", out
""",
    "LessonWorkerFunction": _WORKER_SETUP
    + """course = records.outlined_course(store)
event["Records"][0]["body"] = json.dumps({{"courseId": course.id, "lessonId": "m01-l01", "ownerId": course.owner_id}})
def check(out):
    lesson = store.get_lesson(course.owner_id, course.id, "m01-l01")
    assert out == {{"batchItemFailures": []}} and lesson.status.value == "GENERATED", (out, lesson.status)
""",
    "ReconcilerFunction": """import json
from pathlib import Path
from tests.fakes.lambda_context import Context
event = json.loads(Path({event!r}).read_text())
def check(out):
    assert isinstance(out, dict), out
""",
}
FIRST_JOB_EVENT = {
    "CourseWorkerFunction": "course_worker.json",
    "LessonWorkerFunction": "lesson_worker_high.json",
    "ReconcilerFunction": "reconciler.json",
}
FIRST_JOB = """t = time.process_time()
check(app.lambda_handler(event, Context()))
print("cpu-seconds", time.process_time() - t + restore)"""
# SnapStart (LessonWorkerSnapStart=PublishedVersions): init and the before-snapshot hooks ran when
# the version was published; a new instance is a fork of that process (a copy of its memory, as a
# restore is) that runs the after-restore hooks, then the first job. Their CPU is what the instance
# pays, beside the time Lambda takes to load the snapshot (not measured here).
RESTORED = """import os, snapshot_restore_py
for hook, args, kwargs in reversed(snapshot_restore_py.get_before_snapshot()):
    hook(*args, **kwargs)
sys.stdout.flush()
if os.fork():
    sys.exit(os.waitstatus_to_exitcode(os.wait()[1]))  # the snapshot: what follows is the instance's
t = time.process_time()
for hook, args, kwargs in snapshot_restore_py.get_after_restore():
    hook(*args, **kwargs)
restore = time.process_time() - t
"""
SNAPSTART = "LessonWorkerFunction (SnapStart)"  # its "init + first job" is restore + first job
# On Lambda with the template's `Tracing: Active`: Powertools' Tracer is on (LAMBDA_TASK_ROOT set,
# POWERTOOLS_TRACE_DISABLED not), and Lambda gives each invocation a sampled trace header.
TRACING_ON = {
    "POWERTOOLS_TRACE_DISABLED": "false",
    "LAMBDA_TASK_ROOT": "/var/task",
    "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
}
WORKER_ENVIRONMENT = {"REDIS_URL": "redis://127.0.0.1:6379/0", "OPENAI_API_KEY": "sk-bench"}
TIMED = """
import sys, time
sys.path[:0] = {front!r}
sys.path.extend({back!r})
t = time.process_time()
{body}
print("cpu-seconds", time.process_time() - t)
{after}
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


def runtime_hooks(note: list[str]) -> Path:
    """snapshot_restore_py, which Lambda's Python runtime provides (as /var/runtime does)."""
    import snapshot_restore_py

    target = BENCH / "runtime-hooks"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(snapshot_restore_py.__file__, target / "snapshot_restore_py.py")
    note.append(
        f"SnapStart's runtime hooks (as in Lambda's runtime): snapshot-restore-py {snapshot_restore_py.__version__}"
    )
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


Sample = tuple[float, float | None, float]  # init, first job (workers), whole process: CPU seconds


def run(body: str, front: list[str], back: list[str], after: str = "", extra: dict[str, str] | None = None) -> Sample:
    """(CPU seconds of init, measured inside the interpreter; of the first job after it, when
    `after` runs one; of the whole process). CPU time, not wall time: on a shared machine the wall
    clock measures the neighbours (and the fake model's time is the bench's, not the function's).
    Reading files is CPU time too (page cache, after the first run)."""
    code = TIMED.format(front=front, back=back, body=body, after=after)
    env = {"PATH": os.environ["PATH"], "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8", **ENVIRONMENT}
    if "wiring.override" in body:
        env.update(WORKER_ENVIRONMENT, **(extra or {}))
    started = _children_cpu()
    # -B: -I ignores PYTHONDONTWRITEBYTECODE (it ignores every PYTHON* variable)
    out = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", code], capture_output=True, text=True, env=env)
    wall = _children_cpu() - started
    if out.returncode:
        raise RuntimeError(f"{body!r} failed:\n{out.stderr[-2000:]}")
    # the handlers' own stdout (Powertools' logs and EMF metrics) is left aside
    times = [float(line.split()[1]) for line in out.stdout.splitlines() if line.startswith("cpu-seconds ")]
    return times[0], (times[1] if after else None), wall


def main(argv: list[str] | None = None) -> dict[str, tuple[float, float | None]]:
    """Prints the table; returns each case's init and init plus first job as x `import boto3`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--no-bytecode", action="store_true", help="also measure with every .pyc removed")
    parser.add_argument("--init-only", action="store_true", help="no first job (no fake model)")
    parser.add_argument("--tracing-on", action="store_true", help="also the workers as on Lambda with Tracing: Active")
    args = parser.parse_args(argv)
    if not (BUILD / "FlowgenLayer" / "python").is_dir():
        sys.exit("no built artefact: run `make build` first")
    BENCH.mkdir(parents=True, exist_ok=True)
    note: list[str] = []
    layer = layer_for_this_machine(BUILD / "FlowgenLayer" / "python", note)
    sdk = runtime_sdk(note)
    functions = {name: BUILD / name for name in FUNCTIONS if (BUILD / name / "app.py").is_file()}

    # case -> (init body, front of sys.path, back of sys.path, first job, extra environment)
    cases: dict[str, tuple[str, list[str], list[str], str, dict[str, str]]] = {
        "python -c pass": ("pass", [], [], "", {}),
        "import boto3": ("import boto3", [], [str(sdk)], "", {}),
        "PyJWT + cryptography": (
            "import jwt\nfrom jwt import PyJWKClient\nfrom cryptography.hazmat.primitives.asymmetric import rsa",
            [str(layer)],
            [],
            "",
            {},
        ),
        # What the workers' floor is made of: the openai SDK's import (its types package builds
        # some 700 pydantic models), and a disabled Tracer as the workers built one before issue 27.
        "import openai": ("import openai", [str(layer)], [], "", {}),
        "Tracer(disabled=True)": (
            "from aws_lambda_powertools import Tracer\nTracer(disabled=True)",
            [str(layer)],
            [str(sdk)],
            "",
            {},
        ),
    }
    fake_model = None
    if not args.init_only:
        sys.path.insert(0, str(ROOT))
        from dev.flowgen_local.fake_openai import FakeOpenAI

        fake_model = FakeOpenAI().start()
    model = {"OPENAI_BASE_URL": fake_model.base_url} if fake_model else {}

    def job(name: str, restored: bool = False) -> str:
        if fake_model is None or name not in FIRST_JOB_SETUP:
            return ""
        setup = FIRST_JOB_SETUP[name].format(event=str(ROOT / "events" / FIRST_JOB_EVENT[name]))
        return (RESTORED if restored else "restore = 0\n") + setup + FIRST_JOB

    for name, path in functions.items():
        cases[name] = (INIT.get(name, "import app"), [str(path), str(layer)], [str(sdk), str(ROOT)], job(name), model)
    if fake_model and "LessonWorkerFunction" in functions:
        hooks = runtime_hooks(note)
        back = [str(sdk), str(hooks), str(ROOT)]
        path = functions["LessonWorkerFunction"]
        cases[SNAPSTART] = (_OFFLINE_INIT, [str(path), str(layer)], back, job("LessonWorkerFunction", True), model)
    if args.tracing_on:
        for name in functions:
            if name in FIRST_JOB_SETUP:
                body, front, back, after, _ = cases[name]
                cases[f"{name} (tracing on)"] = (body, front, back, after, {**model, **TRACING_ON})
    bare_root = None
    if args.no_bytecode:
        bare_layer, bare_functions = without_bytecode(layer, functions)
        bare_root = bare_layer.parent
        for name, path in bare_functions.items():
            cases[f"{name} (no .pyc)"] = (
                INIT.get(name, "import app"),
                [str(path), str(bare_layer)],
                [str(sdk), str(ROOT)],
                job(name),
                model,
            )

    samples: dict[str, list[Sample]] = {case: [] for case in cases}
    try:
        for _ in range(args.runs):
            for case, (body, front, back, after, extra) in cases.items():
                samples[case].append(run(body, front, back, after, extra))
    finally:
        if fake_model:
            fake_model.stop()
        if bare_root:
            shutil.rmtree(bare_root)
    imports = {case: statistics.median(s[0] for s in runs) for case, runs in samples.items()}
    firsts = {
        # SnapStart: init was paid when the version was published; an instance pays restore + job
        case: statistics.median((0 if case == SNAPSTART else s[0]) + s[1] for s in runs if s[1] is not None)
        for case, runs in samples.items()
        if runs[0][1] is not None
    }
    walls = {case: statistics.median(s[2] for s in runs) for case, runs in samples.items()}

    print(
        f"cold start of each built handler: CPU time, median of {args.runs} fresh interpreters, "
        "PYTHONDONTWRITEBYTECODE=1"
    )
    for line in note:
        print(f"  {line}")
    print(f"  host: {platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} CPUs")
    if fake_model:
        print("  first job: one record through the handler, the openai SDK against the local fake model (HTTP)")
    pass_wall, boto3_import = walls["python -c pass"], imports["import boto3"]
    jwt_import = imports["PyJWT + cryptography"]
    print()
    header = (
        f"{'':<42}{'init ms':>8}{'+job ms':>8}{'process ms':>11}{'x pass':>7}"
        f"{'init x boto3':>13}{'init+job x boto3':>17}"
    )
    print(header)
    print("-" * len(header))
    for case in cases:
        first = firsts.get(case)
        print(
            f"{case:<42}{imports[case] * 1000:>8.0f}{(first * 1000 if first else 0):>8.0f}{walls[case] * 1000:>11.0f}"
            f"{walls[case] / pass_wall:>7.1f}{imports[case] / boto3_import:>13.2f}"
            + (f"{first / boto3_import:>17.2f}" if first else f"{'-':>17}")
        )
    for case, first in firsts.items():
        ratio = first / boto3_import
        print(f"{case}: init + first job {ratio:.2f}x `import boto3` (goal 3x): {'ok' if ratio <= 3 else 'OVER'}")
    print()
    print("ms are CPU ms. x pass: whole process against `python -c pass`; x boto3: imports against `import boto3`")
    if SNAPSTART in firsts:
        print(f"{SNAPSTART}: its +job and init+job columns are the after-restore hooks plus the first job")
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
    return {
        case: (imports[case] / boto3_import, firsts[case] / boto3_import if case in firsts else None) for case in cases
    }


if __name__ == "__main__":
    main()
