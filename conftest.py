"""Suite-wide set-up: real services when their variables are set, clear skips when not."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["procto.tests.browser"]

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
                item.add_marker(pytest.mark.skip(reason=f"needs {variable}; set it to run (.ci/run does)"))


@pytest.fixture(scope="session", autouse=True)
def _close_database_pools_before_teardown(django_db_setup, django_db_blocker):
    # Pooled PostgreSQL connections (one pool per thread that touched the DB, e.g. async tests)
    # stay open after the tests; the test database can only be dropped once they are closed.
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        for connection in connections.all():
            if connection.settings_dict.get("OPTIONS", {}).get("pool"):
                connection.close_pool()


# --- personas -------------------------------------------------------------------------------------

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(request, settings):
    # Argon2 is deliberately slow; tests that check hashing itself opt out with `real_hashers`.
    if "real_hashers" not in request.keywords:
        settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(autouse=True)
def _isolated_cache():
    # Throttle counters and tickets live in the cache; each test starts from a clean slate.
    from django.core.cache import cache

    # Only Procto's own keys: a FLUSHDB would also wipe the channel layer and Celery queues.
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
        # Tasks queued by an earlier test (no worker was running) must not reach a later test's
        # worker, where their sessions no longer exist.
        from procto.celery import app

        app.control.purge()
    else:
        cache.clear()
    yield


@pytest.fixture
def student(db):
    from accounts.tests.factories import UserFactory

    return UserFactory(email="student@school.example", first_name="Stu", role="student")


@pytest.fixture
def other_student(db):
    from accounts.tests.factories import UserFactory

    return UserFactory(email="other.student@school.example", first_name="Otto", role="student")


@pytest.fixture
def teacher(db):
    from accounts.tests.factories import UserFactory

    return UserFactory(email="teacher@school.example", role="teacher", is_staff=True)


@pytest.fixture
def proctor(db):
    from accounts.tests.factories import UserFactory

    return UserFactory(email="proctor@school.example", role="proctor")


@pytest.fixture
def admin_user(db):
    from accounts.tests.factories import UserFactory

    return UserFactory(email="admin@school.example", role="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    return APIClient()
