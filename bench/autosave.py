"""Autosave under load: N students saving answers through daphne into PostgreSQL, every few seconds.

Each simulated student has an exam session of their own, one keep-alive HTTP connection (as a
browser tab would) and saves 1-3 changed answers every `--interval` seconds with a strictly
increasing sequence number; the students' first saves are spread over the first interval. The
requests are `PUT /api/exam-sessions/<id>/save-answers` with a Bearer token, measured on the
client side. Set-up (users, exams, sessions, tokens) goes through the services in this process,
against a database of its own that is dropped and recreated on each run:

    export REDIS_URL=redis://127.0.0.1:6379/0
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/procto_bench
    .venv/bin/python bench/autosave.py --students 100,300,500 --interval 10 --duration 40

Only the server (host, port, user) of DATABASE_URL is used: the database is always `--database`
(default procto_bench). daphne runs with production settings (DJANGO_DEBUG=0, keys generated for
the run) unless `--debug`. `--workers N` starts N daphne processes and deals the students out
among them, as a load balancer in front of N web containers would (one daphne process is one
Python interpreter: its request threads share one GIL, so it uses at most about one core).
Client, daphne, PostgreSQL and Redis share this machine's cores.

Prints a JSON line of baseline latency (one student saving back to back) per daphne process,
one JSON line per level, then a markdown table. CPU figures are percent of one core; "other" is
what the rest of the machine used meanwhile, to tell a noisy run from a quiet one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.procstat import database_recreate, machine_busy_s, pids_named, postgres_pids, process_cpu_s
from procto.tests.live_servers import (
    child_env,
    daphne_cmd,
    free_port,
    running,
    wait_for_http,
)

REQUEST_TIMEOUT_S = 30.0
ERROR_BODIES_KEPT = 5
SAMPLE_TEXT = (
    "light scatters off molecules in the air and shorter wavelengths scatter more strongly so "
    "blue light reaches our eyes from every direction of the sky while red passes straight through "
    "which is also why sunsets look orange when the path through the atmosphere is much longer"
)
WORDS = SAMPLE_TEXT.split()


# --- set-up through the services ----------------------------------------------------------------------


def django_configure(*, database_url: str, debug: bool, local_dir: Path) -> None:
    """Environment shared by this process and daphne (the JWT key must agree), then Django."""
    os.environ.update(
        DATABASE_URL=database_url,
        DJANGO_DEBUG="1" if debug else "0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        ENCRYPTION_KEY=secrets.token_hex(32),
        JWT_SIGNING_KEY=secrets.token_hex(32),
        PROCTO_LOCAL_DIR=str(local_dir),
        MEDIA_ROOT=str(local_dir / "media"),
        DJANGO_SETTINGS_MODULE="procto.settings",
        LOG_LEVEL="WARNING",  # one INFO line per session start would drown the output
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def exam_questions(count: int) -> list[dict]:
    """A realistic mix: 40% single choice, 20% multiple choice, 30% paragraph, 10% code."""
    from exams.models import Question

    questions = []
    for n in range(1, count + 1):
        kind = n % 10
        if kind < 4:
            options = [f"option {c} of question {n}" for c in "ABCD"]
            question = {"type": Question.Type.MCQ, "options": options, "correct_answer": options[1]}
        elif kind < 6:
            options = [f"choice {c}" for c in "ABCDE"]
            question = {"type": Question.Type.MCQ_MULTIPLE, "options": options, "correct_answer": options[:2]}
        elif kind < 9:
            question = {"type": Question.Type.PARAGRAPH}
        else:
            question = {"type": Question.Type.CODE, "language": "python"}
        questions.append({"text": f"Question {n}", "points": 2, **question})
    return questions


@dataclass
class Student:
    session_id: str
    token: str
    questions: list[tuple[str, str, list[str]]]  # (id, type, options)
    base_url: str = ""
    sequence: int = 0
    typed: dict[str, str] = field(default_factory=dict)  # question id -> text so far


def cohort_create(*, label: str, students: int, questions: int) -> list[Student]:
    """A teacher's open exam and `students` students, each with a started session and a token."""
    from django.db import connections
    from django.utils import timezone

    from accounts.models import User
    from accounts.services import token_pair_issue, user_create
    from exams.models import Exam
    from exams.services import exam_create
    from sessions.services import exam_session_start

    now = timezone.now()
    teacher = user_create(email=f"teacher-{label}@bench.procto", password=None, role=User.Role.TEACHER)
    exam = exam_create(
        author=teacher,
        title=f"Autosave bench {label}",
        duration_minutes=120,
        start_time=now - timedelta(hours=1),
        end_time=now + timedelta(days=1),
        is_published=True,
        security_level=Exam.SecurityLevel.LOW,
        # No camera, consent or system-check steps before the start: they are not what is measured,
        # and autosave takes the same path with or without proctoring.
        proctoring_enabled=False,
        questions=exam_questions(questions),
    )
    shape = [(str(q.pk), q.type, list(q.options)) for q in exam.questions.order_by("order")]
    cohort = []
    for n in range(students):
        student = user_create(email=f"student-{label}-{n}@bench.procto", password=None)
        session, created = exam_session_start(exam=exam, student=student)
        assert created, session
        token = token_pair_issue(user=student).access_token
        cohort.append(Student(session_id=str(session.pk), token=token, questions=shape))
    connections.close_all()  # this process holds no database connection while daphne is measured
    return cohort


# --- the students ------------------------------------------------------------------------------------


def answer_value(student: Student, rng: random.Random, qid: str, qtype: str, options: list[str]):
    if qtype == "MCQ":
        return rng.choice(options)
    if qtype == "MCQ-multiple":
        return rng.sample(options, rng.randint(1, len(options)))
    # Text grows as the student types, then starts over: from about a hundred to 1,500 characters.
    text = student.typed.get(qid, "")
    text = "" if len(text) > 1200 else text
    text = " ".join([text, *(rng.choice(WORDS) for _ in range(rng.randint(20, 60)))]).strip()
    student.typed[qid] = text
    if qtype == "Code":
        return f"def answer(n):\n    # {text}\n    return n % 2 == 0\n"
    return text


def save_body(student: Student, rng: random.Random, elapsed_s: int) -> dict:
    student.sequence += 1
    changed = rng.sample(student.questions, rng.randint(1, 3))
    answers = [
        {
            "questionId": qid,
            "studentAnswer": answer_value(student, rng, qid, qtype, options),
            "timeSpent": elapsed_s,
        }
        for qid, qtype, options in changed
    ]
    return {"answers": answers, "sequence": student.sequence}


@dataclass
class Results:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_bodies: list[str] = field(default_factory=list)
    stale: int = 0
    late_starts: int = 0  # saves that left later than scheduled because the previous was slow
    connections_opened: int = 0

    def error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_bodies) < ERROR_BODIES_KEPT:
            self.error_bodies.append(text[:500])


async def student_run(
    student: Student, rng: random.Random, results: Results, *, interval: float, duration: float, t0: float
) -> None:
    trace = aiohttp.TraceConfig()

    async def opened(*_) -> None:
        results.connections_opened += 1

    trace.on_connection_create_end.append(opened)
    connector = aiohttp.TCPConnector(limit=1, keepalive_timeout=interval * 3)
    url = f"{student.base_url}/api/exam-sessions/{student.session_id}/save-answers"
    headers = {"Authorization": f"Bearer {student.token}"}
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, trace_configs=[trace]) as http:
        # Spread the first saves over one interval: students open the exam at different moments.
        scheduled = t0 + rng.uniform(0, interval)
        while scheduled < t0 + duration:
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            started = time.perf_counter()
            if started - scheduled > 0.05:
                results.late_starts += 1
            body = save_body(student, rng, int(started - t0))
            try:
                async with http.put(url, json=body, headers=headers) as response:
                    text = await response.text()
                    elapsed_ms = (time.perf_counter() - started) * 1000
                    if not 200 <= response.status < 300:
                        results.error(f"HTTP {response.status}: {text}")
                    elif (reply := json.loads(text)).get("success") is not True:
                        results.error(f"HTTP {response.status} without success: {text}")
                    else:
                        results.latencies_ms.append(elapsed_ms)
                        results.stale += len(reply["data"]["stale"])
            except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
                results.error(f"{type(exc).__name__}: {exc}")
            scheduled += interval


@dataclass
class CpuMeter:
    """CPU of daphne (sampled each second for its peak), PostgreSQL, Redis, this client, machine."""

    server_pids: list[int]
    database_url: str
    samples: list[float] = field(default_factory=list)

    def snapshot(self) -> dict:
        busy, total = machine_busy_s()
        return {
            "server": sum(process_cpu_s(pid) for pid in self.server_pids),
            "postgres": {pid: process_cpu_s(pid) for pid in postgres_pids(self.database_url)},
            "redis": sum(process_cpu_s(pid) for pid in pids_named("redis-server")),
            "client": sum(os.times()[:2]),
            "machine_busy": busy,
            "machine_total": total,
            "wall": time.perf_counter(),
        }

    async def sample_server(self, stop: asyncio.Event) -> None:
        last, last_t = sum(process_cpu_s(p) for p in self.server_pids), time.perf_counter()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
            now, now_t = sum(process_cpu_s(p) for p in self.server_pids), time.perf_counter()
            self.samples.append(100 * (now - last) / (now_t - last_t))
            last, last_t = now, now_t

    @staticmethod
    def percent(before: dict, after: dict) -> dict[str, float]:
        wall = after["wall"] - before["wall"]
        used = {k: after[k] - before[k] for k in ("server", "redis", "client")}
        # Per backend: one that started during the level counts from its start.
        used["postgres"] = sum(
            cpu - before["postgres"].get(pid, 0.0) for pid, cpu in after["postgres"].items()
        )
        machine = (after["machine_busy"] - before["machine_busy"]) / (
            after["machine_total"] - before["machine_total"]
        )
        machine_pct = 100 * machine * (os.cpu_count() or 1)
        pct = {k: 100 * v / wall for k, v in used.items()}
        # Whatever else ran on the machine meanwhile (other people's test runs, the OS).
        pct["other"] = max(0.0, machine_pct - sum(pct.values()))
        return {**{k: round(v, 1) for k, v in pct.items()}, "machine": round(machine_pct, 1)}


# --- one level ---------------------------------------------------------------------------------------


async def level_run(
    cohort: list[Student],
    server_pids: list[int],
    database_url: str,
    *,
    interval: float,
    duration: float,
    seed: int,
) -> dict:
    results = Results()
    meter = CpuMeter(server_pids, database_url)
    stop = asyncio.Event()
    sampler = asyncio.create_task(meter.sample_server(stop))
    before = meter.snapshot()
    t0 = time.perf_counter()
    rngs = [random.Random(seed * 100_000 + n) for n in range(len(cohort))]  # noqa: S311 (not crypto)
    runs = [
        student_run(s, rng, results, interval=interval, duration=duration, t0=t0)
        for s, rng in zip(cohort, rngs, strict=True)
    ]
    # Bounded: every save times out after REQUEST_TIMEOUT_S, so this cannot hang.
    await asyncio.wait_for(asyncio.gather(*runs), duration + REQUEST_TIMEOUT_S + 5)
    elapsed = time.perf_counter() - t0
    after = meter.snapshot()
    stop.set()
    await sampler
    cpu = CpuMeter.percent(before, after)
    lat = sorted(results.latencies_ms)
    q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) >= 2 else [float("nan")] * 99
    steady = meter.samples[1:-1] or meter.samples  # leave out the ramp-up and drain seconds
    return {
        "students": len(cohort),
        "interval_s": interval,
        "duration_s": round(elapsed, 1),
        "saves": len(lat) + results.errors,
        "saves_per_s": round((len(lat) + results.errors) / elapsed, 1),
        "offered_per_s": round(len(cohort) / interval, 1),
        "p50_ms": round(statistics.median(lat), 2) if lat else None,
        "p95_ms": round(q[94], 2),
        "p99_ms": round(q[98], 2),
        "max_ms": round(lat[-1], 2) if lat else None,
        "errors": results.errors,
        "stale": results.stale,
        "late_starts": results.late_starts,
        "connections_opened": results.connections_opened,
        "server_cpu_pct": cpu["server"],
        "server_cpu_ms_per_save": round(10 * cpu["server"] * elapsed / max(1, len(lat) + results.errors), 2),
        "server_cpu_peak_1s_pct": round(max(steady), 1) if steady else None,
        "postgres_cpu_pct": cpu["postgres"],
        "redis_cpu_pct": cpu["redis"],
        "client_cpu_pct": cpu["client"],
        "other_cpu_pct": cpu["other"],
        "machine_cpu_pct": cpu["machine"],
        "error_bodies": results.error_bodies,
    }


def warm_up_and_baseline(student: Student, server_pid: int, saves: int = 100) -> dict:
    """Warm daphne up (imports, first-request costs), then time back-to-back saves of one student:
    the latency with no other request in the server, to read the loaded levels against."""

    async def go(count: int) -> Results:
        results = Results()
        rng = random.Random(0)  # noqa: S311
        await student_run(
            student, rng, results, interval=0.001, duration=0.001 * count, t0=time.perf_counter()
        )
        if results.errors:
            raise RuntimeError(f"saves failed: {results.error_bodies}")
        return results

    asyncio.run(go(30))
    cpu_before = process_cpu_s(server_pid)
    lat = sorted(asyncio.run(go(saves)).latencies_ms)
    return {
        "baseline": "one student, back-to-back saves",
        "saves": len(lat),
        "p50_ms": round(statistics.median(lat), 2),
        "p95_ms": round(statistics.quantiles(lat, n=100, method="inclusive")[94], 2),
        "server_cpu_ms_per_save": round(1000 * (process_cpu_s(server_pid) - cpu_before) / len(lat), 2),
    }


TABLE_COLUMNS = {
    "students": "students",
    "saves/s": "saves_per_s",
    "p50 ms": "p50_ms",
    "p95 ms": "p95_ms",
    "p99 ms": "p99_ms",
    "max ms": "max_ms",
    "errors": "errors",
    "daphne CPU %": "server_cpu_pct",
    "daphne peak 1 s %": "server_cpu_peak_1s_pct",
    "daphne CPU ms/save": "server_cpu_ms_per_save",
    "PostgreSQL CPU %": "postgres_cpu_pct",
    "client CPU %": "client_cpu_pct",
    "other CPU %": "other_cpu_pct",
}


def markdown_table(rows: list[dict]) -> str:
    def cell(value) -> str:
        return f"{value:.1f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(TABLE_COLUMNS) + " |", "|---" * len(TABLE_COLUMNS) + "|"]
    lines += ["| " + " | ".join(cell(row[key]) for key in TABLE_COLUMNS.values()) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", default="100,300,500", help="comma-separated levels")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between one student's saves")
    parser.add_argument("--duration", type=float, default=40.0, help="seconds each level sends saves")
    parser.add_argument("--questions", type=int, default=20, help="questions in each exam")
    parser.add_argument("--workers", type=int, default=1, help="daphne processes (students dealt out)")
    parser.add_argument("--database", default="procto_bench", help="dropped and recreated on each run")
    parser.add_argument("--debug", action="store_true", help="run daphne with DJANGO_DEBUG=1")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    levels = [int(n) for n in args.students.split(",")]
    if not (
        0 < args.interval <= 60
        and 0 < args.duration <= 600
        and max(levels) <= 5000
        and 1 <= args.workers <= 8
    ):
        parser.error("bounded on purpose: interval ≤ 60 s, duration ≤ 600 s, ≤ 5000 students, ≤ 8 workers")

    server_url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    tmp = Path(tempfile.mkdtemp(prefix="procto-autosave-"))  # kept: daphne logs are worth a look
    database_url = database_recreate(server_url, args.database)
    django_configure(database_url=database_url, debug=args.debug, local_dir=tmp)
    warm = cohort_create(label="warmup", students=1, questions=args.questions)[0]
    env = child_env()  # carries the database, keys and debug flag set above

    ports = [free_port() for _ in range(args.workers)]
    rows = []
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(running(daphne_cmd(port), env=env, log=tmp / f"daphne-{port}.log"))
            for port in ports
        ]
        for port, process in zip(ports, servers, strict=True):
            wait_for_http(f"http://127.0.0.1:{port}/healthz", process=process)
        for port, process in zip(ports, servers, strict=True):
            warm.base_url = f"http://127.0.0.1:{port}"
            print(json.dumps(warm_up_and_baseline(warm, process.pid)), flush=True)
        for index, students in enumerate(levels):
            cohort = cohort_create(label=f"l{index}-{students}", students=students, questions=args.questions)
            for n, student in enumerate(cohort):
                student.base_url = f"http://127.0.0.1:{ports[n % len(ports)]}"
            row = asyncio.run(
                level_run(
                    cohort,
                    [p.pid for p in servers],
                    database_url,
                    interval=args.interval,
                    duration=args.duration,
                    seed=args.seed + index,
                )
            )
            row = {
                "workers": args.workers,
                "debug": args.debug,
                "redis": bool(os.environ.get("REDIS_URL")),
                **row,
            }
            print(json.dumps(row), flush=True)
            rows.append(row)
    print(f"\nlogs in {tmp}; {args.workers} daphne process(es); CPU in % of one core\n")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
