"""DedupeLock on Redis: SET NX EX in one pipelined round trip."""

from __future__ import annotations

from collections.abc import Sequence

import redis

from flowgen.errors import DedupeUnavailable


class RedisDedupeLock:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def acquire_many(self, keys: Sequence[str], ttl_seconds: int) -> list[bool]:
        try:
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.set(key, "1", nx=True, ex=ttl_seconds)
            return [bool(ok) for ok in pipe.execute()]
        except redis.RedisError as exc:
            raise DedupeUnavailable(str(exc)) from exc

    def release_many(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        try:
            self.client.delete(*keys)
        except redis.RedisError as exc:
            raise DedupeUnavailable(str(exc)) from exc
