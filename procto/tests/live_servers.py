"""Real processes for tests: daphne, Celery workers, the run script. Shared by every app's tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(**overrides: str | None) -> dict[str, str]:
    """The test's environment with overrides; a None value removes that variable."""
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "procto.settings")
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def wait_for_http(url: str, *, process: subprocess.Popen, timeout: float = 30.0, poll: float = 0.2) -> int:
    """Poll `url` every `poll` seconds until it answers (any status); fail early if `process` dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback only)
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            time.sleep(poll)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@contextlib.contextmanager
def running(cmd: list[str], *, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """Run `cmd` in its own process group for the block; its output goes to `log`."""
    with open(log, "wb") as out:
        process = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            stop(process)


def stop(process: subprocess.Popen, *, grace: float = 10.0) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(grace)


def daphne_cmd(port: int) -> list[str]:
    return [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "procto.asgi:application"]


def celery_worker_cmd(*queues: str) -> list[str]:
    return [
        PYTHON, "-m", "celery", "-A", "procto", "worker",
        "-Q", ",".join(queues or ("default",)),
        "--pool", "solo", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
    ]  # fmt: skip


def wait_for_log(log: Path, text: str, *, process: subprocess.Popen, timeout: float = 30.0) -> None:
    """Wait until `text` appears in the process's log (e.g. a Celery worker's "ready.")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}: {log.read_text()}")
        time.sleep(0.1)
    raise TimeoutError(f"{text!r} did not appear in {log} within {timeout} s")
