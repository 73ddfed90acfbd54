"""Settings fail clearly at cold start and secrets are read from Secrets Manager once."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws
from pydantic import ValidationError

from flowgen.settings import (
    ApiSettings,
    ConfigurationError,
    JobSettings,
    LessonWorkerSettings,
    ModelSettings,
    MongoSettings,
    RedisSettings,
    StreamingSettings,
    load,
    resolve_secret,
)


def test_missing_required_settings_fail_with_the_variable_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("COURSE_QUEUE_URL", "LESSON_LOW_QUEUE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MONGO_URI", "mongodb://db")
    monkeypatch.setenv("LESSON_HIGH_QUEUE_URL", "https://sqs/high")
    with pytest.raises(ConfigurationError) as caught:
        load(ApiSettings)
    assert str(caught.value) == (
        "ApiSettings: invalid environment: COURSE_QUEUE_URL: Field required; LESSON_LOW_QUEUE_URL: Field required"
    )


def test_redis_needs_a_url_or_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("REDIS_URL_SECRET", raising=False)
    with pytest.raises(ValidationError, match="REDIS_URL or REDIS_URL_SECRET"):
        RedisSettings()
    monkeypatch.setenv("REDIS_URL_SECRET", "flowgen/redis-url")
    assert RedisSettings().redis_url_secret == "flowgen/redis-url"


def test_each_tunable_is_read_from_its_one_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "MONGO_URI": "mongodb://db",
        "REDIS_URL": "redis://r",
        "COURSE_QUEUE_URL": "c",
        "LESSON_HIGH_QUEUE_URL": "h",
        "LESSON_LOW_QUEUE_URL": "l",
        "MAX_RECEIVE_COUNT": "7",
        "LESSON_TOKEN_ESTIMATE": "1234",
        "INITIAL_LESSONS": "5",
    }.items():
        monkeypatch.setenv(name, value)
    worker = load(LessonWorkerSettings)
    assert (worker.max_receive_count, worker.lesson_token_estimate, worker.initial_lessons) == (7, 1234, 5)
    assert "lease_seconds" not in LessonWorkerSettings.model_fields  # the lease follows the invocation's deadline


def test_mongo_needs_a_uri_or_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONGO_URI", raising=False)
    monkeypatch.delenv("MONGO_URI_SECRET", raising=False)
    with pytest.raises(ValidationError, match="MONGO_URI or MONGO_URI_SECRET"):
        MongoSettings()


def test_a_secret_is_resolved_from_secrets_manager_and_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    with mock_aws():
        client = boto3.client("secretsmanager")
        client.create_secret(Name="flowgen/mongo-uri", SecretString="mongodb+srv://user:pw@cluster/")
        assert resolve_secret("", "flowgen/mongo-uri") == "mongodb+srv://user:pw@cluster/"
        client.update_secret(SecretId="flowgen/mongo-uri", SecretString="changed")
        assert resolve_secret("", "flowgen/mongo-uri") == "mongodb+srv://user:pw@cluster/"  # cached
    assert resolve_secret("plain-local-value", "flowgen/mongo-uri") == "plain-local-value"
    assert resolve_secret("", "") == ""


def test_a_value_given_wins_over_its_variable_and_variables_are_parsed_as_their_field_s_type(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://from-env")
    monkeypatch.setenv("STUCK_AFTER_SECONDS", "42")
    monkeypatch.setenv("Lesson_High_Queue_Url", "h")  # matched in any case, as pydantic-settings did
    monkeypatch.setenv("COURSE_QUEUE_URL", "c")
    monkeypatch.setenv("LESSON_LOW_QUEUE_URL", "l")
    monkeypatch.setenv("MODEL_TIMEOUT_SECONDS", "2.5")
    monkeypatch.setenv("STREAM_LESSONS", "false")
    jobs = JobSettings.model_validate({"redis_url": "redis://given"})
    assert (jobs.redis_url, jobs.stuck_after_seconds, jobs.lesson_high_queue_url) == ("redis://given", 42, "h")
    assert ModelSettings().model_timeout_seconds == 2.5
    assert JobSettings.model_validate({"REDIS_URL": "redis://given"}).redis_url == "redis://given"
    assert StreamingSettings().stream_lessons is True  # a tunable alone is a plain value: no variable read
    monkeypatch.setenv("STUCK_AFTER_SECONDS", "soon")
    with pytest.raises(ConfigurationError, match="STUCK_AFTER_SECONDS: Input should be a valid integer"):
        load(JobSettings)
