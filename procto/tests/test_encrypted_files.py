"""Encrypted files in the default storage, under names only the server chooses."""

from __future__ import annotations

import re

import pytest

from procto.crypto import MAGIC, DecryptionError
from procto.encrypted_files import delete_encrypted, read_encrypted, store_encrypted

ID_CARD = b"\xff\xd8\xff\xe0 pretend this is Alice's ID card \xff\xd9"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    settings.MEDIA_ROOT = tmp_path
    settings.ENCRYPTION_KEY = bytes.fromhex("c3" * 32)
    settings.ENCRYPTION_OLD_KEYS = []
    return tmp_path


def test_the_bytes_on_disk_are_not_the_plaintext(media_root):
    name = store_encrypted(ID_CARD, folder="id-cards")

    on_disk = (media_root / name).read_bytes()
    assert on_disk.startswith(MAGIC)
    assert ID_CARD not in on_disk
    assert b"Alice" not in on_disk


def test_a_stored_file_reads_back_as_its_plaintext():
    name = store_encrypted(ID_CARD, folder="id-cards")

    assert read_encrypted(name) == ID_CARD


def test_the_server_names_each_file_inside_its_folder(media_root):
    first = store_encrypted(ID_CARD, folder="sessions/snapshots")
    second = store_encrypted(ID_CARD, folder="sessions/snapshots")

    assert re.fullmatch(r"sessions/snapshots/[0-9a-f]{32}\.enc", first)
    assert first != second
    assert (media_root / "sessions" / "snapshots" / first.rsplit("/", 1)[1]).is_file()


@pytest.mark.parametrize("folder", ["", "../outside", "/etc", "id-cards/../..", "id cards", "a/"])
def test_a_folder_that_could_leave_the_storage_or_is_malformed_is_refused(folder, media_root):
    with pytest.raises(ValueError, match="Invalid folder"):
        store_encrypted(ID_CARD, folder=folder)
    assert not any(media_root.iterdir())


@pytest.mark.parametrize(
    "name",
    ["../procto/settings.py", "/etc/passwd", "id-cards/alice.jpg", "id-cards/" + "0" * 31 + ".enc"],
)
def test_names_store_encrypted_cannot_produce_are_refused(name):
    with pytest.raises(ValueError, match="not a name"):
        read_encrypted(name)
    with pytest.raises(ValueError, match="not a name"):
        delete_encrypted(name)


def test_a_blob_copied_over_another_files_name_fails_to_decrypt(media_root):
    alice = store_encrypted(ID_CARD, folder="id-cards")
    bob = store_encrypted(b"Bob's ID card", folder="id-cards")

    (media_root / bob).write_bytes((media_root / alice).read_bytes())

    with pytest.raises(DecryptionError, match="failed authentication"):
        read_encrypted(bob)
    assert read_encrypted(alice) == ID_CARD


def test_a_tampered_file_fails_to_decrypt(media_root):
    name = store_encrypted(ID_CARD, folder="id-cards")
    blob = bytearray((media_root / name).read_bytes())
    blob[-1] ^= 0x01
    (media_root / name).write_bytes(bytes(blob))

    with pytest.raises(DecryptionError):
        read_encrypted(name)


def test_a_deleted_file_is_gone_and_deleting_it_again_is_harmless(media_root):
    name = store_encrypted(ID_CARD, folder="id-cards")

    delete_encrypted(name)
    delete_encrypted(name)

    assert not (media_root / name).exists()
