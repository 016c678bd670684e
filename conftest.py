"""Suite-wide set-up: real services when their variables are set, clear skips when not."""

from __future__ import annotations

import os

import pytest

SERVICE_MARKERS = {
    "needs_postgres": "DATABASE_URL",
    "needs_redis": "REDIS_URL",
}


def _unreachable(variable: str) -> str | None:
    """Why the service named by `variable` cannot be used, or None when it answers."""
    url = os.environ[variable]
    try:
        if variable == "REDIS_URL":
            import redis

            redis.Redis.from_url(url, socket_connect_timeout=3).ping()
        else:
            import psycopg

            psycopg.connect(url, connect_timeout=3).close()
    except Exception as exc:  # any failure to connect ends the run below
        return f"{type(exc).__name__}: {exc}"
    return None


def pytest_configure(config: pytest.Config) -> None:
    # A run that was given a service must test against it: an unreachable one ends the run
    # loudly instead of letting its tests skip and the suite pass without them.
    for variable in SERVICE_MARKERS.values():
        if os.environ.get(variable):
            problem = _unreachable(variable)
            if problem:
                pytest.exit(f"{variable} is set but unreachable ({problem})", returncode=3)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for marker, variable in SERVICE_MARKERS.items():
            if marker in item.keywords and not os.environ.get(variable):
                item.add_marker(
                    pytest.mark.skip(reason=f"needs {variable}; set it to run (.ci/run does)")
                )
