"""Reads template.yaml: the one place routes, handlers, queues and event sources are configured."""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from flowgen_local.iam import Intrinsics

ROOT = Path(__file__).resolve().parents[2]


# libyaml's parser where PyYAML has it (it has on every platform with a wheel): the template is
# read by every local stack, in-process api test and planner run, at 0.29 s a read in Python.
class _CfnLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    pass


def _mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    return dict(loader.construct_pairs(node, deep=True))


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)
# Plain dicts whatever else the process loaded: the SAM CLI's yaml_parse (flowgen invoke, sam
# tests) registers an OrderedDict constructor on yaml.SafeLoader itself, which a subclass without
# its own table shares, and yaml.safe_dump cannot write an OrderedDict back.
_CfnLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _read(path: Path) -> dict[str, Any]:
    """The template parsed, a copy of its own for each caller (they change it): parsed once per
    file version in a process. A test worker builds dozens of stacks and the in-process api
    tier reads it for every test: 30 ms a read, about five times that under coverage's tracer."""
    stat = path.stat()
    return copy.deepcopy(_parsed(path.resolve(), (stat.st_mtime_ns, stat.st_size)))


@functools.lru_cache(maxsize=16)
def _parsed(path: Path, _version: tuple[int, int]) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return raw


DEFAULT_ROUTE = "$default"


@dataclass(frozen=True)
class Route:
    method: str  # "ANY" for the $default route
    path: str  # DEFAULT_ROUTE for the $default route (an HttpApi event without Path and Method)
    function: str
    authorized: bool = True  # False for `Auth: {Authorizer: NONE}`

    @property
    def key(self) -> str:
        return DEFAULT_ROUTE if self.path == DEFAULT_ROUTE else f"{self.method} {self.path}"

    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.path) + "$")


@dataclass(frozen=True)
class EventSource:
    name: str
    function: str
    queue: str
    batch_size: int
    batching_window: int
    max_concurrency: int
    report_item_failures: bool


@dataclass(frozen=True)
class QueueSpec:
    name: str
    visibility_timeout: int
    dead_letter_queue: str | None
    max_receive_count: int | None


@dataclass(frozen=True)
class BucketSpec:
    """A bucket and the queues S3 tells of new objects: (queue logical id, events, key prefix)."""

    name: str
    notifications: tuple[tuple[str, tuple[str, ...], str], ...] = ()


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    code_uri: Path
    handler: str
    timeout: int
    environment: dict[str, Any]
    memory_mb: int = 128
    snapstart: bool = False  # SnapStart.ApplyOn is PublishedVersions


@dataclass(frozen=True)
class Schedule:
    """A Schedule/ScheduleV2 event: the function runs every `period_seconds`."""

    name: str
    function: str
    period_seconds: int


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int:
    """`rate(5 minutes)` -> 300. cron() schedules are not run locally."""
    found = _RATE.match(expression.strip())
    if not found:
        raise ValueError(f"only rate() schedules run locally, not {expression!r}")
    return int(found.group(1)) * _UNIT_SECONDS[found.group(2).rstrip("s")]


@dataclass
class Template:
    raw: dict[str, Any]
    parameters: dict[str, str]
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    queues: dict[str, QueueSpec] = field(default_factory=dict)
    buckets: dict[str, BucketSpec] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    event_sources: list[EventSource] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    path: Path = ROOT / "template.yaml"
    authorizer_function: str | None = None
    authorizer_cache_seconds: int = 0
    cors: dict[str, Any] = field(default_factory=dict)

    def resolve(self, value: Any, refs: dict[str, str] | None = None) -> Any:
        """Evaluates the intrinsics the local stack needs: Ref, GetAtt, Sub (on parameters
        and the given resource refs). Anything else stays as it is."""
        refs = {**self.parameters, **(refs or {})}
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return refs.get(arg, arg)
            if key == "Fn::GetAtt":
                return refs.get(".".join(arg), ".".join(arg))
            if key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                return re.sub(r"\$\{([\w:.]+)\}", lambda m: str(refs.get(m.group(1), m.group(0))), text)
        if isinstance(value, dict):
            return {k: self.resolve(v, refs) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, refs) for v in value]
        return value


class TemplateError(ValueError):
    """What CloudFormation would refuse before creating anything (a parameter out of bounds)."""


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def parameter_problems(declared: dict[str, dict[str, Any]], values: dict[str, str]) -> list[str]:
    """The template's parameter constraints checked as CloudFormation checks them, in its words:
    Type Number, MinValue, MaxValue, MinLength, MaxLength, AllowedValues, AllowedPattern (the whole
    value must match), with ConstraintDescription in place of the rule when the template has one."""
    problems = []
    unknown = sorted(set(values) - set(declared))
    if unknown:
        problems.append(f"Parameters: [{', '.join(unknown)}] do not exist in the template")
    for name, spec in declared.items():
        if name not in values:
            problems.append(f"Parameters: [{name}] must have values")
            continue
        value = values[name]
        found = _parameter_problem(name, spec, value)
        if found:
            described = spec.get("ConstraintDescription")
            problems.append(f"Parameter '{name}' failed to satisfy constraint: {described}" if described else found)
    return problems


def _parameter_problem(name: str, spec: dict[str, Any], value: str) -> str | None:
    kind = spec.get("Type", "String")
    if kind == "Number":
        number = _number(value)
        if number is None:
            return f"Parameter '{name}' must be a number"
        if "MinValue" in spec and number < float(spec["MinValue"]):
            return f"Parameter '{name}' must be a number not less than {spec['MinValue']}"
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            return f"Parameter '{name}' must be a number not greater than {spec['MaxValue']}"
        if "AllowedValues" in spec and number not in {float(v) for v in spec["AllowedValues"]}:
            return f"Parameter '{name}' must be one of AllowedValues"
        return None
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        return f"Parameter '{name}' must contain at least {spec['MinLength']} characters"
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        return f"Parameter '{name}' must contain at most {spec['MaxLength']} characters"
    if "AllowedValues" in spec and value not in {str(v) for v in spec["AllowedValues"]}:
        return f"Parameter '{name}' must be one of AllowedValues"
    if "AllowedPattern" in spec and not re.fullmatch(str(spec["AllowedPattern"]), value):
        return f"Parameter '{name}' must match pattern {spec['AllowedPattern']}"
    return None


def with_parameter_bounds(bounds: dict[str, dict[str, Any]], path: Path | None = None) -> Path:
    """A copy of the template whose parameters have other bounds (e.g. a worker timeout under
    the template's 30 s for tests that must see a timeout quickly), its code paths made
    absolute so it can live in .flowgen/. CloudFormation would refuse the values the copy
    allows; that is why it is a copy, named by what it relaxes, and never the template."""
    path = (path or ROOT / "template.yaml").resolve()
    stat = path.stat()
    tag = "-".join(f"{name}{''.join(f'.{k}{v}' for k, v in sorted(c.items()))}" for name, c in sorted(bounds.items()))
    copy = ROOT / ".flowgen" / "templates" / f"template.{re.sub(r'[^A-Za-z0-9.-]', '', tag)}.yaml"
    copy.parent.mkdir(parents=True, exist_ok=True)
    text = _bounded_text(json.dumps(bounds, sort_keys=True), path, (stat.st_mtime_ns, stat.st_size))
    if not copy.exists() or copy.read_text() != text:
        staged = copy.with_suffix(f".{os.getpid()}.tmp")
        staged.write_text(text)
        staged.replace(copy)  # parallel test workers may write the same copy
    return copy


@functools.lru_cache(maxsize=16)
def _bounded_text(bounds_json: str, path: Path, _version: tuple[int, int]) -> str:
    """The copy's text, written once per bounds and template version in a process (PyYAML's
    writer takes 0.12 s, and test workers ask for the same copy for each stack they build)."""
    bounds: dict[str, dict[str, Any]] = json.loads(bounds_json)
    raw = _read(path)
    for name, changes in bounds.items():
        spec = raw["Parameters"][name]
        for key, value in changes.items():
            if value is None:
                spec.pop(key, None)
            else:
                spec[key] = value
    for resource in raw["Resources"].values():
        props = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = str((path.parent / props[key]).resolve())
    return str(yaml.safe_dump(raw, sort_keys=False, width=120))


# Parameters the local stack sets as a developer's own deploy would, before any override: the
# vite dev server (`npm run dev`) is an origin CORS allows here; in AWS FrontendOrigin defaults to
# none, so a deployment allows only its CloudFront app.
# The planner's low lane (LessonLowMaxConcurrency 12, docs/capacity.md) is sized for AWS at
# 10,000 daily users; here every instance is a process on the developer's few cores, and twelve
# busy background workers starve the opened lesson they exist to leave room for. An override wins.
LOCAL_PARAMETERS = {"FrontendOrigin": "http://localhost:5173", "LessonLowMaxConcurrency": "2"}


def _notifications(props: dict[str, Any]) -> tuple[tuple[str, tuple[str, ...], str], ...]:
    found = []
    for config in props.get("NotificationConfiguration", {}).get("QueueConfigurations", []):
        rules = config.get("Filter", {}).get("S3Key", {}).get("Rules", [])
        prefix = next((str(r["Value"]) for r in rules if str(r["Name"]).lower() == "prefix"), "")
        found.append((config["Queue"]["Fn::GetAtt"][0], (str(config["Event"]),), prefix))
    return tuple(found)


def load(path: Path | None = None, overrides: dict[str, str] | None = None, *, local: bool = False) -> Template:
    """The template with its defaults, then (for the local stack, `local=True`) LOCAL_PARAMETERS,
    then `overrides`. Readers that plan for AWS (the capacity planner) must see AWS's defaults."""
    path = path or ROOT / "template.yaml"
    raw = _read(path)
    declared = raw.get("Parameters", {})
    params = {k: str(v["Default"]) for k, v in declared.items() if "Default" in v}
    if local:
        params.update({k: v for k, v in LOCAL_PARAMETERS.items() if k in declared})
    params.update(overrides or {})
    problems = parameter_problems(declared, params)
    if problems:
        raise TemplateError(f"{path.name}: " + "; ".join(problems))
    tpl = Template(raw=raw, parameters=params, path=path)
    function_globals = raw.get("Globals", {}).get("Function", {})
    globals_env = function_globals.get("Environment", {}).get("Variables", {})
    resources = raw["Resources"]
    for name, res in resources.items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::SQS::Queue":
            redrive = props.get("RedrivePolicy")
            tpl.queues[name] = QueueSpec(
                name=name,
                visibility_timeout=int(tpl.resolve(props.get("VisibilityTimeout", 30))),
                dead_letter_queue=redrive["deadLetterTargetArn"]["Fn::GetAtt"][0] if redrive else None,
                max_receive_count=int(tpl.resolve(redrive["maxReceiveCount"])) if redrive else None,
            )
        elif res["Type"] == "AWS::S3::Bucket":
            tpl.buckets[name] = BucketSpec(name, _notifications(props))
        elif res["Type"] == "AWS::Serverless::Function":
            env = {**globals_env, **props.get("Environment", {}).get("Variables", {})}
            tpl.functions[name] = FunctionSpec(
                name=name,
                code_uri=path.parent / props["CodeUri"],
                handler=props["Handler"],
                timeout=int(tpl.resolve(props.get("Timeout", function_globals.get("Timeout", 3)))),
                environment=env,
                memory_mb=int(tpl.resolve(props.get("MemorySize", function_globals.get("MemorySize", 128)))),
                snapstart=tpl.resolve((props.get("SnapStart") or {}).get("ApplyOn", "None")) == "PublishedVersions",
            )
            for event_name, event in props.get("Events", {}).items():
                ep = event.get("Properties", {})
                if event["Type"] == "HttpApi":
                    authorized = (ep.get("Auth") or {}).get("Authorizer") != "NONE"
                    method, route_path = str(ep.get("Method", "ANY")).upper(), ep.get("Path", DEFAULT_ROUTE)
                    tpl.routes.append(Route(method, route_path, name, authorized))
                elif event["Type"] == "SQS":
                    scaling = ep.get("ScalingConfig", {})
                    tpl.event_sources.append(
                        EventSource(
                            name=event_name,
                            function=name,
                            queue=ep["Queue"]["Fn::GetAtt"][0],
                            batch_size=int(tpl.resolve(ep.get("BatchSize", 10))),
                            batching_window=int(tpl.resolve(ep.get("MaximumBatchingWindowInSeconds", 0))),
                            max_concurrency=int(tpl.resolve(scaling.get("MaximumConcurrency", 1000))),
                            report_item_failures="ReportBatchItemFailures" in ep.get("FunctionResponseTypes", []),
                        )
                    )
                elif event["Type"] in ("Schedule", "ScheduleV2"):
                    expression = str(tpl.resolve(ep["ScheduleExpression"]))
                    tpl.schedules.append(Schedule(event_name, name, rate_seconds(expression)))
        elif res["Type"] == "AWS::Serverless::HttpApi":
            auth = props.get("Auth", {})
            default = auth.get("DefaultAuthorizer")
            if default:
                spec = auth["Authorizers"][default]
                tpl.authorizer_function = spec["FunctionArn"]["Fn::GetAtt"][0]
                tpl.authorizer_cache_seconds = int(spec.get("Identity", {}).get("ReauthorizeEvery", 0))
            # Fn::If and AWS::NoValue as CloudFormation evaluates them (an origin given or none)
            tpl.cors = Intrinsics(raw, params, {}).resolve(props.get("CorsConfiguration", {}))
    return tpl
