"""The Lambda authorizer through API Gateway's behaviour: no identity source is a 401 without
invoking it; a token it denies is a 403 (HTTP API simple responses); a valid one passes sub.

Expiry is enforced by the api function on every request, from the `exp` the authorizer passes
in its context: an expired token is a 401 `token_expired` with a `WWW-Authenticate` challenge,
whether the authorizer's allow is cached or not (docs/decisions.md, 2026-11-28)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from flowgen_local.stack import ApiResponse, LocalStack
from tests.conftest import SharedStack
from tests.helpers import User
from tests.narrow import present


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(stack: LocalStack, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": present(stack.idp).issuer,
        "aud": present(stack.idp).audience,
        "sub": "mallory",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        **overrides,
    }


def _other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _status(stack: LocalStack, token: str | None) -> int:
    headers = {"authorization": f"Bearer {token}"} if token is not None else {}
    return stack.request("GET", "/courses", headers=headers).status


def test_a_valid_token_passes_its_subject_to_the_api(stack: LocalStack) -> None:
    alice = User(stack, "alice")
    course = alice.create_course()
    listed = alice.call("GET", "/courses").json()
    assert [c["id"] for c in listed["items"]] == [course["id"]]


def test_no_token_is_401_without_invoking_the_authorizer(stack: LocalStack) -> None:
    assert _status(stack, None) == 401
    assert stack.request("GET", "/courses", headers={"authorization": ""}).status == 401


ATTACKS: dict[str, Callable[[LocalStack], str]] = {
    "alg_none": lambda s: f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': present(s.idp).kid})}.{_b64(_claims(s))}.",
    "hs256_with_public_key_as_secret": lambda s: _hs256_confusion(s),
    "not_yet_valid": lambda s: jwt.encode(
        _claims(s, nbf=int(time.time()) + 3600), present(s.idp).key, "RS256", headers={"kid": present(s.idp).kid}
    ),
    "wrong_issuer": lambda s: present(s.idp).mint("alice", iss="https://evil.example/"),
    "wrong_audience": lambda s: present(s.idp).mint("alice", aud="https://another-api.example"),
    "unknown_key": lambda s: jwt.encode(_claims(s), _other_key(), "RS256", headers={"kid": "not-ours"}),
    "known_kid_wrong_key": lambda s: jwt.encode(_claims(s), _other_key(), "RS256", headers={"kid": present(s.idp).kid}),
    "tampered_payload": lambda s: _tamper(present(s.idp).mint("alice")),
    "missing_sub": lambda s: jwt.encode(
        {k: v for k, v in _claims(s).items() if k != "sub"},
        present(s.idp).key,
        "RS256",
        headers={"kid": present(s.idp).kid},
    ),
    "garbage": lambda s: "not.a.jwt",
}


def _hs256_confusion(stack: LocalStack) -> str:
    idp = present(stack.idp)
    public_pem = idp.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": idp.kid}
    signing_input = f"{_b64(header)}.{_b64(_claims(stack))}".encode()
    import hashlib
    import hmac

    signature = base64.urlsafe_b64encode(hmac.new(public_pem, signing_input, hashlib.sha256).digest()).rstrip(b"=")
    return f"{signing_input.decode()}.{signature.decode()}"


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "bob"
    return f"{header}.{_b64(claims)}.{signature}"


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_attacks_are_denied(stack: LocalStack, attack: str) -> None:
    assert _status(stack, ATTACKS[attack](stack)) == 403


def _assert_token_expired(response: ApiResponse) -> None:
    assert response.status == 401, response.body
    assert response.json()["error"]["code"] == "token_expired"
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


def _count_authorizer_calls(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    invoke = stack.invoke

    def counting(function: str, event: dict[str, Any]) -> Any:
        if function == stack.template.authorizer_function:
            calls.append(1)
        return invoke(function, event)

    monkeypatch.setattr(stack, "invoke", counting)
    return calls


def test_an_expired_token_is_a_401_with_a_challenge(stack: LocalStack) -> None:
    expired = present(stack.idp).mint("alice", expires_in=-120)  # far past any leeway
    _assert_token_expired(stack.request("GET", "/courses", headers={"authorization": f"Bearer {expired}"}))


def test_the_authorizer_passes_the_tokens_expiry_to_the_api(stack: LocalStack) -> None:
    token = present(stack.idp).mint("alice", expires_in=600)
    event = {"headers": {"authorization": f"Bearer {token}"}, "identitySource": [f"Bearer {token}"]}
    response = stack.invoke(present(stack.template.authorizer_function), event)
    assert response["isAuthorized"] is True
    assert response["context"]["sub"] == "alice"
    assert response["context"]["exp"] == jwt.decode(token, options={"verify_signature": False})["exp"]


def test_a_token_stops_working_at_its_expiry_even_while_the_authorizer_result_is_cached(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's defect: with ReauthorizeEvery 300, a 2 s token still worked 40 s later."""
    assert stack.template.authorizer_cache_seconds >= 60
    calls = _count_authorizer_calls(stack, monkeypatch)
    token = present(stack.idp).mint("alice", expires_in=2)
    headers = {"authorization": f"Bearer {token}"}
    assert stack.request("GET", "/courses", headers=headers).status == 200
    time.sleep(3)
    _assert_token_expired(stack.request("GET", "/courses", headers=headers))
    json_headers = {**headers, "content-type": "application/json"}
    _assert_token_expired(stack.request("POST", "/courses", headers=json_headers, body='{"prompt": "Rust ownership"}'))
    assert len(calls) == 1, "both refusals came from the cached allow, not a fresh authorization"


@pytest.fixture
def slow_refresh_stack(shared_stack: SharedStack) -> LocalStack:
    """A 2 s JWKS refresh cooldown (30 s by default): long enough that a flood of requests
    fits inside it even on a loaded machine, short enough to wait out."""
    return shared_stack(JWKS_REFRESH_COOLDOWN_SECONDS=str(COOLDOWN))


COOLDOWN = 2.0


def test_keys_are_cached_and_an_unknown_kid_refreshes_once_per_cooldown(slow_refresh_stack: LocalStack) -> None:
    stack = slow_refresh_stack
    alice = User(stack, "alice")
    assert alice.call("GET", "/courses").status == 200
    # the cooldown runs from the fetch, not from the request (whose instances may start cold)
    started = present(present(stack.idp).last_jwks_request)
    fetched = present(stack.idp).jwks_requests
    assert User(stack, "bob").call("GET", "/courses").status == 200
    assert present(stack.idp).jwks_requests == fetched  # cached across invocations

    def unknown(kid: str) -> str:
        return jwt.encode(_claims(stack), _other_key(), "RS256", headers={"kid": kid})

    for i in range(5):  # a flood of made-up kids right after a fetch costs the tenant nothing
        assert _status(stack, unknown(f"made-up-{i}")) == 403
    assert time.monotonic() - started < COOLDOWN, "too slow to test the cooldown"
    assert present(stack.idp).jwks_requests == fetched

    time.sleep(COOLDOWN + 0.1)  # past the cooldown
    assert _status(stack, unknown("rotated-away")) == 403
    assert present(stack.idp).jwks_requests == fetched + 1  # exactly one refresh, then denied


def test_authorizer_results_are_cached_per_token(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    alice = User(stack, "alice")
    calls = _count_authorizer_calls(stack, monkeypatch)
    for _ in range(3):
        assert alice.call("GET", "/courses").status == 200
    assert len(calls) == 1
