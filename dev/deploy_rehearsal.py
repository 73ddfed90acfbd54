"""A deploy rehearsal against moto's server (issue 21): `sam build`, `sam deploy` and `sam delete`
of this repository's template, and the teardown commands of docs/alarms-and-teardown.md, with
every AWS call sent to moto on loopback. It records how far each step gets and which resource
types moto's CloudFormation cannot create. About five minutes on a busy two-core machine.

    make deploy-rehearsal          # or: .venv/bin/python dev/deploy_rehearsal.py [--build-dir DIR]

Steps (each reported, a failure included, with its error):
1. `sam build` (into a scratch folder unless --build-dir names an earlier build);
2. `sam deploy --resolve-s3`, as the README deploys;
3. `sam deploy --s3-bucket B` of the built SAM template, as it is;
4. `sam package`, the SAM transform (samtranslator, as CloudFormation runs it), and `sam deploy` of
   the transformed template, then of the same with its conditions resolved and the CloudFront
   distribution a stand-in bucket (flowgen_local.sam.for_moto_cloudformation: moto cannot create
   one, and the api's WEB_URL reads its DomainName);
5. a versioned web bucket with objects, versions and a delete marker, then the note's first
   block (`sam delete --no-prompts`): the stack must go, the bucket must stay (DeletionPolicy Retain);
6. the note's second block: it must leave no version, no delete marker and no bucket.

Exit status 0 when 4's last deploy completes and 5 and 6 hold; moto's gaps are reported, not failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from flowgen_local.sam import MOTO_STAND_INS, for_moto_cloudformation, holds
from flowgen_local.services import die_with_parent, free_port, stop_process, wait_for_port

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
NOTE = ROOT / "docs" / "alarms-and-teardown.md"
STACK = "flowgen-rehearsal"
REGION = "us-east-1"


@dataclass
class Step:
    name: str
    ok: bool
    seconds: float
    detail: list[str] = field(default_factory=list)


@dataclass
class Rehearsal:
    env: dict[str, str]
    work: Path
    steps: list[Step] = field(default_factory=list)
    moto_log_seen: int = 0

    def moto_errors(self) -> str:
        """Why moto answered 500 since the last call: each traceback's moto frame and exception."""
        text = (self.work / "moto.log").read_text(errors="replace")
        new, self.moto_log_seen = text[self.moto_log_seen :], len(text)
        found = []
        for traceback in new.split("Traceback (most recent call last):")[1:]:
            frames = re.findall(r'File ".*?/site-packages/(moto/[^"]+)", line (\d+), in (\w+)', traceback)
            raised = [line for line in traceback.splitlines() if re.match(r"^\w+(Error|Exception)\b", line)]
            if raised:
                where = f" ({frames[-1][0]}:{frames[-1][1]} {frames[-1][2]})" if frames else ""
                found.append(f"moto: {raised[-1]}{where}")
        return " / ".join(dict.fromkeys(found))

    def run(self, *command: str, timeout: float = 900, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(command),
            cwd=cwd or self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def record(self, name: str, ok: bool, started: float, *detail: str) -> Step:
        step = Step(name, ok, time.monotonic() - started, [d for d in detail if d])
        self.steps.append(step)
        print(f"[{'ok' if ok else 'FAILED'}] {name} ({step.seconds:.0f} s)", file=sys.stderr)
        for line in step.detail:
            print(f"    {line}", file=sys.stderr)
        return step

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.env["AWS_ENDPOINT_URL"], region_name=REGION)  # type: ignore[call-overload]


def errors_of(result: subprocess.CompletedProcess[str]) -> str:
    """The lines of a failed command that say why (SAM prints `Error: ...`)."""
    text = result.stdout + result.stderr
    found = [line.strip() for line in text.splitlines() if line.strip().startswith(("Error", "An error", "botocore"))]
    return " / ".join(found[-3:]) or text.strip().splitlines()[-1] if text.strip() else f"exit {result.returncode}"


def created_and_skipped(
    rehearsal: Rehearsal, stack: str, template: dict[str, Any]
) -> tuple[Counter[str], Counter[str]]:
    """Resource types moto created, and those it skipped (moto lists a skipped resource without
    its logical id and warns `Tried to parse X but it's not supported`)."""
    listed = rehearsal.client("cloudformation").describe_stack_resources(StackName=stack)["StackResources"]
    made = {r["LogicalResourceId"] for r in listed if r.get("LogicalResourceId")}
    wanted = {
        name: r["Type"]
        for name, r in template["Resources"].items()
        if "Condition" not in r or holds(template, r["Condition"])
    }
    stood_in = {kind: f"{kind} as a stand-in {spec['Type']}" for kind, spec in MOTO_STAND_INS.items()}
    created = Counter(stood_in.get(kind, kind) for name, kind in wanted.items() if name in made)
    skipped = Counter(kind for name, kind in wanted.items() if name not in made)
    return created, skipped


def note_block(name: str) -> str:
    """A bash block of docs/alarms-and-teardown.md, between `<!-- rehearsal:NAME -->` and its fence's end."""
    text = NOTE.read_text()
    found = re.search(rf"<!-- rehearsal:{name} -->\s*```bash\n(.*?)```", text, re.DOTALL)
    if not found:
        raise SystemExit(f"{NOTE.name} has no block marked rehearsal:{name}")
    return found.group(1)


def build(rehearsal: Rehearsal, build_dir: Path | None) -> Path | None:
    started = time.monotonic()
    if build_dir is not None and (build_dir / "template.yaml").exists():
        rehearsal.record("sam build", True, started, f"reused {build_dir}")
        return build_dir
    target = build_dir or rehearsal.work / "build"
    result = rehearsal.run(
        "sam", "build", "--template", str(ROOT / "template.yaml"), "--build-dir", str(target),
        "--cache-dir", str(rehearsal.work / "cache"), "--parallel", cwd=ROOT,
    )  # fmt: skip
    rehearsal.record("sam build", result.returncode == 0, started, "" if result.returncode == 0 else errors_of(result))
    return target if result.returncode == 0 else None


def deploy(rehearsal: Rehearsal, template: Path, stack: str, *where: str) -> subprocess.CompletedProcess[str]:
    return rehearsal.run(
        "sam", "deploy", "--template-file", str(template), "--stack-name", stack, *where,
        "--capabilities", "CAPABILITY_IAM", "--no-confirm-changeset", "--no-fail-on-empty-changeset",
        "--region", REGION, "--no-progressbar",
    )  # fmt: skip


def deployed(
    rehearsal: Rehearsal, name: str, stack: str, template: dict[str, Any], started: float, result: Any
) -> bool:
    if result.returncode != 0:
        rehearsal.record(name, False, started, errors_of(result), rehearsal.moto_errors())
        return False
    rehearsal.moto_errors()  # what it printed meanwhile was not this step's failure
    created, skipped = created_and_skipped(rehearsal, stack, template)
    rehearsal.record(
        name,
        True,
        started,
        "created: " + ", ".join(f"{kind} x{n}" for kind, n in sorted(created.items())),
        "not created (no moto support, stack still CREATE_COMPLETE): "
        + (", ".join(f"{kind} x{n}" for kind, n in sorted(skipped.items())) or "none"),
    )
    return True


def delete(rehearsal: Rehearsal, stack: str) -> None:
    rehearsal.run("sam", "delete", "--stack-name", stack, "--no-prompts", "--region", REGION)


def rehearse(rehearsal: Rehearsal, build_dir: Path | None) -> bool:
    built = build(rehearsal, build_dir)
    if built is None:
        return False
    built_template = built / "template.yaml"

    started = time.monotonic()
    result = deploy(rehearsal, built_template, STACK + "-resolve-s3", "--resolve-s3")
    managed = rehearsal.client("cloudformation").describe_stacks(StackName="aws-sam-cli-managed-default")["Stacks"]
    rehearsal.record(
        "sam deploy --resolve-s3",
        result.returncode == 0,
        started,
        "" if result.returncode == 0 else errors_of(result),
        f"moto's DescribeStacks of that stack: Outputs {managed[0].get('Outputs')!r}" if managed else "",
    )
    delete(rehearsal, STACK + "-resolve-s3")

    artifacts = "rehearsal-artifacts"
    rehearsal.client("s3").create_bucket(Bucket=artifacts)
    from samtranslator.yaml_helper import yaml_parse

    started = time.monotonic()
    result = deploy(rehearsal, built_template, STACK + "-sam", "--s3-bucket", artifacts)
    raw = yaml_parse(built_template.read_text())
    deployed(rehearsal, "sam deploy --s3-bucket of the SAM template as built", STACK + "-sam", raw, started, result)
    delete(rehearsal, STACK + "-sam")

    started = time.monotonic()
    packaged = rehearsal.work / "packaged.yaml"
    result = rehearsal.run(
        "sam", "package", "--template-file", str(built_template), "--s3-bucket", artifacts,
        "--output-template-file", str(packaged), "--region", REGION, "--no-progressbar",
    )  # fmt: skip
    if result.returncode != 0:
        rehearsal.record("sam package", False, started, errors_of(result))
        return False
    from samtranslator.translator.transform import transform

    from flowgen_local.sam import _NoManagedPolicyLookup

    transformed = transform(yaml_parse(packaged.read_text()), {}, _NoManagedPolicyLookup())
    (rehearsal.work / "transformed.json").write_text(json.dumps(transformed, indent=1))
    result = deploy(rehearsal, rehearsal.work / "transformed.json", STACK + "-transformed", "--s3-bucket", artifacts)
    deployed(rehearsal, "sam deploy of the transformed template", STACK + "-transformed", transformed, started, result)
    delete(rehearsal, STACK + "-transformed")

    started = time.monotonic()
    resolved = for_moto_cloudformation(transformed)
    (rehearsal.work / "resolved.json").write_text(json.dumps(resolved, indent=1))
    result = deploy(rehearsal, rehearsal.work / "resolved.json", STACK, "--s3-bucket", artifacts)
    name = "sam deploy of the transformed template, conditions resolved, moto's stand-ins"
    if not deployed(rehearsal, name, STACK, transformed, started, result):
        return False
    torn_down = teardown(rehearsal)
    control(rehearsal, artifacts)
    return torn_down


CONTROL = """Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      VersioningConfiguration: { Status: Enabled }
"""


def control(rehearsal: Rehearsal, artifacts: str) -> None:
    """What moto does where AWS fails: `sam delete` of a non-empty bucket without DeletionPolicy
    (AWS: DELETE_FAILED, BucketNotEmpty). Reported, not judged."""
    started = time.monotonic()
    (rehearsal.work / "control.yaml").write_text(CONTROL)
    result = deploy(rehearsal, rehearsal.work / "control.yaml", STACK + "-control", "--s3-bucket", artifacts)
    if result.returncode != 0:
        rehearsal.record("control: a non-empty bucket without DeletionPolicy", False, started, errors_of(result))
        return
    cloudformation, s3 = rehearsal.client("cloudformation"), rehearsal.client("s3")
    listed = cloudformation.list_stack_resources(StackName=STACK + "-control")["StackResourceSummaries"]
    (bucket,) = [r["PhysicalResourceId"] for r in listed if r.get("LogicalResourceId") == "Bucket"]
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"<h1>kept?</h1>")
    deleted = rehearsal.run("sam", "delete", "--stack-name", STACK + "-control", "--no-prompts", "--region", REGION)
    summaries = cloudformation.list_stacks()["StackSummaries"]
    status = next((x["StackStatus"] for x in summaries if x["StackName"] == STACK + "-control"), "gone")
    left = bucket in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    rehearsal.record(
        "control: a non-empty bucket without DeletionPolicy",
        True,
        started,
        f"sam delete exit {deleted.returncode}, stack {status}, bucket left behind: {left}"
        + (" (AWS would fail the delete with BucketNotEmpty; moto leaves the bucket silently)" if left else ""),
    )


def teardown(rehearsal: Rehearsal) -> bool:
    """The web bucket filled as a user's would be, then the note's two blocks."""
    s3, cloudformation = rehearsal.client("s3"), rehearsal.client("cloudformation")
    # moto fails DescribeStackResource(s) by logical id once a resource it skipped comes first
    listed = cloudformation.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    (bucket,) = [r["PhysicalResourceId"] for r in listed if r.get("LogicalResourceId") == "WebBucket"]
    started = time.monotonic()
    # moto ignores the template's VersioningConfiguration: switched on here, as AWS has it
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"<h1>v1</h1>", b"<h1>v2</h1>"):
        s3.put_object(Bucket=bucket, Key="index.html", Body=body)
    for key in ("config.json", "assets/app.js"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"{}")
    s3.delete_object(Bucket=bucket, Key="config.json")  # a delete marker over its one version
    listing = s3.list_object_versions(Bucket=bucket)
    filled = (
        f"{len(listing.get('Versions', []))} object versions, {len(listing.get('DeleteMarkers', []))} delete marker"
    )

    stack_block = note_block("delete-stack")
    result = rehearsal.run("bash", "-euo", "pipefail", "-c", f"STACK={STACK}\nREGION={REGION}\n{stack_block}")
    stacks = [
        s["StackName"] for s in cloudformation.list_stacks(StackStatusFilter=["CREATE_COMPLETE"])["StackSummaries"]
    ]
    named = f"the note's block found the bucket: {bucket in result.stdout}"
    kept = bucket in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    ok = result.returncode == 0 and STACK not in stacks and kept and bucket in result.stdout
    rehearsal.record(
        "sam delete --no-prompts with a non-empty versioned web bucket",
        ok,
        started,
        filled,
        named,
        f"stack deleted: {STACK not in stacks}; bucket retained: {kept}",
        "" if result.returncode == 0 else errors_of(result),
        rehearsal.moto_errors(),
    )

    started = time.monotonic()
    if shutil.which("aws", path=rehearsal.env["PATH"]) is None:
        rehearsal.record(
            "the note's commands empty and delete the bucket", False, started, "skipped: no aws CLI on PATH"
        )
        return False
    empty_block = note_block("empty-bucket")
    result = rehearsal.run("bash", "-euo", "pipefail", "-c", f"BUCKET={bucket}\nREGION={REGION}\n{empty_block}")
    gone = bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    rehearsal.record(
        "the note's commands empty and delete the bucket",
        result.returncode == 0 and gone,
        started,
        f"bucket deleted: {gone}",
        "" if result.returncode == 0 else errors_of(result),
    )
    return ok and gone


def markdown(steps: list[Step]) -> str:
    lines = ["| Step | Result | Time |", "| --- | --- | --- |"]
    for step in steps:
        detail = "<br>".join(step.detail).replace("|", "\\|")
        lines.append(
            f"| {step.name} | {'ok' if step.ok else 'failed'}{': ' + detail if detail else ''} | {step.seconds:.0f} s |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--build-dir", type=Path, help="reuse (or write) `sam build`'s output here")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (templates, logs)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="flowgen-rehearsal-"))
    (work / "samconfig.toml").write_text("version = 0.1\n")  # not the repository's: its region and prompts
    port = free_port()
    log = (work / "moto.log").open("wb")
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent,
    )
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        # "localhost", not 127.0.0.1: moto reads a TemplateURL's bucket from the path only then
        "AWS_ENDPOINT_URL": f"http://localhost:{port}",
        "AWS_ACCESS_KEY_ID": "rehearsal",
        "AWS_SECRET_ACCESS_KEY": "rehearsal",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "SAM_CLI_TELEMETRY": "0",
    }
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})
    rehearsal = Rehearsal(env, work)
    try:
        wait_for_port(port, timeout=30, process=moto)
        passed = rehearse(rehearsal, args.build_dir)
    finally:
        stop_process(moto)
        log.close()
        unsupported = sorted(
            set(re.findall(r"Tried to parse (\S+) but it's not supported", (work / "moto.log").read_text()))
        )
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"scratch folder kept: {work}", file=sys.stderr)
    print(markdown(rehearsal.steps))
    print(f"\nmoto's CloudFormation warned it does not support: {', '.join(unsupported) or 'nothing'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
