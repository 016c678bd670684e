"""Identity verification with real faces: photo vs ID card (vs webcam), stored encrypted."""

from __future__ import annotations

import io

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from accounts.identity_service import embedding_decrypt, verification_review
from accounts.models import IdentityVerification
from accounts.tests import identity_images as ids
from proctoring.tests import faces

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def verify(api, user, **files):
    api.force_authenticate(user)
    payload = {key: ids.upload_file(f"{key}.jpg", data) for key, data in files.items()}
    return api.post("/api/auth/verify-identity", payload, format="multipart")


def test_matching_photo_and_id_card_verify_the_student(api, student):
    response = verify(api, student, photo=ids.astronaut_photo(), idCard=ids.astronaut_id_card())
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert data["outcome"] == "match" and data["review"] == "automatic"
    assert data["isVerified"] is True
    assert data["photoIdDistance"] < data["threshold"]
    student.refresh_from_db()
    assert student.is_verified and student.verified_at is not None
    assert embedding_decrypt(student.face_embedding).shape == (128,)


def test_someone_elses_id_card_is_a_mismatch_waiting_for_review(api, student):
    response = verify(api, student, photo=ids.astronaut_photo(), idCard=ids.hopper_id_card())
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["outcome"] == "mismatch" and data["review"] == "pending"
    assert data["photoIdDistance"] > data["threshold"]
    student.refresh_from_db()
    assert not student.is_verified
    assert student.face_embedding is None


def test_a_live_capture_of_the_same_person_confirms_the_match(api, student):
    response = verify(
        api,
        student,
        photo=ids.astronaut_photo(),
        idCard=ids.astronaut_id_card(),
        liveCapture=ids.astronaut_webcam(),
    )
    data = response.json()["data"]
    assert data["outcome"] == "match"
    assert data["photoLiveDistance"] < data["threshold"]


def test_a_live_capture_of_someone_else_fails_the_check(api, student):
    response = verify(
        api,
        student,
        photo=ids.astronaut_photo(),
        idCard=ids.astronaut_id_card(),
        liveCapture=ids.hopper_photo(),
    )
    assert response.json()["data"]["outcome"] == "mismatch"


def test_images_on_file_are_reused_for_a_new_check(api, student):
    verify(api, student, photo=ids.astronaut_photo(), idCard=ids.astronaut_id_card())
    again = verify(api, student, liveCapture=ids.astronaut_webcam())
    assert again.status_code == 201
    assert again.json()["data"]["outcome"] == "match"
    assert IdentityVerification.objects.filter(user=student).count() == 2


@pytest.mark.parametrize(
    ("image", "code", "words"),
    [
        (lambda: faces.jpeg_bytes(faces.cat()), "NO_FACE", "No face"),
        (lambda: faces.jpeg_bytes(faces.two_people()), "MULTIPLE_FACES", "face"),
        (lambda: faces.jpeg_bytes(faces.black_frame()), "TOO_DARK", "dark"),
    ],
    ids=["cat", "two-people", "black"],
)
def test_a_photo_without_exactly_one_usable_face_gets_a_clear_message(api, student, image, code, words):
    response = verify(api, student, photo=image(), idCard=ids.astronaut_id_card())
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == code
    assert words.lower() in error["message"].lower()
    assert error["details"] == {"field": "photo"}
    assert not IdentityVerification.objects.exists(), "a failed check stores nothing"


def test_a_gif_is_refused_before_any_face_analysis(api, student):
    buffer = io.BytesIO()
    Image.fromarray(faces.astronaut()).save(buffer, format="GIF")
    response = verify(api, student, photo=buffer.getvalue(), idCard=ids.astronaut_id_card())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "UNSUPPORTED_FORMAT"


def test_an_oversized_upload_is_413_too_large_naming_the_field_without_being_read(api, student):
    # As docs/PROTOCOL.md promises; a whole body over the view's limit never gets this far
    # (procto/tests/test_body_limit.py).
    response = verify(
        api, student, photo=ids.astronaut_photo(), idCard=b"\xff\xd8" + b"0" * (5 * 1024 * 1024 + 1)
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "TOO_LARGE"
    assert error["message"] == "ID card: The file is 5.1 MB; the limit is 5 MB."
    assert error["details"] == {"field": "idCard"}
    assert not IdentityVerification.objects.exists()


def test_a_first_check_without_an_id_card_asks_for_it(api, student):
    response = verify(api, student, photo=ids.astronaut_photo())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ID_CARD_REQUIRED"


def test_identity_images_are_stored_encrypted(api, student):
    verify(api, student, photo=ids.astronaut_photo(), idCard=ids.astronaut_id_card())
    student.refresh_from_db()
    with default_storage.open(student.photo) as handle:
        stored = handle.read()
    assert not stored.startswith(b"\xff\xd8"), "a JPEG on disk would be readable by anyone"
    assert student.photo.endswith(".enc")


def test_a_reviewer_can_approve_a_mismatch_and_the_student_becomes_verified(api, student, teacher):
    verify(api, student, photo=ids.astronaut_photo(), idCard=ids.hopper_id_card())
    verification = IdentityVerification.objects.get(user=student)
    verification_review(verification=verification, reviewer=teacher, approve=True, reason="old ID photo")
    student.refresh_from_db()
    verification.refresh_from_db()
    assert student.is_verified
    assert verification.review == "approved" and verification.reviewed_by == teacher
    assert student.face_embedding is not None


def test_a_reviewer_can_reject_an_automatic_match(api, student, admin_user):
    verify(api, student, photo=ids.astronaut_photo(), idCard=ids.astronaut_id_card())
    verification = IdentityVerification.objects.get(user=student)
    verification_review(verification=verification, reviewer=admin_user, approve=False)
    student.refresh_from_db()
    assert not student.is_verified and student.face_embedding is None
