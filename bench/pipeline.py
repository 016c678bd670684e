"""Analysis pipeline: model cost, one worker's throughput, and frame-to-alert latency under load.

(a) In this process: the median cost of decoding a 320x240 webcam JPEG of a real face and running
    `faces.analyse_frame` on it, and of `audio.analyse_chunk` on 1 s of 16 kHz PCM; then, for the
    breakdown, the same work wrapped in the task bodies (`pipeline.frame_analyse` /
    `audio_analyse`, with their Redis, PostgreSQL and channel-layer work) and the socket's
    per-message work in daphne (`media.media_received`, which enqueues the task).
(b) One Celery worker process (`--pool solo`) as a subprocess on queue `frames`: K frame tasks are
    enqueued with `frame_analyse.delay(...)` over several sessions and timed until all their done
    keys (`analysed:<session>:frame:<seq>`) are set; tasks/s as a share of what (a)'s model cost
    allows (target: at least 80%), and the worker's CPU per task. The same for `audio`.
(c) daphne + one Celery worker (`-Q frames,audio`, prefork with `--workers` children, as in
    docker-compose.yml; 0: no worker, to see daphne alone) + Redis + PostgreSQL, and N simulated
    students on real WebSockets (asyncio + `websockets`), each sending a 320x240 JPEG every 2 s
    (high security) and 1 s of quiet-room PCM every second. A share of them (`--alerting`, default
    20%) show two faces in a repeating pattern of six frames: two faces, two faces, then four
    frames of one face. The second two-face frame is captured exactly 2.001 s after the first, so
    it meets the 2 s onset of multiple-faces at "high" and must open an event; the four one-face
    frames (8 s) outlast the 6 s release, so the event closes before the next pair. Every such
    "measured" frame is timed from its send on the student's socket to the `alert` naming its
    session and frame on a proctor's `/ws/monitor/` socket. An alert that has not arrived
    `--grace` seconds after the level stopped sending counts as missing (an infinite latency in
    the percentiles), so a percentile that falls on a missing alert is shown as missing, not
    flattered. Sockets the server closes are reopened as the pages do (the monitor catches up with
    `since`). Also per level: send -> `ack` latency of every message, when the event row was
    stored (`received_at`), the queues' depth (the `frames` queue holds batches, one task per
    daphne per FRAME_BATCH_SECONDS of frames: its depth counts tasks, not frames; run with
    FRAME_BATCH_SECONDS=0 in the environment for a task per frame, to compare) and the
    `metrics:frame_lag_seconds` gauge each second, dropped frames, and the CPU of daphne (its
    event-loop thread and its busiest other thread), the worker's parent and children,
    PostgreSQL, Redis, this client and everything else on the machine, and how long daphne and
    the worker children waited for a CPU (schedstat).
    Every student is enrolled with a real face embedding (the astronaut's, from his portrait in
    the face fixtures; the frames show him), so the workers' identity re-checks run and match as
    in an exam: how many ran (`identity_rechecks`, per student-hour) and, from the CPU one costs
    here, the cores they would take at 300 students.
    Last, a capacity estimate: students one 2-core machine serves, from CPU per unit of work.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres   # only the server is used
    .venv/bin/python bench/pipeline.py                     # everything, about 6 minutes
    .venv/bin/python bench/pipeline.py --parts c --students 100,300 --workers 2 --duration 30

The database is always `--database` (procto_bench_pipeline), dropped, recreated and migrated on
each run. Redis is 127.0.0.1:6379 database `--redis-db` (default 9), emptied on each run and
refused if it holds keys the bench did not write: cache, broker queues and channel layer are the
bench's own, so no other worker on the machine takes its tasks. Only 127.0.0.1 is contacted.
daphne and the worker run with production settings (DJANGO_DEBUG=0, keys generated for the run,
LOG_LEVEL INFO as deployed). Client, daphne, workers, PostgreSQL and Redis share this machine's
cores. Prints one JSON line per measurement, then markdown tables. CPU figures are % of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import functools
import itertools
import json
import math
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import redis
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.procstat import (
    database_recreate,
    group_pids,
    machine_busy_s,
    pids_named,
    postgres_pids,
    process_cpu_s,
    runqueue_wait_s,
    thread_cpu_s,
)
from bench.scoring import wall_and_cpu_ms
from procto.tests.live_servers import (
    PYTHON,
    celery_worker_cmd,
    child_env,
    daphne_cmd,
    free_port,
    running,
    wait_for_http,
    wait_for_log,
)
from proctoring.stream import AUDIO, AUDIO_HOLD_MS, FRAME, HEADER, acked_parts, encode_bundle

REDIS_SERVER = "redis://127.0.0.1:6379"
REDIS_MARKER = "procto-bench-pipeline"  # written into the bench's Redis database: it is ours to empty
FRAME_INTERVAL_MS = 2000  # the high-security cadence
AUDIO_INTERVAL_MS = 1000
ONSET_MARGIN_MS = 1  # the measured frame comes 2.001 s after the first: float rounding cannot undo the onset
# The alerting students' frames, repeating: the second two-face frame opens multiple-faces.
ALERT_CYCLE = ("two", "two-measured", "one", "one", "one", "one")
CONNECT_CONCURRENCY = 25
QUEUES = ("frames", "audio")


# --- set-up -----------------------------------------------------------------------------------------


def redis_reset(url: str) -> redis.Redis:
    """Empty the bench's Redis database, refusing one that holds someone else's keys."""
    client = redis.Redis.from_url(url)
    if client.dbsize() and not client.exists(REDIS_MARKER):
        raise SystemExit(f"{url} holds keys the bench did not write; choose another --redis-db")
    client.flushdb()
    client.set(REDIS_MARKER, "1")
    return client


def django_configure(*, database_url: str, redis_url: str, local_dir: Path) -> None:
    """Environment shared by this process, daphne and the workers (keys must agree), then Django."""
    os.environ.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        ENCRYPTION_KEY=secrets.token_hex(32),
        JWT_SIGNING_KEY=secrets.token_hex(32),
        PROCTO_LOCAL_DIR=str(local_dir),
        MEDIA_ROOT=str(local_dir / "media"),
        DJANGO_SETTINGS_MODULE="procto.settings",
        LOG_LEVEL="WARNING",  # this process only; the servers get the deployed INFO (child_env below)
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


@dataclass(frozen=True)
class Media:
    one_face: bytes  # 320x240 JPEG (quality 0.7, as the exam page encodes): a student at a laptop
    two_faces: bytes  # two real people sharing the camera
    quiet: tuple[bytes, ...]  # 1 s chunks of a quiet room's microphone hiss (about -70 dBFS)
    speech: bytes  # 1 s of a sentence spoken by espeak-ng
    # With --footage: per recording, its frames every 2 s (320x240 JPEGs) and its person's
    # embedding, encrypted as enrolment stores it. Students then show these, not one repeated JPEG.
    footage: tuple[tuple[tuple[bytes, ...], bytes], ...] = ()


def to_pcm(samples: np.ndarray) -> bytes:
    return np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2").tobytes()


def media_build(footage_dir: Path | None = None) -> Media:
    from proctoring.tests import audio_fixtures as sounds
    from proctoring.tests import faces as photos

    people = photos.people()
    one = photos.in_view(*people["astronaut"], 0.3)
    two = photos.side_by_side(
        people["astronaut"], people["grace hopper"], face_width=0.25, width=320, height=240
    )
    quiet = sounds.quiet_room(5.0)
    speech = sounds.conversation()
    return Media(
        one_face=photos.jpeg_bytes(one, quality=70),
        two_faces=photos.jpeg_bytes(two, quality=70),
        quiet=tuple(to_pcm(quiet[i : i + 16_000]) for i in range(0, 5 * 16_000, 16_000)),
        speech=to_pcm(speech[16_000:32_000]),
        footage=footage_build(footage_dir) if footage_dir else (),
    )


def footage_build(directory: Path) -> tuple[tuple[tuple[bytes, ...], bytes], ...]:
    """Each recording's frames as the exam page sends them, and its person enrolled from its first."""
    from accounts.identity_service import embedding_encrypt
    from bench.still_frames import footage_jpegs
    from proctoring.detectors import identity

    recordings = []
    for video in sorted(directory.glob("*.mp4")):
        jpegs = footage_jpegs(video)
        enrolled = embedding_encrypt(identity.face_embedding(identity.decode_image(jpegs[0])))
        recordings.append((tuple(jpegs), enrolled))
    if not recordings:
        raise SystemExit(f"no .mp4 recordings in {directory}")
    return tuple(recordings)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass
class Student:
    session_id: str
    user: object
    alerting: bool
    frame_phase_ms: int
    audio_phase_ms: int
    cycle_offset: int
    footage: int = 0  # with --footage: the recording this student shows, and where in it they start
    footage_offset: int = 0
    socket: object = None
    frame_interval_ms: int = FRAME_INTERVAL_MS  # longer after a slow-down, with --obey-slow-down
    sent: dict[tuple[int, int], float] = field(default_factory=dict)  # (kind, seq) -> epoch
    held_audio: list[tuple[int, bytes]] = field(default_factory=list)  # (seq, message) for the next bundle
    bundles: bool = True  # as the exam page: audio rides with the next frame (--messages)


@dataclass
class Cohort:
    exam: object
    proctor: object
    students: list[Student]


def cohort_create(
    *, label: str, students: int, alerting: float, seed: int, media: Media | None = None
) -> Cohort:
    """A high-security exam, its proctor, and `students` sessions in progress (each enrolled as
    the person their frames show)."""
    rng = random.Random(seed)  # noqa: S311 (phases, not secrets)
    from django.db import connections

    from accounts.models import User
    from accounts.tests.factories import UserFactory
    from exams.tests.factories import ExamFactory
    from sessions.tests.factories import ExamSessionFactory

    exam = ExamFactory(
        title=f"Pipeline bench {label}",
        security_level="high",
        is_published=True,
        created_by__password=None,
        created_by__email=f"teacher-{label}@bench.procto",
    )
    proctor = UserFactory(role=User.Role.PROCTOR, password=None, email=f"proctor-{label}@bench.procto")
    exam.proctors.add(proctor)
    alerting_count = round(students * alerting)
    cohort = []
    footage = media.footage if media else ()
    for n in range(students):
        recording = n % len(footage) if footage else 0
        user = UserFactory(
            password=None,
            email=f"student-{label}-{n}@bench.procto",
            face_embedding=footage[recording][1] if footage else enrolled_embedding(),
            is_verified=True,
        )
        session = ExamSessionFactory(student=user, exam=exam)
        cohort.append(
            Student(
                session_id=str(session.pk),
                user=user,
                alerting=n < alerting_count,
                frame_phase_ms=rng.randrange(FRAME_INTERVAL_MS),
                audio_phase_ms=rng.randrange(AUDIO_INTERVAL_MS),
                cycle_offset=rng.randrange(len(ALERT_CYCLE)),
                footage=recording,
                footage_offset=rng.randrange(len(footage[recording][0])) if footage else 0,
            )
        )
    connections.close_all()
    return Cohort(exam=exam, proctor=proctor, students=cohort)


@functools.cache
def enrolled_embedding() -> bytes:
    """The astronaut's face embedding from his portrait (not from the frames the students send),
    encrypted as identity verification stores it: every simulated student is him."""
    from accounts.identity_service import embedding_encrypt
    from proctoring.detectors import identity
    from proctoring.tests import faces as photos

    return embedding_encrypt(identity.face_embedding(photos.astronaut()))


def identity_recheck_cpu_ms(media: Media) -> float:
    """CPU ms of one re-check's embedding on the one-face frame, as a worker takes it: the frame
    decoded as the workers' path decodes it, dlib looking around the face its analysis found."""
    from threadpoolctl import threadpool_limits

    from proctoring import pipeline
    from proctoring.detectors import identity

    path = pipeline.frame_path()
    rgb = path.decode_jpeg(media.one_face)
    face = max(path.analyse_frame(rgb, magnify=False).faces, key=lambda f: f.width * f.height)
    near = (face.x, face.y, face.width, face.height)
    # One BLAS thread, as the workers hold it (proctoring.tasks.load_models): a second would
    # only add its own spinning to the face network's CPU.
    with threadpool_limits(limits=1, user_api="blas"):
        return wall_and_cpu_ms(lambda: identity.face_embedding(rgb, near=near), 10, warmup=2)["cpu_mean_ms"]


# --- statistics -------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile; None when it falls on a missing (infinite) value."""
    if not values:
        return None
    value = sorted(values)[max(0, math.ceil(p * len(values)) - 1)]
    return None if math.isinf(value) else round(value, 1)


def summary(values: list[float], prefix: str) -> dict:
    return {
        f"{prefix}_p50_ms": percentile(values, 0.50),
        f"{prefix}_p95_ms": percentile(values, 0.95),
        f"{prefix}_p99_ms": percentile(values, 0.99),
        f"{prefix}_max_ms": percentile(values, 1.0),
    }


@dataclass
class Meter:
    daphne_pid: int
    worker_pgid: int | None  # None: no worker runs (--workers 0)
    database_url: str

    def snapshot(self) -> dict:
        busy, total = machine_busy_s()
        workers = group_pids(self.worker_pgid) if self.worker_pgid else []
        return {
            "daphne_threads": thread_cpu_s(self.daphne_pid),
            "daphne_wait": runqueue_wait_s(self.daphne_pid),
            "worker": {pid: process_cpu_s(pid) for pid in workers},
            "worker_wait": {
                pid: sum(runqueue_wait_s(pid).values()) for pid in workers if pid != self.worker_pgid
            },
            "postgres": {pid: process_cpu_s(pid) for pid in postgres_pids(self.database_url)},
            "redis": sum(process_cpu_s(pid) for pid in pids_named("redis-server")),
            "client": sum(os.times()[:2]),
            "machine_busy": busy,
            "machine_total": total,
            "wall": time.monotonic(),
        }

    def percent(self, before: dict, after: dict) -> dict:
        wall = after["wall"] - before["wall"]

        def used(key: str) -> dict[int, float]:
            return {k: v - before[key].get(k, 0.0) for k, v in after[key].items()}

        threads, daphne_wait = used("daphne_threads"), used("daphne_wait")
        others = sorted(((v, tid) for tid, v in threads.items() if tid != self.daphne_pid), reverse=True)
        worker = used("worker")
        parts = {
            "daphne": sum(threads.values()),
            "daphne_loop_thread": threads.get(self.daphne_pid, 0.0),
            "daphne_busiest_other_thread": others[0][0] if others else 0.0,
            "worker_parent": worker.get(self.worker_pgid, 0.0),
            "worker_children": sum(v for pid, v in worker.items() if pid != self.worker_pgid),
            "postgres": sum(used("postgres").values()),
            "redis": after["redis"] - before["redis"],
            "client": after["client"] - before["client"],
        }
        pct = {k: 100 * v / wall for k, v in parts.items()}
        share = (after["machine_busy"] - before["machine_busy"]) / (
            after["machine_total"] - before["machine_total"]
        )
        machine = 100 * share * (os.cpu_count() or 1)
        counted = ("daphne", "worker_parent", "worker_children", "postgres", "redis", "client")
        pct["other"] = max(0.0, machine - sum(pct[k] for k in counted))
        pct["machine"] = machine
        # Runnable but not running: time a process wanted a CPU and every core was taken.
        waits = {
            "daphne_runq_wait_pct": sum(daphne_wait.values()),
            "daphne_busiest_other_thread_runq_wait_pct": daphne_wait.get(others[0][1], 0.0)
            if others
            else 0.0,
            "worker_children_runq_wait_pct": sum(used("worker_wait").values()),
        }
        return {f"{k}_cpu_pct": round(v, 1) for k, v in pct.items()} | {
            k: round(100 * v / wall, 1) for k, v in waits.items()
        }


# --- (a) the models in one process -------------------------------------------------------------------


def timed(key: str, what: str, fn, *, runs: int, warmup: int = 5) -> dict:
    return {
        "part": "a",
        "key": key,
        "what": what,
        "runs": runs,
        **wall_and_cpu_ms(fn, runs, warmup=warmup),
        "loadavg_1m": os.getloadavg()[0],
    }


def part_a(media: Media, runs: int, broker: redis.Redis) -> list[dict]:
    from proctoring import media as stream_media
    from proctoring import pipeline
    from proctoring.detectors import audio, faces

    faces.warm_up()
    frame_one = faces.analyse_frame(faces.decode_jpeg(media.one_face))
    frame_two = faces.analyse_frame(faces.decode_jpeg(media.two_faces))
    chunk_speech = audio.analyse_chunk(audio.pcm_to_float(media.speech))
    chunk_quiet = audio.analyse_chunk(audio.pcm_to_float(media.quiet[0]))
    # The fixtures must be what they claim, or the timings describe another workload.
    assert frame_one.face_count == 1 and not frame_one.looking_away, frame_one
    assert frame_two.face_count == 2, frame_two
    assert chunk_speech.speech and not chunk_quiet.mic_activity, (chunk_speech, chunk_quiet)

    rows = [
        timed(
            "frame_model",
            "decode + faces.analyse_frame, 320x240 JPEG, one face (no magnified search)",
            lambda: faces.analyse_frame(faces.decode_jpeg(media.one_face), magnify=False),
            runs=runs,
        ),
        timed(
            "frame_magnified_model",
            "decode + faces.analyse_frame, 320x240 JPEG, one face, with the magnified search",
            lambda: faces.analyse_frame(faces.decode_jpeg(media.one_face)),
            runs=runs,
        ),
        timed(
            "frame_two_model",
            "decode + faces.analyse_frame, 320x240 JPEG, two faces",
            lambda: faces.analyse_frame(faces.decode_jpeg(media.two_faces)),
            runs=runs,
        ),
        timed("decode", "faces.decode_jpeg alone", lambda: faces.decode_jpeg(media.one_face), runs=runs),
        timed(
            "audio_model",
            "pcm_to_float + audio.analyse_chunk, 1 s quiet room",
            lambda: audio.analyse_chunk(audio.pcm_to_float(media.quiet[0])),
            runs=runs,
        ),
        timed(
            "audio_speech_model",
            "pcm_to_float + audio.analyse_chunk, 1 s speech",
            lambda: audio.analyse_chunk(audio.pcm_to_float(media.speech)),
            runs=runs,
        ),
    ]
    # The same work as the tasks do it (Redis state, the session row lock, the identity check's
    # query), and the socket's work in daphne per message: where the rest of the time goes.
    cohort = cohort_create(label="a", students=2, alerting=0, seed=0)
    session_id = cohort.students[0].session_id
    seqs = itertools.count(1)

    def frame_task() -> None:
        pipeline.frame_analyse(
            session_id=session_id, seq=next(seqs), captured_ms=int(time.time() * 1000), jpeg=media.one_face
        )

    def audio_task() -> None:
        pipeline.audio_analyse(
            session_id=session_id, seq=next(seqs), captured_ms=int(time.time() * 1000), pcm=media.quiet[1]
        )

    other = cohort.students[1].session_id

    def received(kind: str, payload: bytes):
        def call() -> None:
            stream_media.media_received(
                session_id=other,
                kind=kind,
                seq=next(seqs),
                captured_ms=int(time.time() * 1000),
                payload=payload,
            )

        return call

    rows += [
        timed(
            "frame_task",
            "task body pipeline.frame_analyse, one face (model + Redis + PostgreSQL)",
            frame_task,
            runs=runs,
        ),
        timed("audio_task", "task body pipeline.audio_analyse, 1 s quiet room", audio_task, runs=runs),
        timed(
            "frame_received",
            "daphne side media.media_received, frame (cache + enqueue)",
            received("frame", media.one_face),
            runs=runs,
        ),
        timed(
            "audio_received",
            "daphne side media.media_received, audio chunk",
            received("audio", media.quiet[2]),
            runs=runs,
        ),
    ]
    broker.delete(*QUEUES)  # the tasks media_received queued: no worker is meant to see them
    return rows


# --- (b) one worker process --------------------------------------------------------------------------


def counter(name: str) -> int:
    from procto.metrics import metric_value

    return int(metric_value(name) or 0)


def tasks_enqueue_and_wait(
    kind: str, sessions: list[str], count: int, payload: bytes, seqs: dict, timeout: float
) -> float:
    """Enqueue `count` analysis tasks over `sessions`; seconds until all are marked done."""
    from django.core.cache import cache

    from proctoring import stream_state, tasks

    task = tasks.frame_analyse if kind == "frame" else tasks.audio_analyse
    encoded, keys = b64(payload), []
    started = time.perf_counter()
    for n in range(count):
        session = sessions[n % len(sessions)]
        seqs[session] += 1
        task.delay(session, seqs[session], int(time.time() * 1000), encoded)
        keys.append(stream_state.done_key(session, kind, seqs[session]))
    # One solo worker takes its queue in order: when the last task is done, all are (checked below).
    deadline = started + timeout
    while not cache.get(keys[-1]):
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{count} {kind} tasks not analysed in {timeout} s")
        time.sleep(0.005)
    elapsed = time.perf_counter() - started
    done = len(cache.get_many(keys))
    assert done == count, f"only {done} of {count} {kind} tasks were done"
    return elapsed


def worker_stop(process) -> None:
    """A warm shutdown (SIGTERM to the Celery parent only): no task is cut off mid-way."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(20)


def worker_throughput(
    kind: str,
    payload: bytes,
    *,
    count: int,
    sessions: list[str],
    env: dict,
    tmp: Path,
    model: dict,
    magnified_model: dict | None = None,
) -> dict:
    """(b) for one kind of task: one solo worker on its queue, `count` tasks enqueued at once.

    Frames: the worker runs the magnified search on a student's frame at most every
    MAGNIFY_SECONDS, so the model-only rate it is compared with is the same mix of the two
    (a) timings, weighted by the share of frames it magnified in this run.
    """
    queue = "frames" if kind == "frame" else "audio"
    seqs = dict.fromkeys(sessions, 0)
    log = tmp / f"worker-b-{queue}.log"
    with running(celery_worker_cmd(queue), env=env, log=log) as worker:
        wait_for_log(log, " ready.", process=worker, timeout=120)
        tasks_enqueue_and_wait(kind, sessions, 20, payload, seqs, timeout=60)  # warm-up
        dropped, magnified = counter("frames_dropped"), counter("frames_magnified")
        cpu_before, load = process_cpu_s(worker.pid), os.getloadavg()[0]
        elapsed = tasks_enqueue_and_wait(kind, sessions, count, payload, seqs, timeout=180)
        cpu_ms = 1000 * (process_cpu_s(worker.pid) - cpu_before) / count
        dropped = counter("frames_dropped") - dropped
        share = (counter("frames_magnified") - magnified) / count
        worker_stop(worker)
    model_ms, model_cpu_ms = model["wall_median_ms"], model["cpu_mean_ms"]
    if magnified_model:
        model_ms += share * (magnified_model["wall_median_ms"] - model_ms)
        model_cpu_ms += share * (magnified_model["cpu_mean_ms"] - model_cpu_ms)
    rate, model_rate = count / elapsed, 1000 / model_ms
    return {
        "part": "b",
        "kind": kind,
        "queue": queue,
        "tasks": count,
        "sessions": len(sessions),
        "elapsed_s": round(elapsed, 2),
        "per_s": round(rate, 1),
        "model_per_s": round(model_rate, 1),
        "ratio_pct": round(100 * rate / model_rate, 1),
        "target_ratio_pct": 80,
        "worker_ms_per_task": round(1000 / rate, 2),
        "worker_cpu_ms_per_task": round(cpu_ms, 2),
        "model_cpu_ms_per_task": round(model_cpu_ms, 2),
        "worker_cpu_pct": round(100 * cpu_ms * rate / 1000, 1),
        "magnified_share": round(share, 3),
        "frames_dropped": dropped,
        "loadavg_1m": load,
    }


def part_b(
    media: Media, a_rows: dict[str, dict], *, frames: int, sessions: int, env: dict, tmp: Path
) -> list[dict]:
    cohort = cohort_create(label="b", students=sessions, alerting=0, seed=1)
    ids = [s.session_id for s in cohort.students]
    common = {"count": frames, "sessions": ids, "env": env, "tmp": tmp}
    return [
        worker_throughput(
            "frame",
            media.one_face,
            model=a_rows["frame_model"],
            magnified_model=a_rows["frame_magnified_model"],
            **common,
        ),
        worker_throughput("audio", media.quiet[3], model=a_rows["audio_model"], **common),
    ]


def capacity_estimate(b_rows: list[dict], c_row: dict) -> dict:
    """Students one 2-core machine could serve at this cadence, from CPU per unit of work.

    CPU time per task barely depends on how busy the machine is, where latency does: this is
    the figure to read when other work shared the cores. Workers: (b)'s CPU per frame and per
    audio chunk. The rest (daphne, the worker's prefork parent, Redis, PostgreSQL) per student:
    from the (c) level given. The simulated students' own CPU is left out: browsers run elsewhere.
    """
    cost = {row["kind"]: row["worker_cpu_ms_per_task"] for row in b_rows}
    workers_ms = cost["frame"] * 1000 / FRAME_INTERVAL_MS + cost["audio"] * 1000 / AUDIO_INTERVAL_MS
    per_student = {
        name: c_row[f"{name}_cpu_pct"] * 10 / c_row["students"]
        for name in ("daphne", "worker_parent", "redis", "postgres")
    }
    total = workers_ms + sum(per_student.values())
    return {
        "part": "capacity",
        "from_level": {"workers": c_row["workers"], "students": c_row["students"]},
        "worker_cpu_ms_per_student_s": round(workers_ms, 2),
        **{f"{name}_cpu_ms_per_student_s": round(v, 2) for name, v in per_student.items()},
        "total_cpu_ms_per_student_s": round(total, 2),
        "students_on_2_cores": int(2000 // total),
        "students_per_worker_core": int(1000 // workers_ms),
    }


# --- (c) end to end ----------------------------------------------------------------------------------


def celery_prefork_cmd(children: int) -> list[str]:
    """The deployed worker's shape (docker-compose.yml), on the media queues only."""
    return [
        PYTHON, "-m", "celery", "-A", "procto", "worker", "-Q", ",".join(QUEUES),
        "--pool", "prefork", "--concurrency", str(children), "--loglevel", "INFO",
        "--without-gossip", "--without-mingle", "-n", f"bench-pipeline-{children}@%h",
    ]  # fmt: skip


def celery_solo_group_cmd(processes: int, queues: tuple[str, ...] = QUEUES) -> list[str]:
    """`processes` separate solo workers (no prefork parent relaying tasks), in one process
    group under a shell that only waits: "worker parent" is then that idle shell."""
    import shlex

    solo = [
        PYTHON, "-m", "celery", "-A", "procto", "worker", "-Q", ",".join(queues),
        "--pool", "solo", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    workers = " & ".join(shlex.join([*solo, "-n", f"bench-solo-{n}@%h"]) for n in range(processes))
    return ["sh", "-c", f"{workers} & wait"]


async def ws_connect(port: int, path: str, user) -> websockets.ClientConnection:
    from accounts.services import ws_ticket_issue

    ticket = ws_ticket_issue(user=user, login_id="bench-pipeline")
    return await websockets.connect(
        f"ws://127.0.0.1:{port}{path}?ticket={ticket}",
        origin=f"http://127.0.0.1:{port}",
        compression=None,
        proxy=None,
        open_timeout=60,
        ping_interval=None,
        max_size=2**22,
    )


@dataclass
class Level:
    ack_ms: dict[str, list[float]] = field(default_factory=lambda: {"frame": [], "audio": []})
    late_ms: list[float] = field(default_factory=list)  # how late the client sent (its own load)
    expected: dict[tuple[str, int], float] = field(default_factory=dict)  # measured frame -> sent
    alerts: dict[tuple[str, int], float] = field(default_factory=dict)  # measured frame -> received
    caught_up: int = 0  # measured alerts that came in a catch-up after the monitor reconnected
    other_alerts: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    closed: Counter = field(default_factory=Counter)  # close codes of student sockets
    monitor_closed: Counter = field(default_factory=Counter)
    reconnects: int = 0
    send_failed: int = 0  # media sent while the socket was closed: lost, as the page's would be
    slow_downs: int = 0
    frames_sent: int = 0
    audio_sent: int = 0
    samples: list[dict] = field(default_factory=list)
    stopping: bool = False
    monitor_socket: object = None
    obey_slow_down: bool = False
    slowed: set = field(default_factory=set)  # sessions the overload governor slowed, as told
    cadence_messages: int = 0
    started_at: float = 0.0

    def outstanding(self) -> bool:
        acks = sum(len(v) for v in self.ack_ms.values())
        return acks < self.frames_sent + self.audio_sent or len(self.alerts) < len(self.expected)


async def stream_open(student: Student, port: int) -> None:
    """Open (or reopen) a student's socket as the exam page does: ticket, then hello."""
    student.socket = await ws_connect(port, f"/ws/exam-sessions/{student.session_id}/stream/", student.user)
    await student.socket.send(json.dumps({"type": "hello", "lastFrameSeq": 0, "lastAudioSeq": 0}))
    welcome = json.loads(await asyncio.wait_for(student.socket.recv(), 30))
    assert welcome.get("frameIntervalMs") == FRAME_INTERVAL_MS, welcome


async def media_send(student: Student, level: Level, data: bytes) -> bool:
    try:
        await student.socket.send(data)
    except websockets.ConnectionClosed:
        level.send_failed += 1
        return False
    return True


def one_face(student: Student, media: Media, k: int) -> bytes:
    """The student alone at the camera: the recording's frame for picture k (looping), or the one
    still photo every picture (without --footage: the still-frame gate is off then, see main)."""
    if not media.footage:
        return media.one_face
    frames = media.footage[student.footage][0]
    return frames[(student.footage_offset + k) % len(frames)]


async def student_frames(student: Student, level: Level, media: Media, start_ms: int, end_ms: int) -> None:
    scheduled = start_ms + student.frame_phase_ms
    for k in itertools.count():
        if k:
            scheduled += student.frame_interval_ms
        if scheduled >= end_ms:
            await bundle_send(student, level, None)  # the audio still held
            return
        await asyncio.sleep(max(0.0, scheduled / 1000 - time.time()))
        step = ALERT_CYCLE[(k + student.cycle_offset) % len(ALERT_CYCLE)] if student.alerting else "one"
        measured = step == "two-measured" and k > 0  # its two-face predecessor was sent
        captured = scheduled + (ONSET_MARGIN_MS if measured else 0)
        data = HEADER.pack(FRAME, k + 1, captured) + (
            one_face(student, media, k) if step == "one" else media.two_faces
        )
        now = time.time()
        level.late_ms.append(now * 1000 - scheduled)
        if measured:  # before the send, as the acks: its alert may come while the send drains
            level.expected[(student.session_id, k + 1)] = now
        if not await bundle_send(student, level, (k + 1, data)) and measured:
            level.expected.pop((student.session_id, k + 1), None)


async def student_audio(student: Student, level: Level, media: Media, start_ms: int, end_ms: int) -> None:
    """A chunk a second; with bundles it waits for the next frame, as on the exam page (at most
    AUDIO_HOLD_MS: a frame interval slowed past it sends the audio on its own)."""
    for k in itertools.count():
        scheduled = start_ms + student.audio_phase_ms + k * AUDIO_INTERVAL_MS
        if scheduled >= end_ms:
            return
        await asyncio.sleep(max(0.0, scheduled / 1000 - time.time()))
        data = HEADER.pack(AUDIO, k + 1, scheduled) + media.quiet[k % len(media.quiet)]
        now = time.time()
        level.late_ms.append(now * 1000 - scheduled)
        if not student.bundles:
            student.sent[(AUDIO, k + 1)] = now
            if await media_send(student, level, data):
                level.audio_sent += 1
            continue
        student.held_audio.append((k + 1, data))
        oldest = HEADER.unpack_from(student.held_audio[0][1])[2]
        # The page's timer fires AUDIO_HOLD_MS after the first chunk held; here the chunk that
        # would arrive after it sends what is held (at most 3 chunks, as the page's timer).
        if scheduled + AUDIO_INTERVAL_MS - oldest > AUDIO_HOLD_MS:
            await bundle_send(student, level, None)


async def bundle_send(student: Student, level: Level, frame: tuple[int, bytes] | None) -> bool:
    """The frame (if any) with the audio held for it: one bundle, or with --messages separate,
    each as a message of its own (the shapes before bundles). True when the frame went."""
    audio, student.held_audio = student.held_audio, []
    parts = [*audio, *([frame] if frame else [])]
    if not parts:
        return False
    now = time.time()
    # Recorded before the send: under load the ack can be read while the send still drains.
    sent_keys = [(AUDIO, seq) for seq, _ in audio] + ([(FRAME, frame[0])] if frame else [])
    for key in sent_keys:
        student.sent[key] = now
    if student.bundles:
        went = await media_send(student, level, encode_bundle([message for _, message in parts]))
    else:
        went = await media_send(student, level, frame[1])
    if not went:
        for key in sent_keys:
            student.sent.pop(key, None)
        return False
    level.audio_sent += len(audio)
    level.frames_sent += bool(frame)
    return bool(frame)


async def student_read(student: Student, level: Level, port: int) -> None:
    """Acks, errors and slow-downs; a socket the server closes is reopened, as the page does."""
    while True:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in student.socket:
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "ack":
                    for code, seq in acked_parts(message):
                        sent = student.sent.pop((code, seq), None)
                        if sent is not None:
                            name = "frame" if code == FRAME else "audio"
                            level.ack_ms[name].append(1000 * (time.time() - sent))
                elif kind == "error":
                    level.errors[message.get("code")] += 1
                elif kind == "cadence":  # the overload governor (--governor); the page obeys it
                    level.cadence_messages += 1
                    student.frame_interval_ms = int(message["frameIntervalMs"])
                    (level.slowed.add if message.get("slowed") else level.slowed.discard)(student.session_id)
                elif kind == "slow-down":
                    level.slow_downs += 1
                    if level.obey_slow_down:  # as the exam page does
                        student.frame_interval_ms = int(message["frameIntervalMs"])
        if level.stopping:
            return
        level.closed[str(student.socket.close_code)] += 1
        try:
            await stream_open(student, port)
            level.reconnects += 1
        except (OSError, TimeoutError, websockets.WebSocketException):
            await asyncio.sleep(1)


async def monitor_run(cohort: Cohort, level: Level, port: int, monitor) -> None:
    """The proctor's live alerts; after a close it reconnects and catches up (docs/PROTOCOL.md)."""
    last_id = 0
    while True:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in monitor:
                message = json.loads(raw)
                if message.get("type") == "alert":
                    events = [message["event"]]
                elif message.get("type") == "catch-up":
                    events = message["events"]
                else:
                    continue
                for event in events:
                    last_id = max(last_id, event["id"])
                    key = (event["sessionId"], event["details"].get("frameSeq"))
                    if (
                        event["type"] == "multiple-faces"
                        and key in level.expected
                        and key not in level.alerts
                    ):
                        level.alerts[key] = time.time()
                        level.caught_up += message["type"] == "catch-up"
                    elif message["type"] == "alert":
                        level.other_alerts[event["type"]] += 1
        if level.stopping:
            return
        level.monitor_closed[str(monitor.close_code)] += 1
        try:
            monitor = await ws_connect(port, "/ws/monitor/", cohort.proctor)
            await monitor.send(json.dumps({"type": "since", "lastEventId": last_id}))
            level.monitor_socket = monitor
        except (OSError, TimeoutError, websockets.WebSocketException):
            await asyncio.sleep(1)


async def sample_each_second(level: Level, meter: Meter, broker: redis.Redis, stop: asyncio.Event) -> None:
    from procto.metrics import metric_value

    last = meter.snapshot()
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
        now = meter.snapshot()
        cpu = meter.percent(last, now)
        last = now
        lag = metric_value("frame_lag_seconds")
        level.samples.append(
            {
                "daphne": cpu["daphne_cpu_pct"],
                "workers": cpu["worker_children_cpu_pct"],
                "frames_queued": broker.llen("frames"),
                "audio_queued": broker.llen("audio"),
                "frame_lag_s": round(lag, 2) if lag is not None else None,
                "slowed": len(level.slowed),
            }
        )


async def level_drive(
    cohort: Cohort,
    *,
    port: int,
    media: Media,
    meter: Meter,
    broker: redis.Redis,
    duration: float,
    grace: float,
    obey_slow_down: bool = False,
    bundles: bool = True,
) -> tuple[Level, dict]:
    level = Level(obey_slow_down=obey_slow_down)
    level.monitor_socket = await ws_connect(port, "/ws/monitor/", cohort.proctor)
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def open_gated(student: Student) -> None:
        async with gate:
            await stream_open(student, port)

    await asyncio.gather(*(open_gated(s) for s in cohort.students))
    for student in cohort.students:
        student.bundles = bundles
    start_ms = int(time.time() * 1000) + 1000
    end_ms = start_ms + int(duration * 1000)
    readers = [asyncio.create_task(student_read(s, level, port)) for s in cohort.students]
    readers.append(asyncio.create_task(monitor_run(cohort, level, port, level.monitor_socket)))
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_each_second(level, meter, broker, stop))
    await asyncio.sleep(max(0.0, start_ms / 1000 - time.time()))
    level.started_at = time.time()
    before = meter.snapshot()
    senders = [student_frames(s, level, media, start_ms, end_ms) for s in cohort.students]
    senders += [student_audio(s, level, media, start_ms, end_ms) for s in cohort.students]
    await asyncio.gather(*senders)
    cpu = meter.percent(before, meter.snapshot())  # while the students were sending
    drained_at = time.time() + grace
    while level.outstanding() and time.time() < drained_at:
        await asyncio.sleep(0.1)
    level.stopping = True
    stop.set()
    await sampler
    sockets = [s.socket for s in cohort.students] + [level.monitor_socket]
    await asyncio.wait([asyncio.create_task(s.close()) for s in sockets], timeout=15)
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    return level, cpu


def level_run(
    cohort: Cohort, *, workers: int, port: int, media: Media, meter: Meter, broker: redis.Redis, args
) -> dict:
    from django.core.cache import cache
    from django.db import connections

    from proctoring import stream_state
    from proctoring.models import ProctoringEvent

    for gauge in ("frame_lag_seconds", "audio_lag_seconds"):
        cache.delete(f"metrics:{gauge}")  # an earlier level's lag must not throttle this one
    analysed, dropped, still = counter("frames_analysed"), counter("frames_dropped"), counter("frames_still")
    rechecks = counter("identity_rechecks")
    load = os.getloadavg()[0]
    level, cpu = asyncio.run(
        level_drive(
            cohort,
            port=port,
            media=media,
            meter=meter,
            broker=broker,
            duration=args.duration,
            grace=args.grace,
            obey_slow_down=args.obey_slow_down,
            bundles=args.messages == "bundle",
        )
    )
    queued_at_end = {q: broker.llen(q) for q in QUEUES}
    analysed, dropped = counter("frames_analysed") - analysed, counter("frames_dropped") - dropped
    still = counter("frames_still") - still
    rechecks = counter("identity_rechecks") - rechecks
    broker.delete(*QUEUES)  # the backlog is this level's; the next level starts empty
    # When did each measured frame's event reach the database, and why did missing alerts miss?
    stored = {
        (str(session), seq): at.timestamp()
        for session, seq, at in ProctoringEvent.objects.filter(
            session__exam=cohort.exam, type="multiple-faces"
        ).values_list("session_id", "details__frameSeq", "received_at")
    }
    missing = [key for key in level.expected if key not in level.alerts]
    done = cache.get_many([stream_state.done_key(session, "frame", seq) for session, seq in missing])
    connections.close_all()
    alert_ms = [
        1000 * (level.alerts[k] - sent) if k in level.alerts else math.inf
        for k, sent in level.expected.items()
    ]
    stored_ms = [1000 * (stored[k] - sent) if k in stored else math.inf for k, sent in level.expected.items()]
    # The governor needs a few of its 5 s steps to bring the load under the workers: alerts after
    # the level's first --settled-after seconds show where it settles.
    settled_ms = [
        1000 * (level.alerts[k] - sent) if k in level.alerts else math.inf
        for k, sent in level.expected.items()
        if sent >= level.started_at + args.settled_after
    ]
    lags = [s["frame_lag_s"] for s in level.samples if s["frame_lag_s"] is not None]
    students = len(cohort.students)
    time.sleep(2)  # the frames the workers had already taken finish before the next level
    return {
        "part": "c",
        "workers": workers,
        "students": students,
        "alerting_students": sum(s.alerting for s in cohort.students),
        "duration_s": args.duration,
        "frames_sent": level.frames_sent,
        "frames_sent_per_s": round(level.frames_sent / args.duration, 1),
        "obey_slow_down": args.obey_slow_down,
        "messages": args.messages,
        "audio_sent": level.audio_sent,
        "offered_frames_per_s": round(students * 1000 / FRAME_INTERVAL_MS, 1),
        "offered_audio_per_s": round(students * 1000 / AUDIO_INTERVAL_MS, 1),
        "measured_frames": len(level.expected),
        "alerts_received": len(level.alerts),
        "alerts_missing": len(missing),
        "alerts_by_catch_up": level.caught_up,
        "missing_but_analysed": len(done),
        "events_stored_for_measured": sum(k in stored for k in level.expected),
        "other_alerts": dict(level.other_alerts),
        **summary(alert_ms, "alert"),
        "settled_after_s": args.settled_after,
        **summary(settled_ms, "alert_settled"),
        "alerts_settled_expected": len(settled_ms),
        "alerts_settled_received": sum(v != math.inf for v in settled_ms),
        **summary(stored_ms, "event_stored"),
        **summary(level.ack_ms["frame"], "frame_ack"),
        **summary(level.ack_ms["audio"], "audio_ack"),
        "acks_missing": level.frames_sent + level.audio_sent - sum(len(v) for v in level.ack_ms.values()),
        "client_late_p95_ms": percentile(level.late_ms, 0.95),
        "frames_analysed": analysed,
        "frames_dropped": dropped,
        "frames_still": still,
        **recheck_load(rechecks, students, args.duration, args.recheck_cpu_ms),
        "frames_queued_at_end": queued_at_end["frames"],
        "audio_queued_at_end": queued_at_end["audio"],
        "frames_queued_max": max((s["frames_queued"] for s in level.samples), default=0),
        "audio_queued_max": max((s["audio_queued"] for s in level.samples), default=0),
        "frame_lag_gauge_max_s": max(lags, default=None),
        "slow_downs": level.slow_downs,
        "governor": args.governor,
        "cadence_messages": level.cadence_messages,
        "sessions_slowed_max": max((s["slowed"] for s in level.samples), default=0),
        "sessions_slowed_at_end": len(level.slowed),
        "errors": dict(level.errors),
        "student_sockets_closed": dict(level.closed),
        "student_reconnects": level.reconnects,
        "media_lost_while_closed": level.send_failed,
        "monitor_sockets_closed": dict(level.monitor_closed),
        **cpu,
        "daphne_cpu_peak_1s_pct": max((s["daphne"] for s in level.samples), default=None),
        "loadavg_1m_before": load,
        "per_second": level.samples,
    }


def recheck_load(rechecks: int, students: int, duration_s: float, cpu_ms: float) -> dict:
    """Identity re-checks the level cost, per student-hour, and what that rate of them would take
    of the CPU at 300 students. `beyond_first`: without each session's first re-check (its first
    frame), which a run of a minute or two would otherwise weigh as much as the rest."""
    hours = students * duration_s / 3600

    def cores(count: int) -> float:
        return round(count / hours * 300 * cpu_ms / 3_600_000, 3)

    return {
        "identity_rechecks": rechecks,
        "identity_rechecks_per_student_hour": round(rechecks / hours, 1),
        "identity_rechecks_beyond_first_per_student_hour": round(max(0, rechecks - students) / hours, 1),
        "identity_recheck_cpu_ms": cpu_ms,
        "identity_recheck_cores_at_300": cores(rechecks),
        "identity_recheck_beyond_first_cores_at_300": cores(max(0, rechecks - students)),
    }


def stack_warm_up(port: int, media: Media, broker: redis.Redis, *, analysed: bool) -> None:
    """First-request costs of daphne and the worker's children, outside any measurement."""
    cohort = cohort_create(label=f"warm-{port}", students=2, alerting=0, seed=2)

    async def go() -> None:
        for student in cohort.students:
            student.socket = await ws_connect(
                port, f"/ws/exam-sessions/{student.session_id}/stream/", student.user
            )
            for seq in range(1, 4):
                now = int(time.time() * 1000)
                frame = HEADER.pack(FRAME, seq, now) + media.one_face
                audio = HEADER.pack(AUDIO, seq, now) + media.quiet[0]
                await student.socket.send(encode_bundle([audio, frame]))
            await student.socket.close()

    target = counter("frames_analysed") + 6
    asyncio.run(go())
    deadline = time.monotonic() + 60
    while analysed and counter("frames_analysed") < target and time.monotonic() < deadline:
        time.sleep(0.1)
    broker.delete(*QUEUES)


def part_c(
    media: Media, *, workers: int, levels: list[int], env: dict, tmp: Path, database_url: str, broker, args
) -> list[dict]:
    """daphne and a Celery worker with `workers` children (0: daphne alone, nothing analysed)."""
    port = free_port()
    worker_log, daphne_log = tmp / f"worker-c{workers}.log", tmp / f"daphne-c{workers}.log"
    rows = []
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(running(daphne_cmd(port), env=env, log=daphne_log))
        worker = None
        if workers:
            if args.governor:
                # As deployed (docker-compose.yml): beat's schedule, the workers on the default
                # queue too, where beat's cadence-adjust lands every 5 s.
                cmd = celery_solo_group_cmd(workers, (*QUEUES, "default"))
                beat = [PYTHON, "-m", "celery", "-A", "procto", "beat", "--loglevel", "INFO",
                        "--schedule", str(tmp / f"beat-schedule-{workers}")]  # fmt: skip
                stack.enter_context(running(beat, env=env, log=tmp / f"beat-c{workers}.log"))
            elif args.pool == "solo":
                cmd = celery_solo_group_cmd(workers)
            else:
                cmd = celery_prefork_cmd(workers)
            worker = stack.enter_context(running(cmd, env=env, log=worker_log))
            deadline = time.monotonic() + 120
            while worker_log.read_text(errors="replace").count(" ready.") < (
                workers if args.pool == "solo" else 1
            ):
                if time.monotonic() > deadline or worker.poll() is not None:
                    raise RuntimeError(f"workers not ready: {worker_log.read_text(errors='replace')[-2000:]}")
                time.sleep(0.2)
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process=server)
        stack_warm_up(port, media, broker, analysed=bool(workers))
        meter = Meter(
            daphne_pid=server.pid, worker_pgid=worker.pid if worker else None, database_url=database_url
        )
        for index, students in enumerate(levels):
            cohort = cohort_create(
                label=f"c{workers}-{index}-{students}",
                students=students,
                alerting=args.alerting,
                seed=args.seed * 1000 + workers * 100 + index,
                media=media,
            )
            timeouts = channel_layer_timeouts(daphne_log)
            row = level_run(
                cohort, workers=workers, port=port, media=media, meter=meter, broker=broker, args=args
            )
            row["daphne_channel_layer_timeouts"] = channel_layer_timeouts(daphne_log) - timeouts
            print(json.dumps(row), flush=True)
            rows.append(row)
        if worker and args.pool == "solo":
            # Warm shutdown of every solo worker; the shell above them would not pass it on.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.wait(20)
        elif worker:
            worker_stop(worker)
    return rows


def channel_layer_timeouts(daphne_log: Path) -> int:
    """Consumers daphne lost to the channel layer's Redis read timeout.

    redis-py 8 times reads out after 5 s, exactly channels_redis' blocking receive, unless the
    channel layer's host sets a longer socket_timeout (procto.settings does since c337474): a
    regression shows here, and as closed student and monitor sockets that the client reopens.
    """
    return daphne_log.read_text(errors="replace").count("Timeout reading from") if daphne_log.exists() else 0


# --- output -----------------------------------------------------------------------------------------


def cell(value) -> str:
    if value is None:
        return "missing"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def table(rows: list[dict], columns: dict[str, str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]
    lines += ["| " + " | ".join(cell(row.get(key)) for key in columns.values()) + " |" for row in rows]
    return "\n".join(lines)


A_COLUMNS = {
    "measurement": "what",
    "runs": "runs",
    "wall median ms": "wall_median_ms",
    "wall p95 ms": "wall_p95_ms",
    "CPU mean ms": "cpu_mean_ms",
}
B_COLUMNS = {
    "queue": "queue",
    "tasks": "tasks",
    "sessions": "sessions",
    "elapsed s": "elapsed_s",
    "tasks/s": "per_s",
    "model-only/s (a)": "model_per_s",
    "% of model-only": "ratio_pct",
    "worker ms/task": "worker_ms_per_task",
    "worker CPU ms/task": "worker_cpu_ms_per_task",
    "model CPU ms (a)": "model_cpu_ms_per_task",
    "frames magnified": "magnified_share",
}
CAPACITY = {
    "workers (b)": "worker_cpu_ms_per_student_s",
    "daphne": "daphne_cpu_ms_per_student_s",
    "worker parent": "worker_parent_cpu_ms_per_student_s",
    "Redis": "redis_cpu_ms_per_student_s",
    "PostgreSQL": "postgres_cpu_ms_per_student_s",
    "total": "total_cpu_ms_per_student_s",
    "students on 2 cores": "students_on_2_cores",
    "students per worker core": "students_per_worker_core",
}
C_LATENCY = {
    "workers": "workers",
    "students": "students",
    "measured frames": "measured_frames",
    "alerts": "alerts_received",
    "missing": "alerts_missing",
    "by catch-up": "alerts_by_catch_up",
    "alert p50 ms": "alert_p50_ms",
    "alert p95 ms": "alert_p95_ms",
    "alert p99 ms": "alert_p99_ms",
    "event stored p50 ms": "event_stored_p50_ms",
    "event stored p95 ms": "event_stored_p95_ms",
    "frame ack p50 ms": "frame_ack_p50_ms",
    "frame ack p95 ms": "frame_ack_p95_ms",
    "audio ack p95 ms": "audio_ack_p95_ms",
}
C_LOAD = {
    "workers": "workers",
    "students": "students",
    "frames sent": "frames_sent",
    "frames analysed": "frames_analysed",
    "dropped": "frames_dropped",
    "answered by the still-frame gate": "frames_still",
    "identity re-checks": "identity_rechecks",
    "re-checks per student-hour (beyond the first)": "identity_rechecks_beyond_first_per_student_hour",
    "frames queued max": "frames_queued_max",
    "audio queued max": "audio_queued_max",
    "audio queued at end": "audio_queued_at_end",
    "frame lag max s": "frame_lag_gauge_max_s",
    "slow-downs": "slow_downs",
    "channel-layer timeouts": "daphne_channel_layer_timeouts",
    "student reconnects": "student_reconnects",
    "daphne %": "daphne_cpu_pct",
    "daphne loop thread %": "daphne_loop_thread_cpu_pct",
    "daphne busiest other thread %": "daphne_busiest_other_thread_cpu_pct",
    "worker parent %": "worker_parent_cpu_pct",
    "worker children %": "worker_children_cpu_pct",
    "worker children waiting for a CPU %": "worker_children_runq_wait_pct",
    "daphne waiting for a CPU %": "daphne_runq_wait_pct",
    "its busiest other thread waiting %": "daphne_busiest_other_thread_runq_wait_pct",
    "PostgreSQL %": "postgres_cpu_pct",
    "Redis %": "redis_cpu_pct",
    "client %": "client_cpu_pct",
    "other %": "other_cpu_pct",
    "client late p95 ms": "client_late_p95_ms",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="a,b,c", help="which measurements: a, b, c")
    parser.add_argument("--runs", type=int, default=100, help="(a): timed runs of each measurement")
    parser.add_argument("--frames", type=int, default=300, help="(b): frame tasks enqueued")
    parser.add_argument(
        "--sessions",
        type=int,
        default=150,
        help="(b): sessions they are dealt over (150: each gets a frame about every 2 s, as at the "
        "high cadence, so about half are magnified, as in production)",
    )
    parser.add_argument("--students", default="100,300,500", help="(c): comma-separated levels")
    parser.add_argument(
        "--workers",
        default="1,2",
        help="(c): comma-separated worker process counts; 0: daphne alone, nothing analysed",
    )
    parser.add_argument("--duration", type=float, default=30.0, help="(c): seconds each level sends")
    parser.add_argument("--grace", type=float, default=10.0, help="(c): seconds to wait for late alerts")
    parser.add_argument(
        "--alerting", type=float, default=0.2, help="(c): share of students showing two faces"
    )
    parser.add_argument(
        "--database", default="procto_bench_pipeline", help="dropped and recreated on each run"
    )
    parser.add_argument("--redis-db", type=int, default=9, help="Redis database emptied on each run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--footage",
        type=Path,
        help="(c): a folder of .mp4 recordings of people at a camera (bench/still_frames.py says"
        " where to get some): students show them instead of one still photo, and the still-frame"
        " gate runs. Without it the gate is off: a photo sent again unchanged is what no camera sends",
    )
    parser.add_argument(
        "--pool",
        choices=("prefork", "solo"),
        default="prefork",
        help="(c): one prefork worker with N children (docker-compose.yml), or N solo workers",
    )
    parser.add_argument(
        "--obey-slow-down",
        action="store_true",
        help="(c): students send frames less often when told to, as the exam page does",
    )
    parser.add_argument(
        "--governor",
        action="store_true",
        help="(c, solo workers): beat runs, and with it the overload governor (proctoring/cadence.py); "
        "the students obey its cadence messages, as the exam page does",
    )
    parser.add_argument(
        "--settled-after",
        type=float,
        default=30.0,
        help="(c): alert latencies are also reported for the frames sent after this many seconds "
        "of each level (alert_settled_*), once the governor has had its steps",
    )
    parser.add_argument(
        "--messages",
        choices=("bundle", "separate"),
        default="bundle",
        help="(c): a frame and the audio held for it in one bundle (the exam page since issue 15), "
        "or each frame and audio chunk as a message of its own (before)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="(c): print, last, one JSON line of the last level run (the most workers, the most "
        "students): students, alert_p95_ms, alert_p99_ms, alerts_expected, alerts_received, "
        "frames_sent, frames_analysed, cpu_cores_used (daphne, workers, PostgreSQL, Redis)",
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    levels = [int(n) for n in args.students.split(",")]
    worker_counts = [int(n) for n in args.workers.split(",")]
    if not (
        parts <= {"a", "b", "c"}
        and 10 <= args.runs <= 10_000
        and 10 <= args.frames <= 10_000
        and 1 <= args.sessions <= 1000
        and max(levels) <= 2000
        and 0 <= min(worker_counts) <= max(worker_counts) <= 8
        and 5 <= args.duration <= 300
        and 0 <= args.grace <= 120
        and 0 < args.alerting <= 1
        and 1 <= args.redis_db <= 15  # never database 0, where the app's own cache and queues live
        and not (args.governor and args.pool != "solo")  # as deployed: solo workers
    ):
        parser.error("bounded on purpose: see --help for the ranges")

    server_url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    redis_url = f"{REDIS_SERVER}/{args.redis_db}"
    tmp = Path(tempfile.mkdtemp(prefix="procto-pipeline-"))  # kept: the servers' logs are worth a look
    broker = redis_reset(redis_url)
    database_url = database_recreate(server_url, args.database)
    if not args.footage:
        # The simulated students send one JPEG again and again: the still-frame gate would skip
        # two pictures in three, which no real camera's noise and sway allow.
        os.environ["STILL_FRAME_THRESHOLD"] = "0"
    django_configure(database_url=database_url, redis_url=redis_url, local_dir=tmp)
    env = child_env(LOG_LEVEL=None)  # the deployed INFO; database, Redis and keys as set above
    media = media_build(args.footage)
    started = time.monotonic()
    results: dict[str, list[dict]] = {"a": [], "b": [], "c": []}

    if "a" in parts or "b" in parts:
        results["a"] = part_a(media, args.runs, broker)
        for row in results["a"]:
            print(json.dumps(row), flush=True)
    if "b" in parts:
        a_rows = {row["key"]: row for row in results["a"]}
        results["b"] = part_b(media, a_rows, frames=args.frames, sessions=args.sessions, env=env, tmp=tmp)
        for row in results["b"]:
            print(json.dumps(row), flush=True)
    if "c" in parts:
        args.recheck_cpu_ms = identity_recheck_cpu_ms(media)
        for workers in worker_counts:
            results["c"] += part_c(
                media,
                workers=workers,
                levels=levels,
                env=env,
                tmp=tmp,
                database_url=database_url,
                broker=broker,
                args=args,
            )

    capacity = []
    analysed = [row for row in results["c"] if row["workers"]]
    if results["b"] and analysed:
        lowest = min(analysed, key=lambda r: (r["students"], -r["workers"]))
        capacity = [capacity_estimate(results["b"], lowest)]
        print(json.dumps(capacity[0]), flush=True)

    print(f"\nlogs in {tmp}; {time.monotonic() - started:.0f} s; CPU in % of one core\n")
    if results["a"]:
        print("(a) one process, no other work in it\n\n" + table(results["a"], A_COLUMNS) + "\n")
    if results["b"]:
        print("(b) one worker process (--pool solo) per queue\n\n" + table(results["b"], B_COLUMNS) + "\n")
    if results["c"]:
        print(
            "(c) frame on the student's socket -> alert on the proctor's socket\n\n"
            + table(results["c"], C_LATENCY)
        )
        print("\n(c) load while the students were sending\n\n" + table(results["c"], C_LOAD))
    if capacity:
        print(
            "\ncapacity from CPU per unit of work (ms of CPU per student-second)\n\n"
            + table(capacity, CAPACITY)
        )
    if args.json and results["c"]:
        print(json.dumps(json_summary(results["c"][-1])), flush=True)


def json_summary(row: dict) -> dict:
    """The figures of issue 15's target, from one level of (c)."""
    server = ("daphne", "worker_parent", "worker_children", "postgres", "redis")
    return {
        "students": row["students"],
        "workers": row["workers"],
        "messages": row["messages"],
        "duration_s": row["duration_s"],
        "alert_p50_ms": row["alert_p50_ms"],
        "alert_p95_ms": row["alert_p95_ms"],
        "alert_p99_ms": row["alert_p99_ms"],
        "alert_settled_p95_ms": row["alert_settled_p95_ms"],
        "governor": row["governor"],
        "sessions_slowed_max": row["sessions_slowed_max"],
        "alerts_expected": row["measured_frames"],
        "alerts_received": row["alerts_received"],
        "frames_sent": row["frames_sent"],
        "frames_analysed": row["frames_analysed"],
        "frames_dropped": row["frames_dropped"],
        "frames_still": row["frames_still"],
        "audio_sent": row["audio_sent"],
        "cpu_cores_used": round(sum(row[f"{part}_cpu_pct"] for part in server) / 100, 2),
        "machine_cores_used": round(row["machine_cpu_pct"] / 100, 2),
    }


if __name__ == "__main__":
    main()
