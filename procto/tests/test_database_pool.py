"""The connection pool after PostgreSQL dropped its connections, as a restart (or a failover, or
an idle timeout on the server) does: the next request gets a working connection, not a 500.

Run in a process of its own, as a daphne node is: the test process's pool is shared by every
test's threads, and ending its backends would be about them, not about this."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from django.db import connection

from procto.tests.live_servers import PYTHON, REPO_ROOT, child_env

pytestmark = [pytest.mark.needs_postgres, pytest.mark.slow]

A_NODE_AFTER_A_RESTART = """
import json, django
django.setup()
import psycopg
from django.conf import settings
from django.db import connection
from accounts.models import User

assert connection.settings_dict["OPTIONS"].get("pool"), "the pool is what this is about"
User.objects.count()
pid = connection.connection.info.backend_pid
connection.close()  # back into the pool, as at the end of every request
db = settings.DATABASES["default"]
server = {"host": db["HOST"], "port": db["PORT"], "user": db["USER"], "password": db["PASSWORD"]}
with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
    ended = admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
# The next request's first query: a dead connection handed out by the pool would fail it.
count = User.objects.count()
print(json.dumps({"ended": ended, "count": count, "new_pid": connection.connection.info.backend_pid != pid}))
"""


@pytest.mark.django_db(transaction=True)
def test_a_query_after_the_server_dropped_the_pools_connections_succeeds(tmp_path):
    database_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{connection.settings_dict['NAME']}"
    result = subprocess.run(
        [PYTHON, "-c", A_NODE_AFTER_A_RESTART],
        cwd=REPO_ROOT,
        env=child_env(DATABASE_URL=database_url, PROCTO_LOCAL_DIR=str(tmp_path), LOG_LEVEL="WARNING"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {"ended": True, "count": 0, "new_pid": True}
