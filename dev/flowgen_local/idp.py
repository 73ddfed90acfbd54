"""A local identity provider: an RSA key kept under .flowgen/, its JWKS served on loopback,
and tokens minted for any user, shaped like Auth0 access tokens."""

from __future__ import annotations

import functools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from flowgen_local.services import SHUTDOWN_POLL_SECONDS


def load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)
    return key


def key_id(key: rsa.RSAPrivateKey) -> str:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1))
    return digest.finalize().hex()[:16]


def mint_token(
    key: rsa.RSAPrivateKey,
    issuer: str,
    audience: str,
    sub: str,
    *,
    scope: str = "openid courses",
    expires_in: int = 3600,
    **claims: Any,
) -> str:
    """An access token shaped like Auth0's, signed with the local key (its `kid` in the JWKS)."""
    now = int(time.time())
    payload = {
        "iss": issuer,
        "aud": audience,
        "sub": sub,
        "scope": scope,
        "iat": now,
        "nbf": now,
        "exp": now + expires_in,
        **claims,
    }
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": key_id(key)})


class LocalIdentityProvider:
    def __init__(
        self,
        key: rsa.RSAPrivateKey,
        audience: str,
        *,
        issuer: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.key = key
        self.kid = key_id(key)
        self.audience = audience
        self._issuer = issuer
        self.jwks_requests = 0
        self.last_jwks_request: float | None = None  # time.monotonic() of the latest
        self.server = ThreadingHTTPServer((host, port), _handler_for(self))
        self.server.daemon_threads = True

    @property
    def base_url(self) -> str:
        host, port = str(self.server.server_address[0]), self.server.server_address[1]
        return f"http://{host}:{port}/"

    @property
    def issuer(self) -> str:
        """A fixed issuer (the local stack's) keeps tokens valid across restarts; the JWKS
        moves with the port, and only the authorizer's JWKS_URL needs to know where."""
        return self._issuer or self.base_url

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}.well-known/jwks.json"

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def mint(self, sub: str, *, scope: str = "openid courses", expires_in: int = 3600, **claims: Any) -> str:
        return mint_token(self.key, self.issuer, self.audience, sub, scope=scope, expires_in=expires_in, **claims)

    def start(self) -> LocalIdentityProvider:
        serve = functools.partial(self.server.serve_forever, poll_interval=SHUTDOWN_POLL_SECONDS)
        threading.Thread(target=serve, name="local-idp", daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler_for(idp: LocalIdentityProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/.well-known/jwks.json":
                idp.jwks_requests += 1
                idp.last_jwks_request = time.monotonic()
                self._send(200, idp.jwks())
            else:
                self._send(404, {"error": "not found"})

    return Handler
