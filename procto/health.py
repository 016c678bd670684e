"""/healthz: is every backing service of this process reachable right now?"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from procto.celery import app as celery_app
from procto.tasks import BEAT_HEARTBEAT_KEY

logger = logging.getLogger(__name__)
CHECK_TIMEOUT_SECONDS = 2.0


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def check_cache() -> str:
    key = "procto:healthz:probe"
    token = str(time.monotonic_ns())
    cache.set(key, token, timeout=10)
    if cache.get(key) != token:
        raise RuntimeError("value written to the cache did not read back")
    return type(caches["default"]).__name__


def check_channel_layer() -> str:
    layer = get_channel_layer()

    async def round_trip() -> None:
        channel = await layer.new_channel("healthz.")
        await layer.send(channel, {"type": "healthz.probe"})
        message = await asyncio.wait_for(layer.receive(channel), CHECK_TIMEOUT_SECONDS)
        if message.get("type") != "healthz.probe":
            raise RuntimeError("channel layer returned a different message")

    async_to_sync(round_trip)()
    return type(layer).__name__


def check_broker() -> str:
    if celery_app.conf.task_always_eager:
        return "eager (tasks run in-process)"
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_SECONDS)
    return celery_app.conf.broker_url.split(":", 1)[0]


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "cache": check_cache,
    "channel_layer": check_channel_layer,
    "broker": check_broker,
}


def run_checks(*, with_errors: bool) -> dict[str, dict]:
    results = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            detail = check()
        except Exception as exc:  # any failure of a backing service is reported, never raised
            logger.warning("health check %s failed: %s", name, exc)
            results[name] = {"status": "down"}
            if with_errors:  # error texts name internal hosts: only for staff and dev
                results[name]["error"] = f"{type(exc).__name__}: {exc}"
        else:
            results[name] = {"status": "up", "backend": detail}
        results[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return results


@never_cache
@require_GET
def healthz(request):
    checks = run_checks(with_errors=settings.DEBUG or request.user.is_staff)
    down = [name for name, result in checks.items() if result["status"] != "up"]
    body = {
        "status": "down" if down else "ok",
        "down": down,
        "mode": "services" if settings.SERVICES_MODE else "embedded",
        "checks": checks,
    }
    if not down:
        body["beatLastSeen"] = cache.get(BEAT_HEARTBEAT_KEY)
    return JsonResponse(body, status=503 if down else 200)
