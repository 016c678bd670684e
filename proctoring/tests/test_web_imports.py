"""The web process (daphne: procto.asgi and procto.urls) loads no model library.

MediaPipe, dlib, OpenCV and SciPy cost daphne about 1 s and 180 MB at start-up
(docs/BENCHMARKS.md, bench/web_startup.py) for analysis that only the worker runs, or the
identity pool's processes (accounts/tests/test_identity_pool.py: not even a photo upload loads
them into daphne). Checked in a fresh interpreter: this test process has loaded them already.
"""

from __future__ import annotations

import json
import subprocess

from procto.tests.live_servers import PYTHON, REPO_ROOT, child_env

MODEL_LIBRARIES = ("mediapipe", "dlib", "_dlib_pybind11", "cv2", "scipy")

WEB_PROCESS = """
import json, sys
import django
django.setup()
import procto.asgi, procto.urls
# What the web process imports to enqueue analysis and periodic work.
import procto.tasks, proctoring.tasks, sessions.tasks
print(json.dumps(sorted(name for name in {names!r} if name in sys.modules)))
"""


def test_the_web_process_imports_no_model_library():
    env = child_env(DJANGO_SETTINGS_MODULE="procto.settings", DATABASE_URL=None, REDIS_URL=None)
    result = subprocess.run(
        [PYTHON, "-c", WEB_PROCESS.format(names=MODEL_LIBRARIES)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
