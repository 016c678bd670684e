"""A Celery worker whose frame analysis first waits, so a test can kill it mid-task.

Run as `python -m proctoring.tests.slow_worker <seconds> <marker file>`; the marker file appears
when a frame task has started (and is then sleeping).
"""

import sys
import time
from pathlib import Path

import django

django.setup()

from procto.celery import app  # noqa: E402
from proctoring import pipeline  # noqa: E402

delay, marker = float(sys.argv[1]), Path(sys.argv[2])
real_analyse = pipeline.frame_analyse


def slow_analyse(**kwargs):
    marker.write_text("started")
    time.sleep(delay)
    return real_analyse(**kwargs)


pipeline.frame_analyse = slow_analyse
app.worker_main(
    [
        "worker",
        "-Q",
        "frames,audio,default",
        "--pool",
        "solo",
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
    ]
)
