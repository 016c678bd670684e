"""daphne's start-up time and resident memory: what the web process pays for its imports.

Starts `daphne procto.asgi:application` on a free loopback port (SQLite and the in-memory layer
unless DATABASE_URL / REDIS_URL say otherwise), times until /healthz answers, then reads VmRSS
and VmHWM from /proc/<pid>/status and which native model libraries the process has mapped
(MediaPipe, dlib, OpenCV: the web process should map none of them). One JSON line per run:

    .venv/bin/python bench/web_startup.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from procto.tests.live_servers import child_env, daphne_cmd, free_port, running, wait_for_http

NATIVE_LIBRARIES = ("mediapipe", "dlib", "cv2")


def status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


def mapped_libraries(pid: int) -> list[str]:
    """Which of NATIVE_LIBRARIES have a file mapped into the process (their .so or data)."""
    with open(f"/proc/{pid}/maps") as maps:
        paths = {line.split()[-1].lower() for line in maps if "/" in line}
    # dlib's extension is site-packages/_dlib_pybind11.*.so, the others live in their package.
    inside = {path.rsplit("site-packages", 1)[-1] for path in paths}
    return sorted({name for name in NATIVE_LIBRARIES for path in inside if name in path})


def one_run(timeout: float) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="procto-web-startup-"))  # kept: daphne.log is worth a look
    port = free_port()
    env = child_env(DATABASE_URL=None, PROCTO_LOCAL_DIR=str(tmp))
    started = time.perf_counter()
    with running(daphne_cmd(port), env=env, log=tmp / "daphne.log") as process:
        # Polled every 20 ms (the tests' 200 ms would round the start-up time up).
        code = wait_for_http(f"http://127.0.0.1:{port}/healthz", process=process, timeout=timeout, poll=0.02)
        ready_s = time.perf_counter() - started
        return {
            "healthz": code,
            "ready_s": round(ready_s, 2),
            "rss_mb": round(status_kb(process.pid, "VmRSS") / 1024, 1),
            "hwm_mb": round(status_kb(process.pid, "VmHWM") / 1024, 1),
            "mapped": mapped_libraries(process.pid),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    for _ in range(args.runs):
        print(json.dumps(one_run(args.timeout)), flush=True)


if __name__ == "__main__":
    main()
