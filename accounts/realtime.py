"""The accounts app's only use of the channel layer: closing sockets whose login has ended."""

from __future__ import annotations

import hashlib

from procto.channels import group_send_on_commit

AUTH_REVOKED_EVENT = "auth.revoked"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def login_group(login_id: str) -> str:
    """A group per login: an API token family id, or a hash of a page session's key."""
    return f"login.{login_id}"


def session_login_id(session_key: str) -> str:
    # Group names live in Redis; the raw session key is a credential and must not.
    return hashlib.sha256(session_key.encode()).hexdigest()[:32]


def sockets_close(group: str, *, reason: str) -> None:
    """After commit, tell every socket in `group` to close with code 4401 and `reason`."""
    group_send_on_commit([group], {"type": AUTH_REVOKED_EVENT, "reason": reason}, what=f"close to {group}")
