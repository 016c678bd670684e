"""/healthz reports each backing service and fails with 503 naming the one that is down."""

from __future__ import annotations

import pytest
from django.test import override_settings

from procto.celery import app as celery_app

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: a real refused connection


def test_healthz_is_200_when_every_service_answers(client):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["down"] == []
    assert set(body["checks"]) == {"database", "cache", "channel_layer", "broker"}
    assert all(check["status"] == "up" for check in body["checks"].values())


def test_healthz_names_a_dead_cache_with_503(client):
    dead_cache = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": DEAD_REDIS,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
    with override_settings(CACHES=dead_cache):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["down"] == ["cache"]


def test_healthz_names_a_dead_channel_layer_with_503(client):
    dead_layer = {
        "default": {
            "BACKEND": "procto.channel_layer.RedisChannelLayer",
            "CONFIG": {"hosts": [DEAD_REDIS]},
        }
    }
    with override_settings(CHANNEL_LAYERS=dead_layer):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["down"] == ["channel_layer"]


@pytest.fixture
def dead_broker():
    saved = {key: celery_app.conf[key] for key in ("task_always_eager", "broker_url")}
    celery_app.conf.update(task_always_eager=False, broker_url=DEAD_REDIS)
    yield
    celery_app.conf.update(saved)


def test_healthz_names_a_dead_broker_with_503(client, dead_broker):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["down"] == ["broker"]


def test_error_details_are_for_staff_only(client, django_user_model, dead_broker):
    anonymous = client.get("/healthz").json()["checks"]["broker"]
    assert "error" not in anonymous, "internal host names must not leak to the public"

    staff = django_user_model.objects.create_user("ops@example.com", "pw-ops-12345", role="admin")
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    detail = client.get("/healthz").json()["checks"]["broker"]
    assert "127.0.0.1:1" in detail["error"] or "Connection" in detail["error"]
