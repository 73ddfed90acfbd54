"""Cached factories: each client is built once per container, on first use, never at import.

Tests and the local stack call `reset()` to drop every cached client and settings object.
"""

from __future__ import annotations

from functools import cache, lru_cache

from flowgen.adapters.mongo_store import MongoCourseStore
from flowgen.clock import utcnow
from flowgen.courses import CourseService
from flowgen.generation import Generator
from flowgen.limits import NoRateLimit, NoVideos
from flowgen.ports import ModelClient, RateLimiter, TokenBudget, VideoSearch
from flowgen.scheduling import JobScheduler
from flowgen.settings import (
    ApiSettings,
    CourseWorkerSettings,
    LessonWorkerSettings,
    LimitSettings,
    ModelSettings,
    MongoSettings,
    QueueSettings,
    RedisSettings,
    VideoSettings,
    resolve_secret,
)


@cache
def settings[S](kind: type[S]) -> S:
    return kind()  # type: ignore[call-arg]


@lru_cache(maxsize=1)
def store() -> MongoCourseStore:
    from flowgen.adapters.mongo_client import connect

    cfg = settings(MongoSettings)
    course_store = MongoCourseStore(connect(resolve_secret(cfg.mongo_uri, cfg.mongo_uri_secret), cfg.mongo_db))
    course_store.ensure_indexes()
    return course_store


@lru_cache(maxsize=1)
def redis_client():  # type: ignore[no-untyped-def]
    import redis

    return redis.Redis.from_url(settings(RedisSettings).redis_url, socket_timeout=2, socket_connect_timeout=2)


@lru_cache(maxsize=1)
def sqs_client():  # type: ignore[no-untyped-def]
    import boto3

    endpoint = settings(QueueSettings).sqs_endpoint_url or None
    return boto3.client("sqs", endpoint_url=endpoint)


@lru_cache(maxsize=1)
def scheduler() -> JobScheduler:
    from flowgen.adapters.redis_dedupe import RedisDedupeLock
    from flowgen.adapters.sqs_queue import SqsJobQueue
    from flowgen.models import Priority

    queues = settings(QueueSettings)
    queue = SqsJobQueue(
        sqs_client(),
        course_queue_url=queues.course_queue_url,
        lesson_queue_urls={Priority.HIGH: queues.lesson_high_queue_url, Priority.LOW: queues.lesson_low_queue_url},
    )
    return JobScheduler(queue, RedisDedupeLock(redis_client()), settings(RedisSettings).dedupe_ttl_seconds)


@lru_cache(maxsize=1)
def model() -> ModelClient:
    cfg = settings(ModelSettings)
    api_key = resolve_secret(cfg.openai_api_key, cfg.openai_api_key_secret)
    if not api_key:
        from flowgen.adapters.offline_model import OfflineModel

        return OfflineModel()
    from openai import OpenAI

    from flowgen.adapters.openai_model import OpenAIModel

    client = OpenAI(
        api_key=api_key, base_url=cfg.openai_base_url or None, timeout=cfg.model_timeout_seconds, max_retries=0
    )
    return OpenAIModel(client, outline_model=cfg.outline_model, lesson_model=cfg.lesson_model)


@cache
def limiter() -> RateLimiter:
    cfg = settings(LimitSettings)
    if not (cfg.model_requests_per_minute or cfg.model_tokens_per_minute):
        return NoRateLimit()
    from flowgen.adapters.redis_limits import RedisRateLimiter

    return RedisRateLimiter(
        redis_client(),
        requests_per_minute=cfg.model_requests_per_minute,
        tokens_per_minute=cfg.model_tokens_per_minute,
        high_reserve=cfg.high_priority_reserve,
    )


@cache
def budget() -> TokenBudget:
    cfg = settings(LimitSettings)
    from flowgen.adapters.redis_limits import RedisTokenBudget

    return RedisTokenBudget(redis_client(), user_daily=cfg.user_daily_token_budget, per_course=cfg.course_token_budget)


@cache
def videos() -> VideoSearch:
    cfg = settings(VideoSettings)
    api_key = resolve_secret(cfg.youtube_api_key, cfg.youtube_api_key_secret)
    if not api_key:
        return NoVideos()
    from flowgen.adapters.youtube import YouTubeSearch

    return YouTubeSearch(api_key, base_url=cfg.youtube_base_url)


def course_service() -> CourseService:
    return CourseService(store(), scheduler(), settings(ApiSettings).policy())


def generator(kind: type[CourseWorkerSettings] | type[LessonWorkerSettings]) -> Generator:
    with_videos = issubclass(kind, LessonWorkerSettings)
    return Generator(
        store(),
        scheduler(),
        model(),
        settings(kind).policy(),
        utcnow,
        limiter=limiter(),
        budget=budget(),
        videos=videos() if with_videos else NoVideos(),
    )


def reset() -> None:
    for factory in (settings, store, redis_client, sqs_client, scheduler, model, limiter, budget, videos):
        factory.cache_clear()
