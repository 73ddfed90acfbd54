"""The Docker-free local stack: template.yaml's API, authorizer, queues, event sources and
workers on one machine, with the real handlers.

Everything is read from template.yaml; only endpoints and secrets are replaced by local
ones (see `local_environment`). All functions run in this process, so they share one
environment and one in-process MongoDB stand-in, as separate Lambdas share one database.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
import warnings
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3

from flowgen_dev import template as template_module
from flowgen_dev.event_source import EventSourceRunner
from flowgen_dev.events import authorizer_event, http_event, match_route
from flowgen_dev.idp import LocalIdentityProvider, load_or_create_key
from flowgen_dev.queues import LocalQueue, create_queues, queue_refs
from flowgen_dev.runtime import Handler, LambdaContext, load_handler
from flowgen_dev.services import RedisServer, SqsServer
from flowgen_dev.template import Template

STATE_DIR = template_module.ROOT / ".flowgen"
WEB_DIST = template_module.ROOT / "web" / "dist"
_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".woff2": "font/woff2",
}
_LOCAL_SUB = re.compile(r"^[A-Za-z0-9_.@|-]{1,64}$")

# Powertools warns when an invocation emits no metric; locally that is noise, not news.
warnings.filterwarnings("ignore", message="No application metrics to publish")


@dataclass
class StackConfig:
    redis_url: str | None = None  # None: start a redis-server
    mongo_uri: str | None = None  # None: the in-process stand-in
    mongo_db: str = "flowgen"
    sqs_endpoint: str | None = None  # None: start moto's server
    openai_api_key: str | None = None  # None: the offline generator
    openai_base_url: str | None = None
    visibility_timeout: int | None = None  # None: the template's; smaller speeds up local retries
    key_path: Path = STATE_DIR / "jwt-signing-key.pem"
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    queue_prefix: str = "flowgen-local"

    @classmethod
    def from_environment(cls, **kwargs: Any) -> StackConfig:
        return cls(
            redis_url=os.environ.get("REDIS_URL") or None,
            mongo_uri=os.environ.get("MONGO_URI") or None,
            openai_api_key=os.environ.get("OPENAI_API_KEY") or None,
            openai_base_url=os.environ.get("OPENAI_BASE_URL") or None,
            **kwargs,
        )


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class LocalStack:
    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self.template: Template = template_module.load(overrides=self.config.parameter_overrides)
        self._redis: RedisServer | None = None
        self._sqs_server: SqsServer | None = None
        self._http: ThreadingHTTPServer | None = None
        self.idp: LocalIdentityProvider | None = None
        self.queues: dict[str, LocalQueue] = {}
        self.handlers: dict[str, Handler] = {}
        self.runners: dict[str, EventSourceRunner] = {}
        self._auth_cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._auth_lock = threading.Lock()
        self.components: dict[str, str] = {}
        self.api_calls: Counter[str] = Counter()  # by route key, for measuring clients
        self._saved_env: dict[str, str | None] = {}

    # ---- lifecycle -----------------------------------------------------------------------

    def start(self, *, pollers: bool = True, http_port: int | None = None) -> LocalStack:
        cfg = self.config
        if cfg.redis_url:
            redis_url = cfg.redis_url
            self.components["redis"] = f"{redis_url} (REDIS_URL)"
        else:
            self._redis = RedisServer()
            redis_url = self._redis.url
            self.components["redis"] = f"redis-server on {redis_url} (started by the stack)"
        if cfg.sqs_endpoint:
            sqs_endpoint = cfg.sqs_endpoint
        else:
            self._sqs_server = SqsServer()
            sqs_endpoint = self._sqs_server.url
        self.components["sqs"] = f"moto SQS server on {sqs_endpoint}"
        mongo_uri = cfg.mongo_uri or f"mongomock://{uuid.uuid4().hex}"
        self.components["mongo"] = (
            f"MongoDB at {cfg.mongo_uri.split('@')[-1]} (MONGO_URI)"
            if cfg.mongo_uri
            else "in-process stand-in (mongomock); set MONGO_URI for a real MongoDB"
        )
        if cfg.openai_api_key:
            self.components["model"] = f"OpenAI API{' at ' + cfg.openai_base_url if cfg.openai_base_url else ''}"
        else:
            self.components["model"] = "OFFLINE generator (no OPENAI_API_KEY): labelled sample content, no model calls"

        self.idp = LocalIdentityProvider(
            load_or_create_key(cfg.key_path), audience=self.template.parameters["Auth0Audience"]
        ).start()
        self.components["identity"] = f"local identity provider, JWKS at {self.idp.jwks_url}"

        self._set_environment()
        self.sqs = boto3.client("sqs", endpoint_url=sqs_endpoint, region_name="us-east-1")
        self.queues = create_queues(
            self.sqs,
            self.template,
            prefix=f"{cfg.queue_prefix}-{uuid.uuid4().hex[:6]}",
            visibility_timeout=cfg.visibility_timeout,
        )
        self._set_function_environment(redis_url, mongo_uri, sqs_endpoint)
        from flowgen import wiring

        wiring.reset()
        for name, spec in self.template.functions.items():
            self.handlers[name] = load_handler(spec)
        for source in self.template.event_sources:
            self.runners[source.name] = EventSourceRunner(
                source,
                self.template.functions[source.function],
                self.handlers[source.function],
                self.sqs,
                self.queues[source.queue],
            )
        if pollers:
            self.start_pollers()
        if http_port is not None:
            self._http = ThreadingHTTPServer(("127.0.0.1", http_port), _http_handler_for(self))
            self._http.daemon_threads = True
            threading.Thread(target=self._http.serve_forever, name="local-api", daemon=True).start()
        return self

    def start_pollers(self, *, paused: tuple[str, ...] = ()) -> None:
        """Starts every event source but the `paused` ones, as Lambda polls in the background.

        A shortened visibility timeout must still outlast any invocation, as the template's 6x
        rule guarantees in AWS: otherwise a message reappears while its first invocation runs, the
        second receiver acknowledges it against the live lease, and if the first then fails the
        job is gone. Locally an invocation is bounded by the model timeout, so that is the check.
        """
        visibility = self.config.visibility_timeout
        model_timeout = float(os.environ.get("MODEL_TIMEOUT_SECONDS", "60"))
        if visibility is not None and visibility < 6 * model_timeout:
            raise ValueError(
                f"visibility timeout {visibility}s is under 6x the model timeout ({model_timeout:g}s): "
                "a message could reappear while its first invocation still runs; raise it or lower "
                "MODEL_TIMEOUT_SECONDS"
            )
        for name, runner in self.runners.items():
            if name not in paused:
                runner.start()

    def stop(self) -> None:
        for runner in self.runners.values():
            runner.stop()
        if self._http:
            self._http.shutdown()
            self._http.server_close()
        if self.idp:
            self.idp.stop()
        if self._sqs_server:
            self._sqs_server.stop()
        if self._redis:
            self._redis.stop()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        from flowgen import wiring

        wiring.reset()

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        assert self._http, "started without an HTTP port"
        host, port = str(self._http.server_address[0]), self._http.server_address[1]
        return f"http://{host}:{port}"

    # ---- environment ---------------------------------------------------------------------

    def _setenv(self, key: str, value: str) -> None:
        self._saved_env.setdefault(key, os.environ.get(key))
        os.environ[key] = value

    def _set_environment(self) -> None:
        for key, value in {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_DEV": "false",
        }.items():
            self._setenv(key, value)

    def local_environment(self, redis_url: str, mongo_uri: str, sqs_endpoint: str) -> dict[str, str]:
        """What replaces the template's cloud endpoints and secret names on this machine."""
        assert self.idp
        cfg = self.config
        return {
            "MONGO_URI": mongo_uri,
            "MONGO_URI_SECRET": "",
            "MONGO_DB": cfg.mongo_db,
            "REDIS_URL": redis_url,
            "SQS_ENDPOINT_URL": sqs_endpoint,
            "OPENAI_API_KEY": cfg.openai_api_key or "",
            "OPENAI_API_KEY_SECRET": "",
            "OPENAI_BASE_URL": cfg.openai_base_url or "",
            "JWKS_URL": self.idp.jwks_url,
            "JWT_ISSUER": self.idp.issuer,
        }

    def _set_function_environment(self, redis_url: str, mongo_uri: str, sqs_endpoint: str) -> None:
        refs = queue_refs(self.queues)
        merged: dict[str, str] = {}
        for spec in self.template.functions.values():
            for key, value in self.template.resolve(spec.environment, refs).items():
                merged[key] = str(value)
        merged.update(self.local_environment(redis_url, mongo_uri, sqs_endpoint))
        merged.update(self.config.extra_env)
        merged["POWERTOOLS_LOG_LEVEL"] = self.config.extra_env.get("POWERTOOLS_LOG_LEVEL", "WARNING")
        for key, value in merged.items():
            self._setenv(key, value)

    # ---- API Gateway ---------------------------------------------------------------------

    def token(self, sub: str, **kwargs: Any) -> str:
        assert self.idp
        return self.idp.mint(sub, **kwargs)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: dict[str, str] | None = None,
        body: bytes | str | None = None,
    ) -> ApiResponse:
        """One HTTP API request: route, authorizer (cached), api function. As API Gateway does."""
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        matched = match_route(self.template.routes, method, path)
        if matched is None:
            return ApiResponse(404, {"content-type": "application/json"}, '{"message":"Not Found"}')
        route, params = matched
        self.api_calls[f"{route.method} {route.path}"] += 1
        event = http_event(method, path, route=route, path_parameters=params, query=query, headers=headers, body=body)
        context: dict[str, Any] | None = {}
        if self.template.authorizer_function:
            identity = headers.get("authorization", "")
            if not identity:  # the identity source is missing: API Gateway answers without calling it
                return ApiResponse(401, {"content-type": "application/json"}, '{"message":"Unauthorized"}')
            context = self._authorize(event, identity)
            if context is None:
                return ApiResponse(403, {"content-type": "application/json"}, '{"message":"Forbidden"}')
            event["requestContext"]["authorizer"] = {"lambda": context}
        spec = self.template.functions[route.function]
        result = self.handlers[route.function](event, LambdaContext(spec.name, spec.timeout))
        out_headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
        for k, values in (result.get("multiValueHeaders") or {}).items():
            out_headers[k.lower()] = ", ".join(values)
        return ApiResponse(int(result.get("statusCode", 200)), out_headers, result.get("body") or "")

    def _authorize(self, request_event: dict[str, Any], identity: str) -> dict[str, Any] | None:
        now = time.monotonic()
        with self._auth_lock:
            cached = self._auth_cache.get(identity)
            if cached and cached[0] > now:
                return cached[1]
        name = self.template.authorizer_function
        assert name
        spec = self.template.functions[name]
        response = self.handlers[name](
            authorizer_event(request_event, [identity]), LambdaContext(spec.name, spec.timeout)
        )
        context = response.get("context", {}) if response.get("isAuthorized") else None
        if context is not None and self.template.authorizer_cache_seconds:
            with self._auth_lock:
                self._auth_cache[identity] = (now + self.template.authorizer_cache_seconds, context)
        return context

    # ---- queues ----------------------------------------------------------------------------

    def queue_depth(self, name: str) -> int:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.queues[name].url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return sum(int(value) for value in attrs.values())

    def drain(self, source_name: str, max_batches: int = 1000) -> int:
        """Runs one event source synchronously until its queue has nothing visible."""
        runner = self.runners[source_name]
        batches = 0
        while batches < max_batches and runner.poll_once() is not None:
            batches += 1
        return batches


def _http_handler_for(stack: LocalStack) -> type[BaseHTTPRequestHandler]:
    cors = stack.template.cors

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _cors_headers(self) -> dict[str, str]:
            origin = self.headers.get("origin")
            allowed = cors.get("AllowOrigins", [])
            if not origin or (origin not in allowed and "*" not in allowed):
                return {}
            return {
                "access-control-allow-origin": origin,
                "access-control-expose-headers": ",".join(cors.get("ExposeHeaders", [])),
            }

        def _write(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for k, v in {**headers, **self._cors_headers()}.items():
                if k != "content-length":
                    self.send_header(k, v)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _static(self, path: str) -> bool:
            """The web app at the root URL, its runtime config, and the local-only token endpoint."""
            if self.command == "GET" and path == "/config.json":
                config = {"apiUrl": "", "auth": {"mode": "local", "tokenUrl": "/_local/token"}}
                self._write(
                    200, {"content-type": "application/json", "cache-control": "no-store"}, json.dumps(config).encode()
                )
                return True
            if self.command == "POST" and path == "/_local/token":
                length = int(self.headers.get("content-length") or 0)
                try:
                    sub = json.loads(self.rfile.read(length) or b"{}").get("sub", "")
                except ValueError:
                    sub = ""
                if not isinstance(sub, str) or not _LOCAL_SUB.match(sub):
                    self._write(
                        400,
                        {"content-type": "application/json"},
                        b'{"error":{"code":"invalid_user","message":"1-64 letters, digits or ._@|-"}}',
                    )
                else:
                    self._write(
                        200, {"content-type": "application/json"}, json.dumps({"token": stack.token(sub)}).encode()
                    )
                return True
            if self.command != "GET" or not (path == "/" or path.startswith("/assets/") or path == "/favicon.ico"):
                return False
            target = (WEB_DIST / ("index.html" if path == "/" else path.lstrip("/"))).resolve()
            if not target.is_relative_to(WEB_DIST.resolve()) or not target.is_file():
                if path == "/":
                    body = b"<!doctype html><p>The web app is not built yet: run <code>make web</code>.</p>"
                    self._write(200, {"content-type": "text/html; charset=utf-8"}, body)
                else:
                    self._write(404, {"content-type": "text/plain"}, b"not found")
                return True
            cache = "no-cache" if path == "/" else "public, max-age=31536000, immutable"
            content_type = _CONTENT_TYPES.get(target.suffix, "application/octet-stream")
            self._write(200, {"content-type": content_type, "cache-control": cache}, target.read_bytes())
            return True

        def _handle(self) -> None:
            path, _, query = self.path.partition("?")
            if self._static(path):
                return
            if self.command == "OPTIONS" and self.headers.get("access-control-request-method"):
                self._write(
                    204,
                    {
                        "access-control-allow-methods": ",".join(cors.get("AllowMethods", [])),
                        "access-control-allow-headers": ",".join(cors.get("AllowHeaders", [])),
                        "access-control-max-age": str(cors.get("MaxAge", 0)),
                    },
                    b"",
                )
                return
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else None
            try:
                response = stack.request(self.command, path, query=query, headers=dict(self.headers.items()), body=body)
            except Exception:  # a Lambda crash is a 500 with API Gateway's body, never a trace
                response = ApiResponse(500, {"content-type": "application/json"}, '{"message":"Internal Server Error"}')
            self._write(response.status, response.headers, response.body.encode())

        do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_OPTIONS = _handle

    return Handler
