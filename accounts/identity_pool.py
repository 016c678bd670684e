"""Identity analysis outside the web process: a few worker processes and a bound on the checks in flight.

Re-encoding a 24 MP photo and taking its face embedding costs one to two seconds of CPU and
some 250 MB of decoded pixels. Run inside daphne, each check held the GIL for stretches that
every other request in the process waited on, and nothing bounded how many ran at once: four
at a time raised a cheap request's p95 from ~20 ms to ~250 ms and daphne's peak memory to
2.1 GB (docs/BENCHMARKS.md, bench/identity_concurrency.py). Here the work goes to
`IDENTITY_WORKERS` spawned processes (started on first use, models loaded once each, at lower
CPU priority), and at most `IDENTITY_WORKERS + IDENTITY_QUEUE` checks are in flight: the next
one is refused at once with 503 `BUSY` and Retry-After, holding neither memory nor a thread.
The request's own thread waits for the result (Django runs each request's sync code in a
thread of its own under ASGI), so the API stays a plain request and answer.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from django.conf import settings

from accounts.errors import IdentityBusy
from accounts.identity_analysis import worker_start

logger = logging.getLogger(__name__)

T = TypeVar("T")
# Long enough for a full queue of the largest photos ahead of this one on a busy machine.
RESULT_TIMEOUT_S = 60

_lock = threading.Lock()
_executor: ProcessPoolExecutor | None = None
_slots: threading.BoundedSemaphore | None = None


def _pool() -> tuple[ProcessPoolExecutor, threading.BoundedSemaphore]:
    global _executor, _slots
    with _lock:
        if _slots is None:
            _slots = threading.BoundedSemaphore(settings.IDENTITY_WORKERS + settings.IDENTITY_QUEUE)
        if _executor is None:
            # Spawned, not forked: a fork of daphne would copy its threads' locks mid-use.
            _executor = ProcessPoolExecutor(
                max_workers=settings.IDENTITY_WORKERS,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=worker_start,
            )
        return _executor, _slots


def _discard(executor: ProcessPoolExecutor) -> None:
    """A worker died (a crash in a decoder, the OOM killer): the next check starts a new pool."""
    global _executor
    with _lock:
        if _executor is executor:
            _executor = None
    executor.shutdown(wait=False, cancel_futures=True)


def identity_pool_run(function: Callable[..., T], *args) -> T:
    """`function(*args)` in a worker process, waited for. Raises IdentityBusy when the pool is
    full, a worker died or the answer took over RESULT_TIMEOUT_S; `function` must be importable
    without Django (accounts.identity_analysis)."""
    executor, slots = _pool()
    if not slots.acquire(blocking=False):
        in_flight = settings.IDENTITY_WORKERS + settings.IDENTITY_QUEUE
        logger.warning("identity check refused: %s checks already in flight", in_flight)
        raise IdentityBusy()
    try:
        future = executor.submit(function, *args)
        try:
            return future.result(timeout=RESULT_TIMEOUT_S)
        except FutureTimeout:
            future.cancel()
            logger.error("identity check took over %s s; given up", RESULT_TIMEOUT_S)
            raise IdentityBusy() from None
    except BrokenProcessPool as exc:
        logger.exception("identity worker process died; starting a new pool")
        _discard(executor)
        raise IdentityBusy() from exc
    finally:
        slots.release()
