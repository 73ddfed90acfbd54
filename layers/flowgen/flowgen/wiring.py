"""Every factory: each client is built once per container from its function's settings.

`import flowgen.wiring` pulls in no adapter and none of pymongo, redis, boto3 or openai: each
factory imports what it builds, so the authorizer (which needs only `jwt_verifier`) stays cheap
to load. Factories are cached by their settings object (frozen, hashable).

Seams for tests and the local stack: `override(name=fake, ...)` makes the factory `name` return
the fake (e.g. `override(model=BlockingModel())` before a worker module is loaded), and
`reset()` drops every cached client, settings object and override.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from flowgen.settings import (
    TIERS,
    ApiSettings,
    AuthorizerSettings,
    CourseWorkerSettings,
    EnvSettings,
    JobSettings,
    LessonWorkerSettings,
    LimitSettings,
    ModelSettings,
    MongoSettings,
    QueueSettings,
    ReconcilerSettings,
    RedisSettings,
    SourceSettings,
    SourceWorkerSettings,
    VideoSettings,
    load,
    resolve_secret,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    from flowgen.adapters.jwt_verifier import JwtVerifier
    from flowgen.adapters.mongo_store import MongoCourseStore
    from flowgen.adapters.redis_address_limits import RedisAddressLimits
    from flowgen.adapters.redis_user_limits import RedisUserLimits
    from flowgen.answering import QuestionAnswerer
    from flowgen.courses import CourseService
    from flowgen.generation import Generator
    from flowgen.library import Source, SourceObjects, SourceService, SourceStore, StoredChunk
    from flowgen.ports import (
        ModelClient,
        ProgressStore,
        QuestionStore,
        RateLimiter,
        ReviewStore,
        ShareStore,
        TokenBudget,
        VideoSearch,
    )
    from flowgen.progress import ProgressService
    from flowgen.questions import QuestionService
    from flowgen.reviews import ReviewService
    from flowgen.scheduling import JobScheduler
    from flowgen.sharing import ShareService
    from flowgen.views import CourseView

_overrides: dict[str, Any] = {}
# How to let go of each connection-holding client built so far (close_clients)
_closers: list[Callable[[], object]] = []
# (store, settings) whose indexes this container created: a restored snapshot has them already
_indexed: set[tuple[str, object]] = set()


def _closing[C](client: C, close: Callable[[], object]) -> C:
    _closers.append(close)
    return client


def _indexes_once(kind: str, cfg: object, ensure: Callable[[], object]) -> None:
    """Creates a store's indexes at its first build in a container (a round trip per index), not
    again when a SnapStart restore rebuilds it: the snapshot's init created them."""
    if (kind, cfg) not in _indexed:
        ensure()
        _indexed.add((kind, cfg))


def override(**fakes: Any) -> None:
    """`override(store=MemoryStore())`: the factory of that name returns the fake until `reset()`."""
    unknown = set(fakes) - set(_FACTORIES)
    if unknown:
        raise ValueError(f"no factory named {sorted(unknown)}")
    _overrides.update(fakes)


def _overridable[F: Callable[..., Any]](factory: F) -> F:
    cached = cache(factory)

    def build(*args: Any) -> Any:
        if factory.__name__ in _overrides:
            return _overrides[factory.__name__]
        return cached(*args)

    build.__name__ = factory.__name__
    build.__doc__ = factory.__doc__
    build.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return cast(F, build)


@cache
def settings[S: EnvSettings](kind: type[S]) -> S:
    """`kind` parsed from the environment once per container (a clear error names what is missing)."""
    return load(kind)


# ---- clients -------------------------------------------------------------------------------


@_overridable
def store(cfg: MongoSettings | None = None) -> MongoCourseStore:
    from flowgen.adapters.mongo_client import connect
    from flowgen.adapters.mongo_store import MongoCourseStore

    cfg = cfg or settings(MongoSettings)
    database = connect(resolve_secret(cfg.mongo_uri, cfg.mongo_uri_secret), cfg.mongo_db)
    course_store = MongoCourseStore(_closing(database, database.client.close))
    _indexes_once("courses", cfg, course_store.ensure_indexes)
    return course_store


@_overridable
def progress_store(cfg: MongoSettings | None = None) -> ProgressStore:
    """Learners' progress, in its own collection of the course store's database (one client)."""
    from flowgen.adapters.mongo_progress import MongoProgressStore

    progress = MongoProgressStore(store(cfg or settings(MongoSettings)).courses.database)
    _indexes_once("progress", cfg, progress.ensure_indexes)
    return progress


@_overridable
def question_store(cfg: MongoSettings | None = None) -> QuestionStore:
    """Learners' questions about lessons, in their own collection of the course store's database."""
    from flowgen.adapters.mongo_questions import MongoQuestionStore

    questions = MongoQuestionStore(store(cfg or settings(MongoSettings)).courses.database)
    _indexes_once("questions", cfg, questions.ensure_indexes)
    return questions


@_overridable
def share_store(cfg: MongoSettings | None = None) -> ShareStore:
    """Share links, in their own collection of the course store's database."""
    from flowgen.adapters.mongo_shares import MongoShareStore

    shares = MongoShareStore(store(cfg or settings(MongoSettings)).courses.database)
    _indexes_once("shares", cfg, shares.ensure_indexes)
    return shares


@_overridable
def review_store(cfg: MongoSettings | None = None) -> ReviewStore:
    """Flashcards under review and their log (issue 23), in the course store's database."""
    from flowgen.adapters.mongo_reviews import MongoReviewStore

    reviews = MongoReviewStore(store(cfg or settings(MongoSettings)).courses.database)
    _indexes_once("reviews", cfg, reviews.ensure_indexes)
    return reviews


@_overridable
def redis_client(cfg: RedisSettings | None = None) -> Any:
    import redis

    cfg = cfg or settings(RedisSettings)
    url = resolve_secret(cfg.redis_url, cfg.redis_url_secret)
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    return _closing(client, client.close)


@_overridable
def sqs_client(cfg: QueueSettings | None = None) -> Any:
    """Fails within seconds, not botocore's minutes of connect timeouts and retries: an api
    invocation has 10 s, and a send that cannot go is recorded for the reconciler instead."""
    import boto3
    from botocore.config import Config

    cfg = cfg or settings(QueueSettings)
    bounded = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 2})
    client = boto3.client("sqs", endpoint_url=cfg.sqs_endpoint_url or None, config=bounded)
    return _closing(client, client.close)


@_overridable
def scheduler(cfg: JobSettings) -> JobScheduler:
    from flowgen.adapters.redis_dedupe import RedisDedupeLock
    from flowgen.adapters.sqs_queue import SqsJobQueue
    from flowgen.records import Priority
    from flowgen.scheduling import JobScheduler

    queue = SqsJobQueue(
        sqs_client(cfg),
        course_queue_url=cfg.course_queue_url,
        lesson_queue_urls={Priority.HIGH: cfg.lesson_high_queue_url, Priority.LOW: cfg.lesson_low_queue_url},
    )
    return JobScheduler(queue, RedisDedupeLock(redis_client(cfg)), dedupe_ttl_seconds=cfg.stuck_after_seconds)


@_overridable
def model(cfg: ModelSettings) -> ModelClient:
    api_key = resolve_secret(cfg.openai_api_key, cfg.openai_api_key_secret)
    if not api_key:
        from flowgen.adapters.offline_model import OfflineModel

        return OfflineModel()
    from openai import OpenAI

    from flowgen.adapters.openai_model import OpenAIModel

    client = OpenAI(
        api_key=api_key, base_url=cfg.openai_base_url or None, timeout=cfg.model_timeout_seconds, max_retries=0
    )
    _closing(client, client.close)
    return OpenAIModel(client, outline_model=cfg.outline_model, lesson_model=cfg.lesson_model)


@_overridable
def limiter(cfg: LimitSettings, shared: RedisSettings) -> RateLimiter:
    if not (cfg.model_requests_per_minute or cfg.model_tokens_per_minute):
        from flowgen.limits import NoRateLimit

        return NoRateLimit()
    from flowgen.adapters.redis_limits import RedisRateLimiter

    return RedisRateLimiter(
        redis_client(shared),
        requests_per_minute=cfg.model_requests_per_minute,
        tokens_per_minute=cfg.model_tokens_per_minute,
        high_reserve=cfg.high_priority_reserve,
    )


@_overridable
def budget(cfg: LimitSettings, kept_in: RedisSettings) -> TokenBudget:
    from flowgen.adapters.redis_limits import RedisTokenBudget

    return RedisTokenBudget(
        redis_client(kept_in),
        user_daily=cfg.daily_token_budget(cfg.default_tier),
        per_course=cfg.course_token_budget,
        tier_daily={tier: cfg.daily_token_budget(tier) for tier in TIERS},
    )


@_overridable
def user_limits(cfg: ApiSettings, tier: str = "free") -> RedisUserLimits:
    """The API's per-user limits of a tier and the budget check at course creation (one Lua
    round trip). Every tier counts in the same per-user keys; only the limits differ."""
    from flowgen.adapters.redis_user_limits import RedisUserLimits

    requests_per_minute, courses_per_hour, courses_per_day = cfg.windows(tier)
    return RedisUserLimits(
        redis_client(cfg),
        requests_per_minute=requests_per_minute,
        courses_per_hour=courses_per_hour,
        courses_per_day=courses_per_day,
        daily_token_budget=cfg.daily_token_budget(tier),
        questions_per_hour=cfg.questions_per_hour(tier),
        rewrites_per_hour=cfg.rewrites_per_hour(tier),
    )


@_overridable
def address_limits(cfg: ApiSettings) -> RedisAddressLimits:
    """The per-source-address limit of the routes that need no sign-in (the shared view)."""
    from flowgen.adapters.redis_address_limits import RedisAddressLimits

    return RedisAddressLimits(redis_client(cfg), requests_per_minute=cfg.shared_requests_per_minute_per_address)


@_overridable
def videos(cfg: VideoSettings) -> VideoSearch:
    from flowgen.limits import NoVideos

    api_key = resolve_secret(cfg.youtube_api_key, cfg.youtube_api_key_secret)
    if not api_key:
        return NoVideos()
    from flowgen.adapters.youtube import YouTubeSearch

    return YouTubeSearch(api_key, base_url=cfg.youtube_base_url, timeout=cfg.youtube_timeout_seconds)


@_overridable
def jwt_verifier(cfg: AuthorizerSettings) -> JwtVerifier:
    from flowgen.adapters.jwt_verifier import JwtVerifier

    return JwtVerifier(
        cfg.jwks_url,
        issuer=cfg.jwt_issuer,
        audience=cfg.jwt_audience,
        refresh_cooldown=cfg.jwks_refresh_cooldown_seconds,
    )


# ---- use cases -------------------------------------------------------------------------------


@_overridable
def course_service(cfg: ApiSettings) -> CourseService:
    from flowgen.courses import CourseService

    # a course's share and its cards go with it
    records = (progress_store(cfg), question_store(cfg), share_store(cfg), review_store(cfg))
    links = share_service(cfg) if cfg.sharing_configured else None
    sources = LazySources(cfg)  # read only for a course with sources (issue 24)
    return CourseService(store(cfg), scheduler(cfg), cfg, learner_records=records, shares=links, sources=sources)


@_overridable
def share_service(cfg: ApiSettings) -> ShareService:
    """Share links: their tokens derived under the server key (SHARE_KEY, or its secret)."""
    from flowgen.sharing import ShareService, ShareTokens

    key = resolve_secret(cfg.share_key, cfg.share_key_secret)
    return ShareService(store(cfg), share_store(cfg), ShareTokens(key), web_url=cfg.web_url)


@_overridable
def progress_service(cfg: ApiSettings) -> ProgressService:
    from flowgen.progress import ProgressService

    return ProgressService(store(cfg), progress_store(cfg), reviews=review_service(cfg))


@_overridable
def review_service(cfg: ApiSettings) -> ReviewService:
    from flowgen.reviews import ReviewService

    return ReviewService(store(cfg), review_store(cfg))


@_overridable
def question_service(cfg: ApiSettings) -> QuestionService:
    from flowgen.questions import QuestionService

    return QuestionService(store(cfg), question_store(cfg), scheduler(cfg), cfg)


@_overridable
def idempotent_create(cfg: ApiSettings) -> tuple[Callable[..., CourseView], IdempotencyConfig]:
    """POST /courses with an Idempotency-Key: Powertools on Redis first, MongoDB's index behind it."""
    from flowgen.adapters.idempotency import IdempotentCreate, make_idempotent
    from flowgen.clock import utcnow
    from flowgen.views import CourseView

    def create(command: IdempotentCreate) -> CourseView:
        request, key = command.request, command.idempotency_key or None
        return course_service(cfg).create_course(
            command.owner_id, request, utcnow(), idempotency_key=key, tier=command.tier
        )

    create.__annotations__["return"] = CourseView  # Powertools' serializer reads the class, not its name
    return make_idempotent(create, redis_client(cfg), cfg.idempotency_ttl_seconds)


def _generator(
    cfg: CourseWorkerSettings | LessonWorkerSettings, found: VideoSearch | None, cards: ReviewStore | None = None
) -> Generator:
    from flowgen.clock import utcnow
    from flowgen.generation import Generator
    from flowgen.limits import NoVideos

    return Generator(
        store(cfg),
        scheduler(cfg),
        model(cfg),
        cfg,
        utcnow,
        limiter=limiter(cfg, cfg),
        budget=budget(cfg, cfg),
        videos=found or NoVideos(),
        cards=cards,
        sources=LazySources(cfg),  # a grounded course's chunks (issue 24)
    )


@_overridable
def course_generator(cfg: CourseWorkerSettings) -> Generator:
    return _generator(cfg, None)


@_overridable
def lesson_generator(cfg: LessonWorkerSettings) -> Generator:
    return _generator(cfg, videos(cfg), review_store(cfg))  # a lesson's cards join its learner's review


@_overridable
def question_answerer(cfg: LessonWorkerSettings) -> QuestionAnswerer:
    """Built on the lesson worker's first question job (its generator, its model client)."""
    from flowgen.answering import QuestionAnswerer

    return QuestionAnswerer(lesson_generator(cfg), question_store(cfg))


@_overridable
def source_store(cfg: MongoSettings | None = None) -> SourceStore:
    """Learners' sources and their chunks, in collections of the course store's database."""
    from flowgen.adapters.mongo_sources import MongoSourceStore

    sources = MongoSourceStore(store(cfg or settings(MongoSettings)).courses.database)
    _indexes_once("sources", cfg, sources.ensure_indexes)
    return sources


class LazySources:
    """The sources store, built on the first grounded course a function meets (not at cold start)."""

    def __init__(self, cfg: MongoSettings) -> None:
        self.cfg = cfg

    def get_source(self, owner_id: str, source_id: str) -> Source | None:
        return source_store(self.cfg).get_source(owner_id, source_id)

    def chunks(self, owner_id: str, source_ids: Sequence[str]) -> list[StoredChunk]:
        return source_store(self.cfg).chunks(owner_id, source_ids)


@_overridable
def source_objects(cfg: SourceSettings) -> SourceObjects:
    """The sources bucket; SigV4, so a presigned POST's policy is signed as S3 requires."""
    import boto3
    from botocore.config import Config

    from flowgen.adapters.s3_objects import S3SourceObjects

    bounded = Config(
        signature_version="s3v4", connect_timeout=2, read_timeout=10, retries={"mode": "standard", "max_attempts": 3}
    )
    client = boto3.client("s3", endpoint_url=cfg.s3_endpoint_url or None, config=bounded)
    return S3SourceObjects(_closing(client, client.close), cfg.sources_bucket)


@_overridable
def source_service(cfg: ApiSettings | SourceWorkerSettings) -> SourceService:
    """The API's (register, list, show, delete) and the ingestion worker's (ingest)."""
    from flowgen.library import LibrarySettings, SourceService

    limits = LibrarySettings(
        max_file_bytes=cfg.source_max_bytes,
        max_pages=cfg.source_max_pages,
        storage_quota_bytes=cfg.user_source_storage_bytes,
        max_attempts=cfg.max_receive_count,  # a file whose every delivery died is poisoned
    )
    return SourceService(source_store(cfg), source_objects(cfg), limits)


def reconciler_parts(cfg: ReconcilerSettings) -> tuple[MongoCourseStore, JobScheduler]:
    return store(cfg), scheduler(cfg)


_FACTORIES: dict[str, Callable[..., Any]] = {
    f.__name__: f
    for f in (
        store,
        progress_store,
        question_store,
        share_store,
        review_store,
        source_store,
        source_objects,
        redis_client,
        sqs_client,
        scheduler,
        model,
        limiter,
        budget,
        user_limits,
        address_limits,
        videos,
        jwt_verifier,
        course_service,
        progress_service,
        question_service,
        share_service,
        review_service,
        source_service,
        idempotent_create,
        course_generator,
        lesson_generator,
        question_answerer,
    )
}


def close_clients() -> None:
    """Closes every connection the clients built so far hold, and forgets them and everything built
    on them: the next factory call builds afresh. Settings and overrides stay. SnapStart's
    before-snapshot hook (flowgen.snapstart): a snapshot must not keep sockets or pymongo's threads."""
    while _closers:
        close = _closers.pop()
        try:
            close()
        except Exception:  # one client that cannot close must not keep the others open
            logging.getLogger(__name__).warning("a client did not close before the snapshot", exc_info=True)
    if "aws_lambda_powertools.utilities.parameters" in sys.modules:
        # Powertools' providers keep a Secrets Manager client (its pooled connection dead after a
        # restore) and the secrets read (maybe rotated by the time a snapshot is restored)
        from aws_lambda_powertools.utilities import parameters

        parameters.clear_caches()  # type: ignore[no-untyped-call]
    _forget_clients()


def _forget_clients() -> None:
    for factory in _FACTORIES.values():
        factory.cache_clear()  # type: ignore[attr-defined]


def reset() -> None:
    _closers.clear()  # tests keep using clients they were given: dropped, not closed
    _indexed.clear()
    _overrides.clear()
    settings.cache_clear()
    _forget_clients()
