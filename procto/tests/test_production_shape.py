"""The production shape as shipped: `check --deploy` with the documented production variables,
docker-compose.yml and deploy/nginx.conf, and the cluster that runs them (procto/tests/cluster.py)."""

from __future__ import annotations

import re
import subprocess

import pytest

from procto.tests.cluster import (
    NGINX_CONF,
    compose_services,
    compose_web_services,
    daphne_argv,
    nginx_conf,
    wait_for_port,
    worker_argv,
)
from procto.tests.live_servers import PYTHON, REPO_ROOT, child_env, free_port, running

PRODUCTION_VARIABLES = {
    # What README.md's production section and docker-compose.yml set; nothing else.
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "x" * 20 + "-a-production-secret-of-fifty-plus-chars-0123456789",
    "ENCRYPTION_KEY": "ab" * 32,
    "JWT_SIGNING_KEY": "cd" * 32,
    "ALLOWED_HOSTS": "procto.school.example",
    "CSRF_TRUSTED_ORIGINS": "https://procto.school.example",
}


def test_check_deploy_passes_with_the_documented_production_variables(tmp_path):
    env = child_env(**PRODUCTION_VARIABLES, PROCTO_LOCAL_DIR=str(tmp_path), DATABASE_URL=None, REDIS_URL=None)
    result = subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_compose_runs_two_web_nodes_behind_nginx_with_tls_from_a_volume():
    services = compose_services()
    assert compose_web_services() == ["web-1", "web-2"]
    nginx = services["nginx"]
    assert {"80:80", "443:443"} <= set(nginx["ports"])
    assert "./deploy/certs:/etc/nginx/certs:ro" in nginx["volumes"]
    assert set(nginx["depends_on"]) == {"web-1", "web-2"}
    # Every web node runs daphne behind the proxy and reaches both databases.
    for name in compose_web_services():
        assert "daphne" in services[name]["command"] and "--proxy-headers" in services[name]["command"]
        assert {"postgres", "redis"} <= set(services[name]["depends_on"])
    # The upstream names exactly the compose web nodes, balanced by open connections.
    conf = NGINX_CONF.read_text()
    upstream = conf.split("upstream procto_web {", 1)[1].split("}", 1)[0]
    assert "least_conn;" in upstream
    assert re.findall(r"server (web-\d+):8000", upstream) == compose_web_services()


def test_nginx_serves_tls_on_443_and_port_80_only_redirects():
    conf = NGINX_CONF.read_text()
    plain, tls = conf.split("listen 80;", 1)[1], conf.split("listen 443 ssl;", 1)[1]
    plain_server = plain.split("server {", 1)[0]
    assert "return 301 https://$host$request_uri;" in plain_server
    assert "proxy_pass" not in plain_server
    assert "ssl_certificate     /etc/nginx/certs/fullchain.pem;" in tls
    assert "ssl_certificate_key /etc/nginx/certs/privkey.pem;" in tls


def test_a_class_reconnecting_to_the_surviving_node_is_not_cut_off_and_taken_out():
    # When a node dies, half the class opens its sockets on the other at once. daphne resets a
    # handshake still waiting for the app after --websocket_connect_timeout (5 s by default), and
    # nginx counted one reset as the node failing: with both nodes out, every request was a 502
    # for 5 s, over and over (bench/drill.py's daphne fault at 200 students).
    for name in compose_web_services():
        argv = compose_services()[name]["command"].split()
        assert int(argv[argv.index("--websocket_connect_timeout") + 1]) >= 30
    upstream = NGINX_CONF.read_text().split("upstream procto_web {", 1)[1].split("}", 1)[0]
    assert all(int(n) >= 3 for n in re.findall(r"max_fails=(\d+)", upstream))


def test_the_cluster_runs_what_the_shipped_files_say(tmp_path):
    daphne = daphne_argv(9001)
    assert daphne[daphne.index("-b") + 1] == "127.0.0.1" and "--proxy-headers" in daphne
    worker = worker_argv("w1")
    assert worker[worker.index("-Q") + 1] == "frames,audio,default" and "solo" in worker
    rendered = nginx_conf(
        http_port=1080, https_port=1443, upstreams=[9001, 9002], certs=tmp_path, prefix=tmp_path
    )
    assert "server 127.0.0.1:9001 max_fails=3 fail_timeout=5s;" in rendered
    assert "server 127.0.0.1:9002 max_fails=3 fail_timeout=5s;" in rendered
    assert "least_conn;" in rendered and "listen 127.0.0.1:1443 ssl;" in rendered
    # Only addresses and paths changed: every location block of the shipped file is there.
    for line in NGINX_CONF.read_text().splitlines():
        if "proxy_" in line or "location" in line:
            assert line in rendered


@pytest.mark.slow
def test_a_web_nodes_healthcheck_passes_with_the_documented_allowed_hosts(tmp_path):
    # web-2 and nginx start only once web-1's healthcheck passes. It asks from inside the
    # container, at 127.0.0.1, which Django refuses (400) unless ALLOWED_HOSTS names it; with
    # ALLOWED_HOSTS set to the site's name, as README says, the stack never came up.
    test = compose_services()["web-1"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"] and "127.0.0.1:8000" in test[3]
    assert compose_services()["web-2"]["depends_on"]["web-1"] == {"condition": "service_healthy"}
    port = free_port()
    env = child_env(
        **PRODUCTION_VARIABLES,
        PROCTO_LOCAL_DIR=str(tmp_path),
        STATIC_ROOT=str(tmp_path / "static"),
        DATABASE_URL=None,
        REDIS_URL=None,
    )
    with running(daphne_argv(port), env=env, log=tmp_path / "daphne.log") as daphne:
        wait_for_port(port, process=daphne, timeout=60)
        check = subprocess.run(
            [PYTHON, "-c", test[3].replace("127.0.0.1:8000", f"127.0.0.1:{port}")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert check.returncode == 0, check.stderr[-2000:]
