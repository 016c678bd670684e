"""Celery tasks are named exactly after the service they call, and still reach their queues."""

from __future__ import annotations

import pytest

from procto.celery import app
from proctoring import heartbeat, notifications, pipeline, tasks
from sessions import services as session_services
from sessions import tasks as session_tasks


@pytest.mark.parametrize(
    ("task", "service"),
    [
        (tasks.frames_analyse, pipeline.frames_analyse),
        (tasks.frame_analyse, pipeline.frame_analyse),
        (tasks.audio_analyse, pipeline.audio_analyse),
        (tasks.stream_heartbeats_check, heartbeat.stream_heartbeats_check),
        (tasks.critical_alert_notify, notifications.critical_alert_notify),
        (session_tasks.exam_sessions_expire_overdue, session_services.exam_sessions_expire_overdue),
    ],
)
def test_a_task_is_registered_under_the_name_of_its_service(task, service):
    assert task.name == f"{task.run.__module__}.{service.__name__}"
    assert task.run.__name__ == service.__name__


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        (tasks.frames_analyse, "frames"),
        (tasks.frame_analyse, "frames"),
        (tasks.audio_analyse, "audio"),
        (tasks.stream_heartbeats_check, "default"),
    ],
)
def test_analysis_tasks_are_routed_to_their_own_queues(task, queue):
    assert app.amqp.router.route({}, task.name)["queue"].name == queue


@pytest.mark.parametrize(("legacy", "queue"), [("analyse_frame", "frames"), ("analyse_audio", "audio")])
def test_media_queued_under_the_old_task_names_is_still_analysed(legacy, queue):
    # Queued by the previous release's web processes just before a deploy.
    name = f"proctoring.tasks.{legacy}"
    assert app.tasks[name].run is tasks.LEGACY_NAMES[name].run
    assert app.amqp.router.route({}, name)["queue"].name == queue


def test_no_task_acknowledged_late_may_run_past_the_brokers_visibility_timeout(settings):
    # With acks_late on Redis, a task still running when its visibility timeout passes is handed
    # to another worker as if its own had died: the retention job (minutes of S3 deletes) ran again
    # every 120 s, each copy holding a solo worker that also analyses the students' frames.
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    ours = [task for name, task in app.tasks.items() if not name.startswith("celery.")]
    assert tasks.media_retention_apply in ours
    too_long = {
        task.name: task.time_limit or app.conf.task_time_limit
        for task in ours
        if task.acks_late and (task.time_limit or app.conf.task_time_limit) >= visibility
    }
    assert too_long == {}
