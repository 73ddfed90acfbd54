"""`flowgen invoke`: `sam local invoke` without Docker.

The function's code, handler, timeout and environment are resolved by the SAM CLI's own code
(`SamFunctionProvider` for the template with its parameter overrides, `LocalLambdaRunner`'s
environment from `--env-vars`: the file's `Parameters`, then its entry for the function, applied
to the variables the template declares and to nothing else), so a variable that `sam local
invoke` would not set is not set here either. The handler then runs in the local stack's Lambda
host, as one cold instance with that environment and the function's Timeout. As with SAM, the
response is printed on stdout and the function's logs on stderr.

`env.json` written by `flowgen local` names the stack's services as `host.docker.internal` (a
container's way to the machine it runs on); without a container they are on loopback, so the
name is read as 127.0.0.1. Credentials come from the shell as SAM takes them, else from the
running local stack (its moto server's administrator, which guards nothing real).
"""

from __future__ import annotations

import functools
import json
import os
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowgen_local.function_logs import read
from flowgen_local.lambda_pool import FunctionConfig, FunctionPool, InvocationError, LambdaHost
from flowgen_local.template import ROOT

DOCKER_HOST = "host.docker.internal"


@dataclass(frozen=True)
class ResolvedFunction:
    function_id: str
    handler: str
    code_uri: Path
    timeout: int
    memory_mb: int
    environment: dict[str, str]


@dataclass(frozen=True)
class Invocation:
    payload: Any  # what the handler returned, or Lambda's {"errorType", "errorMessage"} for an error
    logs: list[str]
    function: ResolvedFunction


def parse_overrides(items: list[str] | str | None) -> dict[str, str]:
    """`Key=Value Key2=Value2` or ParameterKey=...,ParameterValue=... pairs, as sam takes them."""
    if not items:
        return {}
    words = items.split() if isinstance(items, str) else [w for item in items for w in item.split()]
    pairs: dict[str, str] = {}
    for word in words:
        if word.startswith("ParameterKey="):
            key_part, _, value_part = word.partition(",")
            pairs[key_part.removeprefix("ParameterKey=")] = value_part.removeprefix("ParameterValue=")
        else:
            key, _, value = word.partition("=")
            pairs[key] = value
    return pairs


def resolve_function(
    function_id: str,
    *,
    template: Path | None = None,
    env_vars: dict[str, Any] | None = None,
    parameter_overrides: dict[str, str] | None = None,
) -> ResolvedFunction:
    """The function as `sam local invoke` would run it, by the SAM CLI's own code."""
    from samcli.commands.local.lib.local_lambda import LocalLambdaRunner

    template = (template or ROOT / "template.yaml").resolve()
    overrides = json.dumps(parameter_overrides or {}, sort_keys=True)
    provider = _function_provider(str(template), template.stat().st_mtime_ns, overrides)
    function = provider.get(function_id)
    if function is None:
        known = ", ".join(sorted(f.name for f in provider.get_all()))
        raise SystemExit(f"flowgen invoke: no function {function_id!r} in {template.name}; known: {known}")
    cwd = str(template.parent)
    runner = LocalLambdaRunner(None, provider, cwd, cwd, env_vars_values=env_vars or {})
    environment = {k: str(v) for k, v in runner._make_env_vars(function).resolve().items()}
    return ResolvedFunction(
        function_id=function.name,
        handler=str(function.handler),
        code_uri=(template.parent / str(function.codeuri)).resolve(),
        timeout=int(function.timeout or 3),
        memory_mb=int(function.memory or 128),
        environment=environment,
    )


@functools.lru_cache(maxsize=8)
def _function_provider(template: str, _mtime_ns: int, overrides: str) -> Any:
    """SAM's reading of the template (about a second): once per template, version and overrides."""
    from samcli.lib.providers.sam_function_provider import SamFunctionProvider
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

    stacks, _ = SamLocalStackProvider.get_stacks(template, parameter_overrides=json.loads(overrides))
    return SamFunctionProvider(stacks)


def on_this_machine(environment: dict[str, str]) -> dict[str, str]:
    """host.docker.internal is this machine when no container runs the function."""
    return {k: v.replace(DOCKER_HOST, "127.0.0.1") for k, v in environment.items()}


def _local_stack_credentials() -> None:
    """Moto's administrator keys of the running `flowgen local`, unless the shell has keys."""
    if os.environ.get("AWS_ACCESS_KEY_ID"):
        return
    from flowgen_local.stack import STATE_DIR

    state = STATE_DIR / "stack.json"
    if state.exists():
        keys = json.loads(state.read_text()).get("aws") or {}
        if keys.get("access_key_id"):
            os.environ["AWS_ACCESS_KEY_ID"] = keys["access_key_id"]
            os.environ["AWS_SECRET_ACCESS_KEY"] = keys["secret_access_key"]
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


def invoke(
    function_id: str,
    event: Any,
    *,
    template: Path | None = None,
    env_vars: dict[str, Any] | None = None,
    parameter_overrides: dict[str, str] | None = None,
    host: LambdaHost | None = None,
) -> Invocation:
    _local_stack_credentials()
    function = resolve_function(
        function_id, template=template, env_vars=env_vars, parameter_overrides=parameter_overrides
    )
    own_host = host is None
    lambda_host = host or LambdaHost()
    with tempfile.TemporaryDirectory(prefix="flowgen-invoke-") as logs_dir:
        log = Path(logs_dir) / f"{function.function_id}.log"
        config = FunctionConfig(
            name=function.function_id,
            code_uri=function.code_uri,
            handler=function.handler,
            timeout=function.timeout,
            environment=on_this_machine(function.environment),
            memory_mb=function.memory_mb,
            max_instances=1,
            log_path=log,
        )
        pool = FunctionPool(lambda_host, config)
        try:
            payload = pool.invoke(event)
        except InvocationError as failed:
            payload = {"errorType": failed.kind, "errorMessage": str(failed).split(": ", 1)[-1]}
        finally:
            pool.close()
            if own_host:
                lambda_host.stop()
        return Invocation(payload, list(read(log)), function)


def samconfig_defaults(path: Path, environment: str = "default") -> dict[str, Any]:
    """`[ENV.local_invoke.parameters]` of samconfig.toml, as sam reads its defaults."""
    if not path.exists():
        return {}
    config = tomllib.loads(path.read_text())
    return dict(config.get(environment, {}).get("local_invoke", {}).get("parameters", {}))


def main(args: Any) -> int:
    defaults = samconfig_defaults(Path(args.config_file), args.config_env)
    template = Path(args.template or defaults.get("template_file") or ROOT / "template.yaml")
    env_file = args.env_vars or defaults.get("env_vars")
    env_vars: dict[str, Any] = {}
    if env_file:
        env_path = Path(env_file) if Path(env_file).is_absolute() else template.parent / env_file
        if not env_path.exists():
            print(f"flowgen invoke: no {env_path}; `flowgen local` writes it when it starts", file=sys.stderr)
            return 1
        env_vars = json.loads(env_path.read_text())
    overrides = parse_overrides(args.parameter_overrides or defaults.get("parameter_overrides"))
    event = json.load(sys.stdin) if args.event in (None, "-") else json.loads(Path(args.event).read_text())
    result = invoke(args.function_id, event, template=template, env_vars=env_vars, parameter_overrides=overrides)
    for line in result.logs:
        print(line, file=sys.stderr)
    print(json.dumps(result.payload))
    return 0


def register(sub: Any) -> None:
    command = sub.add_parser("invoke", help="sam local invoke without Docker: one function, one event, locally")
    command.add_argument("function_id", help="the function's logical id in the template (ApiFunction, ...)")
    command.add_argument("-e", "--event", default=None, help="JSON event file ('-' or none: stdin), as sam's -e")
    command.add_argument("-n", "--env-vars", default=None, help="env.json, as sam's -n (default: samconfig's)")
    command.add_argument("--parameter-overrides", nargs="*", default=None, metavar="KEY=VALUE")
    command.add_argument("-t", "--template", default=None, help="default: samconfig's, else template.yaml")
    command.add_argument("--config-file", default=str(ROOT / "samconfig.toml"))
    command.add_argument("--config-env", default="default")
    command.set_defaults(run=main)
