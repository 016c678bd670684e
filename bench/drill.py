"""Fault drill: the production shape under a class of students, one failure at a time.

Debian's nginx (TLS, least_conn) in front of two daphne nodes and two solo Celery workers, on
the machine's PostgreSQL and Redis (procto/tests/cluster.py runs deploy/nginx.conf and the
compose file's commands on loopback ports, DJANGO_DEBUG=0). N students of a medium-security exam
(a frame every 5 s, 1 s of microphone audio every second, an answer change every few seconds,
an occasional browser event), a share of them with two real faces on camera so that alerts
happen, and the exam's proctor on the live monitor, all through nginx over https and wss
(bench/drill_clients.py: they recover from failures as their pages do). For each fault, a phase:
steady load, the fault, load going on, recovery (the killed node restarted), settling, then
the measurements:

- acknowledged answers lost: a save the server answered 200 whose answer (or a later one of the
  same student and question) is not in the database;
- acknowledged events lost: the same for browser events (`event-ack` or log-event's 201);
- duplicate events: stored twice for one browser number, one analysis key, or one condition
  episode of a student (two events of the same type overlapping in time); and analysis tasks
  that completed more than once (workers' logs);
- alerts missing on the monitor: events stored for the exam that the monitor had not been sent
  live or in a `since` catch-up;
- reconnect time: from a socket's drop to its new socket's `welcome` (student) or first
  catch-up (monitor); p95 and max, a socket not back counts as infinite;
- 5xx: answers the clients got, and the lines of nginx's access log.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres   # only the server is used
    .venv/bin/python bench/drill.py                                    # 200 students, every fault
    .venv/bin/python bench/drill.py --students 20 --faults daphne,worker --visibility-timeout 10

The database is `--database` (drill_procto), dropped, recreated and migrated on each run; Redis
database `--redis-db` (8) is emptied on each run, refused if it holds keys the drill did not
write. The redis and postgres faults restart the machine's servers with the commands CI uses
(`--redis-restart`, `--postgres-restart`), which every other user of them notices. Exits 1 when
a target is missed. See docs/RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import psycopg
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.drill_clients import (
    Drill,
    Media,
    Monitor,
    PhaseStats,
    Student,
    media_run,
    monitor_catch_up,
    monitor_run,
    saving_run,
    stream_run,
    typing_run,
)
from bench.procstat import (
    database_recreate,
    group_pids,
    machine_busy_s,
    pids_named,
    postgres_pids,
    process_cpu_s,
)
from procto.tests.cluster import Cluster, cluster_running

FAULTS = ("daphne", "worker", "redis", "postgres")
REDIS_MARKER = "procto-drill"  # written into the drill's Redis database: it is the drill's to empty
REDIS_RESTART = (
    "redis-cli -p 6379 shutdown nosave; "
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no '
    "--dir /var/lib/redis --logfile /var/log/redis/ci.log"
)
POSTGRES_RESTART = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main restart"
# A medium-security exam: onset of multiple-faces 4 s, release 8 s, a frame every 5 s. Two frames
# of two faces open an event; three of one face (15 s) close it before the next pair.
ALERT_CYCLE = ("two", "two", "one", "one", "one")
CONNECT_AT_ONCE = 25
RECONNECT_TARGET_MS = 5000
BACK_WAIT = 15.0  # the pages' backoff after three failed tries is at most 0.25 + 8 s
# The analysis tasks: one frame or chunk each (frame_analyse, audio_analyse: what web processes
# of the last release queue), or a batch of them (frames_analyse, audio_chunks_analyse), whose
# result lists each item's outcome in order.
TASK_LINE = re.compile(
    r"Task proctoring\.tasks\.(frames?|audio)_(?:chunks_)?analyse\[([0-9a-f-]{36})\] "
    r"(received|succeeded in [^:]*: ('\w+'|\[[^\]]*\])|raised (?:unexpected|exception))"
)
TASK_ARGS = re.compile(r"\('([0-9a-f-]{36})', (\d+),")
TASK_BATCH_ARGS = re.compile(r"\(\[\['([0-9a-f-]{36})', (\d+),")
ACCESS_STATUS = re.compile(r'^\S+ \S+ \S+ \[[^\]]+\] "(\S+) (\S+)[^"]*" (\d{3}) ')


# --- set-up ---------------------------------------------------------------------------------------


def redis_reset(url: str, *, force: bool) -> redis.Redis:
    """Empty the drill's Redis database, refusing one that holds someone else's keys."""
    client = redis.Redis.from_url(url)
    if client.dbsize() and not client.exists(REDIS_MARKER) and not force:
        raise SystemExit(f"{url} holds keys the drill did not write; choose another --redis-db")
    client.flushdb()
    client.set(REDIS_MARKER, "1")
    return client


def secrets_for_run() -> dict[str, str]:
    """Keys shared by this process (tokens it issues) and the nodes (which check them)."""
    return {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "ENCRYPTION_KEY": secrets.token_hex(32),
        "JWT_SIGNING_KEY": secrets.token_hex(32),
    }


def django_configure(*, database_url: str, redis_url: str, work: Path, keys: dict[str, str]) -> None:
    os.environ.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        DJANGO_DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PROCTO_LOCAL_DIR=str(work / "local"),
        MEDIA_ROOT=str(work / "media"),
        DJANGO_SETTINGS_MODULE="procto.settings",
        LOG_LEVEL="WARNING",  # this process only; the nodes log at the deployed INFO
        **keys,
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def media_build() -> Media:
    from proctoring.tests import audio_fixtures as sounds
    from proctoring.tests import faces as photos

    people = photos.people()
    one = photos.in_view(*people["astronaut"], 0.3)
    two = photos.side_by_side(
        people["astronaut"], people["grace hopper"], face_width=0.25, width=320, height=240
    )
    quiet = sounds.quiet_room(5.0)
    pcm = np.clip(np.round(quiet * 32767), -32768, 32767).astype("<i2").tobytes()
    return Media(
        one_face=photos.jpeg_bytes(one, quality=70),
        two_faces=photos.jpeg_bytes(two, quality=70),
        quiet=tuple(pcm[i : i + 32_000] for i in range(0, len(pcm) - 31_999, 32_000)),
    )


def media_check(media: Media) -> None:
    """The photos must be what they claim, or the drill has no alerts to lose."""
    from proctoring.detectors import faces

    faces.warm_up()
    assert faces.analyse_frame(faces.decode_jpeg(media.one_face)).face_count == 1
    assert faces.analyse_frame(faces.decode_jpeg(media.two_faces)).face_count == 2


QUESTIONS = [
    {"type": "MCQ", "options": [f"option {c}" for c in "ABCD"], "correct_answer": "option B"},
    {"type": "MCQ-multiple", "options": [f"choice {c}" for c in "ABCDE"], "correct_answer": ["choice A"]},
    {"type": "Paragraph"},
    {"type": "Code", "language": "python"},
]


@dataclass
class Cohort:
    exam_id: int
    students: list[Student]
    monitor: Monitor


def cohort_seed(*, students: int, alerting: float, seed: int) -> Cohort:
    """A course, its teacher and proctor, a medium-security exam of 10 questions, and `students`
    enrolled students who consented, passed the system check and started, through the services."""
    from django.db import connections
    from django.utils import timezone

    from accounts.models import User
    from accounts.services import token_pair_issue, user_create
    from exams.services import course_create, course_enrol, exam_create
    from sessions.readiness import FRAME_INTERVAL_MS, consent_record, system_check_record
    from sessions.services import exam_session_start

    now = timezone.now()
    teacher = user_create(email="teacher@drill.procto", password=None, role=User.Role.TEACHER)
    proctor = user_create(email="proctor@drill.procto", password=None, role=User.Role.PROCTOR)
    course = course_create(teacher=teacher, title="Fault drill", code="DRILL")
    exam = exam_create(
        author=teacher,
        course=course,
        title="Fault drill exam",
        duration_minutes=180,
        start_time=now - timedelta(minutes=5),
        end_time=now + timedelta(hours=4),
        is_published=True,
        security_level="medium",
        questions=[{"text": f"Question {n}", "points": 2, **QUESTIONS[n % 4]} for n in range(10)],
    )
    exam.proctors.add(proctor)
    shape = [(str(q.pk), q.type, list(q.options)) for q in exam.questions.order_by("order")]
    users = [user_create(email=f"student-{n}@drill.procto", password=None) for n in range(students)]
    course_enrol(course=course, students=users)
    rng = random.Random(seed)  # noqa: S311 (phases and choices, not secrets)
    interval = FRAME_INTERVAL_MS[exam.security_level] / 1000
    cohort = []
    checks = {
        item: True for item in ("browser", "websocket", "camera", "microphone", "fullscreen", "bandwidth")
    }
    for n, user in enumerate(users):
        consent_record(exam=exam, student=user)
        system_check_record(exam=exam, student=user, items=checks, measurements={"rttMs": 5.0})
        session, created = exam_session_start(exam=exam, student=user)
        assert created, session
        cohort.append(
            Student(
                index=n,
                session_id=str(session.pk),
                user_id=user.pk,
                token=token_pair_issue(user=user).access_token,
                questions=shape,
                alerting=n < round(students * alerting),
                rng=random.Random(rng.random()),  # noqa: S311
                frame_interval=interval,
            )
        )
    monitor = Monitor(user_id=proctor.pk, token=token_pair_issue(user=proctor).access_token, exam_id=exam.pk)
    connections.close_all()
    return Cohort(exam_id=exam.pk, students=cohort, monitor=monitor)


def token_renew(user_id: int) -> str:
    from django.db import connections

    from accounts.models import User
    from accounts.services import token_pair_issue

    try:
        return token_pair_issue(user=User.objects.get(pk=user_id)).access_token
    finally:
        connections.close_all()


# --- what the logs say ----------------------------------------------------------------------------


@dataclass
class TaskRecord:
    kind: str
    session_id: str | None = None
    seq: int | None = None
    received: list[str] = field(default_factory=list)  # the worker logs that received it
    # (worker log, result): a batch's result is its items' outcomes joined by "+" (done+dropped)
    outcomes: list[tuple[str, str]] = field(default_factory=list)

    def handled_twice(self) -> bool:
        """Some frame or chunk of it was analysed by two runs (a redelivered batch's items that
        the first run finished are "duplicate" the second time)."""
        runs = [result.split("+") for _, result in self.outcomes if result != "failed"]
        return any(sum(r in ("done", "unreadable") for r in item) > 1 for item in zip(*runs, strict=False))


class LogReader:
    """Reads the logs as they grow: analysis tasks from the workers', statuses from nginx's.

    A log is known by its inode, not its name: a restarted worker's old log is renamed.
    """

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.offsets: dict[int, int] = {}
        self.tasks: dict[str, TaskRecord] = {}
        self.outcomes: Counter = Counter()  # "frame done", "audio failed"... since the last take

    def _new_lines(self, path: Path) -> list[str]:
        with contextlib.suppress(FileNotFoundError), open(path, "rb") as log:
            inode = os.fstat(log.fileno()).st_ino
            log.seek(self.offsets.get(inode, 0))
            data = log.read()
            end = data.rfind(b"\n") + 1  # a line still being written waits for the next read
            self.offsets[inode] = self.offsets.get(inode, 0) + end
            return data[:end].decode(errors="replace").splitlines()
        return []

    def worker_log(self, name: str) -> str:
        """The label of a running worker's current log."""
        return f"{name}@{(self.cluster.work / f'worker-{name}.log').stat().st_ino}"

    def tasks_read(self) -> None:
        for path in sorted(self.cluster.work.glob("worker-*.log")):
            with contextlib.suppress(FileNotFoundError):
                label = f"{path.name.split('.')[0].removeprefix('worker-')}@{path.stat().st_ino}"
            for line in self._new_lines(path):
                match = TASK_LINE.search(line)
                if not match:
                    continue
                kind, task_id, what, result = match.groups()
                kind = kind.removesuffix("s")
                record = self.tasks.setdefault(task_id, TaskRecord(kind))
                if what == "received":
                    record.received.append(label)
                    if args := TASK_ARGS.search(line) or TASK_BATCH_ARGS.search(line):
                        record.session_id, record.seq = args.group(1), int(args.group(2))
                else:
                    items = re.findall(r"'(\w+)'", result) if result else ["failed"]
                    record.outcomes.append((label, "+".join(items)))
                    for item in items:
                        self.outcomes[f"{kind} {item}"] += 1

    def mid_task(self, name: str) -> bool:
        """Whether a worker's log says it is running a task now: its last task line is a
        "received" (only its tail is read, so this can be asked every few milliseconds)."""
        with (
            contextlib.suppress(FileNotFoundError),
            open(self.cluster.work / f"worker-{name}.log", "rb") as log,
        ):
            log.seek(max(0, os.fstat(log.fileno()).st_size - 16_384))
            lines = log.read().decode(errors="replace")
            matches = list(TASK_LINE.finditer(lines[: lines.rfind("\n") + 1]))
            return bool(matches) and matches[-1].group(3) == "received"
        return False

    def in_flight(self, label: str) -> list[str]:
        """Tasks a worker's log received and never finished."""
        return [
            task_id
            for task_id, record in self.tasks.items()
            if label in record.received and not any(log == label for log, _ in record.outcomes)
        ]

    def access_5xx(self) -> tuple[int, Counter]:
        """nginx's 5xx since the last call, and every other status by method and path kind."""
        statuses, errors = Counter(), 0
        for line in self._new_lines(self.cluster.work / "nginx" / "access.log"):
            if match := ACCESS_STATUS.match(line):
                method, url, status = match.groups()
                kind = "ws" if url.startswith("/ws/") else url.split("?")[0].rsplit("/", 1)[-1]
                statuses[f"{status} {method} {kind}"] += 1
                errors += status.startswith("5")
        return errors, statuses


class CpuMeter:
    """CPU by part of the system, in % of one core, sampled every 2 s in a thread of its own:
    nodes are killed and started during a phase, so per-process deltas are summed as they go."""

    PARTS = ("daphne", "workers", "nginx", "postgres", "redis", "client")

    def __init__(self, cluster: Cluster, database_url: str) -> None:
        self.cluster, self.database_url = cluster, database_url
        self.last: dict[int, float] = {}
        self.used: Counter = Counter()
        self.postgres: list[int] = []
        self.postgres_at = 0.0
        self.machine_last = machine_busy_s()
        self.since = time.monotonic()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _pids(self) -> dict[int, str]:
        parts: dict[int, str] = {}
        groups = [("daphne", p) for p in self.cluster.webs.values()]
        groups += [("workers", p) for p in self.cluster.workers.values()]
        groups += [("nginx", self.cluster.nginx)] if self.cluster.nginx else []
        for name, process in groups:
            if process.poll() is None:
                parts.update(dict.fromkeys(group_pids(process.pid), name))
        if time.monotonic() - self.postgres_at > 10:
            with contextlib.suppress(Exception):  # during its restart the list stays as it was
                self.postgres, self.postgres_at = postgres_pids(self.database_url), time.monotonic()
        parts.update(dict.fromkeys(self.postgres, "postgres"))
        parts.update(dict.fromkeys(pids_named("redis-server"), "redis"))
        parts[os.getpid()] = "client"
        return parts

    def _run(self) -> None:
        while not self.stopping.wait(2.0):
            self.sample()

    def sample(self) -> None:
        current = {pid: (name, process_cpu_s(pid)) for pid, name in self._pids().items()}
        for pid, (name, cpu) in current.items():
            if pid in self.last:
                self.used[name] += max(0.0, cpu - self.last[pid])
        self.last = {pid: cpu for pid, (_, cpu) in current.items()}

    def take(self) -> dict[str, float]:
        """% of one core each part used since the last take; "other" is everything else running."""
        self.sample()
        busy, total = machine_busy_s()
        wall = time.monotonic() - self.since
        elapsed = total - self.machine_last[1]
        # Two takes within one clock tick of /proc/stat (a phase that ends at once): nothing to share.
        machine = (
            100 * (busy - self.machine_last[0]) / elapsed * (os.cpu_count() or 1) if elapsed > 0 else 0.0
        )
        parts = {name: 100 * self.used[name] / wall for name in self.PARTS}
        parts["other"] = max(0.0, machine - sum(parts.values()))
        parts["machine"] = machine
        self.used, self.machine_last, self.since = Counter(), (busy, total), time.monotonic()
        return {name: round(value) for name, value in parts.items()}


# --- faults ---------------------------------------------------------------------------------------


def shell(command: str, timeout: float = 120) -> None:
    subprocess.run(["/bin/sh", "-c", command], check=False, capture_output=True, timeout=timeout)  # noqa: S603


def wait_until(check, what: str, timeout: float = 60.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with contextlib.suppress(Exception):
            if check():
                return time.monotonic() - started
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not answer within {timeout} s")


class Fault:
    """One failure: inject() it, recover() from it; settled() once its own aftermath is over."""

    kind = ""

    def __init__(self, cluster: Cluster, logs: LogReader, args) -> None:
        self.cluster, self.logs, self.args = cluster, logs, args
        self.notes: dict = {}

    def inject(self) -> None:
        raise NotImplementedError

    def recover(self) -> None:
        return None

    def settled(self) -> bool:
        return True

    def settle_extra(self) -> float:
        return 0.0


class NoFault(Fault):
    """Load alone: the baseline the faults' rows are read against."""

    kind = "none"

    def inject(self) -> None:
        return None


class DaphneKill(Fault):
    kind = "daphne"

    def inject(self) -> None:
        self.port = self.cluster.web_ports[0]
        self.cluster.kill(self.cluster.webs[self.port])
        self.notes["killed"] = f"daphne on port {self.port}"

    def recover(self) -> None:
        self.cluster.web_start(self.port)


class WorkerKill(Fault):
    """kill -9 of a worker while it runs a task; that task must be delivered again (after the
    broker's visibility timeout) and handled once."""

    kind = "worker"

    def inject(self) -> None:
        deadline = time.monotonic() + 15
        victim = None
        while victim is None and time.monotonic() < deadline:
            victim = next((name for name in sorted(self.cluster.workers) if self.logs.mid_task(name)), None)
            time.sleep(0.002)  # a frame takes some 20-50 ms: look often
        victim = victim or sorted(self.cluster.workers)[0]
        self.cluster.kill(self.cluster.workers[victim])
        self.killed_at = time.monotonic()
        self.logs.tasks_read()
        self.victim = victim
        self.in_flight = self.logs.in_flight(self.logs.worker_log(victim))
        self.notes.update(killed=victim, in_flight=len(self.in_flight))

    def recover(self) -> None:
        self.cluster.worker_start(self.victim)  # its old log is renamed: the in-flight ids keep theirs

    def settled(self) -> bool:
        self.logs.tasks_read()
        done = [t for t in self.in_flight if self.logs.tasks[t].outcomes]
        if len(done) == len(self.in_flight):
            self.notes["redelivered_after_s"] = round(time.monotonic() - self.killed_at, 1)
            return True
        return False

    def settle_extra(self) -> float:
        return self.args.visibility_timeout + 60.0

    def report(self) -> dict:
        self.logs.tasks_read()
        outcomes = [
            (self.logs.tasks[t].kind, [r for _, r in self.logs.tasks[t].outcomes]) for t in self.in_flight
        ]
        return {
            "in_flight": len(self.in_flight),
            "redelivered": sum(len(self.logs.tasks[t].received) > 1 for t in self.in_flight),
            "handled": sum(bool(results) for _, results in outcomes),
            "outcomes": [f"{kind}: {', '.join(results) or 'never'}" for kind, results in outcomes],
        }


class RedisRestart(Fault):
    kind = "redis"

    def inject(self) -> None:
        started = time.monotonic()
        shell(self.args.redis_restart)
        url = f"{self.args.redis_server}/{self.args.redis_db}"
        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        wait_until(client.ping, "Redis", 60)
        client.set(REDIS_MARKER, "1")
        self.notes["restart_s"] = round(time.monotonic() - started, 1)


class PostgresRestart(Fault):
    kind = "postgres"

    def inject(self) -> None:
        started = time.monotonic()
        shell(self.args.postgres_restart)
        wait_until(
            lambda: psycopg.connect(self.args.maintenance_url, connect_timeout=2).close() is None,
            "PostgreSQL",
        )
        self.notes["restart_s"] = round(time.monotonic() - started, 1)


FAULT_CLASSES = {f.kind: f for f in (NoFault, DaphneKill, WorkerKill, RedisRestart, PostgresRestart)}


# --- the database's view ----------------------------------------------------------------------------


def db_read(exam_id: int) -> dict:
    """Answers, events and duplicates of the exam, as stored; retried while the database recovers."""
    from django.db import OperationalError, connections

    for attempt in range(20):
        try:
            return _db_read(exam_id)
        except OperationalError:
            connections.close_all()
            time.sleep(min(5, 0.5 * (attempt + 1)))
        finally:
            connections.close_all()
    return _db_read(exam_id)


def _db_read(exam_id: int) -> dict:
    from proctoring.models import ProctoringEvent
    from sessions.models import Answer

    answers = {
        (str(session), str(question)): (seq, response)
        for session, question, seq, response in Answer.objects.filter(session__exam_id=exam_id).values_list(
            "session_id", "question_id", "client_seq", "response"
        )
    }
    events = list(
        ProctoringEvent.objects.filter(session__exam_id=exam_id)
        .order_by("id")
        .values_list(
            "id", "session_id", "type", "source", "client_seq", "analysis_key", "occurred_at", "ended_at"
        )
    )
    # A duplicate is every event after the first of its group: the same browser number, the same
    # analysis key, or an episode of a condition overlapping one already stored for that student.
    duplicates: set[int] = set()
    firsts: dict[tuple, int] = {}
    last_server: dict[tuple, tuple] = {}
    for event_id, session, type_, source, client_seq, key, occurred, ended in events:
        for group in (("client", session, client_seq) if client_seq is not None else None,
                      ("analysis", session, key) if key else None):  # fmt: skip
            if group is not None and firsts.setdefault(group, event_id) != event_id:
                duplicates.add(event_id)
        if source == "server":
            previous = last_server.get((session, type_))
            if previous and occurred <= previous[1]:
                duplicates.add(event_id)
            last_server[(session, type_)] = (
                occurred,
                max(ended or occurred, previous[1] if previous else occurred),
            )
    return {
        "answers": answers,
        "client_events": {
            (str(session), seq) for _, session, _, _, seq, _, _, _ in events if seq is not None
        },
        "event_ids": [event_id for event_id, *_ in events],
        "duplicates": duplicates,
    }


def max_event_id(exam_id: int) -> int:
    return max(db_read(exam_id)["event_ids"], default=0)


# --- a phase ----------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float | None:
    """Nearest rank; None when it falls on a socket that never came back (infinite)."""
    if not values:
        return 0.0
    value = sorted(values)[max(0, math.ceil(p * len(values)) - 1)]
    return None if math.isinf(value) else round(value)


@dataclass
class Run:
    drill: Drill
    cohort: Cohort
    cluster: Cluster
    logs: LogReader
    cpu: CpuMeter
    args: argparse.Namespace
    answer_cut: int = 0
    event_cut: int = 0
    event_lo: int = 0
    duplicates_seen: set[int] = field(default_factory=set)
    tasks_doubled_seen: set[str] = field(default_factory=set)


def settled(run: Run, fault: Fault) -> bool:
    now = time.monotonic()
    students = [s for s in run.cohort.students if not s.ended]
    return (
        all(s.live for s in students)
        and all(not s.queue or now - s.last_save_ok < 5 for s in students)
        and all(not s.outbox for s in students)
        and run.cohort.monitor.live
        and fault.settled()
    )


async def phase_run(run: Run, fault: Fault, index: int) -> dict:
    drill, args = run.drill, run.args
    drill.phase, drill.phase_index = PhaseStats(fault.kind), index
    run.logs.access_5xx()  # nginx's lines up to now belong to the phase before
    run.cpu.take()
    await asyncio.sleep(args.steady)
    fault_at = time.monotonic()
    await asyncio.to_thread(fault.inject)
    await asyncio.sleep(args.hold)
    await asyncio.to_thread(fault.recover)
    deadline = time.monotonic() + args.settle_max + fault.settle_extra()
    while time.monotonic() < deadline and not settled(run, fault):
        await asyncio.sleep(0.5)
    settled_in = time.monotonic() - fault_at
    await asyncio.sleep(args.settle)
    return await phase_measure(run, fault, settled_in)


async def students_back(cohort, wait: float = BACK_WAIT) -> list:
    """The students whose stream socket is not open, after giving a socket that dropped since
    the phase settled (a pooled connection found dead only later closes with 4503 then) the time
    the page's backoff needs to come back. A student down that long is not back."""
    deadline = time.monotonic() + wait
    while True:
        down = [s for s in cohort.students if not s.ended and not s.live]
        if not down or time.monotonic() > deadline:
            return down
        await asyncio.sleep(0.5)


async def phase_measure(run: Run, fault: Fault, settled_in: float) -> dict:
    drill, cohort, monitor = run.drill, run.cohort, run.cohort.monitor
    stats = drill.phase
    answer_cut, event_cut = len(drill.answer_acks), len(drill.event_acks)
    stored = await asyncio.to_thread(db_read, cohort.exam_id)
    hi = max(stored["event_ids"], default=run.event_lo)
    caught_up = await monitor_catch_up(monitor)
    expected = [i for i in stored["event_ids"] if run.event_lo < i <= hi]
    missing = [i for i in expected if i not in monitor.seen]
    if missing:  # stored after the read, its live alert may still be on its way: look again
        await asyncio.sleep(2)
        caught_up = await monitor_catch_up(monitor)
        missing = [i for i in missing if i not in monitor.seen]
    answers = stored["answers"]
    lost_answers = []
    for ack in drill.answer_acks[run.answer_cut : answer_cut]:
        seq, response = answers.get((ack.session_id, ack.question_id), (None, None))
        if seq is None or seq < ack.seq or (seq == ack.seq and response != ack.value):
            lost_answers.append(ack)
    lost_events = [
        ack
        for ack in drill.event_acks[run.event_cut : event_cut]
        if (ack.session_id, ack.seq) not in stored["client_events"]
    ]
    duplicates = stored["duplicates"] - run.duplicates_seen
    run.duplicates_seen |= duplicates
    await asyncio.to_thread(run.logs.tasks_read)
    doubled = {task_id for task_id, record in run.logs.tasks.items() if record.handled_twice()}
    outcomes, run.logs.outcomes = run.logs.outcomes, Counter()
    tasks_doubled = doubled - run.tasks_doubled_seen
    run.tasks_doubled_seen |= tasks_doubled
    nginx_5xx, statuses = await asyncio.to_thread(run.logs.access_5xx)
    down = await students_back(cohort)
    stream_ms = stats.reconnect_ms["stream"] + [math.inf] * len(down)
    monitor_ms = stats.reconnect_ms["monitor"] + ([math.inf] if not monitor.live else [])
    row = {
        "fault": fault.kind,
        "students": len(cohort.students),
        "answers_acked": answer_cut - run.answer_cut,
        "answers_lost": len(lost_answers),
        "events_acked": event_cut - run.event_cut,
        "events_lost": len(lost_events),
        "events_stored": len(expected),
        "duplicate_events": len(duplicates),
        "tasks_handled_twice": len(tasks_doubled),
        "alerts_missing": len(missing),
        "monitor_caught_up": caught_up,
        "stream_drops": stats.drops["stream"],
        "stream_reconnects": len(stats.reconnect_ms["stream"]),
        "stream_not_back": len(down),
        "reconnect_p50_ms": percentile(stream_ms, 0.5),
        "reconnect_p95_ms": percentile(stream_ms, 0.95),
        "reconnect_max_ms": percentile(stream_ms, 1.0),
        "monitor_drops": stats.drops["monitor"],
        "monitor_reconnect_max_ms": percentile(monitor_ms, 1.0),
        "deaf_monitor_sockets": stats.deaf_monitor_sockets,
        "client_5xx": stats.http_5xx + stats.ws_5xx,
        "nginx_5xx": nginx_5xx,
        "settled_s": round(settled_in, 1),
        "saves_acked": stats.saves_acked,
        "saves_failed": stats.saves_failed,
        "frames_acked": stats.frames_acked,
        "frames_analysed": outcomes["frame done"],
        "frames_dropped": outcomes["frame dropped"],
        "audio_analysed": outcomes["audio done"],
        "tasks_failed": outcomes["frame failed"] + outcomes["audio failed"],
        "tasks_outcomes": dict(outcomes),
        "audio_acked": stats.audio_acked,
        "sessions_ended": stats.sessions_ended,
        "slow_downs": stats.slow_downs,
        "client_statuses": dict(stats.http_status),
        "request_errors": dict(stats.request_errors),
        "close_codes": dict(stats.close_codes),
        "nginx_statuses": {k: v for k, v in statuses.items() if not k.startswith(("200", "201", "101"))},
        "cpu_pct": run.cpu.take(),
        "fault_notes": fault.notes | (fault.report() if isinstance(fault, WorkerKill) else {}),
        "lost_answer_examples": [vars(a) for a in lost_answers[:3]],
        "missing_alert_ids": missing[:10],
    }
    row["passed"] = targets_met(row)
    run.answer_cut, run.event_cut, run.event_lo = answer_cut, event_cut, hi
    return row


def targets_met(row: dict) -> bool:
    ok = (
        row["answers_lost"] == 0
        and row["events_lost"] == 0
        and row["duplicate_events"] == 0
        and row["tasks_handled_twice"] == 0
        and row["alerts_missing"] == 0
        and row["monitor_caught_up"]
        and row["stream_not_back"] == 0
    )
    if row["fault"] == "daphne":
        ok = (
            ok
            and row["stream_reconnects"] > 0
            and (row["reconnect_p95_ms"] or math.inf) <= RECONNECT_TARGET_MS
        )
    if row["fault"] == "worker":
        notes = row["fault_notes"]
        ok = ok and notes["in_flight"] > 0 and notes["handled"] == notes["in_flight"]
    return ok


async def drill_run(
    args, cluster: Cluster, cohort: Cohort, media: Media, database_url: str
) -> tuple[list[dict], dict]:
    drill = Drill(
        base_url=cluster.url,
        media=media,
        token_renew=token_renew,
        event_every=(args.event_every * 0.5, args.event_every * 1.5),
        save_every=(args.save_every * 0.5, args.save_every * 1.5),
    )
    await drill.open()
    cpu = CpuMeter(cluster, database_url)
    run = Run(drill=drill, cohort=cohort, cluster=cluster, logs=LogReader(cluster), cpu=cpu, args=args)
    tasks: list[asyncio.Task] = [asyncio.create_task(monitor_run(drill, cohort.monitor))]
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)

    async def student_start(student: Student) -> None:
        async with gate:
            tasks.append(asyncio.create_task(stream_run(drill, student)))
            deadline = time.monotonic() + 60
            while not student.live and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        tasks.extend(
            asyncio.create_task(coroutine)
            for coroutine in (
                media_run(drill, student, ALERT_CYCLE),
                typing_run(drill, student),
                saving_run(drill, student),
            )
        )

    started = time.monotonic()
    await asyncio.gather(*(student_start(s) for s in cohort.students))
    connected = {
        "students_live": sum(s.live for s in cohort.students),
        "connect_s": round(time.monotonic() - started, 1),
    }
    print(json.dumps(connected), flush=True)
    drill.phase = PhaseStats("warm-up")
    await asyncio.sleep(args.warm_up)  # the first frames of all at once, outside any phase
    run.event_lo = await asyncio.to_thread(max_event_id, cohort.exam_id)
    run.answer_cut, run.event_cut = len(drill.answer_acks), len(drill.event_acks)
    await asyncio.to_thread(run.logs.tasks_read)
    run.logs.outcomes.clear()
    rows = []
    for index, kind in enumerate(["none", *args.faults], start=1):
        row = await phase_run(run, FAULT_CLASSES[kind](cluster, run.logs, args), index)
        print(json.dumps(row), flush=True)
        rows.append(row)
    drill.stopping = True
    for student in cohort.students:
        student.changed.set()
        if student.socket is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(student.socket.close(), 5)
    if cohort.monitor.socket is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(cohort.monitor.socket.close(), 5)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await drill.close()
    cpu.stopping.set()
    totals = {
        "task_lines_read": len(run.logs.tasks),
        "analysed": Counter(
            item for record in run.logs.tasks.values() for _, r in record.outcomes for item in r.split("+")
        ),
    }
    return rows, connected | totals


# --- output -----------------------------------------------------------------------------------------

COLUMNS = {
    "fault": "fault",
    "answers acked": "answers_acked",
    "answers lost": "answers_lost",
    "events acked": "events_acked",
    "events lost": "events_lost",
    "duplicate events": "duplicate_events",
    "tasks handled twice": "tasks_handled_twice",
    "alerts stored": "events_stored",
    "alerts missing on the monitor": "alerts_missing",
    "sockets dropped": "stream_drops",
    "reconnect p50 ms": "reconnect_p50_ms",
    "reconnect p95 ms": "reconnect_p95_ms",
    "reconnect max ms": "reconnect_max_ms",
    "monitor reconnect ms": "monitor_reconnect_max_ms",
    "5xx (clients)": "client_5xx",
    "5xx (nginx log)": "nginx_5xx",
    "settled s": "settled_s",
    "targets": "passed",
}


LOAD_COLUMNS = {
    "fault": "fault",
    "saves acked": "saves_acked",
    "saves failed": "saves_failed",
    "frames acked": "frames_acked",
    "frames analysed": "frames_analysed",
    "frames dropped (stale)": "frames_dropped",
    "audio analysed": "audio_analysed",
    "tasks failed": "tasks_failed",
    "slow-downs": "slow_downs",
}
CPU_PARTS = ("daphne", "workers", "nginx", "postgres", "redis", "client", "other", "machine")


def cell(value) -> str:
    if value is None:
        return "never"
    if value is True:
        return "met"
    if value is False:
        return "**missed**"
    return f"{value:,}" if isinstance(value, int) else str(value)


def table(rows: list[dict], columns: dict[str, str] = COLUMNS) -> str:
    # No socket dropped: no reconnect time to show.
    rows = [
        row
        | (
            {k: "-" for k in ("reconnect_p50_ms", "reconnect_p95_ms", "reconnect_max_ms")}
            if not row.get("stream_drops")
            else {}
        )
        | ({"monitor_reconnect_max_ms": "-"} if not row.get("monitor_drops") else {})
        for row in rows
    ]
    lines = ["| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]
    lines += ["| " + " | ".join(cell(row.get(key)) for key in columns.values()) + " |" for row in rows]
    return "\n".join(lines)


def load_table(rows: list[dict]) -> str:
    flat = [row | {f"cpu {part}": row["cpu_pct"][part] for part in CPU_PARTS} for row in rows]
    return table(flat, LOAD_COLUMNS | {f"{part} CPU %": f"cpu {part}" for part in CPU_PARTS})


def fault_notes(rows: list[dict]) -> str:
    lines = []
    for row in rows:
        notes = ", ".join(f"{k} {v}" for k, v in row["fault_notes"].items())
        lines.append(f"- {row['fault']}: {notes}; nginx non-2xx {row['nginx_statuses'] or 'none'}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument(
        "--faults", default=",".join(FAULTS), help=f"comma-separated, in order: {', '.join(FAULTS)}"
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=30.0,
        help="seconds of load in each phase before recovery: half before the fault, half with it",
    )
    parser.add_argument("--steady", type=float, default=None, help="seconds before the fault (duration/2)")
    parser.add_argument("--hold", type=float, default=None, help="seconds the fault lasts (duration/2)")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds after settling, before measuring")
    parser.add_argument(
        "--settle-max", type=float, default=90.0, help="longest wait for the clients to settle"
    )
    parser.add_argument("--warm-up", type=float, default=10.0, help="seconds of load before the first phase")
    parser.add_argument(
        "--alerting", type=float, default=0.2, help="share of students with two faces on camera"
    )
    parser.add_argument("--save-every", type=float, default=5.0, help="mean seconds between answer changes")
    parser.add_argument("--event-every", type=float, default=60.0, help="mean seconds between browser events")
    parser.add_argument(
        "--visibility-timeout",
        type=int,
        default=120,
        help="CELERY_VISIBILITY_TIMEOUT for the workers: a killed worker's task is redelivered after it "
        "(120: the production default)",
    )
    parser.add_argument("--database", default="drill_procto", help="dropped and recreated on each run")
    parser.add_argument("--redis-db", type=int, default=8, help="Redis database emptied on each run")
    parser.add_argument("--redis-server", default="redis://127.0.0.1:6379")
    parser.add_argument(
        "--flush-redis", action="store_true", help="empty --redis-db even if it holds other keys"
    )
    parser.add_argument("--redis-restart", default=REDIS_RESTART, help="shell command of the redis fault")
    parser.add_argument(
        "--postgres-restart", default=POSTGRES_RESTART, help="shell command of the postgres fault"
    )
    parser.add_argument("--json", type=Path, help="write the rows and totals here")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.faults = [f for f in args.faults.split(",") if f]
    args.steady = args.steady if args.steady is not None else args.duration / 2
    args.hold = args.hold if args.hold is not None else args.duration / 2
    if not (
        1 <= args.students <= 1000
        and set(args.faults) <= set(FAULTS)
        and 0 < args.steady <= 600
        and 0 <= args.hold <= 600
        and 0 <= args.alerting <= 1
        and 1 <= args.visibility_timeout <= 3600
        # Database 0 holds a dev machine's own cache and queues: only when told to empty it.
        and (1 if not args.flush_redis else 0) <= args.redis_db <= 15
    ):
        parser.error("bounded on purpose: see --help for the ranges")

    server_url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    args.maintenance_url = urlunsplit(urlsplit(server_url)._replace(path="/postgres"))
    redis_url = f"{args.redis_server}/{args.redis_db}"
    work = Path(tempfile.mkdtemp(prefix="procto-drill-"))  # kept: the nodes' logs are worth a look
    redis_reset(redis_url, force=args.flush_redis)
    database_url = database_recreate(server_url, args.database)
    keys = secrets_for_run()
    django_configure(database_url=database_url, redis_url=redis_url, work=work, keys=keys)
    media = media_build()
    media_check(media)
    cohort = cohort_seed(students=args.students, alerting=args.alerting, seed=args.seed)
    env = keys | {"CELERY_VISIBILITY_TIMEOUT": str(args.visibility_timeout), "LOG_LEVEL": "INFO"}
    describe = ["git", "describe", "--always", "--dirty"]
    code = subprocess.run(describe, cwd=Path(__file__).parents[1], capture_output=True, text=True).stdout  # noqa: S603
    load = os.getloadavg()
    started = time.monotonic()
    with cluster_running(
        work / "cluster", database_url=database_url, redis_url=redis_url, migrate=False, env=env
    ) as cluster:
        rows, totals = asyncio.run(drill_run(args, cluster, cohort, media, database_url))
    totals |= {"seconds": round(time.monotonic() - started), "code": code.strip(), "loadavg_before": load}
    if not totals["task_lines_read"]:
        raise SystemExit("no analysis task lines in the workers' logs: did their log format change?")
    print(json.dumps(totals, default=str), flush=True)
    print(f"\nlogs in {work}; {args.students} students; faults {', '.join(args.faults)}\n")
    print(table(rows))
    print("\nLoad in each phase (CPU in % of one core; other: the rest of the machine)\n")
    print(load_table(rows))
    print("\n" + fault_notes(rows))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "totals": totals}, indent=1, default=str))
    sys.exit(0 if all(row["passed"] for row in rows) else 1)


if __name__ == "__main__":
    main()
