"""Per-session stream statistics kept in the cache: what arrived, when, and the latest picture."""

from __future__ import annotations

from django.core.cache import cache

STATS_SECONDS = 6 * 3600


def stream_stats_key(session_id, name: str) -> str:
    return f"stream:{session_id}:{name}"


def stream_stats(session_id) -> dict:
    names = [f"{kind}:{field}" for kind in ("frame", "audio") for field in ("last_seq", "count", "last_at")]
    values = cache.get_many([stream_stats_key(session_id, n) for n in names])
    return {n: values.get(stream_stats_key(session_id, n)) for n in names}
