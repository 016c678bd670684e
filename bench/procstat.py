"""Shared by the benchmarks: CPU accounting from /proc and a database of their own."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def database_recreate(server_url: str, database: str) -> str:
    """Drop and create `database` on the server of `server_url`; returns its URL."""
    parts = urlsplit(server_url)
    if parts.hostname not in ("127.0.0.1", "localhost"):
        raise SystemExit(f"only a local PostgreSQL is used, not {parts.hostname}")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    return urlunsplit(parts._replace(path=f"/{database}"))


# --- CPU accounting from /proc -------------------------------------------------------------------------


def _stat_fields(path: str) -> list[str] | None:
    try:
        with open(path) as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def process_cpu_s(pid: int, tid: int | None = None) -> float:
    """User + system CPU seconds of a process (or one of its threads); 0 if gone."""
    fields = _stat_fields(f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat")
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS if fields else 0.0


def thread_cpu_s(pid: int) -> dict[int, float]:
    with contextlib.suppress(OSError):
        return {int(tid): process_cpu_s(pid, int(tid)) for tid in os.listdir(f"/proc/{pid}/task")}
    return {}


def group_pids(pgid: int) -> list[int]:
    """Processes of a process group: a Celery worker's parent and its pool children."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat_fields(f"/proc/{entry}/stat")) and int(fields[2]) == pgid:
            pids.append(int(entry))
    return pids


def runqueue_wait_s(pid: int) -> dict[int, float]:
    """Per thread, seconds spent runnable but waiting for a CPU (/proc schedstat)."""
    waits = {}
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError, IndexError):
                waits[int(tid)] = int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[1]) / 1e9
    return waits


def pids_named(name: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{entry}/comm").read_text().strip() == name:
                    pids.append(int(entry))
    return pids


def machine_busy_s() -> tuple[float, float]:
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / CLOCK_TICKS, sum(values) / CLOCK_TICKS


def postgres_pids(database_url: str) -> list[int]:
    """Backends of the bench database and the shared writers, not other databases' clients."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND (datname = current_database()"
            " OR backend_type IN ('walwriter', 'checkpointer', 'background writer'))"
        ).fetchall()
    return [pid for (pid,) in rows]
