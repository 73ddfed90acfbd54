"""Where the operator tools point: a deployment or a running local stack.

`Target.resolve`, first match wins per value:
  1. flags: --mongo-uri, --mongo-db, --redis-url, --queue-url NAME=URL, --sqs-endpoint,
     --stack-name (the queue URLs from a deployed stack's CloudFormation outputs);
  2. `.flowgen/stack.json` of a running `flowgen local` (keys mongo_uri, mongo_db, redis_url,
     sqs_endpoint, queues, aws), when it holds them;
  3. the environment: MONGO_URI, MONGO_DB, REDIS_URL, SQS_ENDPOINT_URL, COURSE_QUEUE_URL,
     LESSON_HIGH_QUEUE_URL, LESSON_LOW_QUEUE_URL (a local stack's harness sets them all) and
     the usual AWS credentials.
Each queue's DLQ is found from its RedrivePolicy.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

QUEUES = {  # logical name -> (environment variable, CloudFormation output)
    "CourseQueue": ("COURSE_QUEUE_URL", "CourseQueueUrl"),
    "LessonHighQueue": ("LESSON_HIGH_QUEUE_URL", "LessonHighQueueUrl"),
    "LessonLowQueue": ("LESSON_LOW_QUEUE_URL", "LessonLowQueueUrl"),
}
DLQS = {"CourseQueue": "CourseDLQ", "LessonHighQueue": "LessonHighDLQ", "LessonLowQueue": "LessonLowDLQ"}
# Queues the tools show but do not act on: S3's events for the learners' uploads (issue 24). A
# dead-lettered upload's source is already FAILED with its reason (the learner uploads it again),
# so redrive leaves that DLQ alone; and a deployment without it still has a target.
WATCHED_QUEUES = {"IngestQueue": ("INGEST_QUEUE_URL", "IngestQueueUrl")}
WATCHED_DLQS = {**DLQS, "IngestQueue": "IngestDLQ"}
DEFAULT_STUCK_AFTER = 300  # STUCK_AFTER_SECONDS in template.yaml
NO_REDIS = "redis://127.0.0.1:1/0"  # nothing listens: dedupe fails open and the job is sent anyway


@dataclass
class Target:
    mongo_uri: str
    mongo_db: str = "flowgen"
    redis_url: str = ""
    sqs_endpoint: str = ""
    queues: dict[str, str] = field(default_factory=dict)  # logical name -> URL, DLQs included once found
    notices: list[str] = field(default_factory=list)  # what the local stack says about its run

    @classmethod
    def resolve(cls, args: argparse.Namespace | None = None, state_file: Path | None = None) -> Target:
        flags = vars(args) if args else {}
        state = _read_state(state_file)
        aws = state.get("aws") or {}
        for key, env in (("access_key_id", "AWS_ACCESS_KEY_ID"), ("secret_access_key", "AWS_SECRET_ACCESS_KEY")):
            if aws.get(key) and not os.environ.get(env):
                os.environ[env] = aws[key]
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

        def pick(flag: str, key: str, env: str, default: str = "") -> str:
            return str(flags.get(flag) or state.get(key) or os.environ.get(env) or default)

        queues = {name: os.environ.get(env, "") for name, (env, _) in {**QUEUES, **WATCHED_QUEUES}.items()}
        queues.update({k: v for k, v in (state.get("queues") or {}).items() if v})
        if flags.get("stack_name"):
            queues.update(_stack_outputs(str(flags["stack_name"])))
        for item in flags.get("queue_url") or []:
            name, _, url = item.partition("=")
            queues[name] = url
        target = cls(
            mongo_uri=pick("mongo_uri", "mongo_uri", "MONGO_URI"),
            mongo_db=pick("mongo_db", "mongo_db", "MONGO_DB", "flowgen"),
            redis_url=pick("redis_url", "redis_url", "REDIS_URL"),
            sqs_endpoint=pick("sqs_endpoint", "sqs_endpoint", "SQS_ENDPOINT_URL"),
            queues={k: v for k, v in queues.items() if v},
            notices=[str(n) for n in state.get("notices") or []],
        )
        missing = [name for name in QUEUES if name not in target.queues]
        if not target.mongo_uri or missing:
            raise SystemExit(
                "flowgen ops: no target. Run it beside `flowgen local` (its .flowgen/stack.json), or pass "
                "--mongo-uri and --stack-name (or --queue-url NAME=URL for "
                f"{', '.join(QUEUES)}); missing: {'MONGO_URI ' if not target.mongo_uri else ''}{' '.join(missing)}"
            )
        return target

    # ---- clients ----------------------------------------------------------------------------

    def sqs(self) -> Any:
        import boto3

        return boto3.client("sqs", endpoint_url=self.sqs_endpoint or None)

    def database(self) -> Any:
        import pymongo

        client: Any = pymongo.MongoClient(self.mongo_uri, serverSelectionTimeoutMS=5000)
        return client[self.mongo_db]

    def settings(self) -> Any:
        from flowgen.settings import ApiSettings

        return ApiSettings(
            mongo_uri=self.mongo_uri,
            mongo_db=self.mongo_db,
            redis_url=self.redis_url or NO_REDIS,
            course_queue_url=self.queues["CourseQueue"],
            lesson_high_queue_url=self.queues["LessonHighQueue"],
            lesson_low_queue_url=self.queues["LessonLowQueue"],
            sqs_endpoint_url=self.sqs_endpoint,
        )

    def course_service(self) -> Any:
        from flowgen import wiring

        return wiring.course_service(self.settings())

    def with_dlqs(self) -> Target:
        """Adds each queue's DLQ, read from its RedrivePolicy."""
        sqs = self.sqs()
        for name, dlq in WATCHED_DLQS.items():
            if dlq in self.queues or name not in self.queues:
                continue
            attrs = sqs.get_queue_attributes(QueueUrl=self.queues[name], AttributeNames=["RedrivePolicy"])
            policy = attrs.get("Attributes", {}).get("RedrivePolicy")
            if policy:
                arn = json.loads(policy)["deadLetterTargetArn"]
                self.queues[dlq] = sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
        return self


STATE_FILE_NAME = "stack.json"


def local_state_file() -> Path:
    """Where a running `flowgen local` describes itself: `$FLOWGEN_STATE_DIR/stack.json`, else the
    nearest `.flowgen/stack.json` from the working directory up (the repository's root)."""
    if os.environ.get("FLOWGEN_STATE_DIR"):
        return Path(os.environ["FLOWGEN_STATE_DIR"]) / STATE_FILE_NAME
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        candidate = folder / ".flowgen" / STATE_FILE_NAME
        if candidate.is_file():
            return candidate
    return here / ".flowgen" / STATE_FILE_NAME


def _read_state(state_file: Path | None) -> dict[str, Any]:
    """The running local stack's description (written by `flowgen local`, format in its docstring
    there): api_url, issuer, mongo_uri, mongo_db, redis_url, sqs_endpoint, queues, aws."""
    try:
        state: dict[str, Any] = json.loads((state_file or local_state_file()).read_text())
    except (OSError, ValueError):
        return {}
    return state


def _stack_outputs(stack_name: str) -> dict[str, str]:
    import boto3

    stacks = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    known = {**QUEUES, **WATCHED_QUEUES}
    return {name: outputs[output] for name, (_, output) in known.items() if output in outputs}


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # pymongo answers naive UTC
