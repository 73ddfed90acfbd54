"""What the planner reads from template.yaml: the deployed system's own numbers.

Read defensively from the raw template and its parameters (through `flowgen_local.template.load`,
read only), so a value that becomes a `!Ref` to a new parameter (a worker timeout, a visibility
timeout) is still resolved, and a value the template does not set falls back to the default the
code or AWS uses.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from flowgen_local.template import ROOT, load

# Defaults of the code (layers/flowgen/flowgen/settings.py, policy.py) and of AWS, used when the
# template does not set a value.
MODEL_TIMEOUT_DEFAULT = 60.0
OUTLINE_ESTIMATE_DEFAULT = 2_000
LESSON_ESTIMATE_DEFAULT = 3_000
DEDUPE_TTL_DEFAULT = 900.0
AWS_BATCH_SIZE_DEFAULT = 10
AWS_VISIBILITY_DEFAULT = 30.0
AWS_TIMEOUT_DEFAULT = 3.0
AWS_MEMORY_DEFAULT = 128
AWS_MAX_CONCURRENCY = 1000


@dataclass(frozen=True)
class Lane:
    """One SQS queue and the event source mapping that drains it."""

    name: str  # the event source's name in the template
    queue: str
    function: str
    batch_size: int
    batching_window: float
    max_concurrency: int
    visibility_timeout: float
    function_timeout: float
    max_receive_count: int


@dataclass(frozen=True)
class SystemConfig:
    course: Lane
    high: Lane
    low: Lane
    lookahead: int
    initial_lessons: int
    requests_per_minute: int  # 0 = no limit
    tokens_per_minute: int
    high_reserve: float
    user_daily_budget: int  # 0 = none
    course_budget: int
    outline_estimate: int  # tokens reserved before an outline call
    lesson_estimate: int
    model_timeout: float
    dedupe_ttl: float
    memory_mb: dict[str, int]  # by function
    architecture: str  # x86_64 or arm64 (the Globals, or the first function's)
    api_function: str
    authorizer_function: str | None
    authorizer_cache_seconds: float
    api_rate_limit: float  # HTTP API stage throttling, requests per second (0 = none)
    api_burst_limit: float

    def with_lane(self, which: str, **changes: Any) -> SystemConfig:
        return replace(self, **{which: replace(getattr(self, which), **changes)})


class _Resolver:
    def __init__(self, parameters: dict[str, str]) -> None:
        self.parameters = parameters

    def value(self, node: Any, default: Any = None) -> Any:
        if node is None:
            return default
        if isinstance(node, dict) and len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self.parameters.get(str(arg), default)
            return default  # any other intrinsic: not something the planner can evaluate
        return node

    def number(self, node: Any, default: float) -> float:
        value = self.value(node, default)
        try:
            return float(value)
        except (TypeError, ValueError):
            return float(default)


def _logical_name(node: Any) -> str | None:
    """The resource a `!GetAtt X.Arn`, `!Ref X` or `Fn::GetAtt: [X, Arn]` points at."""
    if isinstance(node, dict) and len(node) == 1:
        ((key, arg),) = node.items()
        if key == "Fn::GetAtt":
            return str(arg[0] if isinstance(arg, list) else str(arg).split(".", 1)[0])
        if key == "Ref":
            return str(arg)
    if isinstance(node, str):
        return node.split(".", 1)[0]
    return None


def _tag(loader: Any, suffix: str, node: Any) -> dict[str, Any]:
    """CloudFormation's short tags as their long forms (`!Ref X` -> {"Ref": "X"})."""
    yaml = importlib.import_module("yaml")
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


def _read_yaml(path: Path) -> dict[str, Any]:
    # PyYAML by name: type checking stays independent of its stubs
    yaml = importlib.import_module("yaml")
    # libyaml's parser where PyYAML has it: a tenth of the pure-Python one's time on the template
    loader: Any = type("_TagLoader", (getattr(yaml, "CSafeLoader", yaml.SafeLoader),), {})
    loader.add_multi_constructor("!", _tag)
    raw: dict[str, Any] = yaml.load(path.read_text(), Loader=loader)
    return raw


def _raw_and_parameters(path: Path | None, overrides: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The template's raw text and parameters through `flowgen_local.template.load`; if that cannot
    read this template (the local stack's reader may lag behind a new construct), straight from
    the YAML: the planner needs nothing else."""
    try:
        tpl = load(path, overrides)
        return tpl.raw, {**tpl.parameters, **overrides}
    except Exception:
        raw = _read_yaml(path or ROOT / "template.yaml")
        params = {k: str(v.get("Default", "")) for k, v in (raw.get("Parameters") or {}).items()}
        return raw, {**params, **overrides}


def read_system(path: Path | None = None, overrides: dict[str, str] | None = None) -> SystemConfig:
    raw, params = _raw_and_parameters(path, dict(overrides or {}))
    r = _Resolver(params)
    resources: dict[str, Any] = raw.get("Resources", {})
    globals_fn: dict[str, Any] = raw.get("Globals", {}).get("Function", {}) or {}
    global_env: dict[str, Any] = (globals_fn.get("Environment") or {}).get("Variables", {}) or {}

    functions = {n: res for n, res in resources.items() if res.get("Type") == "AWS::Serverless::Function"}
    env: dict[str, dict[str, Any]] = {
        n: {**global_env, **((res.get("Properties", {}).get("Environment") or {}).get("Variables", {}) or {})}
        for n, res in functions.items()
    }

    def props(name: str) -> dict[str, Any]:
        return dict(resources.get(name, {}).get("Properties", {}) or {})

    def env_number(var: str, default: float, parameter: str | None = None) -> float:
        for variables in env.values():
            if var in variables:
                return r.number(variables[var], default)
        return r.number(params.get(parameter) if parameter else None, default)

    # which queue is which: the URLs the functions are given, else the usual names
    roles = {"COURSE_QUEUE_URL": "CourseQueue", "LESSON_HIGH_QUEUE_URL": "LessonHighQueue"}
    roles["LESSON_LOW_QUEUE_URL"] = "LessonLowQueue"
    for variables in env.values():
        for var in list(roles):
            name = _logical_name(variables.get(var))
            if name and name in resources:
                roles[var] = name

    redrive_default = r.number({"Ref": "MaxReceiveCount"}, 3)
    lanes: dict[str, Lane] = {}
    for fn_name, res in functions.items():
        fn_props = res.get("Properties", {}) or {}
        timeout = r.number(fn_props.get("Timeout", globals_fn.get("Timeout")), AWS_TIMEOUT_DEFAULT)
        for event_name, event in (fn_props.get("Events") or {}).items():
            if event.get("Type") != "SQS":
                continue
            ep = event.get("Properties", {}) or {}
            queue = _logical_name(ep.get("Queue")) or ""
            qp = props(queue)
            redrive = qp.get("RedrivePolicy") or {}
            scaling = ep.get("ScalingConfig") or {}
            lanes[queue] = Lane(
                name=event_name,
                queue=queue,
                function=fn_name,
                batch_size=int(r.number(ep.get("BatchSize"), AWS_BATCH_SIZE_DEFAULT)),
                batching_window=r.number(ep.get("MaximumBatchingWindowInSeconds"), 0),
                max_concurrency=int(r.number(scaling.get("MaximumConcurrency"), AWS_MAX_CONCURRENCY)),
                visibility_timeout=r.number(qp.get("VisibilityTimeout"), AWS_VISIBILITY_DEFAULT),
                function_timeout=timeout,
                max_receive_count=int(r.number(redrive.get("maxReceiveCount"), redrive_default)),
            )
    missing = [q for q in roles.values() if q not in lanes]
    if missing:
        raise ValueError(f"template.yaml has no SQS event source for {', '.join(missing)}")

    memory = {
        n: int(r.number((res.get("Properties") or {}).get("MemorySize", globals_fn.get("MemorySize")), 128))
        for n, res in functions.items()
    }
    archs = globals_fn.get("Architectures") or next(
        (f.get("Properties", {}).get("Architectures") for f in functions.values() if f.get("Properties")), None
    )
    architecture = str(r.value(archs[0] if isinstance(archs, list) and archs else archs, "x86_64") or "x86_64")

    api_function, authorizer, cache, rate, burst = _http_api(resources, functions, r)
    return SystemConfig(
        course=lanes[roles["COURSE_QUEUE_URL"]],
        high=lanes[roles["LESSON_HIGH_QUEUE_URL"]],
        low=lanes[roles["LESSON_LOW_QUEUE_URL"]],
        lookahead=int(env_number("LESSON_LOOKAHEAD", 2, "LessonLookahead")),
        initial_lessons=int(env_number("INITIAL_LESSONS", 2, "InitialLessons")),
        requests_per_minute=int(env_number("MODEL_REQUESTS_PER_MINUTE", 0, "ModelRequestsPerMinute")),
        tokens_per_minute=int(env_number("MODEL_TOKENS_PER_MINUTE", 0, "ModelTokensPerMinute")),
        high_reserve=env_number("HIGH_PRIORITY_RESERVE", 0.3, "HighPriorityReserve"),
        user_daily_budget=int(env_number("USER_DAILY_TOKEN_BUDGET", 0, "UserDailyTokenBudget")),
        course_budget=int(env_number("COURSE_TOKEN_BUDGET", 0, "CourseTokenBudget")),
        outline_estimate=int(env_number("OUTLINE_TOKEN_ESTIMATE", OUTLINE_ESTIMATE_DEFAULT)),
        lesson_estimate=int(env_number("LESSON_TOKEN_ESTIMATE", LESSON_ESTIMATE_DEFAULT)),
        model_timeout=env_number("MODEL_TIMEOUT_SECONDS", MODEL_TIMEOUT_DEFAULT),
        dedupe_ttl=env_number("DEDUPE_TTL_SECONDS", DEDUPE_TTL_DEFAULT),
        memory_mb=memory,
        architecture=architecture,
        api_function=api_function,
        authorizer_function=authorizer,
        authorizer_cache_seconds=cache,
        api_rate_limit=rate,
        api_burst_limit=burst,
    )


def _http_api(
    resources: dict[str, Any], functions: dict[str, Any], r: _Resolver
) -> tuple[str, str | None, float, float, float]:
    """(api function, authorizer function, authorizer cache seconds, stage rate and burst limits)."""
    api_function = next(
        (
            n
            for n, res in functions.items()
            if any(e.get("Type") == "HttpApi" for e in ((res.get("Properties") or {}).get("Events") or {}).values())
        ),
        "ApiFunction",
    )
    for res in resources.values():
        if res.get("Type") != "AWS::Serverless::HttpApi":
            continue
        p = res.get("Properties", {}) or {}
        route = p.get("DefaultRouteSettings") or {}
        auth = p.get("Auth") or {}
        spec = (auth.get("Authorizers") or {}).get(auth.get("DefaultAuthorizer") or "", {}) or {}
        authorizer = _logical_name(spec.get("FunctionArn"))
        cache = r.number((spec.get("Identity") or {}).get("ReauthorizeEvery"), 0)
        return (
            api_function,
            authorizer,
            cache,
            r.number(route.get("ThrottlingRateLimit"), 0),
            r.number(route.get("ThrottlingBurstLimit"), 0),
        )
    return api_function, None, 0.0, 0.0, 0.0
