"""`flowgen`: the operator's commands here, the developer tools' as plugins.

`status`, `retry-failed` and `redrive` are this package's and import nothing of the local stack,
the planner or the fault harness. Every other command (`local`, `token`, `demo`, `capacity`,
`invoke`, ...) is registered by its own package under the `flowgen.commands` entry points
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
