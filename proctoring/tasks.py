"""Celery tasks: ids and bytes in, a service call, nothing else. Models load once per worker
process (worker_process_init), never per task."""

from __future__ import annotations

import base64
import smtplib

from celery import shared_task
from celery.signals import worker_process_init

from proctoring import heartbeat, notifications, pipeline


@worker_process_init.connect
def load_models(**kwargs) -> None:
    from proctoring.detectors import faces, identity

    faces.warm_up()
    identity.warm_up()


@shared_task(name="proctoring.tasks.analyse_frame", ignore_result=True)
def analyse_frame(session_id: str, seq: int, captured_ms: int, jpeg_b64: str) -> str:
    return pipeline.frame_analyse(
        session_id=session_id, seq=seq, captured_ms=captured_ms, jpeg=base64.b64decode(jpeg_b64)
    )


@shared_task(name="proctoring.tasks.analyse_audio", ignore_result=True)
def analyse_audio(session_id: str, seq: int, captured_ms: int, pcm_b64: str) -> str:
    return pipeline.audio_analyse(
        session_id=session_id, seq=seq, captured_ms=captured_ms, pcm=base64.b64decode(pcm_b64)
    )


@shared_task(name="proctoring.tasks.stream_heartbeats_check", ignore_result=True)
def stream_heartbeats_check() -> int:
    return heartbeat.stream_heartbeats_check()


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
