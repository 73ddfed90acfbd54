"""The developer tools' `flowgen` commands: `local` (the stack), `token` (a bearer token for it),
`logs` (a function's logs), `demo` (the main job end to end) and `examples`. Each is a plugin of `flowgen_ops.cli`
(pyproject's `flowgen.commands` entry points), imported only when it is run.

A running `flowgen local` describes itself in `.flowgen/stack.json` (`LocalStack.describe`),
which `flowgen_ops.target` reads to find it.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from flowgen_local.stack import DATA_DIR, STATE_DIR, WEB_DIST, LocalStack, StackConfig
from flowgen_local.template import ROOT, TemplateError

STATE_FILE = STATE_DIR / "stack.json"


def _banner(stack: LocalStack, token: str) -> str:
    parts = "\n".join(f"  {name:<9} {what}" for name, what in stack.components.items())
    sources = "\n".join(
        f"  {s.name:<20} {s.queue} -> {s.function} (batch {s.batch_size}, max concurrency {s.max_concurrency})"
        for s in stack.template.event_sources
    )
    built = (WEB_DIST / "index.html").is_file()
    web = f"{stack.api_url}  (open it in a browser)" if built else "not built: run `make web`, then reload"
    return (
        f"FlowGen local stack (from template.yaml)\n"
        f"  web app   {web}\n"
        f"  API       {stack.api_url}\n{parts}\n"
        f"event sources:\n{sources}\n"
        f"token for 'local-user' (also: flowgen token --sub NAME):\n  {token}\n"
        f"try:\n  curl -s -X POST {stack.api_url}/courses -H 'authorization: Bearer $TOKEN' "
        f"-H 'content-type: application/json' -d '{{\"prompt\": \"Rust ownership for C++ programmers\"}}'\n"
        f"Ctrl-C stops everything."
    )


def write_state(stack: LocalStack, path: Path = STATE_FILE) -> None:
    """stack.json for the operator tools; env.json (host.docker.internal, for `sam local invoke`
    in Docker and for `flowgen invoke`) and env.loopback.json (127.0.0.1, for a container on the
    host's network) pointing every function at this stack."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stack.describe()))
    (path.parent / "env.json").write_text(json.dumps(stack.sam_env_vars(), indent=2))
    (path.parent / "env.loopback.json").write_text(json.dumps(stack.sam_env_vars("127.0.0.1"), indent=2))


def cmd_local(args: argparse.Namespace) -> int:
    data_dir = None if args.ephemeral else Path(args.data_dir)
    overrides = dict(item.split("=", 1) for item in args.parameter_overrides)
    config = StackConfig.from_environment(
        visibility_timeout=args.visibility_timeout,
        data_dir=data_dir,
        log_dir=None if data_dir else STATE_DIR / "logs",
        console_logs=not args.quiet,
        schedule_period=args.schedule_every,
        parameter_overrides=overrides,
        template_path=Path(args.template) if args.template else None,
    )
    fake = None
    if args.fake_model:
        from flowgen_local.fake_openai import FakeOpenAI

        fake = FakeOpenAI().start()
        fake.faults.latency_seconds = args.fake_latency
        config.openai_api_key, config.openai_base_url = "fake", fake.base_url
    try:
        stack = LocalStack(config)
    except TemplateError as refused:  # what CloudFormation would refuse, refused before anything starts
        print(f"flowgen local: {refused}", file=sys.stderr)
        return 2
    stack.start(pollers=True, http_port=args.port)
    if fake:
        stack.components["model"] = f"fake OpenAI-compatible server at {fake.base_url} (latency {args.fake_latency}s)"
    write_state(stack)
    print(_banner(stack, stack.token("local-user")), flush=True)
    for notice in stack.notices:
        print(f"NOTE: {notice}", flush=True)
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
    print("\nstopping...", flush=True)
    stack.stop()
    if fake:
        fake.stop()
    STATE_FILE.unlink(missing_ok=True)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    """Mints a token for the running `flowgen local` (its issuer is in .flowgen/stack.json); with
    --authorizer-event, the authorizer's event carrying it (for `flowgen invoke AuthorizerFunction`)."""
    if not STATE_FILE.exists():
        print("no local stack is running: start one with `flowgen local`", file=sys.stderr)
        return 1
    from flowgen_local.idp import load_or_create_key, mint_token
    from flowgen_local.template import load

    state = json.loads(STATE_FILE.read_text())
    key = load_or_create_key(StackConfig().key_path)
    token = mint_token(key, state["issuer"], load().parameters["Auth0Audience"], args.sub, expires_in=args.ttl)
    if not args.authorizer_event:
        print(token)
        return 0
    from flowgen_local.events import authorizer_event, http_event
    from flowgen_local.template import Route

    route = Route("GET", "/courses", "ApiFunction")
    request = http_event("GET", "/courses", route=route, headers={"authorization": f"Bearer {token}"})
    print(json.dumps(authorizer_event(request, [f"Bearer {token}"]), indent=2))
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    """Writes events/ from template.yaml's routes, queues and schedules (see sample_events)."""
    from flowgen_local.sample_events import SAMPLE_COURSE, SAMPLE_LESSON, SAMPLE_SUB, write_events

    outline = None
    if args.course:
        outline = _course_outline(args.course, args.sub)
    written = write_events(
        Path(args.out),
        course=args.course or SAMPLE_COURSE,
        lesson=args.lesson or SAMPLE_LESSON,
        sub=args.sub or SAMPLE_SUB,
        outline=outline,
    )
    print(f"wrote {len(written)} events to {args.out}")
    return 0


def _course_outline(course_id: str, sub: str | None) -> dict[str, Any]:
    """The course's outline as the running stack's API answers it (for an outline edit event)."""
    import urllib.request

    state = json.loads(STATE_FILE.read_text()) if STATE_FILE.exists() else {}
    if not state.get("api_url"):
        raise SystemExit("flowgen events --course needs a running `flowgen local` to read the course from")
    from flowgen_local.idp import load_or_create_key, mint_token
    from flowgen_local.template import load

    key = load_or_create_key(StackConfig().key_path)
    token = mint_token(key, state["issuer"], load().parameters["Auth0Audience"], sub or "local-user")
    request = urllib.request.Request(  # noqa: S310 - the local stack's own http URL
        f"{state['api_url']}/courses/{course_id}", headers={"authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - the local stack's own http URL
        return dict(json.loads(answer.read()))


def _log_dir(args: argparse.Namespace) -> Path:
    if args.log_dir:
        return Path(args.log_dir)
    if STATE_FILE.exists() and json.loads(STATE_FILE.read_text()).get("log_dir"):
        return Path(json.loads(STATE_FILE.read_text())["log_dir"])
    return DATA_DIR / "logs"


def cmd_logs(args: argparse.Namespace) -> int:
    """`sam logs` for the local stack: one function's log, or its new lines as they come."""
    from flowgen_local.function_logs import follow, log_path, read

    logs = _log_dir(args)
    known = sorted(p.name.removesuffix(".log") for p in logs.glob("*.log"))
    wanted = args.function or args.name
    matches = [n for n in known if n == wanted] or [n for n in known if n.lower().startswith(str(wanted).lower())]
    if len(matches) != 1:
        which = "no function" if not matches else f"several functions ({', '.join(matches)})"
        print(f"flowgen logs: {which} match {wanted!r} in {logs}; known: {', '.join(known) or 'none yet'}",
              file=sys.stderr)  # fmt: skip
        return 1
    path = log_path(logs, matches[0])
    if not args.tail:
        for line in read(path, text_filter=args.filter):
            print(line)
        return 0
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())

    def show(_: str, line: str) -> None:
        if args.filter is None or args.filter in line:
            print(line, flush=True)

    follow(lambda: {matches[0]: path}, show, stopped, from_start=False)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from flowgen_local.demo import run_demo

    return run_demo(prompt=args.prompt, fake_latency=args.fake_latency)


def cmd_examples(args: argparse.Namespace) -> int:  # noqa: ARG001 - every command takes its namespace
    from flowgen_local.examples import write_examples

    print(write_examples())
    return 0


def register_local(sub: Any) -> None:
    local = sub.add_parser("local", help="run the whole system on loopback, from template.yaml")
    local.add_argument("--port", type=int, default=3000)
    local.add_argument(
        "--visibility-timeout",
        type=int,
        default=None,
        help="override every queue's visibility timeout (seconds) to see retries sooner",
    )
    local.add_argument(
        "--data-dir",
        default=str(DATA_DIR),
        help="where MongoDB (the stand-in's journal) and Redis (append-only file) keep their data across restarts",
    )
    local.add_argument(
        "--parameter-overrides",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="template parameters, as `sam deploy --parameter-overrides` takes them",
    )
    local.add_argument("--ephemeral", action="store_true", help="keep nothing: data lives and dies with the stack")
    local.add_argument("-t", "--template", default=None, help="the template to run (default: template.yaml)")
    local.add_argument(
        "--quiet", action="store_true", help="do not print the functions' logs here (they stay in their files)"
    )
    local.add_argument(
        "--schedule-every",
        type=float,
        default=None,
        help="run scheduled functions (the reconciler) every N seconds instead of their template rate",
    )
    local.add_argument(
        "--fake-model",
        action="store_true",
        help="use the fake OpenAI-compatible server (latency, faults) instead of the offline model",
    )
    local.add_argument("--fake-latency", type=float, default=0.3)
    local.set_defaults(run=cmd_local)


def register_token(sub: Any) -> None:
    token = sub.add_parser("token", help="mint a bearer token for the running local stack")
    token.add_argument("--sub", default="local-user")
    token.add_argument("--ttl", type=int, default=3600)
    token.add_argument("--authorizer-event", action="store_true", help="print the authorizer's event carrying it")
    token.set_defaults(run=cmd_token)


def register_events(sub: Any) -> None:
    events = sub.add_parser("events", help="write events/ (one per route, queue and schedule) from template.yaml")
    events.add_argument("--out", default=str(ROOT / "events"))
    events.add_argument("--course", default=None, help="a real course's id (default: a sample id)")
    events.add_argument("--lesson", default=None, help="a real lesson's id (default: m02-l01)")
    events.add_argument("--sub", default=None, help="the caller (default: auth0|sample-user)")
    events.set_defaults(run=cmd_events)


def register_logs(sub: Any) -> None:
    logs = sub.add_parser("logs", help="a local function's logs, as `sam logs` shows a deployed one's")
    logs.add_argument("function", nargs="?", help="its logical id in template.yaml (ApiFunction; a prefix will do)")
    logs.add_argument("-n", "--name", help="the same, as `sam logs -n` takes it")
    logs.add_argument("-t", "--tail", action="store_true", help="keep printing new lines until Ctrl-C")
    logs.add_argument("--filter", default=None, help="only lines holding this text")
    logs.add_argument("--log-dir", default=None, help="default: the running stack's, else .flowgen/data/logs")
    logs.set_defaults(run=cmd_logs)


def register_demo(sub: Any) -> None:
    demo = sub.add_parser("demo", help="create a course end to end on the local stack and show a lesson")
    demo.add_argument("--prompt", default="Rust ownership for C++ programmers")
    demo.add_argument(
        "--fake-latency",
        type=float,
        default=0.4,
        help="model latency of the fake server used when OPENAI_API_KEY is not set",
    )
    demo.set_defaults(run=cmd_demo)


def register_examples(sub: Any) -> None:
    examples = sub.add_parser("examples", help="regenerate docs/examples/ through the openai client and fake server")
    examples.set_defaults(run=cmd_examples)
