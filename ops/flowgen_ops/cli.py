"""`flowgen`: the operator's commands here, the developer tools' as plugins.

`status`, `retry-failed`, `redrive`, `reconcile`, `preflight` and `smoke` are this package's and
import nothing of the local stack, the planner or the fault harness. Every other command (`local`,
`token`, `demo`, `capacity`, `invoke`, ...) is registered by its own package under the `flowgen.commands` entry points
(pyproject.toml) and imported only when it is the command being run, so an operator's venv
without the dev extras runs the operator's commands and names the extra a dev command needs.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from flowgen_ops.target import DEFAULT_STUCK_AFTER, QUEUES, Target, utc_now

PLUGIN_GROUP = "flowgen.commands"


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mongo-uri", help="MongoDB URI (default: the local stack's, or MONGO_URI)")
    parser.add_argument("--mongo-db", help="database name (default: flowgen)")
    parser.add_argument("--redis-url", help="Redis for the dedupe lock (default: REDIS_URL; none: enqueue anyway)")
    parser.add_argument("--sqs-endpoint", help="an SQS endpoint other than AWS's (the local stack's moto)")
    parser.add_argument("--stack-name", help="a deployed stack: queue URLs from its CloudFormation outputs")
    parser.add_argument(
        "--queue-url", action="append", default=[], metavar="NAME=URL", help=f"NAME one of {', '.join(QUEUES)}"
    )


def parse_since(text: str) -> datetime:
    """`2026-11-28T01:00`, or an age: `90m`, `2h`, `1d`."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text[:-1].isdigit() and text[-1] in units:
        return utc_now() - timedelta(seconds=int(text[:-1]) * units[text[-1]])
    parsed = datetime.fromisoformat(text)
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def cmd_status(args: argparse.Namespace) -> int:
    from flowgen_ops.status import status

    report = status(Target.resolve(args), stuck_after=args.stuck_after)
    print(json.dumps(asdict(report), indent=2, default=str) if args.json else report.render())
    return 0


def cmd_retry_failed(args: argparse.Namespace) -> int:
    from flowgen_ops.retry import Filters, retry_failed

    filters = Filters(course=args.course, user=args.user, since=parse_since(args.since) if args.since else None)
    report = retry_failed(Target.resolve(args), filters, dry_run=args.dry_run)
    print(report.render("would re-queue" if args.dry_run else "re-queued"))
    return 0


def cmd_redrive(args: argparse.Namespace) -> int:
    from flowgen_ops.retry import redrive

    print(redrive(Target.resolve(args)).render())
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    from flowgen_ops.reconcile import reconcile_now

    result = reconcile_now(
        Target.resolve(args),
        stuck_after=args.stuck_after,
        max_receive_count=args.max_receive_count,
        release_leases=args.release_leases,
    )
    print(json.dumps(asdict(result)))
    return 0


def cmd_preflight(args: argparse.Namespace) -> int:
    from flowgen_ops.preflight import Options, preflight

    options = Options(
        template=args.template,
        samconfig=args.config_file,
        config_env=args.config_env,
        region=args.region or "",
        stack_name=args.stack_name or "",
        parameter_overrides=args.parameter_overrides,
        api_concurrency=args.api_concurrency,
        jwks_url=args.jwks_url or "",
    )
    return 0 if all(check.ok for check in preflight(options)) else 1


def cmd_smoke(args: argparse.Namespace) -> int:
    import os

    from flowgen_ops.smoke import Options, smoke

    token = args.token or os.environ.get("FLOWGEN_TOKEN", "")
    if not token:
        raise SystemExit("flowgen smoke: pass --token or set FLOWGEN_TOKEN (an access token for the API's audience)")
    return smoke(Options(api_url=args.api_url, token=token, prompt=args.prompt, timeout=args.timeout))


def add_deploy_commands(sub: Any) -> None:
    """`preflight` before a deploy, `smoke` after it (docs/deploy.md)."""
    from flowgen_ops.preflight import DEFAULT_API_CONCURRENCY, default_path
    from flowgen_ops.smoke import DEFAULT_PROMPT, DEFAULT_TIMEOUT

    pf = sub.add_parser("preflight", help="before `sam deploy`: credentials, region, secrets, concurrency, Auth0 JWKS")
    pf.add_argument("--region", help="the stack's region (default: samconfig.toml's, else the environment's)")
    pf.add_argument("--stack-name", help="as sam takes it (default: samconfig.toml's)")
    pf.add_argument(
        "--parameter-overrides",
        nargs="+",
        metavar="KEY=VALUE",
        help="template parameters, as `sam deploy --parameter-overrides` takes them (default: samconfig.toml's)",
    )
    pf.add_argument("--template", "-t", type=Path, default=default_path("template.yaml"), help="%(default)s")
    pf.add_argument("--config-file", type=Path, default=default_path("samconfig.toml"), help="%(default)s")
    pf.add_argument("--config-env", default="default", help="the samconfig.toml environment (%(default)s)")
    pf.add_argument(
        "--api-concurrency",
        type=int,
        default=DEFAULT_API_CONCURRENCY,
        help="concurrent api and authorizer invocations to plan for, beside the workers' (%(default)s)",
    )
    pf.add_argument("--jwks-url", help="check this JWKS instead of https://{Auth0Domain}/.well-known/jwks.json")
    pf.set_defaults(run=cmd_preflight)
    sm = sub.add_parser("smoke", help="after a deploy: create a course, its outline, a lesson, read it, delete it")
    sm.add_argument("--api-url", required=True, help="the stack's ApiUrl output")
    sm.add_argument("--token", help="an access token for the API (default: FLOWGEN_TOKEN)")
    sm.add_argument("--prompt", default=DEFAULT_PROMPT, help="the course's topic (%(default)r)")
    sm.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds to wait for the outline, and for the lesson"
    )
    sm.set_defaults(run=cmd_smoke)


def add_commands(sub: Any) -> None:
    """Registers the operator's commands on the `flowgen` command's subparsers."""
    st = sub.add_parser("status", help="queues and DLQs (depth, oldest message), records by status, the stuck ones")
    add_target_arguments(st)
    st.add_argument("--stuck-after", type=int, default=DEFAULT_STUCK_AFTER, help="seconds (STUCK_AFTER_SECONDS)")
    st.add_argument("--json", action="store_true")
    st.set_defaults(run=cmd_status)
    rf = sub.add_parser("retry-failed", help="re-queue FAILED lessons and courses through the retry use case")
    add_target_arguments(rf)
    rf.add_argument("--course", help="only this course id")
    rf.add_argument("--user", help="only this owner (the token's sub)")
    rf.add_argument("--since", help="only those failed since: an ISO time, or an age such as 90m, 2h, 1d")
    rf.add_argument("--dry-run", action="store_true", help="list them, change nothing")
    rf.set_defaults(run=cmd_retry_failed)
    rd = sub.add_parser("redrive", help="empty the DLQs: reset each job's FAILED record through retry, drop the rest")
    add_target_arguments(rd)
    rd.set_defaults(run=cmd_redrive)
    rc = sub.add_parser("reconcile", help="re-send stranded intents now (--stuck-after 0: all, after queues were lost)")
    add_target_arguments(rc)
    rc.add_argument("--stuck-after", type=int, default=DEFAULT_STUCK_AFTER, help="seconds an intent waits (300)")
    rc.add_argument("--max-receive-count", type=int, default=3, help="the template's MaxReceiveCount (3)")
    rc.add_argument(
        "--release-leases",
        action="store_true",
        help="every worker is stopped (the whole system restarted): release what they held and re-send it now",
    )
    rc.set_defaults(run=cmd_reconcile)
    add_deploy_commands(sub)


def _plugins() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP)}


def _load_plugin(entry: EntryPoint, sub: Any) -> None:
    try:
        register = entry.load()
    except ImportError as exc:
        extra = entry.value.split(".", 1)[0].removeprefix("flowgen_")
        raise SystemExit(
            f"flowgen {entry.name} is a developer tool and needs its extra: pip install -e '.[{extra}]' "
            f"(or `make dev`); missing: {exc.name or exc}"
        ) from None
    register(sub)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="flowgen", description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_commands(sub)
    plugins = _plugins()
    wanted = next((arg for arg in argv if not arg.startswith("-")), None)
    if wanted in plugins:
        _load_plugin(plugins[wanted], sub)  # only the command being run is imported
    else:
        for name, entry in sorted(plugins.items()):
            sub.add_parser(name, help=f"(developer tool: `flowgen {name} --help`; {entry.value.split(':')[0]})")
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.error(f"{args.command}: not available")
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
