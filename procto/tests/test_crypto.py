"""AES-256-GCM blobs: confidentiality, integrity, and key rotation."""

from __future__ import annotations

import pytest

from procto.crypto import MAGIC, DecryptionError, decrypt, encrypt, key_id

KEY_A = bytes.fromhex("a1" * 32)
KEY_B = bytes.fromhex("b2" * 32)
SECRET = b"student 42: passport P1234567, date of birth 2004-02-29"


@pytest.fixture(autouse=True)
def _key_a(settings):
    settings.ENCRYPTION_KEY = KEY_A
    settings.ENCRYPTION_OLD_KEYS = []


def test_encrypted_blob_decrypts_to_the_plaintext():
    blob = encrypt(SECRET, aad=b"context")

    assert SECRET not in blob
    assert blob.startswith(MAGIC + key_id(KEY_A))
    assert decrypt(blob, aad=b"context") == SECRET


def test_empty_plaintext_round_trips():
    assert decrypt(encrypt(b"")) == b""


def test_encrypting_the_same_plaintext_twice_gives_different_blobs():
    first, second = encrypt(SECRET), encrypt(SECRET)

    assert first != second
    assert first[8:20] != second[8:20]  # the nonces


def test_key_ids_are_four_bytes_and_tell_keys_apart():
    assert len(key_id(KEY_A)) == 4
    assert key_id(KEY_A) != key_id(KEY_B)


def test_any_flipped_byte_fails_to_decrypt():
    blob = encrypt(SECRET, aad=b"context")

    for index in range(len(blob)):  # magic, key id, nonce, ciphertext and tag alike
        tampered = bytearray(blob)
        tampered[index] ^= 0x01
        with pytest.raises(DecryptionError):
            decrypt(bytes(tampered), aad=b"context")


def test_a_flipped_ciphertext_byte_is_reported_as_failed_authentication():
    tampered = bytearray(encrypt(SECRET))
    tampered[-20] ^= 0x80

    with pytest.raises(DecryptionError, match="failed authentication"):
        decrypt(bytes(tampered))


def test_other_associated_data_fails_to_decrypt():
    blob = encrypt(SECRET, aad=b"id-cards/alice.enc")

    with pytest.raises(DecryptionError, match="failed authentication"):
        decrypt(blob, aad=b"id-cards/bob.enc")
    with pytest.raises(DecryptionError, match="failed authentication"):
        decrypt(blob)


@pytest.mark.parametrize("keep", [0, 3, 7, 20, 35])
def test_a_blob_too_short_to_hold_header_and_tag_is_truncated(keep):
    with pytest.raises(DecryptionError, match="truncated"):
        decrypt(encrypt(SECRET)[:keep])


def test_a_blob_missing_its_last_byte_fails_to_decrypt():
    with pytest.raises(DecryptionError, match="failed authentication"):
        decrypt(encrypt(SECRET)[:-1])


def test_a_blob_in_another_format_is_refused_for_its_magic():
    blob = encrypt(SECRET)

    with pytest.raises(DecryptionError, match="magic"):
        decrypt(b"PCE0" + blob[4:])


def test_after_rotation_old_blobs_decrypt_and_new_blobs_use_the_new_key(settings):
    old_blob = encrypt(SECRET)

    settings.ENCRYPTION_KEY = KEY_B
    settings.ENCRYPTION_OLD_KEYS = [KEY_A]
    new_blob = encrypt(SECRET)

    assert decrypt(old_blob) == SECRET
    assert decrypt(new_blob) == SECRET
    assert old_blob[4:8] == key_id(KEY_A)
    assert new_blob[4:8] == key_id(KEY_B)


def test_a_blob_whose_key_was_removed_fails_with_an_unknown_key_error(settings):
    blob = encrypt(SECRET)

    settings.ENCRYPTION_KEY = KEY_B
    settings.ENCRYPTION_OLD_KEYS = []

    with pytest.raises(DecryptionError, match="unknown key") as excinfo:
        decrypt(blob)
    assert key_id(KEY_A).hex() in str(excinfo.value)
    assert KEY_A.hex() not in str(excinfo.value)
