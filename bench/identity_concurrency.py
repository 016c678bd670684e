"""Identity checks under load: N large photos uploaded at once through daphne, and what they do to
everyone else's requests meanwhile.

A verified student (the astronaut's photo and ID card, through the services in this process)
sends `--uploads` webcam captures at once, each an upscaled real photo of her of about
`--megapixels` MP, to `POST /api/exams/<id>/identity-check` (or, with `--endpoint
verify-identity`, the same picture as photo and ID card to `POST /api/auth/verify-identity`),
each on a connection of its own. Meanwhile a probe asks `GET /api/auth/profile` (a small sync
view with one query) back to back, `--probe-ms` apart, on one keep-alive connection: its latency
while the uploads run, against its latency with nothing else going on, is the cost the uploads
put on everyone else. Run against a database of its own, dropped and recreated each run:

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/procto_bench
    export REDIS_URL=redis://127.0.0.1:6379/0
    .venv/bin/python bench/identity_concurrency.py --uploads 4 --rounds 3

Only the server of DATABASE_URL is used: the database is always `--database`. daphne runs with
production settings (DJANGO_DEBUG=0). Prints one JSON line for the baseline, one per round, then
a markdown table. `dlib in daphne` says whether the web process itself mapped dlib; `pool CPU`
is that of daphne's child processes (accounts.identity_pool). Last, unless `--oversized-mb 0`, one
upload declared and sent as that many MB: its answer, how long it took, and daphne's peak memory
before and after (`--rounds 0` for a daphne that has done nothing else).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.autosave import django_configure
from bench.procstat import database_recreate, process_cpu_s
from procto.tests.live_servers import child_env, daphne_cmd, free_port, running, wait_for_http

REQUEST_TIMEOUT_S = 120.0


def student_create() -> tuple[str, int]:
    """A verified student enrolled in a published high-security exam: (access token, exam id)."""
    from django.db import connections
    from django.utils import timezone

    from accounts.identity_service import identity_verify
    from accounts.models import User
    from accounts.services import token_pair_issue, user_create
    from accounts.tests import identity_images as ids
    from exams.models import Exam
    from exams.services import course_enrol, exam_create

    now = timezone.now()
    teacher = user_create(email="teacher@bench.procto", password=None, role=User.Role.TEACHER)
    exam = exam_create(
        author=teacher,
        title="Identity bench",
        duration_minutes=60,
        start_time=now - timedelta(hours=1),
        end_time=now + timedelta(days=1),
        is_published=True,
        security_level=Exam.SecurityLevel.HIGH,
        questions=[{"text": "Why?", "points": 1, "type": "Paragraph"}],
    )
    student = user_create(email="student@bench.procto", password=None)
    course_enrol(course=exam.course, students=[student])
    verification = identity_verify(user=student, photo=ids.astronaut_photo(), id_card=ids.astronaut_id_card())
    assert verification.outcome == verification.Outcome.MATCH, verification.outcome
    token = token_pair_issue(user=student).access_token
    connections.close_all()  # this process holds no database connection while daphne is measured
    return token, exam.pk


def children_of(pid: int) -> list[int]:
    """The web process's own processes (its identity pool, once started)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
    return found


def pool_cpu_s(pid: int) -> float:
    return sum(process_cpu_s(child) for child in children_of(pid))


def maps_dlib(pid: int) -> bool:
    try:
        return "dlib" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else 0.0


def headers_for(token: str) -> dict[str, str]:
    # As nginx, which terminates TLS, says: production settings redirect plain HTTP.
    return {"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https"}


async def probe(base: str, token: str, every_s: float, stop: asyncio.Event, samples: list) -> None:
    """Cheap authenticated requests back to back: (start time, latency ms, status) each."""
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout, headers=headers_for(token)) as http:
        while not stop.is_set():
            started = time.perf_counter()
            async with http.get(f"{base}/api/auth/profile") as response:
                await response.read()
            samples.append((started, (time.perf_counter() - started) * 1000, response.status))
            await asyncio.sleep(every_s)


async def upload(base: str, token: str, endpoint: str, exam_id: int, photo: bytes) -> tuple[float, int, str]:
    form = aiohttp.FormData()
    if endpoint == "identity-check":
        url = f"{base}/api/exams/{exam_id}/identity-check"
        form.add_field("liveCapture", photo, filename="capture.jpg", content_type="image/jpeg")
    else:
        url = f"{base}/api/auth/verify-identity"
        form.add_field("photo", photo, filename="photo.jpg", content_type="image/jpeg")
        form.add_field("idCard", photo, filename="id.jpg", content_type="image/jpeg")
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    started = time.perf_counter()
    async with (
        aiohttp.ClientSession(timeout=timeout, headers=headers_for(token)) as http,
        http.post(url, data=form) as response,
    ):
        body = await response.json()
    data = body.get("data") or {}
    code = data.get("passed", data.get("outcome")) if body["success"] else body["error"]["code"]
    return time.perf_counter() - started, response.status, str(code)


async def baseline_run(base: str, token: str, every_s: float, seconds: float) -> dict:
    samples: list = []
    stop = asyncio.Event()
    task = asyncio.create_task(probe(base, token, every_s, stop, samples))
    await asyncio.sleep(seconds)
    stop.set()
    await task
    latencies = [ms for _, ms, _ in samples[5:]]  # the first requests open the connection
    return {
        "phase": "baseline",
        "probes": len(latencies),
        "probe_p50_ms": round(statistics.median(latencies), 1),
        "probe_p95_ms": round(percentile(latencies, 0.95), 1),
        "probe_max_ms": round(max(latencies), 1),
    }


async def round_run(base: str, token: str, args, exam_id: int, photo: bytes, server_pid: int) -> dict:
    samples: list = []
    stop = asyncio.Event()
    task = asyncio.create_task(probe(base, token, args.probe_ms / 1000, stop, samples))
    await asyncio.sleep(1.0)  # the probe's connection is open and warm
    cpu_before, pool_before = process_cpu_s(server_pid), pool_cpu_s(server_pid)
    started = time.perf_counter()
    uploads = await asyncio.gather(
        *(upload(base, token, args.endpoint, exam_id, photo) for _ in range(args.uploads))
    )
    finished = time.perf_counter()
    cpu, pool_cpu = process_cpu_s(server_pid) - cpu_before, pool_cpu_s(server_pid) - pool_before
    stop.set()
    await task
    during = [ms for at, ms, _ in samples if started <= at < finished]
    statuses: dict[str, int] = {}
    for _, status, code in uploads:
        statuses[f"{status} {code}"] = statuses.get(f"{status} {code}", 0) + 1
    return {
        "phase": "load",
        "endpoint": args.endpoint,
        "uploads": args.uploads,
        "photo_mb": round(len(photo) / 1e6, 2),
        "all_done_s": round(finished - started, 2),
        "upload_s": sorted(round(s, 2) for s, _, _ in uploads),
        "answers": statuses,
        "probes": len(during),
        "probe_p50_ms": round(statistics.median(during), 1) if during else None,
        "probe_p95_ms": round(percentile(during, 0.95), 1) if during else None,
        "probe_max_ms": round(max(during), 1) if during else None,
        "probe_errors": sum(1 for at, _, status in samples if started <= at < finished and status != 200),
        "daphne_cpu_s": round(cpu, 2),  # the probe's requests included
        "pool_cpu_s": round(pool_cpu, 2),
        "pool_rss_mb": [round(rss_mb(child)) for child in children_of(server_pid)],
        "dlib_in_daphne": maps_dlib(server_pid),
    }


async def oversized_run(port: int, token: str, exam_id: int, megabytes: int, server_pid: int) -> dict:
    """One identity capture of `megabytes` MB, declared in Content-Length and sent in 1 MB writes:
    when the answer comes, how much of the body had been sent, and daphne's peak memory."""
    boundary = "benchboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="liveCapture"; filename="big.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    total = megabytes * 1_000_000
    filler = b"\xff" * (1_000_000)
    request = (
        f"POST /api/exams/{exam_id}/identity-check HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nX-Forwarded-Proto: https\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {total}\r\n\r\n"
    ).encode()
    peak_before = peak_rss_mb(server_pid)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.perf_counter()
    sent = 0
    writer.write(request + head)
    sent += len(head)

    async def send_body() -> None:
        nonlocal sent
        with contextlib.suppress(ConnectionError):
            while sent < total - len(tail):
                chunk = filler[: min(len(filler), total - len(tail) - sent)]
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
            writer.write(tail)
            await writer.drain()
            sent += len(tail)

    sender = asyncio.create_task(send_body())
    status_line = await reader.readline()
    answered_s, sent_when_answered = time.perf_counter() - started, sent
    headers = b""
    while (line := await reader.readline()) not in (b"\r\n", b""):
        headers += line
    lengths = [h.split(b":")[1] for h in headers.split(b"\r\n") if h.lower().startswith(b"content-length")]
    length = int(lengths[0])
    body = json.loads(await reader.readexactly(length))
    sender.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sender
    writer.close()
    return {
        "phase": "oversized",
        "declared_mb": megabytes,
        "status": int(status_line.split()[1]),
        "code": body["error"]["code"],
        "answered_s": round(answered_s, 2),
        "sent_mb_when_answered": round(sent_when_answered / 1e6, 1),
        "daphne_peak_rss_mb": [peak_before, peak_rss_mb(server_pid)],
    }


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def markdown_table(baseline: dict, rows: list[dict]) -> str:
    lines = [
        "| round | all uploads done | each upload (s) | answers | probe p50 / p95 / max (ms) "
        "| daphne CPU (with the probe) | pool CPU | dlib in daphne |",
        "|---|---|---|---|---|---|---|---|",
        f"| baseline | | | | {baseline['probe_p50_ms']} / {baseline['probe_p95_ms']} / "
        f"{baseline['probe_max_ms']} | | | |",
    ]
    for n, row in enumerate(rows, 1):
        answers = ", ".join(f"{count} x {what}" for what, count in row["answers"].items())
        lines.append(
            f"| {n} | {row['all_done_s']} s | {', '.join(map(str, row['upload_s']))} | {answers} | "
            f"{row['probe_p50_ms']} / {row['probe_p95_ms']} / {row['probe_max_ms']} | "
            f"{row['daphne_cpu_s']} s | {row['pool_cpu_s']} s | {'yes' if row['dlib_in_daphne'] else 'no'} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=4, help="photos sent at once")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--megapixels", type=float, default=24.0)
    parser.add_argument("--endpoint", choices=["identity-check", "verify-identity"], default="identity-check")
    parser.add_argument("--probe-ms", type=float, default=20.0, help="pause between probe requests")
    parser.add_argument("--oversized-mb", type=int, default=100, help="one upload this large; 0: none")
    parser.add_argument("--database", default="procto_bench", help="dropped and recreated on each run")
    args = parser.parse_args()
    if not (1 <= args.uploads <= 64 and 0 <= args.rounds <= 20 and 0.1 <= args.megapixels <= 25):
        parser.error("bounded on purpose: ≤ 64 uploads, ≤ 20 rounds, ≤ 25 MP (the upload limit)")

    server_url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    tmp = Path(tempfile.mkdtemp(prefix="procto-identity-"))  # kept: daphne's log is worth a look
    django_configure(database_url=database_recreate(server_url, args.database), debug=False, local_dir=tmp)
    token, exam_id = student_create()
    from accounts.tests.identity_images import astronaut_phone_photo

    photo = astronaut_phone_photo(args.megapixels)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # The probe asks ~50 times a second: far above a student's API rate, which is not measured here.
    env = child_env(API_USER_RATE="100000/min")
    with running(daphne_cmd(port), env=env, log=tmp / "daphne.log") as server:
        wait_for_http(f"{base}/healthz", process=server)
        baseline = asyncio.run(baseline_run(base, token, args.probe_ms / 1000, 3.0))
        print(json.dumps(baseline), flush=True)
        rows = []
        for _ in range(args.rounds):
            row = asyncio.run(round_run(base, token, args, exam_id, photo, server.pid))
            print(json.dumps(row), flush=True)
            rows.append(row)
        if args.oversized_mb:
            row = asyncio.run(oversized_run(port, token, exam_id, args.oversized_mb, server.pid))
            print(json.dumps(row), flush=True)
    print(f"\nlogs in {tmp}; redis: {bool(os.environ.get('REDIS_URL'))}\n")
    if rows:
        print(markdown_table(baseline, rows))


if __name__ == "__main__":
    main()
