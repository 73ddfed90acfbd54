"""`flowgen preflight` against an AWS account in moto (in process: STS, Secrets Manager,
CloudFormation) and an Auth0 JWKS on loopback. Each defect a stranger's account can have is
detected, and a ready account passes.

moto 5.2.5 does not implement `lambda get-account-settings` (it answers 404 "Not yet
implemented"), so the concurrency check's reader is injected here (`quota=`), and the real reader
is tested against botocore's Stubber with the response shape AWS documents.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from flowgen_local.services import SHUTDOWN_POLL_SECONDS
from flowgen_ops.cli import main as ops_main
from flowgen_ops.preflight import (
    AccountConcurrency,
    Check,
    Options,
    SamConfig,
    check_stack,
    default_path,
    lambda_account_concurrency,
    parse_overrides,
    preflight,
)

REGION = "eu-west-1"
OTHER_REGION = "us-east-1"
GOOD_SECRETS = {
    "flowgen/mongo-uri": "mongodb+srv://flowgen:pw@cluster0.abcde.mongodb.net/?retryWrites=true&w=majority",
    "flowgen/redis-url": "rediss://default:pw@eu1-nice-cat-12345.upstash.io:6379",
    "flowgen/openai-api-key": "sk-test-0123456789",
    "flowgen/share-key": "c2hhcmUtbGluayBrZXkgb2YgdGhlIHByZWZsaWdodCB0ZXN0cywgNDggYnl0ZXMgbG9uZw",
}
SMALL = ["CourseMaxConcurrency=2", "LessonHighMaxConcurrency=3", "LessonLowMaxConcurrency=2"]  # 9 with the ingest 2
PLENTY = AccountConcurrency(1000, 1000)
KEY = {"kty": "RSA", "kid": "tenant-key-1", "use": "sig", "alg": "RS256", "n": "sXch", "e": "AQAB"}


class JwksServer:
    """An Auth0 tenant's /.well-known/jwks.json on loopback; `status` and `document` say what it answers."""

    def __init__(self) -> None:
        self.status = 200
        self.document: Any = {"keys": [KEY]}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps(server.document).encode()
                self.send_response(server.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        serve = functools.partial(self.http.serve_forever, poll_interval=SHUTDOWN_POLL_SECONDS)
        threading.Thread(target=serve, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/.well-known/jwks.json"

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.stop()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An empty account in moto; the shell's region is the stack's unless a test changes it."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    with mock_aws():
        yield


@pytest.fixture
def secrets(aws: None) -> Any:
    """The four secrets the template names, well formed, in the stack's region."""
    client = boto3.client("secretsmanager", region_name=REGION)
    for name, value in GOOD_SECRETS.items():
        client.create_secret(Name=name, SecretString=value)
    return client


def samconfig(tmp_path: Path, region: str = REGION, overrides: str = "") -> Path:
    path = tmp_path / "samconfig.toml"
    lines = ["version = 0.1", "[default.global.parameters]", 'stack_name = "flowgen"', "[default.deploy.parameters]"]
    lines += [f'region = "{region}"'] if region else []
    lines += [f"parameter_overrides = {json.dumps(overrides)}"] if overrides else []
    path.write_text("\n".join(lines) + "\n")
    return path


Run = Callable[..., tuple[dict[str, Check], str]]


@pytest.fixture
def run(tmp_path: Path, jwks: JwksServer, capsys: pytest.CaptureFixture[str]) -> Run:
    """`run(quota=..., **options)`: the checks by name, and what was printed."""

    def go(
        quota: AccountConcurrency = PLENTY, overrides: list[str] | None = None, **fields: Any
    ) -> tuple[dict[str, Check], str]:
        fields.setdefault("samconfig", samconfig(tmp_path))
        fields.setdefault("jwks_url", jwks.url)
        base = fields.pop("parameter_overrides", ["Auth0Domain=tenant.eu.auth0.com", *SMALL])
        options = Options(
            template=default_path("template.yaml"),
            parameter_overrides=[*base, *(overrides or [])],
            api_concurrency=3,
            **fields,
        )
        results = preflight(options, quota_reader=lambda session, region: quota)
        return {check.name: check for check in results}, capsys.readouterr().out

    return go


def _failed(checks: dict[str, Check]) -> list[str]:
    return [name for name, check in checks.items() if not check.ok]


def test_a_ready_account_passes_every_check(secrets: Any, run: Run) -> None:
    checks, out = run(quota=AccountConcurrency(12, 12))
    assert _failed(checks) == [], out
    assert "account 123456789012" in checks["credentials"].reason
    assert checks["region"].reason == f"{REGION} (from samconfig.toml); samconfig.toml, AWS_DEFAULT_REGION say the same"
    assert checks["stack flowgen"].reason == f"not in {REGION} yet: `sam deploy` creates it"
    assert "a mongodb+srv:// URL" in checks["secret MongoUriSecretName"].reason
    assert "a rediss:// URL" in checks["secret RedisUrlSecretName"].reason
    assert "secret YouTubeKeySecretName" not in checks  # empty by default: no video suggestions
    concurrency = checks["lambda concurrency"].reason  # the numbers, as the template's events resolve them
    assert "account limit 12, 0 reserved by functions, 12 unreserved" in concurrency
    assert (
        "need 9 (CourseJobs 2 + HighPriorityLessons 3 + LowPriorityLessons 2 + SourceUploads 2) + the api 3 = 12"
        in concurrency
    )
    assert "1 RSA signing key (tenant-key-1)" in checks["auth0 jwks"].reason
    assert out.endswith("preflight: ready to deploy\n")
    for secret in GOOD_SECRETS.values():
        assert secret not in out  # values are never printed


def test_a_missing_secret_is_named_with_the_command_that_creates_it(secrets: Any, run: Run) -> None:
    secrets.delete_secret(SecretId="flowgen/redis-url", ForceDeleteWithoutRecovery=True)
    checks, out = run()
    assert _failed(checks) == ["secret RedisUrlSecretName"]
    reason = checks["secret RedisUrlSecretName"].reason
    assert f"flowgen/redis-url does not exist in {REGION}" in reason
    assert f"aws secretsmanager create-secret --region {REGION} --name flowgen/redis-url" in reason
    assert "FAIL  secret RedisUrlSecretName" in out and "1 of 10 checks failed" in out


def test_the_secret_names_come_from_the_parameter_overrides(secrets: Any, run: Run) -> None:
    checks, _ = run(overrides=["MongoUriSecretName=prod/mongo", "YouTubeKeySecretName=prod/youtube"])
    assert _failed(checks) == ["secret MongoUriSecretName", "secret YouTubeKeySecretName"]
    assert "prod/mongo does not exist" in checks["secret MongoUriSecretName"].reason
    secrets.create_secret(Name="prod/mongo", SecretString=GOOD_SECRETS["flowgen/mongo-uri"])
    secrets.create_secret(Name="prod/youtube", SecretString="AIza-key")
    checks, _ = run(overrides=["MongoUriSecretName=prod/mongo", "YouTubeKeySecretName=prod/youtube"])
    assert _failed(checks) == []


def test_a_secret_scheduled_for_deletion_is_told_how_to_restore(secrets: Any, run: Run) -> None:
    secrets.delete_secret(SecretId="flowgen/openai-api-key", RecoveryWindowInDays=7)
    checks, _ = run()
    assert _failed(checks) == ["secret OpenAIKeySecretName"]
    reason = checks["secret OpenAIKeySecretName"].reason
    assert "flowgen/openai-api-key is scheduled for deletion on" in reason
    assert f"aws secretsmanager restore-secret --region {REGION} --secret-id flowgen/openai-api-key" in reason


@pytest.mark.parametrize(
    ("secret", "value", "problem"),
    [
        ("flowgen/mongo-uri", "https://cluster0.mongodb.net", "does not start with mongodb:// or mongodb+srv://"),
        ("flowgen/mongo-uri", "mongodb+srv://", "names no host"),
        ("flowgen/mongo-uri", '{"uri": "mongodb+srv://u:p@c.mongodb.net"}', "holds JSON (a key/value secret)"),
        ("flowgen/redis-url", "default:pw@eu1.upstash.io:6379", "does not start with rediss:// or redis://"),
        ("flowgen/redis-url", "rediss://default:pw@eu1.upstash.io:6379\n", "has leading or trailing whitespace"),
        ("flowgen/openai-api-key", " ", "has leading or trailing whitespace"),  # AWS refuses an empty one
        ("flowgen/openai-api-key", "sk-…", "still holds a placeholder"),
        ("flowgen/share-key", "short-share-key", "is shorter than 32 characters"),  # a guessable HMAC key
        ("flowgen/mongo-uri", "mongodb+srv://<user>:<password>@cluster0.x.mongodb.net", "still holds a placeholder"),
    ],
)
def test_a_secret_that_does_not_parse_is_a_failure(
    secrets: Any, run: Run, secret: str, value: str, problem: str
) -> None:
    secrets.put_secret_value(SecretId=secret, SecretString=value)
    checks, out = run()
    (failed,) = _failed(checks)
    assert checks[failed].reason.startswith(f"{secret} {problem}")
    assert value.strip() not in out or not value.strip()  # the value itself is never printed


def test_a_binary_secret_is_a_failure(secrets: Any, run: Run) -> None:
    secrets.put_secret_value(SecretId="flowgen/openai-api-key", SecretBinary=b"sk-test")
    checks, _ = run()
    assert (
        checks["secret OpenAIKeySecretName"].reason
        == "flowgen/openai-api-key is binary: the functions read SecretString"
    )


def test_a_plain_redis_url_passes_with_a_warning(secrets: Any, run: Run) -> None:
    secrets.put_secret_value(SecretId="flowgen/redis-url", SecretString="redis://default:pw@redis.example.com:6379")
    checks, _ = run()
    assert checks["secret RedisUrlSecretName"].ok
    assert "no TLS" in checks["secret RedisUrlSecretName"].reason


def test_a_new_accounts_concurrency_quota_does_not_cover_the_templates_defaults(secrets: Any, run: Run) -> None:
    """The template's defaults need 39 worker instances; a new account has 10 in all."""
    checks, out = run(quota=AccountConcurrency(10, 10), parameter_overrides=["Auth0Domain=tenant.eu.auth0.com"])
    assert _failed(checks) == ["lambda concurrency"]
    reason = checks["lambda concurrency"].reason
    assert (
        "need 39 (CourseJobs 5 + HighPriorityLessons 20 + LowPriorityLessons 12 + SourceUploads 2) + the api 3 = 42"
        in reason
    )
    assert "L-B99A9384" in reason and "account limit 10" in reason
    assert "FAIL  lambda concurrency: account limit 10" in out


def test_concurrency_reserved_by_other_functions_is_not_available(secrets: Any, run: Run) -> None:
    checks, _ = run(quota=AccountConcurrency(1000, 9))
    assert _failed(checks) == ["lambda concurrency"]
    assert "account limit 1000, 991 reserved by functions, 9 unreserved" in checks["lambda concurrency"].reason


def test_the_lambda_quota_reader_reads_get_account_settings() -> None:
    """The real reader, on the response AWS documents (moto does not implement the call)."""
    client = boto3.client("lambda", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    limits = {"TotalCodeSize": 80530636800, "CodeSizeUnzipped": 262144000, "CodeSizeZipped": 52428800}
    response = {"AccountLimit": {**limits, "ConcurrentExecutions": 10, "UnreservedConcurrentExecutions": 10}}

    class Session:
        def client(self, service: str, region_name: str) -> Any:
            assert (service, region_name) == ("lambda", REGION)
            return client

    with Stubber(client) as stub:
        stub.add_response("get_account_settings", response, {})
        assert lambda_account_concurrency(Session(), REGION) == AccountConcurrency(10, 10)


def test_moto_has_no_lambda_account_settings_and_the_check_says_it_could_not_read_them(
    secrets: Any, tmp_path: Path, jwks: JwksServer, capsys: pytest.CaptureFixture[str]
) -> None:
    options = Options(
        template=default_path("template.yaml"),
        samconfig=samconfig(tmp_path),
        parameter_overrides=["Auth0Domain=tenant.eu.auth0.com"],
        jwks_url=jwks.url,
    )
    checks = {c.name: c for c in preflight(options)}  # the default reader, against moto
    assert not checks["lambda concurrency"].ok
    assert "the account's could not be read" in checks["lambda concurrency"].reason


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ((503, {"message": "down"}), "answered 503"),
        ((200, {"keys": []}), "holds no RSA key with a kid"),
        ((200, ["not", "a", "key", "set"]), "holds no RSA key with a kid"),
    ],
)
def test_a_jwks_that_does_not_answer_keys_is_a_failure(
    secrets: Any, run: Run, jwks: JwksServer, answer: tuple[int, Any], problem: str
) -> None:
    jwks.status, jwks.document = answer
    checks, _ = run()
    assert _failed(checks) == ["auth0 jwks"]
    assert problem in checks["auth0 jwks"].reason


def test_a_jwks_nobody_serves_is_a_failure(secrets: Any, run: Run, jwks: JwksServer) -> None:
    jwks.stop()
    checks, _ = run()
    assert _failed(checks) == ["auth0 jwks"]
    assert "Connection refused" in checks["auth0 jwks"].reason


def test_the_templates_placeholder_auth0_domain_is_a_failure(secrets: Any, run: Run) -> None:
    checks, _ = run(parameter_overrides=SMALL, jwks_url="")
    assert _failed(checks) == ["auth0 jwks"]
    assert "Auth0Domain is the template's placeholder example.eu.auth0.com" in checks["auth0 jwks"].reason


def test_a_shell_in_another_region_than_samconfig_is_a_mismatch(
    secrets: Any, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's Region defect: the Makefile's AWS_DEFAULT_REGION ?= us-east-1, samconfig.toml's eu-west-1."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", OTHER_REGION)
    checks, _ = run()
    assert _failed(checks) == ["region"]
    reason = checks["region"].reason
    assert reason.startswith(f"checking {REGION} (from samconfig.toml), but AWS_DEFAULT_REGION says {OTHER_REGION}")
    assert f"export AWS_REGION={REGION} AWS_DEFAULT_REGION={REGION}" in reason


def test_aws_region_unlike_aws_default_region_is_a_mismatch(
    secrets: Any, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The AWS CLI v2 reads AWS_REGION, boto3 (sam, flowgen) only AWS_DEFAULT_REGION: exporting one
    of them leaves the Makefile's `AWS_DEFAULT_REGION ?= us-east-1` to the other tools."""
    monkeypatch.setenv("AWS_REGION", OTHER_REGION)
    checks, _ = run()
    assert _failed(checks) == ["region"]
    assert f"AWS_REGION says {OTHER_REGION}: `aws`, `sam` and `flowgen` commands" in checks["region"].reason


def test_region_given_unlike_samconfig_is_a_mismatch_and_the_secrets_are_found_elsewhere(
    secrets: Any, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Secrets created in the shell's region, the stack deployed by samconfig.toml to another."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", OTHER_REGION)
    checks, _ = run(region=OTHER_REGION)
    secret_checks = [
        f"secret {p}" for p in ("MongoUriSecretName", "RedisUrlSecretName", "OpenAIKeySecretName", "ShareKeySecretName")
    ]
    assert _failed(checks) == ["region", *secret_checks]
    assert f"samconfig.toml deploys to {REGION}" in checks["region"].reason
    assert f"does not exist in {OTHER_REGION}; it is in {REGION}" in checks["secret MongoUriSecretName"].reason


def test_no_region_anywhere_is_refused(aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    options = Options(template=default_path("template.yaml"), samconfig=samconfig(tmp_path, region=""))
    with pytest.raises(SystemExit, match="no region: pass --region"):
        preflight(options)


def test_no_credentials_fail_and_nothing_else_in_aws_is_claimed(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    checks, _ = run()
    assert "Unable to locate credentials" in checks["credentials"].reason
    assert {name for name, check in checks.items() if check.reason.startswith("not checked")} == {
        "stack flowgen",
        "secret MongoUriSecretName",
        "secret RedisUrlSecretName",
        "secret OpenAIKeySecretName",
        "secret ShareKeySecretName",
        "lambda concurrency",
    }
    assert checks["auth0 jwks"].ok  # not an AWS check


def test_an_override_the_template_does_not_declare_is_a_failure(secrets: Any, run: Run) -> None:
    checks, _ = run(overrides=["LessonHighConcurrency=10"])
    assert _failed(checks) == ["parameters"]
    assert "['LessonHighConcurrency']" in checks["parameters"].reason


def test_values_that_would_overflow_the_lesson_workers_version_description_are_a_failure(
    secrets: Any, run: Run
) -> None:
    """Each parameter the lesson worker reads is in its VersionDescription (so a new value publishes
    a version); Lambda refuses one over 256 characters, mid-deploy."""
    checks, _ = run()
    assert checks["parameters"].ok
    checks, _ = run(overrides=[f"OpenAIBaseUrl=https://{'proxy.' * 30}example.com/v1"])
    assert _failed(checks) == ["parameters"]
    assert "LessonWorkerFunction 3" in checks["parameters"].reason and "256" in checks["parameters"].reason


@pytest.mark.parametrize(
    ("state", "ok", "says"),
    [
        ("ROLLBACK_COMPLETE", False, "sam delete --stack-name flowgen --region eu-west-1"),
        ("UPDATE_IN_PROGRESS", False, "wait until it settles"),
        ("UPDATE_COMPLETE", True, "`sam deploy` updates it"),
    ],
)
def test_a_stack_a_deploy_cannot_update_is_a_failure(state: str, ok: bool, says: str) -> None:
    """moto's CloudFormation cannot be made to fail a create, so the answer is stubbed."""
    client = boto3.client("cloudformation", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stack = {"StackName": "flowgen", "StackStatus": state, "CreationTime": "2026-01-01T00:00:00Z"}

    class Session:
        def client(self, service: str, region_name: str) -> Any:
            return client

    class Ctx:
        session, region, stack_name = Session(), REGION, "flowgen"

    with Stubber(client) as stub:
        stub.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "flowgen"})
        check = check_stack(Ctx())  # type: ignore[arg-type]
    assert (check.ok, check.name) == (ok, "stack flowgen")
    assert says in check.reason and state in check.reason


def test_samconfig_overrides_are_used_unless_the_command_line_gives_them(tmp_path: Path) -> None:
    path = samconfig(tmp_path, overrides="Auth0Domain=acme.eu.auth0.com AlarmEmail='on call@acme.dev'")
    assert SamConfig.read(path) == SamConfig(
        region=REGION,
        stack_name="flowgen",
        parameter_overrides={"Auth0Domain": "acme.eu.auth0.com", "AlarmEmail": "on call@acme.dev"},
    )
    assert parse_overrides(["ParameterKey=Stage,ParameterValue=dev", "A=1 B=2"]) == {"Stage": "dev", "A": "1", "B": "2"}


def test_the_command_exits_1_on_a_failure_and_0_when_ready(
    secrets: Any, tmp_path: Path, jwks: JwksServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through `flowgen preflight` and its flags (the default quota reader patched: moto has none)."""
    import flowgen_ops.preflight as module

    monkeypatch.setattr(module, "lambda_account_concurrency", lambda session, region: AccountConcurrency(60, 60))
    flags = ["preflight", "--config-file", str(samconfig(tmp_path)), "--jwks-url", jwks.url, "--region", REGION]
    flags += ["--stack-name", "flowgen-test", "--parameter-overrides", "Auth0Domain=tenant.eu.auth0.com"]
    assert ops_main(flags) == 0
    out = capsys.readouterr().out
    assert f"preflight: stack flowgen-test in {REGION}" in out and "ok    stack flowgen-test" in out
    assert "+ the api 10 = 49" in out  # --api-concurrency's default

    assert ops_main([*flags, "--api-concurrency", "30"]) == 1  # 39 + 30 > 60
    assert "FAIL  lambda concurrency" in capsys.readouterr().out
