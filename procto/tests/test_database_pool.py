"""The connection pool after PostgreSQL dropped its connections, as a restart (or a failover, or
an idle timeout on the server) does: the next request gets a working connection, not a 500."""

from __future__ import annotations

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from accounts.models import User

pytestmark = [pytest.mark.needs_postgres]


def server_drops_connections_to(database: str) -> int:
    """What a restart does to the pool: every backend of `database` ends; returns how many."""
    db = settings.DATABASES["default"]
    server = {"host": db["HOST"], "port": db["PORT"], "user": db["USER"], "password": db["PASSWORD"]}
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        ).fetchall()
    return len(rows)


@pytest.mark.django_db(transaction=True)
def test_a_query_after_the_server_dropped_the_pools_connections_succeeds():
    assert connection.settings_dict["OPTIONS"].get("pool"), "the pool is what this is about"
    User.objects.count()
    connection.close()  # back into the pool, as at the end of every request
    assert server_drops_connections_to(connection.settings_dict["NAME"]) >= 1
    # The next request's first query: a dead connection handed out by the pool would fail it.
    assert User.objects.count() >= 0
