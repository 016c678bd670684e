"""The production shape on one machine: Debian's nginx terminating TLS in front of two daphne
nodes (least_conn) and two solo Celery workers, on the real PostgreSQL and Redis.

nginx runs deploy/nginx.conf itself, with only the addresses, ports and certificate paths
changed; daphne and the workers run the commands docker-compose.yml gives them. So what the drill
(bench/drill.py) and the HTTPS browser test prove is about the shipped files, not a look-alike.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from procto.tests.live_servers import (
    PYTHON,
    REPO_ROOT,
    child_env,
    free_port,
    running,
    stop,
    wait_for_http,
    wait_for_log,
)

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
NGINX_CONF = REPO_ROOT / "deploy" / "nginx.conf"
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
sys.path.insert(0, str(REPO_ROOT / "scripts"))
from make_cert import make_cert  # noqa: E402  (scripts/ is not a package)


def compose_services() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())["services"]


def compose_web_services() -> list[str]:
    return sorted(name for name in compose_services() if name.startswith("web-"))


def compose_worker_replicas() -> int:
    return compose_services()["worker"]["deploy"]["replicas"]


def daphne_argv(port: int) -> list[str]:
    """The compose web node's daphne command, bound to 127.0.0.1:port instead of 0.0.0.0:8000."""
    command = compose_services()["web-2"]["command"]
    argv = shlex.split(command)
    assert argv[0] == "daphne", command
    argv[argv.index("-b") + 1] = "127.0.0.1"
    argv[argv.index("-p") + 1] = str(port)
    return [PYTHON, "-m", *argv]


def worker_argv(name: str) -> list[str]:
    """The compose worker's command, with a node name so two on one host stay apart."""
    argv = shlex.split(compose_services()["worker"]["command"])
    assert argv[0] == "celery", argv
    return [PYTHON, "-m", *argv, "-n", f"{name}@%h", "--without-gossip", "--without-mingle"]


def nginx_conf(*, http_port: int, https_port: int, upstreams: list[int], certs: Path, prefix: Path) -> str:
    """deploy/nginx.conf for loopback ports, wrapped in the main context nginx's image provides."""
    site = NGINX_CONF.read_text()
    servers = re.findall(r"^\s*server web-\d+:8000 (.*);$", site, flags=re.M)
    assert len(servers) == len(upstreams), "one upstream port per web node in deploy/nginx.conf"
    for index, port in enumerate(upstreams, start=1):
        site = site.replace(f"server web-{index}:8000 ", f"server 127.0.0.1:{port} ")
    replacements = {
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "return 301 https://$host$request_uri;": f"return 301 https://$host:{https_port}$request_uri;",
        "/etc/nginx/certs/": f"{certs}/",
        "/var/log/nginx/access.log": f"{prefix}/access.log",
    }
    for old, new in replacements.items():
        assert old in site, f"deploy/nginx.conf no longer has {old!r}"
        site = site.replace(old, new)
    return f"""
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{site}
}}
"""


def production_env(
    *, database_url: str, redis_url: str, https_port: int, work: Path, overrides: dict[str, str] | None = None
) -> dict[str, str]:
    """DJANGO_DEBUG=0 with keys made for this run, as the compose file's environment.

    `overrides` win: a drill that writes to the database itself passes the keys it uses.
    """
    return child_env(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        ENCRYPTION_KEY=secrets.token_hex(32),
        JWT_SIGNING_KEY=secrets.token_hex(32),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        CSRF_TRUSTED_ORIGINS=f"https://127.0.0.1:{https_port},https://localhost:{https_port}",
        MEDIA_ROOT=str(work / "media"),
        STATIC_ROOT=str(work / "static"),
        PROCTO_LOCAL_DIR=str(work / "local"),
        AWS_STORAGE_BUCKET_NAME=None,
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "INFO"),
        # As the Dockerfile: a node killed with -9 loses no log line it had written.
        PYTHONUNBUFFERED="1",
    ) | (overrides or {})


def wait_for_port(port: int, *, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before port {port} opened")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


@dataclass
class Cluster:
    """Handles on the running nodes, for a drill to kill and restart them."""

    work: Path
    env: dict[str, str]
    https_port: int
    http_port: int
    web_ports: list[int]
    webs: dict[int, subprocess.Popen] = field(default_factory=dict)
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)
    nginx: subprocess.Popen | None = None
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def web_start(self, port: int) -> subprocess.Popen:
        log = self.work / f"daphne-{port}.log"
        process = self.stack.enter_context(running(daphne_argv(port), env=self.env, log=log))
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process=process, timeout=60)
        self.webs[port] = process
        return process

    def worker_start(self, name: str) -> subprocess.Popen:
        log = self.work / f"worker-{name}.log"
        with contextlib.suppress(FileNotFoundError):
            log.rename(log.with_suffix(f".{len(list(self.work.glob(f'worker-{name}.*')))}.log"))
        process = self.stack.enter_context(running(worker_argv(name), env=self.env, log=log))
        wait_for_log(log, " ready.", process=process, timeout=90)
        self.workers[name] = process
        return process

    def kill(self, process: subprocess.Popen) -> None:
        """kill -9, as a crash or the OOM killer would: no shutdown handlers run."""
        os.killpg(process.pid, 9)
        process.wait(10)


@contextlib.contextmanager
def cluster_running(
    work: Path,
    *,
    database_url: str,
    redis_url: str,
    migrate: bool = True,
    workers: bool = True,
    env: dict[str, str] | None = None,
) -> Iterator[Cluster]:
    """nginx (TLS) -> 2 daphne -> Redis -> 2 Celery workers, on PostgreSQL; yields the handles.

    `env`: variables set for every node on top of the production ones (production_env).
    """
    if not Path(NGINX).exists():
        raise RuntimeError("nginx is not installed: run scripts/ensure-test-tools.sh")
    work.mkdir(parents=True, exist_ok=True)
    https_port, http_port = free_port(), free_port()
    web_ports = [free_port() for _ in compose_web_services()]
    env = production_env(
        database_url=database_url, redis_url=redis_url, https_port=https_port, work=work, overrides=env
    )
    manage = [PYTHON, "manage.py"]
    steps = [["collectstatic", "--noinput", "-v", "0"]] + (
        [["migrate", "--noinput", "-v", "0"]] if migrate else []
    )
    for step in steps:
        subprocess.run(manage + step, cwd=REPO_ROOT, env=env, check=True, capture_output=True, timeout=300)
    certs = work / "certs"
    make_cert(certs, ["localhost", "127.0.0.1"])
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (work / "nginx" / sub).mkdir(parents=True, exist_ok=True)
    conf = work / "nginx" / "nginx.conf"
    conf.write_text(
        nginx_conf(
            http_port=http_port,
            https_port=https_port,
            upstreams=web_ports,
            certs=certs,
            prefix=work / "nginx",
        )
    )
    cluster = Cluster(work=work, env=env, https_port=https_port, http_port=http_port, web_ports=web_ports)
    with cluster.stack:
        for port in web_ports:
            cluster.web_start(port)
        if workers:
            for index in range(1, compose_worker_replicas() + 1):
                cluster.worker_start(f"worker{index}")
        cluster.nginx = cluster.stack.enter_context(
            running([NGINX, "-p", str(work / "nginx"), "-c", str(conf)], env=env, log=work / "nginx.log")
        )
        wait_for_port(https_port, process=cluster.nginx)
        try:
            yield cluster
        finally:
            for process in [*cluster.webs.values(), *cluster.workers.values()]:
                stop(process)
