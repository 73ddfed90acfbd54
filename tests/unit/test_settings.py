"""Settings fail clearly at cold start and secrets are read from Secrets Manager once."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws
from pydantic import ValidationError

from flowgen.settings import (
    ApiSettings,
    ConfigurationError,
    LessonWorkerSettings,
    MongoSettings,
    RedisSettings,
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
