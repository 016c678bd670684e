"""Database work of sockets, off the process's one thread for synchronous code.

Channels runs a consumer's `database_sync_to_async` calls on asgiref's single process-wide
thread: HTTP requests each get a thread of their own (Django's handler opens a
ThreadSensitiveContext per request), sockets do not. With a class on one node, that thread took
every socket's handshake queries, one after the other and interleaved, so when a web node died
and ~100 students reconnected to the other at once, their handshakes advanced in lockstep and
finished together 10 s later (bench/drill.py's daphne fault, docs/RELIABILITY.md).

`off_thread` runs the call on the event loop's thread pool instead (a handful of threads: that
also bounds how many pooled connections the sockets take at once), closing the thread's
connection around it as channels' wrapper does, so it goes back to the pool.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections

P = ParamSpec("P")
R = TypeVar("R")


class off_thread:  # lower case: used as a decorator, as channels' database_sync_to_async
    """`@off_thread` or `off_thread(function)`: awaitable, run on the loop's thread pool.
    `.func` is the plain function (tests call it inside their own transaction)."""

    def __init__(self, function: Callable[P, R]) -> None:
        self.func = function

        def closing(*args: P.args, **kwargs: P.kwargs) -> R:
            close_old_connections()
            try:
                return function(*args, **kwargs)
            finally:
                close_old_connections()

        self._call = sync_to_async(closing, thread_sensitive=False)
        functools.update_wrapper(self, function)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Awaitable[R]:
        return self._call(*args, **kwargs)
