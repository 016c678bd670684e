"""A Celery worker whose frame analysis first waits, so a test can kill it mid-task.

Run as `python -m proctoring.tests.slow_worker <seconds> <marker file> [<frames first>]`; it
analyses the first <frames first> frames (0 if not given) at once, then waits before the next;
the marker file appears when it starts waiting (mid-task, or mid-batch when a batch of frames
came).
"""

import sys
import time
from pathlib import Path

import django

django.setup()

from procto.celery import app  # noqa: E402
from proctoring import pipeline  # noqa: E402

delay, marker = float(sys.argv[1]), Path(sys.argv[2])
frames_first = int(sys.argv[3]) if len(sys.argv) > 3 else 0
real_analyse = pipeline.frame_analyse
calls = 0


def slow_analyse(**kwargs):
    global calls
    calls += 1
    if calls > frames_first:
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
