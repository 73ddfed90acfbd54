"""template.yaml is the wiring's single source of truth: these checks keep it honest."""

from __future__ import annotations

import pytest

from flowgen.settings import (
    ApiSettings,
    AuthorizerSettings,
    CourseWorkerSettings,
    LessonWorkerSettings,
    ReconcilerSettings,
)
from flowgen_dev.template import load

TEMPLATE = load()
SETTINGS = {
    "ApiFunction": ApiSettings,
    "AuthorizerFunction": AuthorizerSettings,
    "CourseWorkerFunction": CourseWorkerSettings,
    "LessonWorkerFunction": LessonWorkerSettings,
    "ReconcilerFunction": ReconcilerSettings,
}
RUNTIME_VARIABLES = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"}


@pytest.mark.parametrize("function", sorted(SETTINGS))
def test_each_functions_environment_matches_its_settings_model(function):
    settings = SETTINGS[function]
    declared = set(TEMPLATE.functions[function].environment) - RUNTIME_VARIABLES
    fields = {name.upper() for name in settings.model_fields}
    required = {name.upper() for name, f in settings.model_fields.items() if f.is_required()}
    assert declared <= fields, f"{function} sets variables its settings ignore: {declared - fields}"
    assert required <= declared, f"{function} lacks required variables: {required - declared}"
    secret_or_value = {
        ("MONGO_URI", "MONGO_URI_SECRET"),
        ("OPENAI_API_KEY", "OPENAI_API_KEY_SECRET"),
        ("YOUTUBE_API_KEY", "YOUTUBE_API_KEY_SECRET"),
    }
    for plain, secret in secret_or_value:
        if plain.lower() in settings.model_fields:
            assert secret in declared and plain not in declared, f"{function} must read {plain} from a secret"


def test_every_function_in_the_template_has_a_settings_model():
    assert set(TEMPLATE.functions) == set(SETTINGS)


def test_every_work_queue_has_a_dlq_and_a_visibility_of_six_times_its_consumer():
    for source in TEMPLATE.event_sources:
        queue = TEMPLATE.queues[source.queue]
        assert queue.dead_letter_queue in TEMPLATE.queues
        assert queue.max_receive_count == int(TEMPLATE.parameters["MaxReceiveCount"])
        consumer = TEMPLATE.functions[source.function]
        assert queue.visibility_timeout >= 6 * consumer.timeout, source.name
        lease = int(consumer.environment.get("LEASE_SECONDS", 0))
        assert consumer.timeout <= lease < queue.visibility_timeout, "a lease must outlive the call, not the message"


def test_event_sources_report_partial_failures_and_cap_concurrency():
    sources = {s.name: s for s in TEMPLATE.event_sources}
    assert set(sources) == {"CourseJobs", "HighPriorityLessons", "LowPriorityLessons"}
    assert all(s.report_item_failures for s in sources.values())
    high, low = sources["HighPriorityLessons"], sources["LowPriorityLessons"]
    assert high.batch_size == 1
    assert high.function == low.function == "LessonWorkerFunction"
    assert 2 <= low.max_concurrency < high.max_concurrency


def test_least_privilege_queue_policies():
    raw = TEMPLATE.raw["Resources"]

    def send_targets(function: str) -> set[str]:
        targets = set()
        for policy in raw[function]["Properties"].get("Policies", []):
            if "SQSSendMessagePolicy" in policy:
                targets.add(policy["SQSSendMessagePolicy"]["QueueName"]["Fn::GetAtt"][0])
        return targets

    assert send_targets("ApiFunction") == {"CourseQueue", "LessonHighQueue", "LessonLowQueue"}
    assert send_targets("CourseWorkerFunction") == {"LessonLowQueue"}
    assert send_targets("LessonWorkerFunction") == set()
    assert send_targets("AuthorizerFunction") == set()


def test_dashboard_and_alarms_watch_every_queue():
    raw = TEMPLATE.raw["Resources"]
    body = raw["QueueDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    for queue in TEMPLATE.queues:
        assert f"${{{queue}.QueueName}}" in body, queue
    alarmed = {
        r["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for r in raw.values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    dlqs = {q.dead_letter_queue for q in TEMPLATE.queues.values() if q.dead_letter_queue}
    assert dlqs | {"LessonHighQueue"} <= alarmed


def test_http_api_uses_a_cached_request_authorizer():
    api = TEMPLATE.raw["Resources"]["HttpApi"]["Properties"]
    authorizer = api["Auth"]["Authorizers"][api["Auth"]["DefaultAuthorizer"]]
    assert authorizer["AuthorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["EnableSimpleResponses"] is True
    assert authorizer["Identity"]["Headers"] == ["Authorization"]
    assert TEMPLATE.authorizer_cache_seconds > 0
    assert api["DefaultRouteSettings"]["ThrottlingRateLimit"]


def test_the_web_app_is_served_from_a_private_bucket_through_cloudfront_only():
    raw = TEMPLATE.raw["Resources"]
    block = raw["WebBucket"]["Properties"]["PublicAccessBlockConfiguration"]
    assert all(
        block[k] is True for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    )
    origin = raw["WebDistribution"]["Properties"]["DistributionConfig"]["Origins"][0]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["WebOriginAccessControl", "Id"]}
    (statement,) = raw["WebBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Action"] == "s3:GetObject"
    assert "distribution/${WebDistribution}" in statement["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    cors = raw["HttpApi"]["Properties"]["CorsConfiguration"]["AllowOrigins"]
    assert {"Fn::Sub": "https://${WebDistribution.DomainName}"} in cors
