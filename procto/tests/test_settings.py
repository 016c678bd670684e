"""The settings module picks its backends from the environment and guards production."""

from __future__ import annotations

import json
import os
import stat
import subprocess

import pytest
from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from procto.celery import app as celery_app
from procto.tests.live_servers import PYTHON, REPO_ROOT, child_env

GOOD_SECRET = "s" * 30 + "-production-secret-value-0123456789"
GOOD_KEY = "ab" * 32
GOOD_JWT_KEY = "cd" * 32
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": GOOD_SECRET,
    "ENCRYPTION_KEY": GOOD_KEY,
    "JWT_SIGNING_KEY": GOOD_JWT_KEY,
}

PRINT_SHAPE = """
import json, django
django.setup()
from django.conf import settings
from procto.celery import app
print(json.dumps({
    "database": settings.DATABASES["default"]["ENGINE"],
    "pool": "pool" in settings.DATABASES["default"].get("OPTIONS", {}),
    "cache": settings.CACHES["default"]["BACKEND"],
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "eager": app.conf.task_always_eager,
    "broker": app.conf.broker_url,
    "storage": settings.STORAGES["default"]["BACKEND"],
    "storage_options": settings.STORAGES["default"].get("OPTIONS", {}),
    "debug": settings.DEBUG,
    "key_len": len(settings.ENCRYPTION_KEY),
}))
"""


def load_settings(tmp_path, **env: str | None) -> subprocess.CompletedProcess:
    """Load the settings in a fresh interpreter with exactly this environment."""
    base = {
        "DATABASE_URL": None,
        "REDIS_URL": None,
        "DJANGO_DEBUG": None,
        "DJANGO_SECRET_KEY": None,
        "ENCRYPTION_KEY": None,
        "JWT_SIGNING_KEY": None,
        "AWS_STORAGE_BUCKET_NAME": None,
        "PROCTO_LOCAL_DIR": str(tmp_path / "local"),
    }
    return subprocess.run(
        [PYTHON, "-c", PRINT_SHAPE],
        cwd=REPO_ROOT,
        env=child_env(**(base | env)),
        capture_output=True,
        text=True,
        timeout=60,
    )


def shape(tmp_path, **env: str | None) -> dict:
    result = load_settings(tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_no_variables_gives_the_embedded_shape(tmp_path):
    got = shape(tmp_path)
    assert got["database"] == "django.db.backends.sqlite3"
    assert got["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert got["layer"] == "channels.layers.InMemoryChannelLayer"
    assert got["eager"] is True
    assert got["storage"] == "django.core.files.storage.FileSystemStorage"
    assert got["debug"] is True


def test_service_urls_give_the_services_shape(tmp_path):
    got = shape(
        tmp_path,
        DATABASE_URL="postgres://procto@db.example:5432/procto",
        REDIS_URL="redis://cache.example:6379/0",
    )
    assert got["database"] == "django.db.backends.postgresql"
    assert got["pool"] is True
    assert got["cache"] == "django_redis.cache.RedisCache"
    assert got["layer"] == "procto.channel_layer.RedisChannelLayer"
    assert got["eager"] is False
    assert got["broker"] == "redis://cache.example:6379/0"


def test_bucket_name_switches_media_to_s3(tmp_path):
    got = shape(tmp_path, AWS_STORAGE_BUCKET_NAME="procto-media")
    assert got["storage"] == "storages.backends.s3.S3Storage"
    options = got["storage_options"]
    assert (options["default_acl"], options["querystring_auth"], options["querystring_expire"]) == (
        "private",
        True,
        300,
    )
    assert options["object_parameters"] == {"ServerSideEncryption": "AES256"}


def test_the_s3_variables_reach_the_storage(tmp_path):
    got = shape(
        tmp_path,
        AWS_STORAGE_BUCKET_NAME="procto-media",
        AWS_S3_REGION_NAME="eu-central-1",
        AWS_S3_ENDPOINT_URL="https://s3.school.example",
        AWS_QUERYSTRING_EXPIRE="60",
        AWS_S3_SERVER_SIDE_ENCRYPTION="aws:kms",
        AWS_S3_SSE_KMS_KEY_ID="alias/procto-media",
    )
    options = got["storage_options"]
    assert (options["bucket_name"], options["region_name"], options["endpoint_url"]) == (
        "procto-media",
        "eu-central-1",
        "https://s3.school.example",
    )
    assert options["querystring_expire"] == 60
    assert options["object_parameters"] == {
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": "alias/procto-media",
    }
    no_sse = shape(tmp_path, AWS_STORAGE_BUCKET_NAME="procto-media", AWS_S3_SERVER_SIDE_ENCRYPTION="")
    assert no_sse["storage_options"]["object_parameters"] == {}


def test_a_signed_url_lifetime_s3_refuses_stops_the_start(tmp_path):
    result = load_settings(tmp_path, AWS_STORAGE_BUCKET_NAME="procto-media", AWS_QUERYSTRING_EXPIRE="0")
    assert result.returncode != 0
    assert "signed_url_seconds must be 1..604800" in result.stderr


def test_production_refuses_the_default_secret_key(tmp_path):
    result = load_settings(tmp_path, **(PRODUCTION | {"DJANGO_SECRET_KEY": None}))
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize("missing", ["ENCRYPTION_KEY", "JWT_SIGNING_KEY"])
def test_production_refuses_to_start_without_its_keys(tmp_path, missing):
    result = load_settings(tmp_path, **(PRODUCTION | {missing: None}))
    assert result.returncode != 0
    assert f"{missing} (64 hex digits) is required" in result.stderr


def test_the_token_key_must_differ_from_the_encryption_key(tmp_path):
    result = load_settings(tmp_path, **(PRODUCTION | {"JWT_SIGNING_KEY": GOOD_KEY}))
    assert result.returncode != 0
    assert "JWT_SIGNING_KEY must differ" in result.stderr


@pytest.mark.parametrize("bad_key", ["not-hex-at-all", "abcd", "ab" * 33])
def test_a_malformed_encryption_key_is_refused_with_its_expected_form(tmp_path, bad_key):
    result = load_settings(tmp_path, ENCRYPTION_KEY=bad_key)
    assert result.returncode != 0
    assert "ENCRYPTION_KEY must be" in result.stderr


def test_production_starts_with_a_real_secret_and_key(tmp_path):
    got = shape(tmp_path, **PRODUCTION)
    assert got["debug"] is False
    assert got["key_len"] == 32


def test_dev_encryption_key_is_generated_once_and_kept_private(tmp_path):
    first = shape(tmp_path)
    key_file = tmp_path / "local" / "encryption.key"
    stored = key_file.read_text()
    second = shape(tmp_path)
    assert first["key_len"] == second["key_len"] == 32
    assert key_file.read_text() == stored, "a restart must not replace the key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_exam_sessions_app_has_its_own_label_beside_django_sessions():
    assert apps.get_app_config("exam_sessions").name == "sessions"
    assert apps.get_app_config("sessions").name == "django.contrib.sessions"


# --- which backends this very run talks to ---------------------------------------------------


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="DATABASE_URL is set")
@pytest.mark.django_db
def test_embedded_run_uses_sqlite():
    assert connection.vendor == "sqlite"


@pytest.mark.needs_postgres
@pytest.mark.django_db
def test_services_run_uses_postgresql_through_psycopg3():
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        assert cursor.fetchone()[0].startswith("PostgreSQL")
    assert connection.vendor == "postgresql"
    assert type(connection.connection).__module__.startswith("psycopg")
    assert connection.pool is not None, "the psycopg pool keeps connections open"


@pytest.mark.needs_redis
def test_services_run_caches_and_queues_on_the_real_redis():
    import redis

    cache.set("settings-probe", "seen-through-redis", timeout=30)
    raw = redis.Redis.from_url(os.environ["REDIS_URL"])
    keys = raw.keys("procto:*settings-probe")
    assert keys, "the Django cache should have written to the Redis of REDIS_URL"
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "procto.channel_layer.RedisChannelLayer"
    assert celery_app.conf.task_always_eager is False
    assert celery_app.conf.broker_url == os.environ["REDIS_URL"]
