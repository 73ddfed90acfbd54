"""`flowgen preflight`: what can be checked in an AWS account before `sam deploy`.

Each check prints `ok` or `FAIL` with one line saying why; any FAIL exits 1. The checks:

- **credentials**: `sts get-caller-identity` answers (the account and the caller are printed);
- **region**: one region for the secrets, the deploy and the operator tools. The region checked
  is `--region`, else samconfig.toml's deploy region, else the environment's; samconfig.toml's
  and the environment's (AWS_DEFAULT_REGION or the profile's, which boto3, sam and flowgen read,
  and AWS_REGION, which the AWS CLI v2 reads first) must be that one too, or a command run
  without `--region` would go elsewhere;
- **parameters**: every override names a template parameter (CloudFormation refuses others);
- **stack**: a stack of that name is absent (it will be created) or in a state a deploy can update;
- **secrets**: each secret the template's parameters name (MongoUriSecretName, RedisUrlSecretName,
  OpenAIKeySecretName, ShareKeySecretName, and YouTubeKeySecretName when set) exists in the region, is not scheduled
  for deletion, is a plain string (what `flowgen.settings.resolve_secret` reads) and parses;
- **concurrency**: the account's unreserved Lambda concurrency covers the sum of the template's
  event sources' `ScalingConfig.MaximumConcurrency` plus the api's expected concurrency
  (new accounts have 10; the template's defaults need 39 for the workers alone);
- **auth0 jwks**: `https://{Auth0Domain}/.well-known/jwks.json` answers with RSA signing keys.

Parameters are resolved as `sam deploy` resolves them: the template's defaults, then
`--parameter-overrides` if given, else samconfig.toml's `parameter_overrides`. Secret values are
never printed. Only the layer's dependencies (boto3) and PyYAML are used; no developer tool.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]  # the repository, for an editable install
DEFAULT_API_CONCURRENCY = 10
QUOTA_CODE = "L-B99A9384"  # Service Quotas: AWS Lambda, "Concurrent executions"
SECRET_PARAMETERS = (
    "MongoUriSecretName",
    "RedisUrlSecretName",
    "OpenAIKeySecretName",
    "ShareKeySecretName",
    "YouTubeKeySecretName",
)
SHARE_KEY_MIN_CHARACTERS = 32  # the HMAC key of share-link tokens: 32 random bytes or more
OPTIONAL_SECRETS = {"YouTubeKeySecretName"}  # empty: no video suggestions
SCHEMES = {
    "MongoUriSecretName": ("mongodb://", "mongodb+srv://"),
    "RedisUrlSecretName": ("rediss://", "redis://"),
}
PLACEHOLDER = re.compile(r"…|<[^<>]*>")  # as docs and READMEs write what the reader fills in
UNUSABLE_STACK_STATES = {"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED"}


# ---- the template and samconfig.toml ------------------------------------------------------------


def _cfn_loader() -> Any:
    """A YAML SafeLoader that reads CloudFormation's short tags (`!Ref X` -> {"Ref": "X"},
    `!Sub ...` -> {"Fn::Sub": ...}), as the local stack's reader does (not imported: dev code)."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's when PyYAML was built with it: 10x faster

    class CfnLoader(base):  # type: ignore[valid-type,misc]  # PyYAML is untyped here
        pass

    def intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if suffix == "Ref":
            return {"Ref": value}
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {f"Fn::{suffix}": value}

    CfnLoader.add_multi_constructor("!", intrinsic)
    return CfnLoader


def load_template(path: Path) -> dict[str, Any]:
    import yaml

    loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=_cfn_loader())  # noqa: S506 - a SafeLoader
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: not a CloudFormation template")
    return loaded


def parse_overrides(items: Iterable[str] | str | None) -> dict[str, str]:
    """`Key=Value Key2='a b'` or `ParameterKey=K,ParameterValue=V`, as `sam deploy` takes them."""
    if not items:
        return {}
    words = shlex.split(items) if isinstance(items, str) else [w for item in items for w in shlex.split(item)]
    pairs: dict[str, str] = {}
    for word in words:
        if word.startswith("ParameterKey="):
            key_part, _, value_part = word.partition(",")
            pairs[key_part.removeprefix("ParameterKey=")] = value_part.removeprefix("ParameterValue=")
        else:
            key, _, value = word.partition("=")
            pairs[key] = value
    return pairs


@dataclass(frozen=True)
class SamConfig:
    """The deploy section of samconfig.toml (`[<env>.deploy.parameters]`, then `[<env>.global.parameters]`)."""

    region: str = ""
    stack_name: str = ""
    parameter_overrides: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path, env: str = "default") -> SamConfig:
        if not path.is_file():
            return cls()
        config = tomllib.loads(path.read_text(encoding="utf-8")).get(env, {})
        merged = {**config.get("global", {}).get("parameters", {}), **config.get("deploy", {}).get("parameters", {})}
        overrides = merged.get("parameter_overrides") or ""
        if isinstance(overrides, list):
            overrides = " ".join(str(item) for item in overrides)
        return cls(
            region=str(merged.get("region") or ""),
            stack_name=str(merged.get("stack_name") or ""),
            parameter_overrides=parse_overrides(str(overrides)),
        )


@dataclass(frozen=True)
class EventSource:
    function: str
    event: str
    maximum_concurrency: int


class Template:
    def __init__(self, raw: dict[str, Any], overrides: dict[str, str]) -> None:
        self.raw = raw
        self.declared: dict[str, dict[str, Any]] = raw.get("Parameters") or {}
        self.overrides = overrides

    def parameter(self, name: str) -> str:
        if name in self.overrides:
            return self.overrides[name]
        default = (self.declared.get(name) or {}).get("Default", "")
        return "" if default is None else str(default)

    def default(self, name: str) -> str:
        return str((self.declared.get(name) or {}).get("Default", ""))

    def unknown_overrides(self) -> list[str]:
        return sorted(set(self.overrides) - set(self.declared))

    def resolve_number(self, value: Any) -> int:
        """A literal or a `!Ref` to a parameter, as an integer (ValueError otherwise)."""
        if isinstance(value, dict) and set(value) == {"Ref"}:
            value = self.parameter(str(value["Ref"]))
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a number")
        return int(value)

    def long_version_descriptions(self, limit: int = 256) -> dict[str, int]:
        """Functions whose VersionDescription (a `!Sub` of parameters: a new value publishes a new
        version) would exceed Lambda's limit with these values: the deploy would fail there."""
        found = {}
        for name, resource in (self.raw.get("Resources") or {}).items():
            written = ((resource or {}).get("Properties") or {}).get("VersionDescription")
            if isinstance(written, dict) and isinstance(written.get("Fn::Sub"), str):
                resolved = re.sub(r"\$\{(\w+)\}", lambda m: self.parameter(m.group(1)), written["Fn::Sub"])
                if len(resolved) > limit:
                    found[name] = len(resolved)
        return found

    def event_sources(self) -> list[EventSource]:
        """Every event with a `ScalingConfig.MaximumConcurrency` (the SQS event sources)."""
        found = []
        for name, resource in (self.raw.get("Resources") or {}).items():
            events = ((resource or {}).get("Properties") or {}).get("Events") or {}
            for event_name, event in events.items():
                scaling = ((event or {}).get("Properties") or {}).get("ScalingConfig") or {}
                if "MaximumConcurrency" in scaling:
                    found.append(EventSource(name, event_name, self.resolve_number(scaling["MaximumConcurrency"])))
        return found


# ---- the checks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    reason: str

    def render(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.reason}"


@dataclass(frozen=True)
class AccountConcurrency:
    """`lambda get-account-settings`' AccountLimit: the account's quota and what no function has reserved."""

    limit: int  # ConcurrentExecutions
    unreserved: int  # UnreservedConcurrentExecutions: what functions without a reservation share


QuotaReader = Callable[[Any, str], AccountConcurrency]  # (a boto3 Session, the region) -> the account's


def lambda_account_concurrency(session: Any, region: str) -> AccountConcurrency:
    limit = session.client("lambda", region_name=region).get_account_settings()["AccountLimit"]
    return AccountConcurrency(int(limit["ConcurrentExecutions"]), int(limit["UnreservedConcurrentExecutions"]))


@dataclass
class Options:
    template: Path
    samconfig: Path
    config_env: str = "default"
    region: str = ""
    stack_name: str = ""
    parameter_overrides: list[str] | None = None  # None: samconfig.toml's
    api_concurrency: int = DEFAULT_API_CONCURRENCY
    jwks_url: str = ""  # default: https://{Auth0Domain}/.well-known/jwks.json
    http_timeout: float = 5.0


@dataclass
class Context:
    """What the checks share: where to look, and what is known so far."""

    options: Options
    template: Template
    samconfig: SamConfig
    session: Any
    region: str
    environment_regions: dict[str, str]  # where a tool run without --region looks -> that region
    stack_name: str
    quota_reader: QuotaReader
    credentials_ok: bool = False


def _error(exc: BaseException) -> str:
    """One line: an AWS error's code and message, else the exception's text."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', type(exc).__name__)}: {error.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def check_credentials(ctx: Context) -> Check:
    try:
        identity = ctx.session.client("sts", region_name=ctx.region).get_caller_identity()
    except Exception as exc:  # no credentials, expired ones, no network: each is the reason
        return Check("credentials", False, f"sts get-caller-identity failed ({_error(exc)})")
    ctx.credentials_ok = True
    return Check("credentials", True, f"account {identity['Account']} as {identity['Arn']}")


def check_region(ctx: Context) -> Check:
    """One region: the one checked is where sam deploys, the secrets are read and the tools look."""
    where = "--region" if ctx.options.region else "samconfig.toml" if ctx.samconfig.region else "the environment"
    problems = []
    if ctx.samconfig.region and ctx.samconfig.region != ctx.region:
        problems.append(
            f"samconfig.toml deploys to {ctx.samconfig.region}: `sam deploy` without --region {ctx.region} would "
            f'create the stack there (set region = "{ctx.region}" in {ctx.options.samconfig.name})'
        )
    elsewhere = {source: region for source, region in ctx.environment_regions.items() if region != ctx.region}
    if elsewhere:
        said = ", ".join(f"{source} says {region}" for source, region in elsewhere.items())
        problems.append(
            f"{said}: `aws`, `sam` and `flowgen` commands without --region would look there "
            f"(export AWS_REGION={ctx.region} AWS_DEFAULT_REGION={ctx.region})"
        )
    if problems:
        return Check("region", False, f"checking {ctx.region} (from {where}), but " + "; and ".join(problems))
    agree = (["samconfig.toml"] if ctx.samconfig.region else []) + list(ctx.environment_regions)
    said = f"; {', '.join(agree)} say{'s' if len(agree) == 1 else ''} the same" if agree else ""
    note = "" if ctx.environment_regions else "; nothing in the environment: pass --region to every command"
    return Check("region", True, f"{ctx.region} (from {where}){said}{note}")


def check_parameters(ctx: Context) -> Check:
    unknown = ctx.template.unknown_overrides()
    if unknown:
        return Check("parameters", False, f"not parameters of the template (CloudFormation refuses them): {unknown}")
    too_long = ctx.template.long_version_descriptions()
    if too_long:
        said = ", ".join(f"{name} {length}" for name, length in sorted(too_long.items()))
        return Check(
            "parameters", False,
            f"a version description holds each parameter value its function reads, and these would exceed "
            f"Lambda's 256 characters: {said}; shorten the secret names or the base URL",
        )  # fmt: skip
    given = ", ".join(f"{k}={v}" for k, v in sorted(ctx.template.overrides.items())) or "none"
    source = "--parameter-overrides" if ctx.options.parameter_overrides is not None else "samconfig.toml"
    return Check("parameters", True, f"overrides from {source}: {given}")


def check_stack(ctx: Context) -> Check:
    name = f"stack {ctx.stack_name}"
    try:
        cloudformation = ctx.session.client("cloudformation", region_name=ctx.region)
        stacks = cloudformation.describe_stacks(StackName=ctx.stack_name)["Stacks"]
    except Exception as exc:  # "does not exist" is the answer for a first deploy
        if "does not exist" in _error(exc):
            return Check(name, True, f"not in {ctx.region} yet: `sam deploy` creates it")
        return Check(name, False, f"describe-stacks failed ({_error(exc)})")
    state = str(stacks[0]["StackStatus"])
    if state in UNUSABLE_STACK_STATES:
        return Check(
            name,
            False,
            f"{state}: a deploy cannot update it; delete it first "
            f"(`sam delete --stack-name {ctx.stack_name} --region {ctx.region}`, see docs/deploy.md)",
        )
    if state.endswith("_IN_PROGRESS"):
        return Check(name, False, f"{state}: wait until it settles")
    return Check(name, True, f"{state}: `sam deploy` updates it")


def _secret_problem(parameter: str, value: str) -> str | None:
    """What is wrong with a secret's value for the function that reads it (never the value)."""
    if not value:
        return "is empty"
    if value != value.strip():
        return "has leading or trailing whitespace (a newline from `file://`?): the functions read it as is"
    if PLACEHOLDER.search(value):
        return "still holds a placeholder (… or <…>) copied from an example"
    if value.startswith("{"):
        return "holds JSON (a key/value secret): the functions read the plain string; store the value itself"
    if parameter == "ShareKeySecretName" and len(value) < SHARE_KEY_MIN_CHARACTERS:
        return f"is shorter than {SHARE_KEY_MIN_CHARACTERS} characters: make one with `openssl rand -base64 48`"
    schemes = SCHEMES.get(parameter)
    if schemes and not value.startswith(schemes):
        return f"does not start with {' or '.join(schemes)}"
    if schemes and not urlsplit(value).hostname:
        return "names no host"
    return None


def _describe_secret(ctx: Context, region: str, secret_name: str) -> dict[str, Any] | None:
    try:
        described: dict[str, Any] = ctx.session.client("secretsmanager", region_name=region).describe_secret(
            SecretId=secret_name
        )
    except Exception as exc:
        if _error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    return described


def _elsewhere(ctx: Context, secret_name: str) -> list[str]:
    """The other regions this setup names (samconfig.toml's, the environment's) that hold the secret."""
    found = []
    for region in sorted({ctx.samconfig.region, *ctx.environment_regions.values()} - {"", ctx.region}):
        try:
            if _describe_secret(ctx, region, secret_name) is not None:
                found.append(region)
        except Exception:  # noqa: S112 - only a hint: a region we cannot read is not one that has it
            continue
    return found


def check_secret(ctx: Context, parameter: str) -> Check:
    secret_name = ctx.template.parameter(parameter)
    name = f"secret {parameter}"
    create = f"aws secretsmanager create-secret --region {ctx.region} --name {secret_name} --secret-string '...'"
    try:
        described = _describe_secret(ctx, ctx.region, secret_name)
        if described is None:
            there = _elsewhere(ctx, secret_name)
            hint = f"; it is in {', '.join(there)}: one region for all (docs/deploy.md)" if there else ""
            return Check(name, False, f"{secret_name} does not exist in {ctx.region}{hint} ({create})")
        if described.get("DeletedDate"):
            return Check(
                name,
                False,
                f"{secret_name} is scheduled for deletion on {described['DeletedDate']:%Y-%m-%d}: "
                f"`aws secretsmanager restore-secret --region {ctx.region} --secret-id {secret_name}`",
            )
        value = ctx.session.client("secretsmanager", region_name=ctx.region).get_secret_value(SecretId=secret_name)
    except Exception as exc:  # access denied, KMS, network: each is the reason
        return Check(name, False, f"{secret_name}: {_error(exc)}")
    if "SecretString" not in value:
        return Check(name, False, f"{secret_name} is binary: the functions read SecretString")
    problem = _secret_problem(parameter, str(value["SecretString"]))
    if problem:
        return Check(name, False, f"{secret_name} {problem}")
    scheme = str(value["SecretString"]).split("://", 1)[0] + "://" if parameter in SCHEMES else ""
    plain = " (no TLS: the password crosses the internet in clear; use rediss://)" if scheme == "redis://" else ""
    return Check(name, True, f"{secret_name} in {ctx.region}: {f'a {scheme} URL' if scheme else 'set'}{plain}")


def check_concurrency(ctx: Context) -> Check:
    name = "lambda concurrency"
    try:
        sources = ctx.template.event_sources()
    except ValueError as exc:
        return Check(name, False, f"a MaximumConcurrency of the template is not a number ({exc})")
    workers = sum(s.maximum_concurrency for s in sources)
    needed = workers + ctx.options.api_concurrency
    parts = " + ".join(f"{s.event} {s.maximum_concurrency}" for s in sources) or "no event source"
    api = ctx.options.api_concurrency
    sum_text = f"the template's event sources need {workers} ({parts}) + the api {api} = {needed}"
    try:
        account = ctx.quota_reader(ctx.session, ctx.region)
    except Exception as exc:  # the reason is the result
        return Check(name, False, f"{sum_text}; the account's could not be read ({_error(exc)})")
    reserved = account.limit - account.unreserved
    have = f"account limit {account.limit}, {reserved} reserved by functions, {account.unreserved} unreserved"
    if account.unreserved < needed:
        return Check(
            name,
            False,
            f"{have}; {sum_text}: messages would be throttled (and retried into the DLQs). Ask for more "
            f"(Service Quotas, AWS Lambda, Concurrent executions, {QUOTA_CODE}, in {ctx.region}) or lower "
            f"the *MaxConcurrency parameters",
        )
    return Check(name, True, f"{have}; {sum_text}")


def _fetch_json(url: str, timeout: float) -> Any:
    if urlsplit(url).scheme not in ("https", "http"):
        raise ValueError(f"not an http(s) URL: {url}")
    headers = {"accept": "application/json", "user-agent": "flowgen-preflight"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - http(s) only, checked above
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.loads(response.read())


def check_jwks(ctx: Context) -> Check:
    domain = ctx.template.parameter("Auth0Domain")
    url = ctx.options.jwks_url or f"https://{domain}/.well-known/jwks.json"
    name = "auth0 jwks"
    if domain == ctx.template.default("Auth0Domain") and "Auth0Domain" not in ctx.template.overrides:
        return Check(name, False, f"Auth0Domain is the template's placeholder {domain}: pass your tenant's domain")
    try:
        document = _fetch_json(url, ctx.options.http_timeout)
    except urllib.error.HTTPError as exc:
        return Check(name, False, f"{url} answered {exc.code} {exc.reason}")
    except (OSError, ValueError) as exc:
        return Check(name, False, f"{url}: {_error(exc)}")
    keys = document.get("keys") if isinstance(document, dict) else None
    rsa = [k for k in keys or [] if isinstance(k, dict) and k.get("kty") == "RSA" and k.get("kid")]
    if not rsa:
        return Check(name, False, f"{url} holds no RSA key with a kid (the authorizer verifies RS256 tokens)")
    kids = ", ".join(str(k["kid"]) for k in rsa)
    return Check(name, True, f"{url}: {len(rsa)} RSA signing key{'s' if len(rsa) > 1 else ''} ({kids})")


def _aws_checks(ctx: Context) -> list[tuple[str, Callable[[], Check]]]:
    found: list[tuple[str, Callable[[], Check]]] = []
    if ctx.stack_name:
        found.append((f"stack {ctx.stack_name}", partial(check_stack, ctx)))
    for parameter in SECRET_PARAMETERS:
        if parameter not in OPTIONAL_SECRETS or ctx.template.parameter(parameter):
            found.append((f"secret {parameter}", partial(check_secret, ctx, parameter)))
    found.append(("lambda concurrency", partial(check_concurrency, ctx)))
    return found


def checks(ctx: Context) -> Iterator[Check]:
    yield check_credentials(ctx)
    yield check_region(ctx)
    yield check_parameters(ctx)
    for name, run in _aws_checks(ctx):
        yield run() if ctx.credentials_ok else Check(name, False, "not checked: the credentials check failed")
    yield check_jwks(ctx)


def environment_regions() -> dict[str, str]:
    """Where the shell's tools look without --region, by what says so. The AWS CLI v2 reads
    AWS_REGION first; boto3 (so sam and flowgen) reads only AWS_DEFAULT_REGION; both fall back
    to the profile's region. The SDK's comes first: it is the one `sam deploy` uses."""
    import boto3

    found: dict[str, str] = {}
    session = boto3.Session()
    if session.region_name:
        found["AWS_DEFAULT_REGION" if os.environ.get("AWS_DEFAULT_REGION") else "the profile"] = session.region_name
    if os.environ.get("AWS_REGION"):
        found["AWS_REGION"] = os.environ["AWS_REGION"]
    return found


def context(options: Options, quota_reader: QuotaReader | None = None) -> Context:
    import boto3

    samconfig = SamConfig.read(options.samconfig, options.config_env)
    overrides = (
        parse_overrides(options.parameter_overrides)
        if options.parameter_overrides is not None
        else samconfig.parameter_overrides
    )
    environment = environment_regions()
    region = options.region or samconfig.region or next(iter(environment.values()), "")
    if not region:
        raise SystemExit("flowgen preflight: no region: pass --region (and export AWS_REGION to the same)")
    return Context(
        options=options,
        template=Template(load_template(options.template), overrides),
        samconfig=samconfig,
        session=boto3.Session(region_name=region),
        region=region,
        environment_regions=environment,
        stack_name=options.stack_name or samconfig.stack_name,
        quota_reader=quota_reader or lambda_account_concurrency,
    )


def preflight(options: Options, quota_reader: QuotaReader | None = None) -> list[Check]:
    """Runs every check, printing each as it is known; returns them all."""
    ctx = context(options, quota_reader)
    print(f"preflight: stack {ctx.stack_name or '(no name)'} in {ctx.region}, template {options.template}", flush=True)
    results = []
    for check in checks(ctx):
        print(check.render(), flush=True)
        results.append(check)
    failed = [c for c in results if not c.ok]
    print(f"preflight: {len(failed)} of {len(results)} checks failed" if failed else "preflight: ready to deploy")
    return results


def default_path(name: str) -> Path:
    """`name` in the working directory (as sam reads it), else the repository's."""
    here = Path(name)
    return here if here.is_file() else ROOT / name
