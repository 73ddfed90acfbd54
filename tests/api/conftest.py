"""The in-process API tier: the api function's real handler (functions/api/app.py, loaded as
the Lambda runtime loads it) called with HTTP API events built the way the local stack builds
them, its clients replaced through `wiring` by the in-memory fakes of tests/fakes. No process,
no socket: milliseconds a request. For validation, the contract, ownership and what each route
answers; what needs the real stores, queues and workers is in tests/integration.

`api` looks like a LocalStack to tests.helpers.User (`request`, `token`, `drain`), so a test
reads the same in both tiers. A token is `test:<sub>[:<tier>]`: the authorizer is not run here
(tests/integration/test_authorizer.py runs it); its context is what it would pass on.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest
from pytest_socket import disable_socket

from flowgen import wiring
from flowgen.adapters.offline_model import OfflineModel
from flowgen.adapters.redis_user_limits import Decision
from flowgen.answering import QuestionAnswerer
from flowgen.clock import utcnow
from flowgen.deadline import Attempt
from flowgen.generation import Generator
from flowgen.library import LibrarySettings, SourceService
from flowgen.messages import CourseJob, LessonJob
from flowgen.records import Priority
from flowgen.scheduling import JobScheduler
from flowgen.settings import ApiSettings, WorkerTunables
from flowgen_local.events import http_event, match_route
from flowgen_local.in_process import PLACEHOLDER_API_ENVIRONMENT, load_function
from flowgen_local.stack import ApiResponse
from flowgen_local.template import Template, load
from tests.fakes.ports import MemoryDedupe, RecordingQueue
from tests.fakes.progress import MemoryProgressStore
from tests.fakes.questions import MemoryQuestionStore
from tests.fakes.reviews import MemoryReviewStore
from tests.fakes.shares import MemoryShareStore
from tests.fakes.sources import MemoryObjects, MemorySourceStore
from tests.fakes.store import MemoryStore

ATTEMPT = Attempt(receive_count=1, remaining_seconds=60)
# What the template's Globals give every function, with metrics and traces off as the local stack has them
RUNTIME_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "flowgen",
    "POWERTOOLS_METRICS_NAMESPACE": "FlowGen",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


class Unlimited:
    """The per-user limits' port, allowing everything (the limits are tested on real Redis)."""

    def check(
        self, owner_id: str, *, creating: bool = False, asking: bool = False, rewriting: bool = False
    ) -> Decision:
        return Decision()

    def refund(self, decision: Decision) -> None:
        pass


@dataclass
class InProcessApi:
    """The api handler and the fakes behind it."""

    handler: Any
    template: Template
    settings: ApiSettings
    store: MemoryStore = field(default_factory=MemoryStore)
    progress: MemoryProgressStore = field(default_factory=MemoryProgressStore)
    questions: MemoryQuestionStore = field(default_factory=MemoryQuestionStore)
    shares: MemoryShareStore = field(default_factory=MemoryShareStore)
    reviews: MemoryReviewStore = field(default_factory=MemoryReviewStore)
    queue: RecordingQueue = field(default_factory=RecordingQueue)
    dedupe: MemoryDedupe = field(default_factory=MemoryDedupe)

    answered: list[tuple[str, str, int]] = field(default_factory=list)  # (method, template path, status)

    def __post_init__(self) -> None:
        settings = self.settings
        self.scheduler = JobScheduler(self.queue, self.dedupe, dedupe_ttl_seconds=settings.stuck_after_seconds)
        self.sources, self.objects = MemorySourceStore(), MemoryObjects()  # a learner's sources (issue 24)
        self.generator = Generator(
            self.store,
            self.scheduler,
            OfflineModel(),
            WorkerTunables(),
            utcnow,
            cards=self.reviews,
            sources=self.sources,
        )
        self.answerer = QuestionAnswerer(self.generator, self.questions)
        self.library = SourceService(self.sources, self.objects, LibrarySettings())

    def token(self, sub: str, *, tier: str | None = None, expires_in: int = 3600) -> str:
        return f"test:{sub}:{tier or ''}:{int(time.time()) + expires_in}"

    def request(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: dict[str, str] | None = None,
        body: bytes | str | None = None,
    ) -> ApiResponse:
        """As API Gateway would: the route, no identity -> 401, then the api function."""
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        matched = match_route(self.template.routes, method, path)
        assert matched is not None, "the template has a $default route"
        route, params = matched
        answer = self._answer(method, path, route, params, query, headers, body)
        self.answered.append((method.upper(), route.path, answer.status))
        return answer

    def _answer(
        self,
        method: str,
        path: str,
        route: Any,
        params: dict[str, str],
        query: str,
        headers: dict[str, str],
        body: bytes | str | None,
    ) -> ApiResponse:
        event = http_event(method, path, route=route, path_parameters=params, query=query, headers=headers, body=body)
        if route.authorized:
            identity = headers.get("authorization", "")
            if not identity:
                return ApiResponse(401, {"content-type": "application/json"}, json.dumps({"message": "Unauthorized"}))
            _, sub, tier, expires = identity.removeprefix("Bearer ").split(":")
            context: dict[str, Any] = {"sub": sub, "scope": "openid courses", "exp": int(expires)}
            if tier:
                context["tier"] = tier
            event["requestContext"]["authorizer"] = {"lambda": context}
        result = self.handler(event, _Context())
        out = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
        for k, values in (result.get("multiValueHeaders") or {}).items():
            out[k.lower()] = ", ".join(values)
        return ApiResponse(int(result.get("statusCode", 200)), out, result.get("body") or "")

    def drain(self, source: str) -> int:
        """The worker's use case on every job queued for `source` (CourseJobs, HighPriorityLessons,
        LowPriorityLessons), in process, with the offline model."""
        done = 0
        if source == "CourseJobs":
            while self.queue.course_jobs:
                job: CourseJob = self.queue.course_jobs.pop(0)
                self.generator.build_outline(job, ATTEMPT)
                done += 1
            return done
        priority = Priority.HIGH if source == "HighPriorityLessons" else Priority.LOW
        while self.queue.lesson_jobs[priority]:
            lesson_job: LessonJob = self.queue.lesson_jobs[priority].pop(0)
            if lesson_job.question_id is not None:
                self.answerer.answer(lesson_job, ATTEMPT)
            else:
                self.generator.write_lesson(lesson_job, ATTEMPT)
            done += 1
        return done

    def queue_depth(self, name: str) -> int:
        """What waits in a queue of the template (CourseQueue, LessonHighQueue, LessonLowQueue)."""
        if name == "CourseQueue":
            return len(self.queue.course_jobs)
        return len(self.queue.lesson_jobs[Priority.HIGH if name == "LessonHighQueue" else Priority.LOW])


class _Context:
    function_name = "ApiFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ApiFunction"
    aws_request_id = "in-process"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def pytest_runtest_setup(item: pytest.Item) -> None:
    disable_socket(allow_unix_socket=True)  # nothing here may reach a server


@pytest.fixture(scope="session")
def api_module() -> ModuleType:
    return load_function("api", PLACEHOLDER_API_ENVIRONMENT)


@pytest.fixture
def api(api_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[InProcessApi]:
    """A fresh set of fakes behind the api handler, for this test; afterwards, every status it
    answered must be one the OpenAPI document lists for its route."""
    for name, value in RUNTIME_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    wiring.reset()
    stub = InProcessApi(api_module.lambda_handler, load(), api_module.SETTINGS)
    wiring.override(
        store=stub.store,
        progress_store=stub.progress,
        question_store=stub.questions,
        share_store=stub.shares,
        review_store=stub.reviews,
        scheduler=stub.scheduler,
        user_limits=Unlimited(),
        address_limits=Unlimited(),
        source_service=stub.library,
        source_store=stub.sources,
    )
    yield stub
    wiring.reset()
    document = api_module.openapi_document()
    undocumented = [answer for answer in stub.answered if answer[2] not in documented(document, *answer[:2])]
    assert not undocumented, f"statuses the OpenAPI document does not list: {undocumented}"


def documented(document: dict[str, Any], method: str, template_path: str) -> set[int]:
    """The statuses the document lists for a template route (the $default route: 401 to 405)."""
    if template_path in ("$default", ""):
        return {401, 403, 404, 405}
    if template_path == "/swagger":  # the UI over the document, not in it
        return {200}
    doc_path = re.sub(r"\{(\w+)\}", lambda m: "{" + _snake(m.group(1)) + "}", template_path)
    operation = document["paths"][doc_path][method.lower()]
    return {int(status) for status in operation["responses"]} | {401}  # API Gateway's own 401


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()
