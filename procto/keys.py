"""Secrets the settings need: read from the environment, or generated once per checkout in dev.

Settings load this module before Django is configured, so it imports nothing of Django's but
django.core.exceptions, which needs no configuration.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

# Public on purpose: dev only, and refused by require_production_secret() when DEBUG is off.
DEV_SECRET_KEY = "django-insecure-procto-development-only-never-use-in-production"  # noqa: S105
ENCRYPTION_KEY_BYTES = 32  # AES-256-GCM


def parse_hex_key(value: str, *, name: str, nbytes: int = ENCRYPTION_KEY_BYTES) -> bytes:
    """Decode a hex key, refusing anything that is not exactly `nbytes` bytes."""
    try:
        key = bytes.fromhex(value.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be hexadecimal ({nbytes * 2} hex digits).") from exc
    if len(key) != nbytes:
        raise ImproperlyConfigured(
            f"{name} must be {nbytes} bytes ({nbytes * 2} hex digits), got {len(key)} bytes."
        )
    return key


def dev_hex_key(path: Path, *, nbytes: int = ENCRYPTION_KEY_BYTES) -> str:
    """Return the hex key stored at `path`, creating it on first use.

    A dev checkout keeps its key across restarts (encrypted data stays readable) without anyone
    having to set a variable. O_EXCL makes two processes starting at once agree on one key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(nbytes))
    return path.read_text().strip()


def require_production_secret(secret_key: str) -> None:
    """Refuse the development default (or an obviously weak key) when DEBUG is off."""
    if not secret_key or secret_key == DEV_SECRET_KEY or secret_key.startswith("django-insecure"):
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set to a private random value when DJANGO_DEBUG=0."
        )
    if len(secret_key) < 50:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 characters long.")
