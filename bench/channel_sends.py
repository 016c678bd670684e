"""CPU of one send to the monitors from a Celery worker (procto/channels.py), both ways.

A worker has no event loop of its own: asgiref's async_to_sync starts a thread and a loop for
every call, and channels_redis opens a Redis connection per loop. Workers now send on one loop
per process (`send_on_worker_loop`). This times `group_send_on_commit` (outside a transaction,
so at once) to two groups, as a face-count push goes to an exam's monitors and to everyone's,
on this machine's Redis:

    REDIS_URL=redis://127.0.0.1:6379/9 .venv/bin/python bench/channel_sends.py --sends 300

Prints one JSON line per way: CPU ms (this process, all threads) and wall ms per send.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sends", type=int, default=300)
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        raise SystemExit("set REDIS_URL: the sends go through channels_redis")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "procto.settings")
    import django

    django.setup()
    from procto import channels

    message = {"type": "proctoring.session_media", "session": {"id": "bench", "faceCount": 1}}
    groups = ["bench-exam-monitor", "bench-all-monitor"]
    for way, on_worker_loop in (("async_to_sync per send", False), ("one loop per process", True)):
        channels._worker_loop.enabled = on_worker_loop
        for _ in range(10):
            channels.group_send_on_commit(groups, message, what="bench")
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.sends):
            channels.group_send_on_commit(groups, message, what="bench")
        print(
            json.dumps(
                {
                    "way": way,
                    "sends": args.sends,
                    "cpu_ms_per_send": round(1000 * (time.process_time() - cpu) / args.sends, 3),
                    "wall_ms_per_send": round(1000 * (time.perf_counter() - wall) / args.sends, 3),
                }
            )
        )


if __name__ == "__main__":
    main()
