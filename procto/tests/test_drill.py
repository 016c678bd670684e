"""The fault drill's short form (bench/drill.py, docs/RELIABILITY.md): the production shape
(nginx, two daphne, two workers) on this machine's PostgreSQL and Redis, a dozen students and
their proctor, one fault of each kind. It restarts the machine's Redis and PostgreSQL with the
commands CI starts them with (PROCTO_DRILL_REDIS_RESTART / PROCTO_DRILL_POSTGRES_RESTART
replace them, for servers of one's own)."""

from __future__ import annotations

import json
import os
import subprocess
from urllib.parse import urlsplit

import pytest

from procto.tests.live_servers import PYTHON, REPO_ROOT, child_env

pytestmark = [pytest.mark.slow, pytest.mark.needs_postgres, pytest.mark.needs_redis]

FAULTS = ("daphne", "worker", "redis", "postgres")


def drill_command(result: str) -> list[str]:
    redis_url = urlsplit(os.environ["REDIS_URL"])
    database = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/")
    command = [
        PYTHON, "bench/drill.py",
        "--students", "12", "--faults", ",".join(FAULTS),
        "--duration", "6", "--warm-up", "3", "--settle", "2", "--settle-max", "60",
        # A killed worker's task comes back after this (production: 120 s).
        "--visibility-timeout", "5",
        "--database", f"drill_{database}",
        # The test's own Redis database: the drill empties it and runs its queues there.
        "--redis-server", f"{redis_url.scheme}://{redis_url.netloc}",
        "--redis-db", redis_url.path.lstrip("/") or "0", "--flush-redis",
        "--json", result,
    ]  # fmt: skip
    for option, variable in (
        ("--redis-restart", "PROCTO_DRILL_REDIS_RESTART"),
        ("--postgres-restart", "PROCTO_DRILL_POSTGRES_RESTART"),
    ):
        if os.environ.get(variable):
            command += [option, os.environ[variable]]
    return command


@pytest.mark.timeout(420)
def test_fault_drill_loses_no_answer_duplicates_nothing_and_misses_no_alert(tmp_path):
    result = tmp_path / "drill.json"
    run = subprocess.run(
        drill_command(str(result)),
        cwd=REPO_ROOT,
        env=child_env(LOG_LEVEL=None),
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert result.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    rows = {row["fault"]: row for row in json.loads(result.read_text())["rows"]}
    assert set(rows) == {"none", *FAULTS}
    for fault, row in rows.items():
        whole = json.dumps(row)  # pytest would cut the row short, and its close codes say why
        assert row["answers_acked"] > 0, whole
        assert row["answers_lost"] == 0, (fault, row["lost_answer_examples"])
        assert row["events_lost"] == 0, whole
        assert row["duplicate_events"] == 0, whole
        assert row["tasks_handled_twice"] == 0, whole
        assert row["alerts_missing"] == 0, (fault, row["missing_alert_ids"])
        assert row["monitor_caught_up"], whole
        assert row["stream_not_back"] == 0, whole
    assert sum(row["events_stored"] for row in rows.values()) > 0, "no alert happened to be lost"
    # Half the students were on the killed daphne: each came back through the other within 5 s.
    daphne = rows["daphne"]
    assert daphne["stream_drops"] > 0 and daphne["stream_reconnects"] >= daphne["stream_drops"]
    assert daphne["reconnect_p95_ms"] is not None and daphne["reconnect_p95_ms"] <= 5000, daphne
    # The killed worker was running a task: it was delivered again and handled once.
    worker = rows["worker"]["fault_notes"]
    assert worker["in_flight"] >= 1 and worker["handled"] == worker["in_flight"], worker
    assert all(row["passed"] for row in rows.values()), run.stdout[-3000:]
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
