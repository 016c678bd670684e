"""Batched cache operations give the same results as one call at a time, with or without Redis."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from procto.cache_batch import CacheBatch, newer_key


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
    CacheBatch().get("batch:a").set("batch:b", 1, 60).incr("batch:c", 1, 60).set_newer(
        "batch:d", 1, 60, 1
    ).apply()
    assert sent == [5]  # get, set, incrby, expire, the newer-seq script: one pipeline


def test_a_write_of_an_older_seq_never_undoes_a_newer_one():
    batch = CacheBatch()
    assert batch.set_newer("batch:scene", {"seq": 5}, 60, seq=5).apply() == {"batch:scene": True}
    # Written late by a worker that read the cache before seq 5 was there.
    assert CacheBatch().set_newer("batch:scene", {"seq": 4}, 60, seq=4).apply() == {"batch:scene": False}
    assert (
        CacheBatch().set_newer("batch:scene", {"seq": 5, "again": 1}, 60, seq=5).apply()["batch:scene"]
        is False
    )
    assert cache.get("batch:scene") == {"seq": 5}
    results = CacheBatch().set_newer("batch:scene", {"seq": 6}, 60, seq=6).get("batch:scene").apply()
    assert results == {"batch:scene": {"seq": 6}}  # the get's value, read after the write
    assert cache.get(newer_key("batch:scene")) == 6


async def test_the_async_batch_writes_only_newer_seqs_too():
    await CacheBatch().set_newer("batch:async:scene", "new", 60, seq=9).apply_async()
    assert (await CacheBatch().set_newer("batch:async:scene", "old", 60, seq=8).apply_async()) == {
        "batch:async:scene": False
    }
    assert cache.get("batch:async:scene") == "new"


@pytest.mark.needs_redis
def test_a_newer_write_expires_with_its_seq():
    CacheBatch().set_newer("batch:short-scene", "x", 0.2, seq=3).apply()
    time.sleep(0.4)  # Redis's own expiry: a fake clock does not move Redis's time
    assert cache.get("batch:short-scene") is None and cache.get(newer_key("batch:short-scene")) is None
    assert CacheBatch().set_newer("batch:short-scene", "y", 60, seq=1).apply()["batch:short-scene"] is True


def test_newer_writes_without_expiry_and_with_none_store_nothing_or_refuse_what_redis_cannot_compare():
    assert CacheBatch().set_newer("batch:forever", "x", None, seq=1).apply() == {"batch:forever": True}
    assert cache.get("batch:forever") == "x"
    assert CacheBatch().set_newer("batch:gone", "x", 0, seq=1).apply() == {}  # as cache.set(..., 0)
    assert cache.get("batch:gone") is None
    for seq in (2**53 + 1, -(2**53) - 1):
        with pytest.raises(ValueError):
            CacheBatch().set_newer("batch:far", "x", 60, seq=seq)
    with pytest.raises(TypeError):
        CacheBatch().set_newer("batch:far", "x", 60, seq=2.5)
    cache.set(newer_key("batch:odd"), "not a number", 60)  # written by something else
    assert CacheBatch().set_newer("batch:odd", "x", 60, seq=1).apply() == {"batch:odd": True}


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
