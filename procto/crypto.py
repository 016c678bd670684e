"""Authenticated encryption of small secrets and files at rest: AES-256-GCM with key rotation.

Blob format (all lengths in bytes)::

    MAGIC b"PCE1" (4) | key id (4) | nonce (12) | ciphertext + GCM tag (len(plaintext) + 16)

- The key id is `key_id(key)`: a fingerprint that lets `decrypt` pick the key among
  `settings.ENCRYPTION_KEY` and `settings.ENCRYPTION_OLD_KEYS` without trying them all.
- The nonce comes from `os.urandom` on every call: GCM loses its confidentiality and integrity
  if a nonce is ever reused with the same key, and 96 random bits make that negligible for the
  number of blobs one key encrypts here.
- The authenticated data is the 8-byte header (magic and key id) followed by the caller's `aad`,
  so every byte of the blob is covered by the tag (the nonce is by GCM's construction), and the
  caller can bind a blob to its context (e.g. the storage name it lives under).

`encrypt` always uses the current key; retired keys in ENCRYPTION_OLD_KEYS only decrypt. Both read
the settings at call time so a rotation (or a test's override) takes effect at once.
"""

from __future__ import annotations

import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

MAGIC = b"PCE1"
KEY_ID_BYTES = 4
NONCE_BYTES = 12
TAG_BYTES = 16
HEADER_BYTES = len(MAGIC) + KEY_ID_BYTES
MIN_BLOB_BYTES = HEADER_BYTES + NONCE_BYTES + TAG_BYTES


class DecryptionError(Exception):
    """A blob that cannot be trusted: not ours, cut short, of an unknown key, or altered."""


def key_id(key: bytes) -> bytes:
    """A 4-byte fingerprint of `key`: enough to tell a handful of keys apart, useless to guess it.

    The prefix keeps this hash distinct from any other use of SHA-256 over the same key.
    """
    return hashlib.sha256(b"procto-key-id:" + key).digest()[:KEY_ID_BYTES]


def encrypt(plaintext: bytes, *, aad: bytes = b"") -> bytes:
    """Encrypt `plaintext` with the current ENCRYPTION_KEY; `aad` must be given again to decrypt."""
    key = settings.ENCRYPTION_KEY
    header = MAGIC + key_id(key)
    nonce = os.urandom(NONCE_BYTES)
    return header + nonce + AESGCM(key).encrypt(nonce, plaintext, header + aad)


def decrypt(blob: bytes, *, aad: bytes = b"") -> bytes:
    """Return the plaintext of `blob`, made by `encrypt` with the same `aad`.

    Raises DecryptionError when the blob is not in our format, is too short, was encrypted with a
    key that is neither current nor retired, or fails authentication (any altered byte, or another
    `aad`). The message names the key id at most, never a key.
    """
    if len(blob) < MIN_BLOB_BYTES:
        raise DecryptionError(
            f"The blob is truncated: {len(blob)} bytes, an encrypted blob has at least {MIN_BLOB_BYTES}."
        )
    if blob[: len(MAGIC)] != MAGIC:
        raise DecryptionError("The blob is not a Procto encrypted blob (unknown magic bytes).")
    header = blob[:HEADER_BYTES]
    blob_key_id = blob[len(MAGIC) : HEADER_BYTES]
    nonce = blob[HEADER_BYTES : HEADER_BYTES + NONCE_BYTES]
    ciphertext = blob[HEADER_BYTES + NONCE_BYTES :]

    # A 4-byte id can collide between two keys, so every key that matches gets its try.
    candidates = [
        key for key in [settings.ENCRYPTION_KEY, *settings.ENCRYPTION_OLD_KEYS] if key_id(key) == blob_key_id
    ]
    if not candidates:
        raise DecryptionError(
            f"The blob was encrypted with an unknown key (key id {blob_key_id.hex()}): "
            "it is neither ENCRYPTION_KEY nor in ENCRYPTION_OLD_KEYS."
        )
    for key in candidates:
        try:
            return AESGCM(key).decrypt(nonce, ciphertext, header + aad)
        except InvalidTag:
            continue
    raise DecryptionError(
        "The blob failed authentication: it was altered, or the associated data does not match."
    )
