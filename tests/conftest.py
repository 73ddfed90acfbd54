"""Shared stand-ins: one redis-server, one moto server (SQS, IAM enforced, STS), one MongoDB
stand-in and one fake model server per session (per xdist worker).

Stacks (queues, roles, a database, function instances) are shared: `shared_stack(...)` returns
the stack of those settings, started once and reset before each test that asks for it (queues
purged, database emptied, Redis flushed: `LocalStack.reset`), its instances kept warm. Each test
is its own users. A test that changes a stack for good (kills its Redis, its instances) makes
its own with `make_stack` and stops it.

`MONGO_URI` pointing at a real MongoDB runs the same suite against it (a database per stack).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.lambda_pool import LambdaHost
from flowgen_local.services import AwsServer, RedisServer
from flowgen_local.stack import NO_USER_LIMITS, LocalStack, StackConfig
from flowgen_local.template import with_parameter_bounds
from flowgen_stand_in.launcher import MongoStandIn
from tests.fakes.youtube import FakeYouTube

REAL_MONGO_URI = os.environ.get("MONGO_URI", "")


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadfile`, except that tests/e2e is one unit: a file's tests stay on one worker
    (they share its stacks), and the browser journeys run one at a time beside the other tiers,
    never two Chromiums and their running stacks at once: on two cores those starved each
    other's timings (CI, 2026-12-06). (xdist's own `loadgroup` cannot do it under pytest 9: it
    renames items through an attribute pytest 9 no longer reads.)"""
    from xdist.scheduler import LoadFileScheduling  # type: ignore[import-untyped]

    class E2eTogether(LoadFileScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "tests/e2e" if path.startswith("tests/e2e/") else path

    return E2eTogether(config, log)


def pytest_collection(session: pytest.Session) -> None:
    """pypdf is imported before any test module, with coverage paused: its glyph table (a dict
    of 17,000 lines) took 22 s to import under a line tracer on CPython 3.12, against 0.1 s
    without, in each worker (a tenth of the workers' CPU in the suite; py-spy, 2026-12-07).
    pypdf is not measured code; the layer's own modules still are."""
    import coverage

    measuring = coverage.Coverage.current()
    if measuring is not None:
        measuring.stop()
    try:
        import pypdf  # noqa: F401
    finally:
        if measuring is not None:
            measuring.start()


UNMEASURED_TIERS = ("tests/e2e/", "tests/emulator/", "tests/faults/") + (
    () if os.environ.get("COVERAGE_INTEGRATION") else ("tests/integration/",)
)
# Unit tests whose subject is not the layer: the capacity planner (dev/flowgen_capacity, simpy),
# and checks that read the repository (the import graph, the template, the built functions).
UNMEASURED_FILES = (
    "tests/unit/test_capacity.py",
    "tests/unit/test_import_graph.py",
    "tests/unit/test_template_bounds_yaml.py",
    "tests/unit/test_template_defaults.py",
    "tests/unit/test_function_bytecode.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Coverage pauses while these tiers' tests run (pytest-cov's `no_cover`). The layer they
    exercise runs in the stack's function processes, which coverage does not follow, and the
    emulator is not the measured code; measuring them only traced the browser driver and the
    in-process stand-ins, at two to three times their cost (CPython 3.12's line tracer). The
    same for the unit tests of UNMEASURED_FILES. The figure is the unit, api and contract tiers'
    (pyproject's fail_under): measuring the integration tier too adds 7 points (87 % -> 92 %)
    for 49 s of a 219 s run of that tier (2026-12-06); `make coverage` (COVERAGE_INTEGRATION=1)
    measures it."""
    root = config.rootpath
    for item in items:
        path = item.path.relative_to(root).as_posix()
        if path.startswith(UNMEASURED_TIERS) or path in UNMEASURED_FILES:
            item.add_marker(pytest.mark.no_cover)


RUNNING_WORKER_TIMEOUT = 10  # seconds: end-to-end stacks shorten the template's 120 s ...
RUNNING_VISIBILITY = 12
# ... and the queues' visibility, keeping visibility > timeout as AWS requires


def short_timeouts_template() -> Path:
    """template.yaml with its workers' timeout allowed down to 5 s. The stack refuses a value
    out of a parameter's bounds, as CloudFormation does (the template says at least 30 s), and
    tests that watch a worker time out cannot wait that long."""
    return with_parameter_bounds({"WorkerTimeoutSeconds": {"MinValue": 5}})


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = RedisServer()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def aws() -> Iterator[AwsServer]:
    server = AwsServer(purge_once_a_minute=False)  # shared stacks are reset by purging their queues
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqs_endpoint(aws: AwsServer) -> AwsServer:
    """The moto server under the fixture name older tests use."""
    return aws


_shared: dict[str, LambdaHost] = {}


def shared_lambda_host() -> LambdaHost | None:
    """The session's execution host, for a test that builds a LocalStack itself: a host's start
    imports the shared libraries (about 3 s of CPU on a busy machine)."""
    return _shared.get("host")


@pytest.fixture(scope="session", autouse=True)
def lambda_host() -> Iterator[LambdaHost]:
    """One execution host for the session (its start imports the shared libraries once): it
    keeps no state, and each stack's function instances are its own processes."""
    host = LambdaHost()
    _shared["host"] = host
    yield host
    _shared.pop("host", None)
    host.stop()


@pytest.fixture(scope="session")
def mongo_server() -> Iterator[str]:
    if REAL_MONGO_URI:
        yield REAL_MONGO_URI
        return
    server = MongoStandIn()
    server.start()
    yield str(server.uri)
    server.stop()


@pytest.fixture(scope="session")
def fake_model_server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI(tokens_per_chunk=8).start()  # the same text and pace in fewer chunks: see FakeOpenAI
    yield fake
    fake.stop()


@pytest.fixture
def fake_model(fake_model_server: FakeOpenAI) -> FakeOpenAI:
    fake_model_server.reset()
    return fake_model_server


@pytest.fixture
def mongo_uri(mongo_server: str) -> Iterator[tuple[str, str]]:
    """(uri, database): a database of its own per test, dropped afterwards."""
    db_name = f"flowgen_test_{uuid.uuid4().hex[:10]}"
    yield mongo_server, db_name
    import pymongo

    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(mongo_server, serverSelectionTimeoutMS=2000)
    try:
        client.drop_database(db_name)
    finally:
        client.close()


def make_stack(
    redis_url: str,
    aws: AwsServer,
    mongo_uri: tuple[str, str],
    fake_model: FakeOpenAI | None,
    parameters: dict[str, str] | None = None,
    *,
    running: bool = False,
    paused: tuple[str, ...] = (),
    template_path: Path | None = None,
    schedule_period: float | None = None,
    visibility: int = RUNNING_VISIBILITY,
    log_dir: Path | None = None,
    **env: str,
) -> LocalStack:
    """A fresh stack on the session's services; `parameters` override the template's, `env` is
    added to every function's environment.

    By default the event sources do not poll (tests drain queues themselves) and a failed
    message is visible again at once (draining is sequential, so no message is ever worked on
    twice at once). `running=True` starts the HTTP server, every event source but the `paused`
    ones and the schedules, with the template's proportions kept: workers time out after 10 s
    and the queues' visibility is 12 s (the stack refuses a visibility under the timeout).
    """
    redis.Redis.from_url(redis_url).flushdb()
    uri, db = mongo_uri
    # end-to-end clients poll as fast as the tests need: per-user limits are tested on their own
    overrides = {"WorkerTimeoutSeconds": str(RUNNING_WORKER_TIMEOUT), **NO_USER_LIMITS} if running else {}
    if template_path is None and "WorkerTimeoutSeconds" in {**overrides, **(parameters or {})}:
        template_path = short_timeouts_template()
    config = StackConfig(
        redis_url=redis_url,
        aws=aws,
        lambda_host=shared_lambda_host(),
        mongo_uri=uri,
        mongo_db=db,
        openai_api_key="test-key" if fake_model else None,
        openai_base_url=fake_model.base_url if fake_model else None,
        visibility_timeout=visibility if running else 0,
        parameter_overrides={**overrides, **(parameters or {})},
        template_path=template_path,
        schedule_period=schedule_period,
        log_dir=log_dir,
        # a failed model call is retried at once where tests drain the queues themselves, after a
        # second's backoff where the stack runs
        extra_env={
            "MODEL_TIMEOUT_SECONDS": "2",
            "JWKS_REFRESH_COOLDOWN_SECONDS": "0.5",
            "RETRY_BASE_SECONDS": "1" if running else "0",
            **env,
        },
    )  # env holds environment variables only: make_stack's own keywords come before it
    stack = LocalStack(config).start(pollers=False, http_port=0 if running else None)
    if running:
        stack.start_pollers(paused=paused)
    return stack


class StackPool:
    """Stacks by their settings, the `keep` most recently used alive (each holds warm function
    instances: a few hundred MB), each with a database of its own."""

    def __init__(self, redis_url: str, aws: AwsServer, mongo: str, keep: int = 3) -> None:
        self.redis_url, self.aws, self.mongo, self.keep = redis_url, aws, mongo, keep
        self.stacks: dict[str, LocalStack] = {}
        self.databases: list[str] = []
        self.started = 0
        self.in_use: set[str] = set()  # the stacks the running test was given

    def begin_test(self) -> None:
        self.in_use.clear()

    def get(self, key: str, build: Callable[[tuple[str, str]], LocalStack]) -> LocalStack:
        """The stack of these settings, reset; the pooled stacks this test was not given are
        paused (`LocalStack.pause`): a running stack's idle pollers cost its worker and the SQS
        server a receive a second each while it waits for its next test."""
        self.in_use.add(key)
        for other_key, other in self.stacks.items():
            if other_key not in self.in_use:
                other.pause()
        stack = self.stacks.pop(key, None)
        if stack is None:
            while len(self.stacks) >= self.keep:
                oldest = next(iter(self.stacks))
                self.stacks.pop(oldest).stop()
            database = f"flowgen_test_{uuid.uuid4().hex[:10]}"
            self.databases.append(database)
            stack = build((self.mongo, database))
            self.started += 1
        else:
            stack.reset()
        self.stacks[key] = stack  # the most recently used last
        return stack

    def close(self) -> None:
        for stack in self.stacks.values():
            stack.stop()
        self.stacks.clear()
        if REAL_MONGO_URI:
            import pymongo

            client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(self.mongo, serverSelectionTimeoutMS=2000)
            for database in self.databases:
                client.drop_database(database)
            client.close()


@pytest.fixture(scope="session")
def stack_pool(redis_url: str, aws: AwsServer, mongo_server: str) -> Iterator[StackPool]:
    pool = StackPool(redis_url, aws, mongo_server)
    yield pool
    pool.close()


SharedStack = Callable[..., LocalStack]


@pytest.fixture
def shared_stack(stack_pool: StackPool, fake_model: FakeOpenAI) -> SharedStack:
    """`shared_stack(parameters, running=..., paused=..., visibility=..., **env)`: as `make_stack`
    takes them, a stack of those settings reset for this test (the fake model too), its
    instances warm. `paused` event sources stay paused after the reset."""

    stack_pool.begin_test()

    def get(
        parameters: dict[str, str] | None = None,
        *,
        running: bool = False,
        paused: tuple[str, ...] = (),
        model: FakeOpenAI | None = fake_model,
        visibility: int = RUNNING_VISIBILITY,
        **env: str,
    ) -> LocalStack:
        params = {k: str(v) for k, v in (parameters or {}).items()}
        key = (sorted(params.items()), running, sorted(paused), model is not None, visibility, sorted(env.items()))

        def build(mongo_uri: tuple[str, str]) -> LocalStack:
            options: dict[str, Any] = {"running": running, "paused": paused, "visibility": visibility, **env}
            return make_stack(stack_pool.redis_url, stack_pool.aws, mongo_uri, model, params, **options)

        stack = stack_pool.get(repr(key), build)
        if model is not None:
            model.reset_stats()  # after the reset: a call that ended while the stack paused is not this test's
        return stack

    return get


@pytest.fixture
def stack(shared_stack: SharedStack) -> LocalStack:
    """The template's stack, pollers off (tests drain its queues), reset for this test."""
    return shared_stack()


@pytest.fixture
def running_stack(shared_stack: SharedStack) -> LocalStack:
    """The template's stack running as deployed (HTTP front, every event source polling, the
    schedules), workers timing out at 10 s and per-user limits off (tests.conftest.make_stack)."""
    return shared_stack(running=True)


@pytest.fixture(scope="session")
def youtube() -> Iterator[FakeYouTube]:
    """The YouTube Data API's search on loopback, for video suggestions (set its `status`)."""
    fake = FakeYouTube(200)
    yield fake
    fake.stop()
