"""README, settings and docker-compose.yml describe the same product."""

from __future__ import annotations

import re

import yaml
from django.conf import settings

from procto.tests.live_servers import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()
SETTINGS_SOURCE = (REPO_ROOT / "procto" / "settings.py").read_text()
COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
SCRIPT_VARIABLES = {"PROCTO_HOST", "PROCTO_PORT"}


def settings_variables() -> set[str]:
    return set(re.findall(r'env(?:\(\))?\.\w+\(\s*"([A-Z][A-Z0-9_]+)"', SETTINGS_SOURCE))


def test_every_variable_the_settings_read_is_documented_in_the_readme():
    variables = settings_variables() | SCRIPT_VARIABLES
    assert {"DATABASE_URL", "REDIS_URL", "ENCRYPTION_KEY"} <= variables
    missing = sorted(v for v in variables if f"`{v}`" not in README)
    assert not missing, f"undocumented environment variables: {missing}"


def test_compose_sets_only_variables_the_settings_read():
    environment = COMPOSE["x-procto-env"]
    assert set(environment) <= settings_variables()
    assert environment["DJANGO_DEBUG"] == "0"
    assert environment["DATABASE_URL"].startswith("postgres://")
    assert environment["REDIS_URL"].startswith("redis://")


def test_compose_has_the_production_shape():
    services = COMPOSE["services"]
    assert set(services) == {"postgres", "redis", "web-1", "web-2", "worker", "beat", "nginx"}
    assert all("daphne" in services[web]["command"] for web in ("web-1", "web-2"))
    assert "celery -A procto beat" in services["beat"]["command"]


def test_the_compose_worker_consumes_every_queue_the_settings_route_to():
    command = COMPOSE["services"]["worker"]["command"]
    queues = set(re.search(r"-Q (\S+)", command).group(1).split(","))
    assert queues == {queue.name for queue in settings.CELERY_TASK_QUEUES}
    assert {"frames", "audio"} <= queues


def test_the_compose_workers_are_solo_processes_one_per_core():
    worker = COMPOSE["services"]["worker"]
    assert "--pool solo" in worker["command"]
    assert worker["deploy"]["replicas"] >= 2


def test_nginx_upgrades_websockets_for_the_ws_paths():
    conf = (REPO_ROOT / "deploy" / "nginx.conf").read_text()
    ws_block = conf.split("location /ws/", 1)[1].split("}", 1)[0]
    assert "proxy_set_header Upgrade $http_upgrade" in ws_block
    assert "proxy_http_version 1.1" in ws_block


def test_nginx_tells_daphne_the_address_it_saw_not_one_the_client_chose():
    # daphne --proxy-headers takes the leftmost X-Forwarded-For entry as the client; nginx's
    # $proxy_add_x_forwarded_for would put the client's own header first, and every forged
    # value would be a fresh bucket for the per-address API limit and the login lockout.
    from daphne.utils import parse_x_forwarded_for

    conf = (REPO_ROOT / "deploy" / "nginx.conf").read_text()
    settings_lines = [
        line.strip() for line in conf.splitlines() if "X-Forwarded-For" in line and "proxy" in line
    ]
    assert settings_lines and all(line.endswith("X-Forwarded-For $remote_addr;") for line in settings_lines)
    appended = {b"x-forwarded-for": [b"10.9.8.7, 198.51.100.1"]}  # what $proxy_add_... would send
    assert parse_x_forwarded_for(appended)[0][0] == "10.9.8.7"  # why appending is not safe
    assert parse_x_forwarded_for({b"x-forwarded-for": [b"198.51.100.1"]})[0][0] == "198.51.100.1"
