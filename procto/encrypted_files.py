"""Encrypted files in the default storage (local disk in dev, S3 in production).

Names are always chosen here, `<folder>/<uuid4 hex>.enc`: a client never names a file, so it can
neither guess another user's file nor reach outside the folder. `read_encrypted` and
`delete_encrypted` refuse any name `store_encrypted` could not have produced.

Each blob is encrypted with its storage name as associated data (see `procto.crypto`). Whoever
can write to the bucket (a leaked credential, an operator mistake, a bug) could otherwise copy
student A's ID card over student B's file name and have it accepted as B's; bound to its name,
the copy fails to decrypt instead.
"""

from __future__ import annotations

import re
import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from procto.crypto import decrypt, encrypt

_FOLDER = r"[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*"
FOLDER_RE = re.compile(_FOLDER)
NAME_RE = re.compile(rf"{_FOLDER}/[0-9a-f]{{32}}\.enc")


def store_encrypted(data: bytes, *, folder: str) -> str:
    """Encrypt `data` into a new file under `folder` and return its storage name.

    `folder` is a relative path of letters, digits, `-` and `_` (e.g. "id-cards"). Side effect:
    one new file in the default storage; keep the returned name to read or delete it.
    """
    if not FOLDER_RE.fullmatch(folder):
        raise ValueError(f"Invalid folder {folder!r}: use letters, digits, '-', '_' and '/'.")
    name = f"{folder}/{uuid.uuid4().hex}.enc"
    saved = default_storage.save(name, ContentFile(encrypt(data, aad=name.encode())))
    if saved != name:
        # The blob is bound to the name it was encrypted for: under any other it cannot be read.
        default_storage.delete(saved)
        raise RuntimeError(f"The storage saved {name!r} as {saved!r}; nothing was stored.")
    return saved


def read_encrypted(name: str) -> bytes:
    """Return the decrypted content of `name`; raises DecryptionError if it was altered or moved."""
    _check_name(name)
    with default_storage.open(name, "rb") as handle:
        blob = handle.read()
    return decrypt(blob, aad=name.encode())


def delete_encrypted(name: str) -> None:
    """Delete the file `name` from the default storage (nothing happens if it is already gone)."""
    _check_name(name)
    default_storage.delete(name)


def _check_name(name: str) -> None:
    if not NAME_RE.fullmatch(name):
        raise ValueError(f"{name!r} is not a name store_encrypted() returns.")
