"""Operating a deployment (issue 21): alarms, the dashboard, teardown and the CORS default,
checked on the template as CloudFormation receives it (after the real SAM transform).

A graph or an alarm on a metric nobody publishes stays empty, or silent, forever. So every metric
the template alarms on or graphs must be one of:
- AWS's own: SQS per queue, Lambda per function, the HTTP API per ApiId and Stage, each with
  the dimensions AWS publishes it under and naming a resource of this template;
- Powertools' (EMF): namespace FlowGen and the one `service` dimension Powertools adds, named in
  a `metrics.add_metric` call of the layer or a function (read from their source);
- a CloudWatch Logs metric filter of this template (namespace FlowGen/Logs), whose pattern is
  shown to match the line the code really logs (the authorizer, the reconciler) or that API
  Gateway writes (the access log's format).
"""

from __future__ import annotations

import ast
import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace
from typing import Any, cast
from urllib.error import URLError

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from flowgen.records import Priority
from flowgen_local.idp import mint_token
from flowgen_local.in_process import load_function
from flowgen_local.sam import transform_template
from flowgen_local.template import ROOT, parameter_problems

PSEUDO = {"AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
WORK_QUEUES = {"CourseQueue", "LessonHighQueue", "LessonLowQueue"}
DLQS = {"CourseDLQ", "LessonHighDLQ", "LessonLowDLQ", "IngestDLQ"}
FUNCTIONS = {
    "AuthorizerFunction",
    "ApiFunction",
    "CourseWorkerFunction",
    "LessonWorkerFunction",
    "ReconcilerFunction",
    "SourceWorkerFunction",
}
LOG_METRICS = "FlowGen/Logs"

# What AWS publishes, by namespace: the metric names used here and the dimensions of each.
AWS_METRICS: dict[str, tuple[set[str], tuple[str, ...]]] = {
    "AWS/SQS": (
        {
            "ApproximateNumberOfMessagesVisible",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateAgeOfOldestMessage",
        },
        ("QueueName",),
    ),
    "AWS/Lambda": ({"Invocations", "Errors", "Throttles", "ConcurrentExecutions", "Duration"}, ("FunctionName",)),
    # HTTP APIs (not REST APIs, whose names are 4XXError/5XXError and whose dimension is ApiName)
    "AWS/ApiGateway": ({"Count", "4xx", "5xx", "Latency", "IntegrationLatency", "DataProcessed"}, ("ApiId", "Stage")),
}


# ---- the transformed template, evaluated with the parameters' defaults ---------------------


@cache
def transformed(overrides: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    return transform_template(ROOT / "template.yaml", dict(overrides))


def resources() -> dict[str, Any]:
    return cast(dict[str, Any], transformed()["Resources"])


def parameters(overrides: dict[str, str] | None = None) -> dict[str, str]:
    declared = transformed()["Parameters"]
    return {**{name: str(p.get("Default", "")) for name, p in declared.items()}, **(overrides or {})}


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in resources().items() if r["Type"] == kind}


def token(value: Any) -> str:
    """A dimension's value as a comparable string: `<Resource>` for a resource's Ref,
    `<Resource.Attribute>` for GetAtt, a parameter's default for its Ref."""
    if isinstance(value, dict) and "Ref" in value:
        name = str(value["Ref"])
        return f"<{name}>" if name in resources() else parameters().get(name, PSEUDO.get(name, name))
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return "<{}>".format(".".join(target) if isinstance(target, list) else target)
    return str(value)


def substitute(text: str) -> str:
    """Fn::Sub's `${...}` as `token` writes them."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if "." in name:
            return f"<{name}>"
        return token({"Ref": name})

    return re.sub(r"\$\{([\w:.]+)\}", one, text)


def holds(condition: str, values: dict[str, str]) -> bool:
    """A template condition (Fn::Equals, Fn::Not, Condition) under the given parameter values."""

    def value(expr: Any) -> Any:
        if isinstance(expr, dict) and len(expr) == 1:
            ((key, arg),) = expr.items()
            if key == "Fn::Not":
                return not value(arg[0])
            if key == "Fn::Equals":
                return value(arg[0]) == value(arg[1])
            if key == "Condition":
                return holds(arg, values)
            if key == "Ref":
                return values[arg]
        return expr

    return bool(value(transformed()["Conditions"][condition]))


# ---- metrics: what is published ------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    dimensions: frozenset[tuple[str, str]]

    def __str__(self) -> str:
        return f"{self.namespace} {self.name} {dict(sorted(self.dimensions))}"


def _priority_titles(expression: ast.expr) -> list[str] | None:
    """`f"...{priority.value.title()}"`: each Priority's title."""
    if "priority" in ast.unparse(expression) and ast.unparse(expression).endswith(".value.title()"):
        return [p.value.title() for p in Priority]
    return None


def _names(node: ast.expr, scope: ast.AST) -> set[str]:
    """Every name an `add_metric(name=...)` argument can take: a literal, an f-string over a
    priority, or a local variable assigned one of those in the same function."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.JoinedStr):
        found = {""}
        for part in node.values:
            if isinstance(part, ast.Constant):
                found = {f + str(part.value) for f in found}
            elif isinstance(part, ast.FormattedValue) and (titles := _priority_titles(part.value)):
                found = {f + t for f in found for t in titles}
            else:
                return set()
        return found
    if isinstance(node, ast.Name):
        return {
            name
            for assign in ast.walk(scope)
            if isinstance(assign, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == node.id for t in assign.targets)
            for name in _names(assign.value, scope)
        }
    return set()


@cache
def emitted_by_code() -> frozenset[str]:
    """The metric names passed to Powertools' `add_metric` in the layer and the functions."""
    names: set[str] = set()
    for path in [*(ROOT / "layers" / "flowgen" / "flowgen").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]:
        tree = ast.parse(path.read_text())
        for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]:
            for call in ast.walk(function):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "add_metric"
                ):
                    for keyword in call.keywords:
                        if keyword.arg == "name":
                            names |= _names(keyword.value, function)
    return frozenset(names)


def powertools_dimensions() -> tuple[str, frozenset[tuple[str, str]]]:
    """The namespace and dimensions Powertools gives every metric, in every function's
    environment as the template sets it (the Globals, after the transform)."""
    environments = {
        name: r["Properties"]["Environment"]["Variables"] for name, r in of_type("AWS::Lambda::Function").items()
    }
    namespaces = {env["POWERTOOLS_METRICS_NAMESPACE"] for env in environments.values()}
    services = {env["POWERTOOLS_SERVICE_NAME"] for env in environments.values()}
    assert len(namespaces) == 1 and len(services) == 1, (namespaces, services)
    return namespaces.pop(), frozenset({("service", services.pop())})


def published() -> tuple[set[Metric], set[tuple[str, str]]]:
    """(every AWS or metric-filter metric of this template, every (namespace, name) of EMF)."""
    found: set[Metric] = set()
    for queue in of_type("AWS::SQS::Queue"):
        for name in AWS_METRICS["AWS/SQS"][0]:
            found.add(Metric("AWS/SQS", name, frozenset({("QueueName", f"<{queue}.QueueName>")})))
    for function in of_type("AWS::Lambda::Function"):
        for name in AWS_METRICS["AWS/Lambda"][0]:
            found.add(Metric("AWS/Lambda", name, frozenset({("FunctionName", f"<{function}>")})))
    for stage in of_type("AWS::ApiGatewayV2::Stage").values():
        api, stage_name = token(stage["Properties"]["ApiId"]), token(stage["Properties"]["StageName"])
        for name in AWS_METRICS["AWS/ApiGateway"][0]:
            found.add(Metric("AWS/ApiGateway", name, frozenset({("ApiId", api), ("Stage", stage_name)})))
    for metric_filter in of_type("AWS::Logs::MetricFilter").values():
        for transformation in metric_filter["Properties"]["MetricTransformations"]:
            assert "Dimensions" not in transformation
            found.add(Metric(transformation["MetricNamespace"], transformation["MetricName"], frozenset()))
    namespace, _ = powertools_dimensions()
    return found, {(namespace, name) for name in emitted_by_code()}


def is_published(metric: Metric) -> bool:
    aws_and_filters, emf = published()
    if (metric.namespace, metric.name) in emf:
        return metric.dimensions == powertools_dimensions()[1]
    return metric in aws_and_filters


def alarm_metrics(alarm: dict[str, Any]) -> list[Metric]:
    """Each metric an alarm reads: its one metric, or every MetricStat of its metric math."""
    props = alarm["Properties"]
    specs = (
        [props] if "MetricName" in props else [m["MetricStat"]["Metric"] for m in props["Metrics"] if "MetricStat" in m]
    )
    return [
        Metric(
            spec["Namespace"],
            spec["MetricName"],
            frozenset((d["Name"], token(d["Value"])) for d in spec.get("Dimensions", [])),
        )
        for spec in specs
    ]


def alarms() -> dict[str, dict[str, Any]]:
    return of_type("AWS::CloudWatch::Alarm")


def alarmed(namespace: str, name: str, **dimensions: str) -> list[str]:
    """The alarms reading that metric."""
    wanted = Metric(namespace, name, frozenset(dimensions.items()))
    return [alarm for alarm, spec in alarms().items() if wanted in alarm_metrics(spec)]


# ---- the dashboard -------------------------------------------------------------------------


@dataclass(frozen=True)
class Graphed:
    metric: Metric
    options: dict[str, Any]
    widget: str


def dashboard() -> dict[str, Any]:
    (board,) = of_type("AWS::CloudWatch::Dashboard").values()
    body = board["Properties"]["DashboardBody"]["Fn::Sub"]
    return cast(dict[str, Any], json.loads(substitute(body)))


def expand(rows: list[list[Any]]) -> Iterator[tuple[list[str], dict[str, Any]]]:
    """A metric widget's rows with CloudWatch's shorthands spelled out: "." repeats the previous
    row's item at that position; a leading "..." repeats the previous row but its last items."""
    previous: list[str] = []
    for row in rows:
        options = row[-1] if row and isinstance(row[-1], dict) else {}
        items = [str(i) for i in (row[:-1] if options else row)]
        if items and items[0] == "...":
            items = previous[: len(previous) - (len(items) - 1)] + items[1:]
        items = [previous[i] if item == "." else item for i, item in enumerate(items)]
        previous = items
        yield items, options


def graphed() -> list[Graphed]:
    found = []
    for widget in dashboard()["widgets"]:
        if widget["type"] != "metric":
            continue
        props = widget["properties"]
        for items, options in expand(props["metrics"]):
            namespace, name, *pairs = items
            assert len(pairs) % 2 == 0, items
            dimensions = frozenset(zip(pairs[::2], pairs[1::2], strict=True))
            stat = options.get("stat", props.get("stat"))
            found.append(Graphed(Metric(namespace, name, dimensions), {**options, "stat": stat}, props["title"]))
    return found


def graphs(metric: Metric, stat: str | None = None) -> bool:
    return any(g.metric == metric and (stat is None or g.options["stat"] == stat) for g in graphed())


# ---- CloudWatch Logs filter patterns, as far as this template writes them --------------------


def matches(pattern: str, line: str) -> bool:
    """A JSON filter pattern `{ $.a = "text" && $.b = * }` against one log line: "text" compares
    strings exactly, `*` asks that the field exists. Any other form fails the test."""
    found = re.fullmatch(r"\{\s*(.*?)\s*\}", pattern)
    assert found, pattern
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return False
    for term in found.group(1).split("&&"):
        clause = re.fullmatch(r'\s*\$\.(\w+)\s*=\s*(\*|"([^"]*)")\s*', term)
        assert clause, f"a filter term this check does not read: {term!r}"
        field, wanted, text = clause.groups()
        if field not in record or (wanted != "*" and record[field] != text):
            return False
    return True


def metric_filter(name: str) -> tuple[str, str, dict[str, Any]]:
    """(log group's logical id, pattern, transformation) of the filter making that metric."""
    for spec in of_type("AWS::Logs::MetricFilter").values():
        props = spec["Properties"]
        (transformation,) = props["MetricTransformations"]
        if transformation["MetricName"] == name and transformation["MetricNamespace"] == LOG_METRICS:
            return props["LogGroupName"]["Ref"], props["FilterPattern"], transformation
    raise AssertionError(f"no metric filter makes {name}")


def metric_value(transformation: dict[str, Any], line: str) -> float:
    value = str(transformation["MetricValue"])
    return float(json.loads(line)[value[2:]]) if value.startswith("$.") else float(value)


@contextmanager
def log_lines(handler: Any) -> Iterator[list[str]]:
    """What a Powertools Logger writes meanwhile, one JSON record per line."""
    buffer, lines = io.StringIO(), list[str]()
    previous = handler.setStream(buffer)
    try:
        yield lines
    finally:
        handler.setStream(previous)
        lines.extend(line for line in buffer.getvalue().splitlines() if line.strip())


def lambda_context(name: str) -> SimpleNamespace:
    return SimpleNamespace(
        function_name=name,
        memory_limit_in_mb=512,
        invoked_function_arn=f"arn:aws:lambda:eu-west-1:123456789012:function:{name}",
        aws_request_id="req-1",
    )


def access_log_line(status: int) -> str:
    """One access-log record as API Gateway writes it with the template's Format."""
    (stage,) = of_type("AWS::ApiGatewayV2::Stage").values()
    return re.sub(
        r"\$context\.[\w.]+",
        "-",
        stage["Properties"]["AccessLogSettings"]["Format"].replace("$context.status", str(status)),
    )


# ---- alarms --------------------------------------------------------------------------------


def test_every_alarm_reads_a_metric_that_is_published_and_mails_the_topic() -> None:
    assert alarms()
    for name, alarm in alarms().items():
        for metric in alarm_metrics(alarm):
            assert is_published(metric), f"{name} watches {metric}, which nothing publishes"
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching", name
        assert alarm["Properties"]["AlarmDescription"].strip(), name


def test_each_dlq_alarms_on_any_message_and_each_work_queue_on_its_age() -> None:
    for dlq in DLQS:
        (alarm,) = alarmed("AWS/SQS", "ApproximateNumberOfMessagesVisible", QueueName=f"<{dlq}.QueueName>")
        assert alarms()[alarm]["Properties"]["Threshold"] == 0
    thresholds = {}
    for queue in WORK_QUEUES:
        (alarm,) = alarmed("AWS/SQS", "ApproximateAgeOfOldestMessage", QueueName=f"<{queue}.QueueName>")
        thresholds[queue] = alarms()[alarm]["Properties"]["Threshold"]["Ref"]
    assert thresholds == {
        "CourseQueue": "AlarmCourseQueueAgeSeconds",
        "LessonHighQueue": "AlarmHighQueueAgeSeconds",
        "LessonLowQueue": "AlarmLowQueueAgeSeconds",
    }
    declared = transformed()["Parameters"]
    ages = {name: int(declared[name]["Default"]) for name in thresholds.values()}
    # an opened lesson waits about one model call; background work may queue behind its cap
    assert ages["AlarmHighQueueAgeSeconds"] < ages["AlarmCourseQueueAgeSeconds"] < ages["AlarmLowQueueAgeSeconds"]
    for name in thresholds.values():
        assert declared[name]["Type"] == "Number" and declared[name]["Description"], name


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_function_alarms_on_throttles(function: str) -> None:
    (alarm,) = alarmed("AWS/Lambda", "Throttles", FunctionName=f"<{function}>")
    assert alarms()[alarm]["Properties"]["Threshold"] == 0


def test_the_api_alarms_on_5xx_and_on_503() -> None:
    api, stage = "<HttpApi>", parameters()["Stage"]
    (errors,) = alarmed("AWS/ApiGateway", "5xx", ApiId=api, Stage=stage)
    assert alarms()[errors]["Properties"]["Threshold"] == {"Ref": "AlarmApi5xxPerFiveMinutes"}
    (unavailable,) = alarmed(LOG_METRICS, "Api503")
    assert alarms()[unavailable]["Properties"]["ComparisonOperator"] == "GreaterThanThreshold"
    group, _, _ = metric_filter("Api503")
    assert resources()["HttpApiStage"]["Properties"]["AccessLogSettings"]["DestinationArn"] == {
        "Fn::GetAtt": [group, "Arn"]
    }


def test_the_authorizer_alarms_on_errors_on_an_unreachable_key_set_and_on_a_wave_of_denials() -> None:
    assert alarmed("AWS/Lambda", "Errors", FunctionName="<AuthorizerFunction>")
    assert alarmed(LOG_METRICS, "AuthorizerJwksUnavailable")
    (denials,) = alarmed(LOG_METRICS, "AuthorizerDenied")
    math = alarms()[denials]["Properties"]["Metrics"]
    assert Metric("AWS/Lambda", "Invocations", frozenset({("FunctionName", "<AuthorizerFunction>")})) in alarm_metrics(
        alarms()[denials]
    )
    (expression,) = [m for m in math if m.get("ReturnData", True)]
    assert {"denied", "invocations"} <= set(re.findall(r"[a-z]\w*", expression["Expression"]))
    assert alarms()[denials]["Properties"]["Threshold"] == {"Ref": "AlarmAuthorizerDeniedPercent"}


# ---- the dashboard -------------------------------------------------------------------------


def test_every_graphed_metric_is_published() -> None:
    for g in graphed():
        assert is_published(g.metric), f"'{g.widget}' graphs {g.metric}, which nothing publishes"


def test_the_dashboard_graphs_in_flight_messages_of_every_work_queue() -> None:
    for queue in WORK_QUEUES:
        metric = Metric(
            "AWS/SQS", "ApproximateNumberOfMessagesNotVisible", frozenset({("QueueName", f"<{queue}.QueueName>")})
        )
        assert graphs(metric), queue


def test_the_dashboard_graphs_api_errors_and_latency_percentiles() -> None:
    api = frozenset({("ApiId", "<HttpApi>"), ("Stage", parameters()["Stage"])})
    for name in ("Count", "4xx", "5xx"):
        assert graphs(Metric("AWS/ApiGateway", name, api), "Sum"), name
    for percentile in ("p50", "p95", "p99"):
        assert graphs(Metric("AWS/ApiGateway", "Latency", api), percentile), percentile
    assert graphs(Metric(LOG_METRICS, "Api503", frozenset()))


def test_the_dashboard_graphs_429s_tokens_and_reconciler_resends() -> None:
    namespace, service = powertools_dimensions()
    assert graphs(Metric(LOG_METRICS, "Api429", frozenset()))
    for name in ("UserLimited", "LessonTokens", "OutlineTokens"):
        assert name in emitted_by_code()
        assert graphs(Metric(namespace, name, service), "Sum"), name
    for name in ("ReconcilerCoursesResent", "ReconcilerLessonsResent", "ReconcilerQuestionsResent"):
        assert graphs(Metric(LOG_METRICS, name, frozenset()), "Sum"), name


def test_metric_names_are_read_from_the_code() -> None:
    """The reader of `add_metric` calls finds literal names and the per-priority f-strings."""
    assert {"LessonTokens", "OutlineTokens", "UserLimited", "TimeToLessonHigh", "TimeToLessonLow"} <= emitted_by_code()
    assert {"LessonJobsHigh", "LessonJobsLow"} <= emitted_by_code()


def test_powertools_adds_the_service_dimension_and_nothing_else() -> None:
    """The template's namespace and service, as Powertools' Metrics writes them (EMF)."""
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    namespace, dimensions = powertools_dimensions()
    ((_, service),) = dimensions
    metrics = Metrics(namespace=namespace, service=service)
    metrics.add_metric(name="LessonTokens", unit=MetricUnit.Count, value=1)
    document = cast(dict[str, Any], metrics.serialize_metric_set())
    metrics.clear_metrics()
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == namespace == "FlowGen"
    assert directive["Dimensions"] == [["service"]] and document["service"] == service


# ---- the metric filters against the lines really written ------------------------------------


@pytest.mark.parametrize(("status", "metric"), [(503, "Api503"), (429, "Api429")])
def test_access_log_filters_count_their_status(status: int, metric: str) -> None:
    group, pattern, transformation = metric_filter(metric)
    assert group == "HttpApiAccessLogs"
    assert matches(pattern, access_log_line(status)) and metric_value(transformation, access_log_line(status)) == 1
    for other in (200, 202, 404, 500, 502, 504, 429 if status == 503 else 503):
        assert not matches(pattern, access_log_line(other)), other


@pytest.fixture
def authorizer(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The authorizer's handler with the template's variables for a tenant."""
    environment = {
        "JWKS_URL": "https://tenant.example/.well-known/jwks.json",
        "JWT_ISSUER": "https://tenant.example/",
        "JWT_AUDIENCE": "https://api.example",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return load_function("authorizer", environment)


def _authorize(module: Any, bearer: str) -> tuple[dict[str, Any], list[str]]:
    event = {"version": "2.0", "type": "REQUEST", "headers": {"authorization": f"Bearer {bearer}"}}
    with log_lines(module.logger.registered_handler) as lines:
        answer = module.lambda_handler(event, lambda_context("authorizer"))
    return answer, lines


def test_a_key_set_that_cannot_be_fetched_is_counted_by_both_authorizer_filters(
    authorizer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PyJWKClient fetching the JWKS over urllib, failing as a refused connection or Auth0's 5xx does."""

    class Unreachable:
        def open(self, *_: Any, **__: Any) -> Any:
            raise URLError("[Errno 111] Connection refused")

    monkeypatch.setattr("urllib.request.build_opener", lambda *_: Unreachable())
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bearer = mint_token(key, "https://tenant.example/", "https://api.example", "alice")
    answer, lines = _authorize(authorizer, bearer)
    assert answer == {"isAuthorized": False}
    (line,) = [line for line in lines if json.loads(line).get("message") == "denied"]
    for metric in ("AuthorizerDenied", "AuthorizerJwksUnavailable"):
        group, pattern, transformation = metric_filter(metric)
        assert group == "AuthorizerLogs" and matches(pattern, line) and metric_value(transformation, line) == 1, metric
    assert json.loads(line)["level"] in {"INFO", "WARNING", "ERROR"}
    assert {
        r["Properties"]["Environment"]["Variables"]["POWERTOOLS_LOG_LEVEL"]
        for r in of_type("AWS::Lambda::Function").values()
    } <= {"DEBUG", "INFO"}


def test_a_bad_token_is_a_denial_but_not_a_key_set_failure(authorizer: Any) -> None:
    answer, lines = _authorize(authorizer, "not-a-jwt")
    assert answer == {"isAuthorized": False}
    (line,) = [line for line in lines if json.loads(line).get("message") == "denied"]
    assert matches(metric_filter("AuthorizerDenied")[1], line)
    assert not matches(metric_filter("AuthorizerJwksUnavailable")[1], line)


def test_the_reconciler_filters_read_its_counts_from_its_log_line() -> None:
    from flowgen.observability import logger
    from flowgen.reconcile import reconcile
    from flowgen.settings import ReconcilerTunables

    class OneStrandedCourse:
        def stuck_courses(self, *_: Any) -> list[Any]:
            return [SimpleNamespace(id="c" * 32, owner_id="alice")]

        def stuck_lessons(self, *_: Any) -> list[Any]:
            return []

    class Scheduler:
        def schedule_course(self, *_: Any, **__: Any) -> None:
            pass

    class NoQuestions:
        def stuck(self, *_: Any) -> list[Any]:
            return []

    tunables = ReconcilerTunables(stuck_after_seconds=300, max_receive_count=3)
    with log_lines(logger.registered_handler) as lines:
        from flowgen.clock import utcnow

        result = reconcile(
            cast(Any, OneStrandedCourse()),
            cast(Any, Scheduler()),
            tunables,
            utcnow(),
            questions=cast(Any, NoQuestions()),
        )
    (line,) = [line for line in lines if json.loads(line).get("message") == "reconciled"]
    expected = {
        "ReconcilerCoursesResent": result.courses_resent,
        "ReconcilerLessonsResent": result.lessons_resent,
        "ReconcilerQuestionsResent": result.questions_resent,
    }
    assert expected["ReconcilerCoursesResent"] == 1
    for metric, value in expected.items():
        group, pattern, transformation = metric_filter(metric)
        assert group == "ReconcilerLogs" and matches(pattern, line), metric
        assert metric_value(transformation, line) == value, metric


# ---- teardown ------------------------------------------------------------------------------


def test_the_web_bucket_is_retained_and_nothing_else() -> None:
    """`sam delete` cannot delete a bucket holding object versions: it is retained, for the user
    to empty and delete (docs/alarms-and-teardown.md). Everything else goes with the stack: the
    log groups have fixed names, so a retained one would make the next deploy of the stack fail."""
    bucket = resources()["WebBucket"]
    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["DeletionPolicy"] == "Retain" and bucket["UpdateReplacePolicy"] == "Retain"
    assert "BucketName" not in bucket["Properties"]  # a redeploy makes a new bucket beside the retained one
    retained = {
        name
        for name, r in resources().items()
        if "Retain" in (r.get("DeletionPolicy"), r.get("UpdateReplacePolicy")) or r.get("DeletionPolicy") == "Snapshot"
    }
    # and learners' own files (issue 24): never removed by a stack update or delete
    assert retained == {"WebBucket", "SourcesBucket"}
    for name, group in of_type("AWS::Logs::LogGroup").items():
        assert "LogGroupName" in group["Properties"] and group.get("DeletionPolicy") == "Delete", name


def test_the_teardown_note_empties_every_version_and_delete_marker() -> None:
    note = (ROOT / "docs" / "alarms-and-teardown.md").read_text()
    for step in ("sam delete", "list-object-versions", "DeleteMarkers", "Versions", "delete-objects", "delete-bucket"):
        assert step in note, step


# ---- CORS ----------------------------------------------------------------------------------

ORIGIN_PATTERN_CASES = {
    "": True,
    "https://app.example.com": True,
    "https://app.example.com:8443": True,
    "http://localhost:5173": True,
    "http://127.0.0.1:3000": True,
    "http://localhost": True,
    "http://evil.com": False,
    "http://localhost.evil.com": False,
    "https://app.example.com/": False,
    "https://app.example.com/path": False,
    "*": False,
    "https://*.example.com": False,
    "ftp://app.example.com": False,
}


def test_no_browser_origin_but_the_web_app_is_allowed_by_default() -> None:
    declared = transformed()["Parameters"]["FrontendOrigin"]
    assert declared["Default"] == "" and "localhost" not in json.dumps(declared["Default"])
    origins = resources()["HttpApi"]["Properties"]["Body"]["x-amazon-apigateway-cors"]["allowOrigins"]
    assert {"Fn::Sub": "https://${WebDistribution.DomainName}"} in origins
    allowed = [o for o in origins if not (isinstance(o, dict) and "Fn::If" in o)]
    (conditional,) = [o["Fn::If"] for o in origins if isinstance(o, dict) and "Fn::If" in o]
    assert not holds(conditional[0], parameters()) and conditional[2] == {"Ref": "AWS::NoValue"}
    assert "localhost" not in json.dumps(allowed)


def test_an_origin_given_at_deploy_is_allowed() -> None:
    given = {"FrontendOrigin": "https://app.example.com"}
    origins = transformed(tuple(given.items()))["Resources"]["HttpApi"]["Properties"]["Body"][
        "x-amazon-apigateway-cors"
    ]["allowOrigins"]
    (conditional,) = [o["Fn::If"] for o in origins if isinstance(o, dict) and "Fn::If" in o]
    assert holds(conditional[0], parameters(given))
    assert token(conditional[1]) == "https://app.example.com"


@pytest.mark.parametrize(("origin", "accepted"), sorted(ORIGIN_PATTERN_CASES.items()))
def test_the_origin_must_be_https_or_a_local_dev_server(origin: str, accepted: bool) -> None:
    """CloudFormation's check (the whole value must match AllowedPattern), as the local stack runs it."""
    declared = transformed()["Parameters"]
    assert "AllowedPattern" in declared["FrontendOrigin"]
    problems = parameter_problems({"FrontendOrigin": declared["FrontendOrigin"]}, {"FrontendOrigin": origin})
    assert (not problems) is accepted, problems


def test_the_local_stack_allows_its_dev_server_and_only_what_it_is_given() -> None:
    """`flowgen local` evaluates the CORS Fn::If as CloudFormation does: with its own default
    (the vite dev server, as a developer's deploy would pass it) or an override, never both."""
    from flowgen_local.template import LOCAL_PARAMETERS, load

    assert LOCAL_PARAMETERS["FrontendOrigin"] == "http://localhost:5173"
    assert load(local=True).cors["AllowOrigins"] == ["https://${WebDistribution.DomainName}", "http://localhost:5173"]
    local_without = load(overrides={"FrontendOrigin": ""}, local=True).cors["AllowOrigins"]
    assert local_without == ["https://${WebDistribution.DomainName}"]
    given = load(overrides={"FrontendOrigin": "https://app.example.com"}, local=True).cors["AllowOrigins"]
    assert given == ["https://${WebDistribution.DomainName}", "https://app.example.com"]


def test_only_the_local_stack_sees_its_local_parameters() -> None:
    """Readers that plan for AWS (the capacity planner, sample events) see the template's own
    defaults: the local stack's two background workers are not AWS's planned low lane."""
    from flowgen_capacity.config import read_system
    from flowgen_local.template import load

    assert load().parameters["FrontendOrigin"] == ""
    assert load(local=True).parameters["LessonLowMaxConcurrency"] == "2"
    aws_low = load().parameters["LessonLowMaxConcurrency"]
    assert aws_low != "2"
    assert read_system(None, {}).low.max_concurrency == int(aws_low)


def test_every_queue_the_operator_tool_reads_from_a_stack_is_an_output_of_the_template() -> None:
    """`flowgen status --stack-name` finds queues by the stack's outputs: each must be there and
    name its queue (issue 24 added the uploads' queue)."""
    from flowgen_ops.target import QUEUES, WATCHED_QUEUES

    outputs = transformed()["Outputs"]
    for queue, (_, output) in {**QUEUES, **WATCHED_QUEUES}.items():
        assert outputs[output]["Value"] == {"Ref": queue}, (queue, output)
