"""Celery tasks: ids and bytes in, a service call, nothing else; each is named after its service.

Models load once per worker process (worker_process_init), never per task. The web process
imports this module too, to enqueue: the analysis pipeline and its libraries (MediaPipe, dlib,
OpenCV, SciPy) are imported only inside the worker, never at this module's top.
"""

from __future__ import annotations

import base64
import smtplib

from celery import shared_task
from celery.signals import worker_process_init

from proctoring import cadence, heartbeat, notifications, retention, services


@worker_process_init.connect
def load_models(**kwargs) -> None:
    from threadpoolctl import threadpool_limits

    from proctoring import pipeline  # imported here so that no task pays for it
    from proctoring.detectors import audio, identity

    pipeline.frame_path().warm_up()
    identity.warm_up()
    audio.warm_up()
    # The workers are one process per core: BLAS threads of their own only compete for it. After
    # the warm-ups, which load SciPy's own OpenBLAS: the limit reaches the libraries loaded.
    threadpool_limits(limits=1, user_api="blas")


# Frames travel in batches, one task per web process per FRAME_BATCH_SECONDS (frame_batches.py):
# [[session_id, seq, captured_ms, jpeg_b64, request_id], ...], each analysed on its own.
@shared_task(name="proctoring.tasks.frames_analyse", ignore_result=True)
def frames_analyse(frames: list[list]) -> list[str]:
    from proctoring import pipeline

    return pipeline.frames_analyse(
        frames=[
            pipeline.QueuedFrame(session_id, seq, captured_ms, base64.b64decode(jpeg_b64), *request_id)
            for session_id, seq, captured_ms, jpeg_b64, *request_id in frames
        ]
    )


# One frame a task: what the web processes sent before frames_analyse. A worker of this version
# still analyses those an old web process queued during a rolling deploy. Remove in the next release.
@shared_task(name="proctoring.tasks.frame_analyse", ignore_result=True)
def frame_analyse(session_id: str, seq: int, captured_ms: int, jpeg_b64: str) -> str:
    from proctoring import pipeline

    return pipeline.frame_analyse(
        session_id=session_id, seq=seq, captured_ms=captured_ms, jpeg=base64.b64decode(jpeg_b64)
    )


# Audio chunks travel in batches as frames do: [[session_id, seq, captured_ms, pcm_b64,
# request_id], ...], each analysed on its own and in order.
@shared_task(name="proctoring.tasks.audio_chunks_analyse", ignore_result=True)
def audio_chunks_analyse(chunks: list[list]) -> list[str]:
    from proctoring import pipeline

    return pipeline.audio_chunks_analyse(
        chunks=[
            pipeline.QueuedChunk(session_id, seq, captured_ms, base64.b64decode(pcm_b64), *request_id)
            for session_id, seq, captured_ms, pcm_b64, *request_id in chunks
        ]
    )


# One chunk a task: what web processes sent before audio_chunks_analyse (a rolling deploy).
@shared_task(name="proctoring.tasks.audio_analyse", ignore_result=True)
def audio_analyse(session_id: str, seq: int, captured_ms: int, pcm_b64: str) -> str:
    from proctoring import pipeline

    return pipeline.audio_analyse(
        session_id=session_id, seq=seq, captured_ms=captured_ms, pcm=base64.b64decode(pcm_b64)
    )


# The names these two tasks had before they followed their services. A worker of this version
# still analyses frames and audio queued under them by the web processes of the last one, so a
# rolling deploy loses none (audio is never dropped). Remove in the release after next.
LEGACY_NAMES = {
    "proctoring.tasks.analyse_frame": frame_analyse,
    "proctoring.tasks.analyse_audio": audio_analyse,
}
for _legacy, _task in LEGACY_NAMES.items():
    shared_task(name=_legacy, ignore_result=True)(_task.run)


@shared_task(name="proctoring.tasks.stream_heartbeats_check", ignore_result=True)
def stream_heartbeats_check() -> int:
    return heartbeat.stream_heartbeats_check()


@shared_task(name="proctoring.tasks.cadence_adjust", ignore_result=True)
def cadence_adjust() -> dict[str, int]:
    return cadence.cadence_adjust()


@shared_task(name="proctoring.tasks.departures_settle", ignore_result=True)
def departures_settle() -> int:
    return services.departures_settle()


# A mail server that is down is retried a few times, a minute apart and more.
@shared_task(
    name="proctoring.tasks.critical_alert_notify",
    ignore_result=True,
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=60,
    max_retries=4,
)
def critical_alert_notify(event_id: int) -> int:
    return notifications.critical_alert_notify(event_id=event_id)


# Runs far longer than an analysis task: it deletes files one by one, on S3 one request each. The
# service stops by itself after its own budget (proctoring.retention.TIME_BUDGET_SECONDS).
# Acknowledged on receipt, not after: acked late, a run longer than the broker's visibility
# timeout (120 s) was handed to another worker while still running, again every 120 s. A run lost
# with its worker costs nothing: the next hour's run finds what is still due.
@shared_task(
    name="proctoring.tasks.media_retention_apply",
    ignore_result=True,
    acks_late=False,
    soft_time_limit=900,
    time_limit=960,
)
def media_retention_apply() -> dict[str, int]:
    return dict(retention.media_retention_apply())
