"""template.yaml is the wiring's single source of truth: these checks keep it honest.

IAM is checked on the template as AWS sees it: after the real SAM transform (samtranslator, as
`sam validate` runs it), where policy templates such as `SQSSendMessagePolicy` have become IAM
statements, evaluated with the parameters' defaults.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from functools import cache
from typing import Any

import pytest
from pydantic import BaseModel

from flowgen.settings import (
    ApiSettings,
    AuthorizerSettings,
    CourseWorkerSettings,
    LessonWorkerSettings,
    ReconcilerSettings,
    SourceWorkerSettings,
)
from flowgen_local.template import ROOT, load

TEMPLATE = load()
RAW = TEMPLATE.raw
RESOURCES = RAW["Resources"]
SETTINGS: dict[str, type[BaseModel]] = {
    "ApiFunction": ApiSettings,
    "AuthorizerFunction": AuthorizerSettings,
    "CourseWorkerFunction": CourseWorkerSettings,
    "LessonWorkerFunction": LessonWorkerSettings,
    "ReconcilerFunction": ReconcilerSettings,
    "SourceWorkerFunction": SourceWorkerSettings,
}
RUNTIME_VARIABLES = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"}
SECRET_OR_VALUE = {
    ("MONGO_URI", "MONGO_URI_SECRET"),
    ("REDIS_URL", "REDIS_URL_SECRET"),
    ("OPENAI_API_KEY", "OPENAI_API_KEY_SECRET"),
    ("YOUTUBE_API_KEY", "YOUTUBE_API_KEY_SECRET"),
    ("SHARE_KEY", "SHARE_KEY_SECRET"),
}
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
}
DEFAULTS = {name: str(p.get("Default", "")) for name, p in RAW["Parameters"].items()}


def default(name: str) -> int:
    return int(DEFAULTS[name])


# ---- the SAM transform and a small evaluator of what it produces ---------------------------


@cache
def transformed() -> dict[str, Any]:
    """template.yaml through samtranslator, as `sam validate` and `sam deploy` transform it (the
    same transform the local stack builds its IAM roles from)."""
    from flowgen_local.sam import transform_template

    os.environ.setdefault("AWS_DEFAULT_REGION", PSEUDO["AWS::Region"])
    return transform_template(ROOT / "template.yaml")


def evaluate(value: Any, names: dict[str, str] | None = None) -> Any:
    """Ref, Fn::Sub, Fn::GetAtt, Fn::If and conditions with the parameters' defaults. A queue's
    `QueueName` attribute evaluates to its logical id, so ARNs name the queue they grant."""
    names = names or {}
    if isinstance(value, list):
        return [v for v in (evaluate(v, names) for v in value) if v is not NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        return {k: evaluate(v, names) for k, v in value.items()}
    ((key, arg),) = value.items()
    if key == "Ref":
        if arg == "AWS::NoValue":
            return NO_VALUE
        return names.get(arg, DEFAULTS.get(arg, PSEUDO.get(arg, arg)))
    if key == "Fn::GetAtt":
        resource, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
        return f"{resource}.{attribute}" if attribute != "QueueName" else resource
    if key == "Fn::Sub":
        text, local = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        scope = {**names, **{k: str(evaluate(v, names)) for k, v in local.items()}}

        def substitute(match: re.Match[str]) -> str:
            ref = match.group(1)
            if ref in scope:
                return scope[ref]
            if "." in ref:
                return str(evaluate({"Fn::GetAtt": ref.split(".", 1)}))
            return str(evaluate({"Ref": ref}))

        return re.sub(r"\$\{([\w:.]+)\}", substitute, text)
    if key == "Fn::If":
        condition, then, otherwise = arg
        return evaluate(then if condition_holds(condition) else otherwise, names)
    return {key: evaluate(arg, names)}


NO_VALUE = object()


def condition_holds(name: str) -> bool:
    def holds(expr: Any) -> Any:
        if isinstance(expr, dict) and len(expr) == 1:
            ((key, arg),) = expr.items()
            if key == "Fn::Not":
                return not holds(arg[0])
            if key == "Fn::Equals":
                return holds(arg[0]) == holds(arg[1])
            if key == "Condition":
                return condition_holds(arg)
        return evaluate(expr)

    return bool(holds(transformed()["Conditions"][name]))


def role_statements(function: str) -> list[dict[str, Any]]:
    """Every Allow statement of the function's execution role, evaluated with the defaults."""
    resources = transformed()["Resources"]
    role = resources[resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]]["Properties"]
    statements = []
    for policy in evaluate(role.get("Policies", [])):
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            statements.append({"Effect": statement["Effect"], "Action": actions, "Resource": targets})
    return statements


def allowed(function: str, action: str, resource: str) -> bool:
    return any(
        s["Effect"] == "Allow"
        and any(fnmatch.fnmatchcase(action, a) for a in s["Action"])
        and any(fnmatch.fnmatchcase(resource, r) for r in s["Resource"])
        for s in role_statements(function)
    )


def queue_arn(queue: str) -> str:
    return f"arn:aws:sqs:{PSEUDO['AWS::Region']}:{PSEUDO['AWS::AccountId']}:{queue}"


def send_targets(function: str) -> set[str]:
    """The work queues a function may send to (SendMessage and SendMessageBatch)."""
    work_queues = {q for q, spec in TEMPLATE.queues.items() if spec.dead_letter_queue}
    return {
        q
        for q in work_queues
        if allowed(function, "sqs:SendMessage", queue_arn(q))
        and allowed(function, "sqs:SendMessageBatch", queue_arn(q))
    }


def secret_arn(name: str) -> str:
    return f"arn:aws:secretsmanager:{PSEUDO['AWS::Region']}:{PSEUDO['AWS::AccountId']}:secret:{name}-AbCdEf"


# ---- settings and environment ------------------------------------------------------------------


@pytest.mark.parametrize("function", sorted(SETTINGS))
def test_each_functions_environment_matches_its_settings_model(function: str) -> None:
    settings = SETTINGS[function]
    declared = set(TEMPLATE.functions[function].environment) - RUNTIME_VARIABLES
    fields = {name.upper() for name in settings.model_fields}
    required = {name.upper() for name, f in settings.model_fields.items() if f.is_required()}
    assert declared <= fields, f"{function} sets variables its settings ignore: {declared - fields}"
    assert required <= declared, f"{function} lacks required variables: {required - declared}"
    environment = TEMPLATE.functions[function].environment
    for plain, secret in SECRET_OR_VALUE:
        if plain.lower() in settings.model_fields:
            assert secret in declared, f"{function} must read {plain} from a secret"
            # declared for `sam local invoke --env-vars` only: empty, so AWS reads the secret
            assert environment.get(plain) == "", f"{function}'s {plain} must be declared empty"


def test_every_function_in_the_template_has_a_settings_model() -> None:
    assert set(TEMPLATE.functions) == set(SETTINGS)


@pytest.mark.parametrize("function", sorted(SETTINGS))
def test_each_function_may_read_exactly_the_secrets_it_is_given(function: str) -> None:
    environment = TEMPLATE.functions[function].environment
    given = {secret for _, secret in SECRET_OR_VALUE if secret in environment}
    for _, secret in SECRET_OR_VALUE:
        name = str(evaluate(environment[secret])) if secret in environment else ""
        if name:
            assert allowed(function, "secretsmanager:GetSecretValue", secret_arn(name)), (function, secret)
    readable = {s["Resource"][0] for s in role_statements(function) if "secretsmanager:GetSecretValue" in s["Action"]}
    assert len(readable) == len([s for s in given if str(evaluate(environment[s]))]), readable
    assert not allowed(function, "secretsmanager:GetSecretValue", secret_arn("someone-elses-secret"))


def test_redis_comes_from_a_secret_and_no_function_needs_a_vpc() -> None:
    assert "RedisUrl" not in RAW["Parameters"]
    assert DEFAULTS["RedisUrlSecretName"]
    for name, spec in TEMPLATE.functions.items():
        assert spec.environment.get("REDIS_URL", "") == "", name  # declared empty at most (local invoke)
        assert "VpcConfig" not in RESOURCES[name]["Properties"], name


# ---- queues, timeouts and the workers' own deferrals -------------------------------------------


def test_every_work_queue_has_a_dlq_and_a_visibility_of_six_times_its_consumer() -> None:
    for source in TEMPLATE.event_sources:
        queue = TEMPLATE.queues[source.queue]
        assert queue.dead_letter_queue in TEMPLATE.queues
        assert queue.max_receive_count == default("MaxReceiveCount")
        visibility = int(evaluate(RESOURCES[source.queue]["Properties"]["VisibilityTimeout"]))
        timeout = int(evaluate(RESOURCES[source.function]["Properties"]["Timeout"]))
        assert visibility >= 6 * timeout, source.name


def test_worker_timeout_and_visibility_are_parameters_and_no_lease_is_configured() -> None:
    for source in TEMPLATE.event_sources:
        assert RESOURCES[source.function]["Properties"]["Timeout"] == {"Ref": "WorkerTimeoutSeconds"}
        assert RESOURCES[source.queue]["Properties"]["VisibilityTimeout"] == {"Ref": "QueueVisibilityTimeoutSeconds"}
        assert "LEASE_SECONDS" not in TEMPLATE.functions[source.function].environment
    assert default("QueueVisibilityTimeoutSeconds") >= 6 * default("WorkerTimeoutSeconds")
    # even at the extremes the parameters allow, the queue outlives one invocation
    assert int(RAW["Parameters"]["QueueVisibilityTimeoutSeconds"]["MinValue"]) >= int(
        RAW["Parameters"]["WorkerTimeoutSeconds"]["MinValue"]
    )


def test_event_sources_report_partial_failures_and_cap_concurrency() -> None:
    sources = {s.name: s for s in TEMPLATE.event_sources}
    assert set(sources) == {"CourseJobs", "HighPriorityLessons", "LowPriorityLessons", "SourceUploads"}
    assert all(s.report_item_failures for s in sources.values())
    uploads = sources["SourceUploads"]  # issue 24: one file an invocation, a few at once
    assert (uploads.function, uploads.batch_size) == ("SourceWorkerFunction", 1) and 1 <= uploads.max_concurrency <= 5
    high, low = sources["HighPriorityLessons"], sources["LowPriorityLessons"]
    assert high.batch_size == 1
    assert high.function == low.function == "LessonWorkerFunction"
    assert 2 <= low.max_concurrency < high.max_concurrency


def test_least_privilege_queue_policies() -> None:
    assert send_targets("ApiFunction") == {"CourseQueue", "LessonHighQueue", "LessonLowQueue"}
    assert send_targets("CourseWorkerFunction") == {"CourseQueue", "LessonLowQueue"}
    assert send_targets("LessonWorkerFunction") == {"LessonHighQueue", "LessonLowQueue"}
    assert send_targets("ReconcilerFunction") == {"CourseQueue", "LessonHighQueue", "LessonLowQueue"}
    assert send_targets("AuthorizerFunction") == set()
    assert role_statements("AuthorizerFunction") == [], "the authorizer touches no AWS API"


def test_every_worker_may_defer_a_job_to_the_queue_it_came_from() -> None:
    """generation.py re-sends a rate-limited job to its own queue with DelaySeconds; without
    this grant every deferral is AccessDenied on AWS and the job drifts to its DLQ."""
    for source in TEMPLATE.event_sources:
        if source.name == "SourceUploads":  # S3's events are not jobs: a source is never deferred
            assert send_targets(source.function) == set()
            continue
        assert source.queue in send_targets(source.function), (source.function, source.queue)


def test_least_privilege_on_the_sources_bucket() -> None:
    """Issue 24: the api signs upload forms (PutObject) and deletes; the ingestion worker only
    reads; both only under sources/; no other function touches the bucket. S3 alone may send to
    the ingest queue, for this bucket of this account."""
    inside, outside = "SourcesBucket.Arn/sources/0123", "SourcesBucket.Arn/other/0123"
    assert allowed("ApiFunction", "s3:PutObject", inside) and allowed("ApiFunction", "s3:DeleteObject", inside)
    assert not allowed("ApiFunction", "s3:GetObject", inside)
    assert allowed("SourceWorkerFunction", "s3:GetObject", inside)
    assert not any(allowed("SourceWorkerFunction", a, inside) for a in ("s3:PutObject", "s3:DeleteObject"))
    for function in TEMPLATE.functions:
        assert not any(allowed(function, a, outside) for a in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"))
        if function not in ("ApiFunction", "SourceWorkerFunction"):
            assert not any(a.startswith("s3:") for s in role_statements(function) for a in s["Action"]), function
    bucket = RESOURCES["SourcesBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    (notification,) = bucket["NotificationConfiguration"]["QueueConfigurations"]
    assert notification["Queue"] == {"Fn::GetAtt": ["IngestQueue", "Arn"]}
    assert notification["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "sources/"}]
    (statement,) = RESOURCES["IngestQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert str(evaluate(statement["Condition"]["ArnEquals"]["aws:SourceArn"])).endswith(
        str(evaluate(bucket["BucketName"]))
    )


def test_every_queue_is_encrypted_at_rest() -> None:
    for name in TEMPLATE.queues:
        assert RESOURCES[name]["Properties"].get("SqsManagedSseEnabled") is True, name


# ---- packaging ---------------------------------------------------------------------------------


def test_functions_run_on_arm64_with_the_layer_built_by_its_makefile() -> None:
    function_globals = RAW["Globals"]["Function"]
    assert function_globals["Architectures"] == ["arm64"]
    assert function_globals["Runtime"] == "python3.12"
    assert all("Architectures" not in RESOURCES[f]["Properties"] for f in TEMPLATE.functions)
    layer = RESOURCES["FlowgenLayer"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    makefile = (ROOT / layer["Properties"]["ContentUri"] / "Makefile").read_text()
    assert "build-FlowgenLayer:" in makefile


# ---- logs, alarms, dashboard -------------------------------------------------------------------


@pytest.mark.parametrize("function", sorted(SETTINGS))
def test_every_function_logs_to_its_own_group_with_a_retention(function: str) -> None:
    group = RESOURCES[function]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    assert RESOURCES[group]["Type"] == "AWS::Logs::LogGroup"
    assert RESOURCES[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert default("LogRetentionDays") in RAW["Parameters"]["LogRetentionDays"]["AllowedValues"]


def test_the_http_api_writes_json_access_logs_to_a_group_with_a_retention() -> None:
    settings = RESOURCES["HttpApi"]["Properties"]["AccessLogSettings"]
    group = settings["DestinationArn"]["Fn::GetAtt"][0]
    assert RESOURCES[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    record = json.loads(settings["Format"])
    assert {"requestId", "status", "routeKey", "authorizerError"} <= set(record)
    stage = next(r for r in transformed()["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Stage")
    assert stage["Properties"]["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": [group, "Arn"]}


def test_the_alarm_topic_mails_the_optional_address() -> None:
    subscriptions = [r for r in RESOURCES.values() if r["Type"] == "AWS::SNS::Subscription"]
    assert len(subscriptions) == 1
    (subscription,) = subscriptions
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["TopicArn"] == {"Ref": "AlarmTopic"}
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert DEFAULTS["AlarmEmail"] == "" and not condition_holds("HasAlarmEmail")


def test_dashboard_and_alarms_watch_every_queue() -> None:
    body = RESOURCES["QueueDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    for queue in TEMPLATE.queues:
        assert f"${{{queue}.QueueName}}" in body, queue
    alarms = [r["Properties"] for r in RESOURCES.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    alarmed = {  # alarms on functions, the API and metric math have no QueueName (test_template_operations.py)
        d["Value"]["Fn::GetAtt"][0] for a in alarms for d in a.get("Dimensions", []) if d["Name"] == "QueueName"
    }
    dlqs = {q.dead_letter_queue for q in TEMPLATE.queues.values() if q.dead_letter_queue}
    assert dlqs | {"LessonHighQueue"} <= alarmed
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms)


# ---- the HTTP API ------------------------------------------------------------------------------


def test_http_api_uses_a_cached_request_authorizer_and_throttles() -> None:
    api = RESOURCES["HttpApi"]["Properties"]
    authorizer = api["Auth"]["Authorizers"][api["Auth"]["DefaultAuthorizer"]]
    assert authorizer["AuthorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["EnableSimpleResponses"] is True
    assert authorizer["Identity"]["Headers"] == ["Authorization"]
    assert TEMPLATE.authorizer_cache_seconds > 0  # safe: the api refuses a cached token past its exp
    rate = int(evaluate(api["DefaultRouteSettings"]["ThrottlingRateLimit"]))
    burst = int(evaluate(api["DefaultRouteSettings"]["ThrottlingBurstLimit"]))
    assert 0 < rate <= burst


def test_only_what_a_share_link_opens_and_the_contract_need_no_token_each_throttled_on_its_own() -> None:
    """Issue 22: the shared course, its lessons and a viewer's quiz have no authorizer, so each has
    its own API Gateway throttle below the default; sharing, stopping and forking are signed in."""
    public = {(route.method, route.path) for route in TEMPLATE.routes if not route.authorized}
    shared = {
        ("GET", "/shared/{token}"),
        ("GET", "/shared/{token}/lessons/{lessonId}"),
        ("POST", "/shared/{token}/lessons/{lessonId}/quiz"),
    }
    assert public == shared | {("GET", "/openapi.json"), ("GET", "/swagger")}
    signed_in = {("POST", "/courses/{courseId}/share"), ("DELETE", "/courses/{courseId}/share")}
    signed_in.add(("POST", "/shared/{token}/fork"))
    assert signed_in <= {(route.method, route.path) for route in TEMPLATE.routes if route.authorized}
    api = RESOURCES["HttpApi"]["Properties"]["DefaultRouteSettings"]
    for event in RESOURCES["ApiFunction"]["Properties"]["Events"].values():
        props = event["Properties"]
        if (props.get("Method"), props.get("Path")) in shared:
            rate = int(evaluate(props["RouteSettings"]["ThrottlingRateLimit"]))
            burst = int(evaluate(props["RouteSettings"]["ThrottlingBurstLimit"]))
            assert 0 < rate <= burst and rate < int(evaluate(api["ThrottlingRateLimit"])), props["Path"]
    environment = TEMPLATE.functions["ApiFunction"].environment
    assert int(str(evaluate(environment["SHARED_REQUESTS_PER_MINUTE_PER_ADDRESS"]))) > 0  # on by default
    assert "WEB_URL" in environment and DEFAULTS["ShareKeySecretName"]


def test_every_route_is_served_by_the_api_function_which_checks_expiry() -> None:
    """Expiry under a cached allow is enforced in functions/api/app.py; a route served by any
    other function would need the same check."""
    assert {route.function for route in TEMPLATE.routes} == {"ApiFunction"}


def test_the_web_app_is_served_from_a_private_bucket_through_cloudfront_only() -> None:
    block = RESOURCES["WebBucket"]["Properties"]["PublicAccessBlockConfiguration"]
    assert all(
        block[k] is True for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    )
    origin = RESOURCES["WebDistribution"]["Properties"]["DistributionConfig"]["Origins"][0]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["WebOriginAccessControl", "Id"]}
    (statement,) = RESOURCES["WebBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Action"] == "s3:GetObject"
    assert "distribution/${WebDistribution}" in statement["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    cors = RESOURCES["HttpApi"]["Properties"]["CorsConfiguration"]["AllowOrigins"]
    assert {"Fn::Sub": "https://${WebDistribution.DomainName}"} in cors
