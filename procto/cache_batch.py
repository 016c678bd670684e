"""Several cache reads and writes in one round trip to Redis.

The analysis worker and the stream socket do a dozen small cache operations per frame; one at a
time they cost a quarter of a frame task (docs/BENCHMARKS.md). A `CacheBatch` collects them and
sends them as one Redis pipeline (not a transaction: each command stands alone, as it did when
they were sent one by one). Without Redis (embedded mode, tests) it falls back to the cache's
own calls, with the same results.

`apply_async()` sends the same pipeline from an event loop without a thread: the stream socket's
per-message bookkeeping then costs the loop one Redis round trip and no hop to a thread pool
(issue 15: on daphne the hop and the blocking client were most of a frame's intake). It speaks
to the same Redis with the same keys and encoding as django-redis, through redis-py's asyncio
client (one pool per event loop). Without Redis it runs the cache's own calls, which are
in-memory there and do not block.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches

try:
    from django_redis.cache import RedisCache
except ImportError:  # pragma: no cover - django-redis is a requirement
    RedisCache = None


class CacheBatch:
    """Queue `get`, `set` and `incr`; `apply()` runs them in order and returns the results."""

    def __init__(self) -> None:
        self._ops: list[tuple[str, str, Any, float | None]] = []

    def get(self, key: str) -> CacheBatch:
        self._ops.append(("get", key, None, None))
        return self

    def set(self, key: str, value: Any, timeout: float | None) -> CacheBatch:
        self._ops.append(("set", key, value, timeout))
        return self

    def incr(self, key: str, delta: int = 1, timeout: float | None = None) -> CacheBatch:
        """Add `delta`, starting from 0 when the key is missing; `timeout` applies to a new key."""
        self._ops.append(("incr", key, delta, timeout))
        return self

    def __len__(self) -> int:
        return len(self._ops)

    def apply(self) -> dict[str, Any]:
        """Run the queued operations; returns {key: value} for each get and incr."""
        ops, self._ops = self._ops, []
        if not ops:
            return {}
        backend = caches["default"]  # `cache` is a proxy to it, never a RedisCache itself
        if RedisCache is not None and isinstance(backend, RedisCache):
            return _apply_redis(backend, ops)
        return _apply_one_by_one(ops)

    async def apply_async(self) -> dict[str, Any]:
        """`apply()` from an event loop: one Redis round trip, no thread."""
        ops, self._ops = self._ops, []
        if not ops:
            return {}
        backend = caches["default"]
        if RedisCache is not None and isinstance(backend, RedisCache):
            client = backend.client
            pipe = _async_redis().pipeline(transaction=False)
            _queue(pipe, client, ops)
            return _results(client, ops, await pipe.execute())
        return _apply_one_by_one(ops)


def _apply_redis(backend, ops: list) -> dict[str, Any]:
    client = backend.client
    pipe = client.get_client(write=True).pipeline(transaction=False)
    _queue(pipe, client, ops)
    return _results(client, ops, pipe.execute())


def _queue(pipe, client, ops: list) -> None:
    for op, key, value, timeout in ops:
        redis_key = client.make_key(key)
        if op == "get":
            pipe.get(redis_key)
        elif op == "set":
            pipe.set(redis_key, client.encode(value), px=None if timeout is None else int(timeout * 1000))
        else:
            pipe.incrby(redis_key, value)
            if timeout is not None:
                # NX: only a key without an expiry (just created) gets one; a live counter keeps its own.
                pipe.expire(redis_key, int(timeout), nx=True)


def _results(client, ops: list, replies: list) -> dict[str, Any]:
    replies = iter(replies)
    results: dict[str, Any] = {}
    for op, key, _value, timeout in ops:
        reply = next(replies)
        if op == "get":
            results[key] = None if reply is None else client.decode(reply)
        elif op == "incr":
            results[key] = int(reply)
            if timeout is not None:
                next(replies)
    return results


# One asyncio client per event loop: a pool's connections belong to the loop that opened them.
_async_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _async_redis():
    import redis.asyncio

    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        config = settings.CACHES["default"]
        location = config["LOCATION"]
        options = config.get("OPTIONS", {})
        client = redis.asyncio.Redis.from_url(
            location[0] if isinstance(location, list | tuple) else location,
            socket_connect_timeout=options.get("SOCKET_CONNECT_TIMEOUT"),
            socket_timeout=options.get("SOCKET_TIMEOUT"),
            max_connections=2000,
        )
        _async_clients[loop] = client
    return client


def _apply_one_by_one(ops: list) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for op, key, value, timeout in ops:
        if op == "get":
            results[key] = cache.get(key)
        elif op == "set":
            cache.set(key, value, timeout)
        else:
            cache.add(key, 0, timeout)
            results[key] = cache.incr(key, value)
    return results
