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
import operator
import threading
import weakref
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches

try:
    from django_redis.cache import RedisCache
except ImportError:  # pragma: no cover - django-redis is a requirement
    RedisCache = None


class CacheBatch:
    """Queue `get`, `set`, `set_newer` and `incr`; `apply()` runs them in order and returns the
    results (whether it was set, for `set_newer`)."""

    def __init__(self) -> None:
        self._ops: list[tuple[str, str, Any, float | None]] = []

    def get(self, key: str) -> CacheBatch:
        self._ops.append(("get", key, None, None))
        return self

    def set(self, key: str, value: Any, timeout: float | None) -> CacheBatch:
        self._ops.append(("set", key, value, timeout))
        return self

    def set_newer(self, key: str, value: Any, timeout: float | None, seq: int) -> CacheBatch:
        """Set `key` only if no later `seq` was set there first (`newer_key(key)` keeps the
        last one): of two workers writing a student's frames out of order, the older frame's
        write cannot undo the newer one's. Atomic in Redis (one Lua script in the pipeline).

        `seq` is an integer within 2^53 (Redis's scripts compare doubles; frame numbers are
        32-bit). A timeout of 0 or less is not sent at all: nothing is stored, what is there is
        left as it is, and `apply()` has no entry for it.
        """
        seq = operator.index(seq)
        if abs(seq) > MAX_NEWER_SEQ:
            raise ValueError(f"seq {seq} is beyond 2^53")
        if timeout is None or timeout > 0:
            self._ops.append(("set_newer", key, (value, seq), timeout))
        return self

    def incr(self, key: str, delta: int = 1, timeout: float | None = None) -> CacheBatch:
        """Add `delta`, starting from 0 when the key is missing; `timeout` applies to a new key."""
        self._ops.append(("incr", key, delta, timeout))
        return self

    def __len__(self) -> int:
        return len(self._ops)

    def apply(self) -> dict[str, Any]:
        """Run the queued operations; returns {key: value} for each get and incr, {key: set?}
        for each set_newer."""
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


# Lua numbers are doubles: integers beyond this would compare wrongly in the script.
MAX_NEWER_SEQ = 2**53


def newer_key(key: str) -> str:
    """Where `CacheBatch.set_newer` keeps the seq last set at `key` (a plain integer)."""
    return f"{key}:newer-seq"


# KEYS: the value's key, its seq's key; ARGV: the encoded value, its seq, the expiry in ms (0:
# none). Returns 1 if set, 0 if a seq as late or later was there.
_SET_NEWER = """
local newest = tonumber(redis.call('GET', KEYS[2]))
if newest and newest >= tonumber(ARGV[2]) then return 0 end
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('SET', KEYS[2], ARGV[2])
end
return 1
"""


def _queue(pipe, client, ops: list) -> None:
    for op, key, value, timeout in ops:
        redis_key = client.make_key(key)
        if op == "get":
            pipe.get(redis_key)
        elif op == "set":
            pipe.set(redis_key, client.encode(value), px=None if timeout is None else int(timeout * 1000))
        elif op == "set_newer":
            value, seq = value
            px = 0 if timeout is None else max(1, int(timeout * 1000))
            seq_key = client.make_key(newer_key(key))
            pipe.eval(_SET_NEWER, 2, redis_key, seq_key, client.encode(value), seq, px)
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
        elif op == "set_newer":
            results[key] = bool(reply)
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


_NEWER_LOCK = threading.Lock()


def _apply_one_by_one(ops: list) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for op, key, value, timeout in ops:
        if op == "get":
            results[key] = cache.get(key)
        elif op == "set":
            cache.set(key, value, timeout)
        elif op == "set_newer":
            # Without Redis the cache is this process's own (LocMemCache, embedded mode), where
            # the analysis runs in threads: a process-wide lock makes the check and the write one.
            value, seq = value
            with _NEWER_LOCK:
                newest = cache.get(newer_key(key))
                results[key] = not isinstance(newest, int) or newest < seq
                if results[key]:
                    cache.set(key, value, timeout)
                    cache.set(newer_key(key), seq, timeout)
        else:
            cache.add(key, 0, timeout)
            results[key] = cache.incr(key, value)
    return results
