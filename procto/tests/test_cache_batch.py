"""Batched cache operations give the same results as one call at a time, with or without Redis."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from procto.cache_batch import CacheBatch


def test_gets_sets_and_counters_in_one_batch():
    cache.set("batch:old", {"a": 1}, 60)
    results = (
        CacheBatch()
        .get("batch:old")
        .get("batch:missing")
        .set("batch:new", [1, 2], 60)
        .incr("batch:count", 1, 60)
        .incr("batch:count", 2, 60)
        .get("batch:new")
        .apply()
    )
    assert results["batch:old"] == {"a": 1}
    assert results["batch:missing"] is None
    assert results["batch:new"] == [1, 2]
    assert results["batch:count"] == 3
    assert cache.get("batch:count") == 3  # a counter made by the batch reads as an int
    assert cache.incr("batch:count") == 4  # and the cache's own incr goes on from it


def test_a_counter_may_go_down_and_keeps_working_with_the_cache_api():
    cache.set("batch:pending", 2, 60)
    assert CacheBatch().incr("batch:pending", -1, 60).apply()["batch:pending"] == 1
    assert cache.get("batch:pending") == 1


@pytest.mark.needs_redis
def test_timeouts_apply_to_new_keys_and_do_not_renew_live_counters():
    CacheBatch().set("batch:short", 1, 1).incr("batch:counter", 1, 1).apply()
    CacheBatch().incr("batch:counter", 1, 60).apply()  # NX: the 1 s expiry stays
    # A real wait: Redis's own expiry of what the batch sent is the point, and a fake clock
    # does not move Redis's time.
    time.sleep(1.2)
    assert cache.get("batch:short") is None
    assert cache.get("batch:counter") is None


@pytest.mark.needs_redis
def test_with_redis_the_batch_is_one_round_trip(monkeypatch):
    from django.core.cache import caches

    sent = []
    pipeline_class = type(caches["default"].client.get_client(write=True).pipeline())
    original = pipeline_class.execute

    def execute(self, *args, **kwargs):
        sent.append(len(self.command_stack))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pipeline_class, "execute", execute)
    CacheBatch().get("batch:a").set("batch:b", 1, 60).incr("batch:c", 1, 60).apply()
    assert sent == [4]  # get, set, incrby, expire: one pipeline


async def test_the_async_batch_reads_and_writes_what_the_cache_api_does():
    """The stream socket's bookkeeping from the event loop: the same keys and encoding as the
    cache's own calls, which the worker and the pages read them with (Redis in services mode,
    the in-memory cache in embedded mode)."""
    cache.set("batch:async:old", {"seen": True}, 60)
    results = await (
        CacheBatch()
        .get("batch:async:old")
        .set("batch:async:jpeg", b"\xff\xd8 thumbnail", 60)
        .set("batch:async:seq", 7, 60)
        .incr("batch:async:pending", 1, 60)
        .incr("batch:async:pending", 1, 60)
        .get("batch:async:missing")
        .apply_async()
    )
    assert results == {
        "batch:async:old": {"seen": True},
        "batch:async:pending": 2,
        "batch:async:missing": None,
    }
    assert cache.get("batch:async:jpeg") == b"\xff\xd8 thumbnail"
    assert cache.get("batch:async:seq") == 7
    assert cache.incr("batch:async:pending") == 3


@pytest.mark.needs_redis
async def test_the_async_batch_sets_expiries_in_redis_as_the_cache_does():
    await CacheBatch().set("batch:async:short", 1, 30).incr("batch:async:count", 1, 60).apply_async()
    assert 0 < cache.ttl("batch:async:short") <= 30
    assert 0 < cache.ttl("batch:async:count") <= 60
