"""Media on S3 as production stores it: private objects, signed URLs that expire, Procto's own
encryption at rest as on local disk, SSE, all against a real S3 API server on loopback."""

from __future__ import annotations

import subprocess
import time

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from procto.crypto import MAGIC
from procto.encrypted_files import delete_encrypted, read_encrypted, store_encrypted
from procto.media_storage import s3_media_storage
from procto.tests.live_servers import PYTHON, REPO_ROOT, child_env
from procto.tests.s3 import http_get

ID_CARD = b"\xff\xd8\xff\xe0 pretend this is Alice's ID card \xff\xd9"


@pytest.fixture(autouse=True)
def _key(settings):
    settings.ENCRYPTION_KEY = bytes.fromhex("c3" * 32)
    settings.ENCRYPTION_OLD_KEYS = []


# --- the same rules on both storages -------------------------------------------------------------


def test_encrypted_files_are_ciphertext_at_rest(storage_backend):
    name = store_encrypted(ID_CARD, folder="id-cards")

    at_rest = storage_backend.stored_bytes(name)
    assert at_rest.startswith(MAGIC)
    assert ID_CARD not in at_rest and b"Alice" not in at_rest
    assert read_encrypted(name) == ID_CARD


def test_deleting_an_encrypted_file_removes_it_from_the_storage(storage_backend):
    kept = store_encrypted(ID_CARD, folder="id-cards")
    gone = store_encrypted(ID_CARD, folder="id-cards")

    delete_encrypted(gone)
    delete_encrypted(gone)  # already gone: nothing happens

    assert storage_backend.names() == [kept]


def test_reading_a_file_gone_from_the_storage_raises_file_not_found(storage_backend):
    # The views turn FileNotFoundError into a 404: S3 must raise it too, not a botocore error.
    name = store_encrypted(ID_CARD, folder="id-cards")
    delete_encrypted(name)

    with pytest.raises(FileNotFoundError):
        read_encrypted(name)


# --- S3: private, signed, expiring ---------------------------------------------------------------


def test_an_object_in_the_bucket_is_refused_to_an_anonymous_get(s3_storage):
    name = store_encrypted(ID_CARD, folder="id-cards")

    status, body = s3_storage.anonymous_get(name)

    assert status == 403
    assert MAGIC not in body


def test_a_signed_url_fetches_the_object_until_it_expires(s3_storage):
    name = store_encrypted(ID_CARD, folder="id-cards")
    with time_machine.travel(time.time(), tick=False) as clock:
        url = s3_storage.signed_url(name)
        assert "X-Amz-Expires=300" in url and "X-Amz-Signature=" in url

        clock.shift(299)
        assert http_get(url) == (200, s3_storage.stored_bytes(name))

        clock.shift(2)
        status, body = http_get(url)
        assert status == 403
        assert b"Request has expired" in body


def test_a_signed_url_expires_on_the_real_clock(s3_storage):
    # The other tests move a fake clock; this one shows the server keeps real time too.
    name = store_encrypted(ID_CARD, folder="id-cards")
    url = default_storage.url(name, expire=2)  # X-Amz-Date is whole seconds: valid 1 to 2 s from now

    assert http_get(url)[0] == 200
    time.sleep(3.1)
    assert http_get(url)[0] == 403


def test_a_signed_url_cannot_be_altered_or_made_with_another_key(s3_storage, s3_server):
    name = store_encrypted(ID_CARD, folder="id-cards")
    url = s3_storage.signed_url(name)
    other = store_encrypted(ID_CARD, folder="id-cards")

    # Another object with the same signature, a longer life, or a key S3 does not know.
    assert http_get(url.replace(name, other))[0] == 403
    assert http_get(url.replace("X-Amz-Expires=300", "X-Amz-Expires=3000"))[0] == 403
    assert http_get(url.replace(s3_server.access_key, "AKIASOMEONEELSE00000"))[0] == 403
    assert http_get(url)[0] == 200


def test_moto_alone_would_serve_a_forged_or_expired_signed_url(s3_storage, s3_server):
    # Why the test server checks signatures itself: should moto start to, this fails, and the
    # check in procto/tests/s3.py can go.
    name = store_encrypted(ID_CARD, folder="id-cards")
    with time_machine.travel(time.time(), tick=False) as clock:
        url = s3_storage.signed_url(name)
        clock.shift(3600)
        s3_server.check.enforce = False
        try:
            assert http_get(url)[0] == 200
            assert http_get(s3_storage.plain_url(name) + "?X-Amz-Signature=forged")[0] == 200
        finally:
            s3_server.check.enforce = True
        assert http_get(url)[0] == 403


def test_objects_are_stored_with_server_side_encryption_and_no_guessable_type(s3_storage):
    name = store_encrypted(ID_CARD, folder="id-cards")

    head = s3_storage.head(name)

    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "application/octet-stream"


def test_the_storage_talks_to_the_server_over_http(s3_storage, s3_server):
    before = s3_server.check.requests
    name = store_encrypted(ID_CARD, folder="id-cards")
    read_encrypted(name)
    assert s3_server.check.requests >= before + 3  # HEAD (name free?), PUT, GET


def test_a_name_in_use_is_never_overwritten(s3_storage):
    first = default_storage.save("questions/a.png", ContentFile(b"one"))
    second = default_storage.save("questions/a.png", ContentFile(b"two"))

    assert first == "questions/a.png" and second != first
    assert s3_storage.stored_bytes(first) == b"one"


# --- configuration -------------------------------------------------------------------------------


def test_a_process_configured_by_environment_variables_stores_in_the_bucket(s3_storage):
    """The production path: settings.py reads AWS_* variables, boto3 the credentials."""
    script = (
        "import django; django.setup()\n"
        "from procto.encrypted_files import store_encrypted\n"
        "print(store_encrypted(b'from a worker', folder='snapshots'))\n"
    )
    result = subprocess.run(
        [PYTHON, "-c", script],
        cwd=REPO_ROOT,
        env=child_env(**s3_storage.child_env(), ENCRYPTION_KEY="c3" * 32, DATABASE_URL=None, REDIS_URL=None),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    name = result.stdout.strip().splitlines()[-1]
    assert s3_storage.names() == [name]
    assert read_encrypted(name) == b"from a worker"


def test_server_side_encryption_can_be_switched_off_or_use_kms():
    assert s3_media_storage(bucket="b", server_side_encryption="")["OPTIONS"]["object_parameters"] == {}
    assert s3_media_storage(bucket="b", server_side_encryption="aws:kms", kms_key_id="alias/procto")[
        "OPTIONS"
    ]["object_parameters"] == {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/procto"}


@pytest.mark.parametrize("seconds", [0, -1, 604801])
def test_a_signed_url_lifetime_s3_would_refuse_is_refused_at_start(seconds):
    with pytest.raises(ValueError, match="signed_url_seconds"):
        s3_media_storage(bucket="b", signed_url_seconds=seconds)
