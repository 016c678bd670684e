"""Question images on local disk and on S3 (procto/tests/s3.py). They are exam content, not
personal data: stored as uploaded (on both storages alike), private, and streamed by the
permission-checked view to the students sitting the exam and the staff who see it."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from exams.demo import triangle_png
from exams.models import Question
from exams.services import exam_create
from procto.tests.s3 import ON_S3_ONLY, http_get
from sessions.services import exam_session_start

pytestmark = pytest.mark.django_db

PNG = triangle_png().read()


@pytest.fixture
def image_question(world, storage_backend) -> Question:
    """An image question in a physics quiz that Stu is sitting; Sam, in the course, is not yet."""
    now = timezone.now()
    exam = exam_create(
        author=world.tess,
        course=world.physics.course,
        title="Shapes",
        duration_minutes=10,
        start_time=now - timedelta(minutes=1),
        end_time=now + timedelta(hours=1),
        is_published=True,
        proctoring_enabled=False,
        questions=[{"type": "Image", "text": "Name the shape.", "image": triangle_png()}],
    )
    exam_session_start(exam=exam, student=world.stu)
    return exam.questions.get(type=Question.Type.IMAGE)


def image_url(question) -> str:
    return f"/exams/questions/{question.pk}/image"


def test_a_question_image_is_stored_as_uploaded_and_private(storage_backend, image_question, client):
    name = image_question.image.name
    assert storage_backend.names() == [name]
    assert storage_backend.stored_bytes(name) == PNG
    storage_backend.assert_private(name, client)


def test_a_question_image_is_streamed_to_the_student_sitting_the_exam_only(
    storage_backend, image_question, client, world
):
    client.force_login(world.stu)
    response = client.get(image_url(image_question))
    assert response.status_code == 200
    assert (b"".join(response.streaming_content), response["Content-Type"]) == (PNG, "image/png")

    for outsider in (world.sam, world.hal):  # in the course but not sitting it; another course
        client.force_login(outsider)
        assert client.get(image_url(image_question)).status_code == 404


@ON_S3_ONLY
def test_a_question_image_in_s3_has_server_side_encryption_and_its_type(storage_backend, image_question):
    head = storage_backend.head(image_question.image.name)
    assert (head["ServerSideEncryption"], head["ContentType"]) == ("AES256", "image/png")
    storage_backend.assert_signed_url_expires(image_question.image.name)


@ON_S3_ONLY
def test_the_admin_links_a_question_image_by_a_signed_url_for_its_teacher_only(
    storage_backend, image_question, client, world
):
    # The one place Procto hands out a bucket URL: the admin's file widget, after its own check.
    change_page = f"/admin/exams/exam/{image_question.exam_id}/change/"
    client.force_login(world.tess)
    html = client.get(change_page).content.decode()
    found = re.search(r'href="(http://127\.0\.0\.1:\d+/[^"]+X-Amz-Signature=[^"]+)"', html)
    assert found, "no signed link to the image on the exam's admin page"
    assert http_get(unescape(found.group(1))) == (200, PNG)

    client.force_login(world.vic)
    response = client.get(change_page)
    assert response.status_code in (302, 404)
    assert "X-Amz-Signature" not in response.content.decode()


def test_a_question_image_gone_from_storage_is_a_404_not_a_server_error(
    storage_backend, image_question, client, world
):
    """A database restored without its media (or a cluster node without the shared volume) still
    names the file: the student gets a 404 for the picture, the exam page itself works."""
    image_question.image.storage.delete(image_question.image.name)
    client.force_login(world.stu)
    response = client.get(image_url(image_question))
    assert response.status_code == 404
