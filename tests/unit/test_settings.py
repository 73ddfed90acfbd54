"""Settings fail clearly at cold start and secrets are read from Secrets Manager once."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws
from pydantic import ValidationError

from flowgen.settings import ApiSettings, MongoSettings, resolve_secret


def test_missing_required_settings_fail_with_the_variable_named(monkeypatch):
    for name in ("REDIS_URL", "COURSE_QUEUE_URL", "MONGO_URI", "MONGO_URI_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValidationError) as caught:
        ApiSettings()
    text = str(caught.value)
    assert "redis_url" in text and "course_queue_url" in text


def test_mongo_needs_a_uri_or_a_secret(monkeypatch):
    monkeypatch.delenv("MONGO_URI", raising=False)
    monkeypatch.delenv("MONGO_URI_SECRET", raising=False)
    with pytest.raises(ValidationError, match="MONGO_URI or MONGO_URI_SECRET"):
        MongoSettings()


def test_a_secret_is_resolved_from_secrets_manager_and_cached(monkeypatch):
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
