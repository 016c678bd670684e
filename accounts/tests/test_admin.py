"""Teachers and admins review identity verifications in the Django admin."""

import pytest

from accounts.identity_service import identity_verify
from accounts.models import IdentityVerification
from accounts.tests import identity_images as ids
from accounts.tests.factories import UserFactory
from exams.tests.factories import ExamFactory
from sessions.tests.factories import ExamSessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mismatch(student, teacher, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ExamSessionFactory(exam=ExamFactory(created_by=teacher), student=student)  # one of the teacher's
    return identity_verify(user=student, photo=ids.astronaut_photo(), id_card=ids.hopper_id_card())


def test_a_teacher_sees_pending_verifications_with_their_images(client, teacher, mismatch):
    client.force_login(teacher)
    listing = client.get("/admin/accounts/identityverification/?review__exact=pending")
    assert listing.status_code == 200
    assert mismatch.user.email.encode() in listing.content
    page = client.get(f"/admin/accounts/identityverification/{mismatch.pk}/change/")
    assert page.status_code == 200
    assert page.content.count(b'src="/accounts/files/') == 2  # face photo and ID card


def test_a_teacher_does_not_see_the_verifications_of_other_teachers_students(client, mismatch):
    stranger = UserFactory(role="teacher", is_staff=True)
    client.force_login(stranger)
    listing = client.get("/admin/accounts/identityverification/")
    assert listing.status_code == 200
    assert mismatch.user.email.encode() not in listing.content
    page = client.get(f"/admin/accounts/identityverification/{mismatch.pk}/change/")
    assert page.status_code == 302  # the admin's "does not exist", back to its index
    assert b"/accounts/files/" not in client.get(page["Location"]).content


def test_a_teacher_approves_a_mismatch_from_the_list(client, teacher, mismatch):
    client.force_login(teacher)
    client.post(
        "/admin/accounts/identityverification/",
        {"action": "approve", "_selected_action": [mismatch.pk]},
    )
    mismatch.refresh_from_db()
    assert mismatch.review == IdentityVerification.Review.APPROVED
    assert mismatch.reviewed_by == teacher
    mismatch.user.refresh_from_db()
    assert mismatch.user.is_verified


def test_a_proctor_cannot_reach_the_review_screens(client, proctor, mismatch):
    client.force_login(proctor)
    assert client.get("/admin/accounts/identityverification/").status_code == 302  # not staff


def test_verifications_cannot_be_deleted_even_by_an_admin(client, admin_user, mismatch):
    client.force_login(admin_user)
    response = client.get(f"/admin/accounts/identityverification/{mismatch.pk}/delete/")
    assert response.status_code == 403
