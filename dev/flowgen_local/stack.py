"""The Docker-free local stack: template.yaml's API, authorizer, queues, event sources,
schedules and functions on one machine, run the way AWS runs them.

Everything is read from template.yaml (through the real SAM transform for the IAM roles);
only endpoints and secrets are replaced by local ones (`function_environment`). Each function
runs in processes of its own (lambda_host.py): only its own environment variables and role
credentials, its own module state, a cold start per new instance, and its Timeout enforced by
killing the process. moto's server enforces each role's IAM policies on every AWS call.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import threading
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from flowgen_local import dead_letters
from flowgen_local import template as template_module
from flowgen_local.buckets import LocalBucket, bucket_refs, create_buckets, save_objects
from flowgen_local.event_source import EventSourceRunner
from flowgen_local.events import authorizer_event, http_event, match_route
from flowgen_local.function_logs import follow, log_path
from flowgen_local.http_front import FrontServer, handler_for
from flowgen_local.iam import REGION, Intrinsics, LocalIam, RoleCredentials, function_roles, role_policies
from flowgen_local.idp import LocalIdentityProvider, load_or_create_key
from flowgen_local.lambda_pool import FunctionConfig, FunctionPool, InvocationError, LambdaHost
from flowgen_local.queues import LocalQueue, create_queues, queue_refs
from flowgen_local.sam import transform_template
from flowgen_local.scheduler import ScheduleRunner
from flowgen_local.services import SHUTDOWN_POLL_SECONDS, AwsServer, CredentialedSession, RedisServer
from flowgen_local.template import Template

STATE_DIR = Path(os.environ.get("FLOWGEN_STATE_DIR") or template_module.ROOT / ".flowgen")
DATA_DIR = STATE_DIR / "data"
WEB_DIST = template_module.ROOT / "web" / "dist"
LOCAL_ISSUER = "https://local.flowgen.dev/"  # stable across restarts, so tokens outlive one

# Powertools warns when an invocation emits no metric; locally that is noise, not news.
warnings.filterwarnings("ignore", message="No application metrics to publish")


# Parameter overrides for a stack where one user makes every request (a benchmark, an end-to-end
# test): the per-user request and course limits of both tiers (docs/api.md) would turn it away.
NO_USER_LIMITS = {
    **{
        f"{tier}{limit}": "0"
        for tier in ("User", "Pro")
        for limit in ("RequestsPerMinute", "CoursesPerHour", "CoursesPerDay")
    },
    "SharedRequestsPerMinutePerAddress": "0",  # every browser of a test is 127.0.0.1
}


def load_or_create_share_key(path: Path) -> str:
    """The local stack's share-link key (SHARE_KEY, a Secrets Manager secret in AWS), kept beside
    the token-signing key so that links outlive a restart; made once, readable by its owner only."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another stack made it meanwhile
        return path.read_text().strip()
    with os.fdopen(fd, "w") as file:
        file.write(key + "\n")
    return key


@dataclass
class StackConfig:
    redis_url: str | None = None  # None: start a redis-server
    mongo_uri: str | None = None  # None: the stand-in (flowgen_stand_in)
    mongo_db: str = "flowgen"
    aws: AwsServer | None = None  # None: start moto's server (SQS, IAM, STS) for this stack
    lambda_host: LambdaHost | None = None  # None: start one; stateless, so stacks in one test run share it
    openai_api_key: str | None = None  # None: the offline generator
    openai_base_url: str | None = None
    visibility_timeout: int | None = None  # None: the template's
    # None: nothing survives stop(); a path: MongoDB, Redis, the DLQs and the buckets persist there
    data_dir: Path | None = None
    log_dir: Path | None = None  # the functions' log files; None: <data_dir>/logs, or nowhere without a data_dir
    console_logs: bool = False  # also print every function's log lines, with its name (flowgen local)
    schedule_period: float | None = None  # None: each schedule's template rate
    template_path: Path | None = None
    key_path: Path = STATE_DIR / "jwt-signing-key.pem"
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)  # added to every function's environment
    queue_prefix: str = "flowgen-local"
    api_instances: int = 8  # local cap on concurrent api instances (Lambda would scale further)

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


@dataclass
class Endpoints:
    redis_url: str
    mongo_uri: str
    aws_url: str


def _gateway_error(status: int, message: str) -> ApiResponse:
    """API Gateway's own answers (no route, no identity, a denial, a crashed integration)."""
    return ApiResponse(status, {"content-type": "application/json"}, json.dumps({"message": message}))


class LocalStack:
    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self.template: Template = template_module.load(
            self.config.template_path, self.config.parameter_overrides, local=True
        )
        self.stack_id = uuid.uuid4().hex[:8]
        self._services: list[Any] = []
        self._http: FrontServer | None = None
        self._web_url = ""  # the HTTP front's address, where it serves the web app (WEB_URL)
        self._share_key_value = ""  # SHARE_KEY, read or made on first use
        self._host: LambdaHost | None = None
        self.idp: LocalIdentityProvider | None = None
        self.endpoints: Endpoints | None = None
        self.queues: dict[str, LocalQueue] = {}
        self.buckets: dict[str, LocalBucket] = {}  # made at every start; objects kept only with a data_dir
        self.functions: dict[str, FunctionPool] = {}
        self.credentials: dict[str, RoleCredentials] = {}
        self.runners: dict[str, EventSourceRunner] = {}
        self.schedules: dict[str, ScheduleRunner] = {}
        self._auth_cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._auth_lock = threading.Lock()
        self.components: dict[str, str] = {}
        self.api_calls: Counter[str] = Counter()  # by route key, for measuring clients
        self._saved_env: dict[str, str | None] = {}
        self.notices: list[str] = []  # what people should know about this run (`flowgen status` prints them)
        self._console_stop = threading.Event()
        # the event sources and schedules `pause` stopped, which `reset` starts again
        self._held: tuple[list[str], list[ScheduleRunner]] = ([], [])

    # ---- lifecycle -----------------------------------------------------------------------

    def start(self, *, pollers: bool = True, http_port: int | None = None) -> LocalStack:
        cfg = self.config
        self.endpoints = Endpoints(self._start_redis(), self._start_mongo(), self._start_aws())
        self.components["model"] = (
            f"OpenAI API{' at ' + cfg.openai_base_url if cfg.openai_base_url else ''}"
            if cfg.openai_api_key
            else "OFFLINE generator (no OPENAI_API_KEY): labelled sample content, no model calls"
        )
        self.idp = LocalIdentityProvider(
            load_or_create_key(cfg.key_path),
            audience=self.template.parameters.get("Auth0Audience", "local"),
            issuer=LOCAL_ISSUER,
        ).start()
        self.components["identity"] = f"local identity provider ({LOCAL_ISSUER}), JWKS at {self.idp.jwks_url}"

        admin = self.aws.admin.session()
        self.sqs = admin.client("sqs", endpoint_url=self.endpoints.aws_url)
        self.queues = create_queues(
            self.sqs,
            self.template,
            prefix=f"{cfg.queue_prefix}-{self.stack_id}",
            visibility_timeout=cfg.visibility_timeout,
        )
        self.s3 = admin.client("s3", endpoint_url=self.endpoints.aws_url)
        self.buckets = create_buckets(
            self.s3, self.template, self.queues, prefix=f"{cfg.queue_prefix}-{self.stack_id}", data_dir=cfg.data_dir
        )
        if cfg.data_dir:
            restored = dead_letters.restore(cfg.data_dir, self.sqs, self._dlq_urls())
            if restored.notice:
                self.notices.append(restored.notice)
            self.components["dead letters"] = f"kept in {cfg.data_dir} across clean restarts ({restored.messages} back)"
        self._create_roles(admin)
        self._set_harness_environment()
        self._host = cfg.lambda_host or LambdaHost()
        # bound before the functions are configured: the api's share links point at its address
        front = FrontServer(("127.0.0.1", http_port), handler_for(self, WEB_DIST)) if http_port is not None else None
        if front is not None:
            self._web_url = f"http://127.0.0.1:{front.server_address[1]}"
        try:
            self._configure_functions()
        except BaseException:
            if front is not None:
                front.server_close()
            raise
        if pollers:
            self.start_pollers()
        if front is not None:
            self._http = front
            # a short poll: shutdown() waits for it, at every stop of a stack (0.5 s by default)
            serve = functools.partial(self._http.serve_forever, poll_interval=SHUTDOWN_POLL_SECONDS)
            threading.Thread(target=serve, name="local-api", daemon=True).start()
        return self

    def _configure_functions(self) -> None:
        """Each function's pool, event sources and schedules, as the template declares them."""
        assert self._host and self.endpoints
        cfg = self.config
        logs = self.log_dir
        for name, spec in self.template.functions.items():
            self.functions[name] = FunctionPool(
                self._host,
                FunctionConfig(
                    name=name,
                    code_uri=spec.code_uri,
                    handler=spec.handler,
                    timeout=spec.timeout,
                    environment=self.function_environment(name),
                    memory_mb=spec.memory_mb,
                    max_instances=self._instance_cap(name),
                    log_path=log_path(logs, name) if logs else None,
                    snapstart=spec.snapstart,
                ),
            )
        if logs:
            self.components["logs"] = f"a file per function in {logs} (flowgen logs FUNCTION --tail)"
        if logs and cfg.console_logs:
            threading.Thread(target=self._print_logs, args=(logs,), name="function-logs", daemon=True).start()
        self.components["functions"] = "one process per instance, own environment and role, Timeout enforced"
        for source in self.template.event_sources:
            connections = Config(max_pool_connections=max(10, source.max_concurrency))  # one per poller
            role_sqs = self._role_session(source.function).client(
                "sqs", endpoint_url=self.endpoints.aws_url, config=connections
            )
            self.runners[source.name] = EventSourceRunner(
                source, self.template.functions[source.function], self.functions[source.function], role_sqs,
                self.queues[source.queue],
            )  # fmt: skip
        for schedule in self.template.schedules:
            period = cfg.schedule_period or schedule.period_seconds
            self.schedules[schedule.name] = ScheduleRunner(schedule, self.functions[schedule.function], period)

    @property
    def log_dir(self) -> Path | None:
        cfg = self.config
        return cfg.log_dir or (cfg.data_dir / "logs" if cfg.data_dir else None)

    def _print_logs(self, logs: Path) -> None:
        """The console of `flowgen local`: each function's lines as they are written, named.
        A terminal that stops reading blocks this thread only, never a function."""
        width = max(len(name) for name in self.functions)

        def show(function: str, line: str) -> None:
            print(f"{function:<{width}} | {line}", flush=True)

        follow(lambda: {name: log_path(logs, name) for name in self.functions}, show, self._console_stop)

    def _dlq_urls(self) -> dict[str, str]:
        names = {q.dead_letter_queue for q in self.template.queues.values() if q.dead_letter_queue}
        return {name: self.queues[name].url for name in sorted(names)}

    @property
    def aws(self) -> AwsServer:
        return next(s for s in [self.config.aws, *self._services] if isinstance(s, AwsServer))

    def _start_redis(self) -> str:
        if self.config.redis_url:
            self.components["redis"] = f"{self.config.redis_url} (REDIS_URL)"
            return self.config.redis_url
        data = self.config.data_dir / "redis" if self.config.data_dir else None
        server = RedisServer(data_dir=data)
        self._services.append(server)
        kept = f", append-only file in {data}" if data else ", nothing kept"
        self.components["redis"] = f"redis-server on {server.url} (started by the stack{kept})"
        return server.url

    def _start_mongo(self) -> str:
        if self.config.mongo_uri:
            self.components["mongo"] = f"MongoDB at {self.config.mongo_uri.split('@')[-1]} (MONGO_URI)"
            return self.config.mongo_uri
        from flowgen_stand_in.launcher import MongoStandIn

        data = self.config.data_dir / "mongo" if self.config.data_dir else None
        server = MongoStandIn(data_dir=data)
        server.start()
        self._services.append(server)
        kept = f"journal in {data}" if data else "in memory"
        self.components["mongo"] = f"MongoDB stand-in (wire protocol over mongomock, {kept}) at {server.uri}"
        return str(server.uri)

    def _start_aws(self) -> str:
        if self.config.aws is None:
            self._services.append(AwsServer())
        self.components["aws"] = f"moto server (SQS, S3, IAM enforced, STS) on {self.aws.url}"
        return self.aws.url

    def _create_roles(self, admin: Any) -> None:
        transformed = transform_template(self.template.path, self.config.parameter_overrides)
        attributes = {**queue_refs(self.queues), **bucket_refs(self.buckets)}
        attributes.update({f"{name}.Arn": f"arn:aws:lambda:{REGION}:123456789012:function:{name}" for name in
                           self.template.functions})  # fmt: skip
        intrinsics = Intrinsics(transformed, self.template.parameters, attributes)
        assert self.endpoints
        iam = LocalIam(admin, self.endpoints.aws_url, prefix=f"flowgen-{self.stack_id}")

        # one at a time: moto's IAM backend is not safe under concurrent writes (a 500 seen)
        for function, role in function_roles(transformed).items():
            policies = role_policies(transformed, role, intrinsics)
            arn = _retried(partial(iam.create_role, function, policies))
            self.credentials[function] = _retried(partial(iam.assume, arn, f"{function}-local"))

    def _role_session(self, function: str) -> CredentialedSession:
        creds = self.credentials[function]
        return CredentialedSession(creds.access_key_id, creds.secret_access_key, creds.session_token, REGION)

    def _instance_cap(self, function: str) -> int:
        sources = [s.max_concurrency for s in self.template.event_sources if s.function == function]
        if sources:
            return sum(sources)
        return self.config.api_instances if any(r.function == function for r in self.template.routes) else 2

    def start_pollers(self, *, paused: tuple[str, ...] = ()) -> None:
        """Starts every event source but the `paused` ones, and every schedule, as Lambda does.

        As CreateEventSourceMapping does, refuses a queue whose visibility timeout is shorter
        than its function's timeout: a message would reappear while its invocation still runs."""
        for runner in self.runners.values():
            if runner.queue.visibility_timeout < runner.function.timeout:
                raise ValueError(
                    f"{runner.queue.name}'s visibility timeout ({runner.queue.visibility_timeout}s) is shorter than "
                    f"{runner.function.name}'s timeout ({runner.function.timeout}s); AWS refuses this mapping"
                )
        self.resend_stranded()
        for name, runner in self.runners.items():
            if name not in paused:
                runner.start()
        for schedule in self.schedules.values():
            schedule.start()

    def resend_stranded(self) -> None:
        """The queues are new at every start (moto keeps nothing), so every intent a previous run
        left waiting is stranded now, not after STUCK_AFTER_SECONDS, and every lease it left held
        belongs to a worker that died with it: the reconciler's use case with no wait and the
        leases released (`flowgen reconcile --stuck-after 0 --release-leases`), before the
        pollers and schedules start."""
        from flowgen_ops.reconcile import reconcile_now
        from flowgen_ops.target import Target

        assert self.endpoints
        target = Target(
            mongo_uri=self.endpoints.mongo_uri,
            mongo_db=self.config.mongo_db,
            redis_url=self.endpoints.redis_url,
            sqs_endpoint=self.endpoints.aws_url,
            queues={name: queue.url for name, queue in self.queues.items()},
        )
        receives = [queue.max_receive_count for queue in self.template.queues.values() if queue.max_receive_count]
        reconcile_now(target, stuck_after=0, max_receive_count=min(receives, default=3), release_leases=True)

    def reset(self) -> None:
        """Back to an empty system with its instances warm (tests share a stack this way): the
        pollers and schedules pause, every queue and DLQ is purged, every collection of its
        database emptied (indexes kept: warm instances created them once), Redis flushed, the
        authorizer's cache and the counters cleared; then what was running runs again."""
        self.pause()
        running, scheduled = self._held
        self._held = ([], [])
        for pool in self.functions.values():  # what was invoked finishes (its Timeout at the latest)
            pool.wait_idle(timeout=pool.config.timeout + 1)
        assert self.endpoints
        for queue in self.queues.values():
            self.sqs.purge_queue(QueueUrl=queue.url)
        import pymongo
        import redis

        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(self.endpoints.mongo_uri)
        try:
            database = client[self.config.mongo_db]
            for name in database.list_collection_names():
                database[name].delete_many({})
        finally:
            client.close()
        redis.Redis.from_url(self.endpoints.redis_url).flushdb()
        with self._auth_lock:
            self._auth_cache.clear()
        self.api_calls.clear()
        for pool in self.functions.values():
            pool.stats = type(pool.stats)()
        for runner in self.runners.values():
            runner.invocations = 0
        self.activate()
        for name in running:
            self.runners[name].start()
        for schedule in scheduled:
            schedule.runs, schedule.results = 0, []
            schedule.start()

    def pause(self) -> None:
        """Stops the pollers and the schedules that run, until the next `reset` starts them again:
        a stack kept for later (the test suite keeps a few per worker) then costs nothing while
        it waits, where each idle event source receives once a second. Every poller is told at
        once and then waited for together: each may be in a receive's one-second wait."""
        runners = [name for name, runner in self.runners.items() if runner.running]
        schedules = [schedule for schedule in self.schedules.values() if schedule.running]
        for name in runners:
            self.runners[name].signal_stop()
        deadline = time.monotonic() + 5
        for name in runners:
            self.runners[name].stop(deadline)
        for schedule in schedules:
            schedule.stop()
        held_runners, held_schedules = self._held
        self._held = (
            held_runners + [name for name in runners if name not in held_runners],
            held_schedules + [schedule for schedule in schedules if schedule not in held_schedules],
        )

    def activate(self) -> None:
        """Points this process's own clients (tests, benchmarks, `flowgen` commands run here) at
        this stack: its data stores and queues, with the administrator's credentials."""
        self._set_harness_environment()

    def stop(self) -> None:
        for runner in self.runners.values():
            runner.signal_stop()  # every poller at once, then one shared wait
        deadline = time.monotonic() + 5
        for runner in self.runners.values():
            runner.stop(deadline)
        for schedule in self.schedules.values():
            schedule.stop()
        if self._http:
            self._http.shutdown()
            self._http.server_close()
        for pool in self.functions.values():
            pool.close()
        if self.config.data_dir and self.queues:
            dead_letters.save(self.config.data_dir, self.sqs, self._dlq_urls())
        if self.config.data_dir and self.buckets:
            save_objects(self.s3, self.buckets, self.config.data_dir)
        self._console_stop.set()
        if self._host and self._host is not self.config.lambda_host:
            self._host.stop()
        if self.idp:
            self.idp.stop()
        for service in reversed(self._services):
            service.stop()
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

    def describe(self) -> dict[str, Any]:
        """What `.flowgen/stack.json` holds while `flowgen local` runs: the API's URL (None without
        an HTTP port), the token issuer, and the endpoints the operator tools need (moto's
        administrator keys among them, which guard nothing real)."""
        assert self.idp and self.endpoints
        admin = self.aws.admin
        return {
            "api_url": self.api_url if self._http else None,
            "issuer": self.idp.issuer,
            "mongo_uri": self.endpoints.mongo_uri,
            "mongo_db": self.config.mongo_db,
            "redis_url": self.endpoints.redis_url,
            "sqs_endpoint": self.endpoints.aws_url,
            "queues": {name: queue.url for name, queue in self.queues.items()},
            "aws": {"access_key_id": admin.access_key_id, "secret_access_key": admin.secret_access_key},
            "log_dir": str(self.log_dir) if self.log_dir else None,
            "functions": sorted(self.functions),
            "notices": self.notices,
        }

    def sam_env_vars(self, host: str = "host.docker.internal") -> dict[str, dict[str, str]]:
        """An env.json for `sam local invoke` (and `flowgen invoke`): each function's variables as
        this stack gives them, limited to those the template declares (SAM sets no others), the
        loopback address written as `host` (a container reaches the machine by that name). A
        secret's name the stack replaced by a plain value is emptied, so nothing reads a secret."""
        variables: dict[str, dict[str, str]] = {}
        for name, spec in self.template.functions.items():
            local = self.function_environment(name)
            declared = {key: local[key] for key in spec.environment if key in local}
            declared.update({key: "" for key in spec.environment if key.endswith("_SECRET") and key not in local})
            variables[name] = {k: v.replace("127.0.0.1", host) for k, v in declared.items()}
        return variables

    @property
    def api_url(self) -> str:
        assert self._http, "started without an HTTP port"
        host, port = str(self._http.server_address[0]), self._http.server_address[1]
        return f"http://{host}:{port}"

    # ---- environment ---------------------------------------------------------------------

    def function_environment(self, function: str) -> dict[str, str]:
        """What Lambda would give this function: its template variables, with cloud endpoints
        and secret names replaced by local values, the runtime's variables and its role."""
        assert self.endpoints and self.idp
        cfg, spec = self.config, self.template.functions[function]
        refs = {**queue_refs(self.queues), **bucket_refs(self.buckets)}
        env = {k: str(v) for k, v in self.template.resolve(spec.environment, refs).items()}
        local = {
            ("MONGO_URI_SECRET", "MONGO_URI"): self.endpoints.mongo_uri,
            ("REDIS_URL_SECRET", "REDIS_URL"): self.endpoints.redis_url,
            ("OPENAI_API_KEY_SECRET", "OPENAI_API_KEY"): cfg.openai_api_key or "",
            ("YOUTUBE_API_KEY_SECRET", "YOUTUBE_API_KEY"): "",
            ("SHARE_KEY_SECRET", "SHARE_KEY"): self._share_key(),
        }
        for (secret, plain), value in local.items():
            if secret in env or plain in env:
                env.pop(secret, None)
                env[plain] = value
        if "MONGO_URI" in env:
            env["MONGO_DB"] = cfg.mongo_db
        if "WEB_URL" in env:  # the distribution's address in AWS; here the front that serves the app
            env["WEB_URL"] = self._web_url
        if "OPENAI_BASE_URL" in env:
            env["OPENAI_BASE_URL"] = cfg.openai_base_url or ""
        if "JWKS_URL" in env:
            env.update({"JWKS_URL": self.idp.jwks_url, "JWT_ISSUER": LOCAL_ISSUER})
        if any(key.endswith("_QUEUE_URL") for key in env):
            env.update({"SQS_ENDPOINT_URL": self.endpoints.aws_url, "AWS_ENDPOINT_URL_SQS": self.endpoints.aws_url})
        if "S3_ENDPOINT_URL" in env:  # the sources bucket (issue 24) on moto's S3
            env["S3_ENDPOINT_URL"] = self.endpoints.aws_url
        env.update(
            {
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_LAMBDA_FUNCTION_NAME": function,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
                "LAMBDA_TASK_ROOT": str(spec.code_uri),
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "LANG": "en_US.UTF-8",
                "TZ": ":UTC",
                "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon locally
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": cfg.extra_env.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
                **self.credentials[function].environment(),
                **cfg.extra_env,
            }
        )
        return env

    def _share_key(self) -> str:
        if not self._share_key_value:
            self._share_key_value = load_or_create_share_key(self.config.key_path.with_name("share-link-key"))
        return self._share_key_value

    def _setenv(self, key: str, value: str) -> None:
        self._saved_env.setdefault(key, os.environ.get(key))
        os.environ[key] = value

    def _set_harness_environment(self) -> None:
        """The operator's shell (tests, benchmarks, `flowgen` commands in this process): the
        same data stores and queues as the functions, with the administrator's credentials."""
        assert self.endpoints
        admin = self.aws.admin
        values = {
            "AWS_ACCESS_KEY_ID": admin.access_key_id,
            "AWS_SECRET_ACCESS_KEY": admin.secret_access_key,
            "AWS_DEFAULT_REGION": REGION,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_DEV": "false",
            "MONGO_URI": self.endpoints.mongo_uri,
            "MONGO_DB": self.config.mongo_db,
            "REDIS_URL": self.endpoints.redis_url,
            "SQS_ENDPOINT_URL": self.endpoints.aws_url,
            **{k: str(v) for k, v in queue_env(self).items()},
        }
        self._saved_env.setdefault("AWS_SESSION_TOKEN", os.environ.get("AWS_SESSION_TOKEN"))
        os.environ.pop("AWS_SESSION_TOKEN", None)
        for key, value in values.items():
            self._setenv(key, value)
        from flowgen import wiring

        wiring.reset()

    # ---- Lambda ----------------------------------------------------------------------------

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """A synchronous invocation, as `aws lambda invoke` (raises InvocationError on failure)."""
        return self.functions[function].invoke(event)

    @property
    def handlers(self) -> dict[str, Any]:
        """Each function as a plain callable `(event, context) -> result` (the context is the
        instance's own; the argument is accepted for the shape of a handler call)."""
        return {name: (lambda event, _context=None, _n=name: self.invoke(_n, event)) for name in self.functions}

    # ---- API Gateway ---------------------------------------------------------------------

    def token(self, sub: str, **kwargs: Any) -> str:
        assert self.idp
        return self.idp.mint(sub, **kwargs)

    def jwks(self) -> dict[str, Any]:
        assert self.idp
        return self.idp.jwks()

    @property
    def cors(self) -> dict[str, Any]:
        return self.template.cors

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
            return _gateway_error(404, "Not Found")
        route, params = matched
        self.api_calls[route.key] += 1
        event = http_event(method, path, route=route, path_parameters=params, query=query, headers=headers, body=body)
        if self.template.authorizer_function and route.authorized:
            identity = headers.get("authorization", "")
            if not identity:  # the identity source is missing: API Gateway answers without calling it
                return _gateway_error(401, "Unauthorized")
            context = self._authorize(event, identity)
            if context is None:
                return _gateway_error(403, "Forbidden")
            event["requestContext"]["authorizer"] = {"lambda": context}
        try:
            result = self.invoke(route.function, event)
        except InvocationError:  # a crash or a timeout: API Gateway's 500/503, never a trace
            return _gateway_error(500, "Internal Server Error")
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
        try:
            response = self.invoke(name, authorizer_event(request_event, [identity]))
        except InvocationError:
            return None
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


def _retried[T](call: Callable[[], T], attempts: int = 3) -> T:
    """A call to moto's server, retried when the server itself failed (an HTML 500 page)."""
    for attempt in range(attempts):
        try:
            return call()
        except (ResponseParserError, ClientError) as exc:
            status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
            if attempt == attempts - 1 or status < 500:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def queue_env(stack: LocalStack) -> dict[str, str]:
    """The queue URL variables the template gives its functions, resolved locally."""
    env: dict[str, str] = {}
    refs = queue_refs(stack.queues)
    for spec in stack.template.functions.values():
        for key, value in stack.template.resolve(spec.environment, refs).items():
            if key.endswith("_QUEUE_URL"):
                env[key] = str(value)
    return env
