"""Identity images (face photo, ID card) on local disk and on S3 (procto/tests/s3.py): stored
encrypted and private, served decrypted only through the viewer-bound identity-file links."""

from __future__ import annotations

import pytest

from accounts.identity_files import identity_file_url
from accounts.tests import identity_images as ids
from procto.encrypted_files import read_encrypted
from procto.tests.s3 import ON_S3_ONLY

pytestmark = pytest.mark.django_db


@pytest.fixture
def verified(api, student, storage_backend):
    """Stu, verified through the API with his photo and ID card."""
    api.force_authenticate(student)
    payload = {
        "photo": ids.upload_file("photo.jpg", ids.astronaut_photo()),
        "idCard": ids.upload_file("id.jpg", ids.astronaut_id_card()),
    }
    response = api.post("/api/auth/verify-identity", payload, format="multipart")
    assert response.status_code == 201, response.json()
    student.refresh_from_db()
    return student


def test_identity_images_are_stored_encrypted_and_private(storage_backend, verified, client):
    assert storage_backend.names() == sorted([verified.photo, verified.id_card])
    for name in (verified.photo, verified.id_card):
        jpeg = read_encrypted(name)
        assert jpeg.startswith(b"\xff\xd8")
        storage_backend.assert_encrypted_at_rest(name, jpeg)
        storage_backend.assert_private(name, client)


def test_the_owner_sees_their_photo_through_a_link_made_for_them(storage_backend, verified, client):
    client.force_login(verified)
    response = client.get(identity_file_url(owner=verified, kind="photo", viewer=verified))

    assert response.status_code == 200
    assert (response.content, response["Content-Type"]) == (read_encrypted(verified.photo), "image/jpeg")
    assert response["Cache-Control"] == "private, no-store"


def test_another_student_gets_no_link_and_cannot_use_the_owners(
    storage_backend, verified, other_student, client
):
    assert identity_file_url(owner=verified, kind="id_card", viewer=other_student) is None

    owners_link = identity_file_url(owner=verified, kind="id_card", viewer=verified)
    client.force_login(other_student)
    response = client.get(owners_link)

    assert response.status_code == 403
    assert read_encrypted(verified.id_card) not in response.content


@ON_S3_ONLY
def test_an_id_card_s3_signs_a_url_for_expires(storage_backend, verified):
    storage_backend.assert_signed_url_expires(verified.id_card)


def test_a_photo_whose_file_is_gone_is_a_404_not_a_500(storage_backend, verified, client):
    # As after a purge that deleted the file and then rolled back its rows.
    from django.core.files.storage import default_storage

    default_storage.delete(verified.photo)
    client.force_login(verified)
    response = client.get(identity_file_url(owner=verified, kind="photo", viewer=verified))
    assert response.status_code == 404
