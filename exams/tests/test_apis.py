"""/api/exams with the reference document's field names."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from exams.models import Exam, Question
from exams.selectors import exam_student_payload, payload_cache_key
from exams.tests.factories import enrol, enrol_in_own_course
from sessions.services import exam_session_start

pytestmark = pytest.mark.django_db


def reference_exam(**overrides) -> dict:
    now = timezone.now()
    body = {
        "title": "Chemistry",
        "description": "Unit 3",
        "duration": 45,
        "startTime": (now - timedelta(minutes=1)).isoformat(),
        "endTime": (now + timedelta(days=2)).isoformat(),
        "isPublished": True,
        "settings": {
            "allowedAttempts": 2,
            "shuffleQuestions": True,
            "showResults": False,
            "proctoringEnabled": True,
            "securityLevel": "high",
            "admissionRequired": False,
        },
        "questions": [
            {
                "type": "MCQ",
                "questionText": "H2O is?",
                "options": ["water", "salt"],
                "correctAnswer": "water",
                "points": 1,
                "explanation": "Two hydrogens, one oxygen.",
            },
            {"type": "Paragraph", "questionText": "Explain pH.", "points": 4},
        ],
    }
    return body | overrides


def test_a_teacher_creates_an_exam_in_the_reference_shape(api, teacher):
    api.force_authenticate(teacher)
    response = api.post("/api/exams", reference_exam(), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert data["duration"] == 45
    assert data["settings"] == {
        "allowedAttempts": 2,
        "shuffleQuestions": True,
        "showResults": False,
        "proctoringEnabled": True,
        "securityLevel": "high",
        "admissionRequired": False,
        "autoTerminate": False,
        # The default tuning (exams.tuning): standard onsets, every condition its default weight.
        "sensitivity": "standard",
        "riskWeights": {},
        # Screen capture is opt-in (docs/PROTOCOL.md, "Screen capture").
        "screenCapture": False,
        "screenshotIntervalSeconds": 30,
        "screenShareLapse": "block",
        # Empty: the site's retention periods (exams.retention).
        "retentionFramesDays": None,
        "retentionScreenshotsDays": None,
        "retentionAudioDays": None,
        "retentionRoomScansDays": None,
        "retentionIdentityDays": None,
        "retentionAnswersDays": None,
    }
    assert data["createdBy"] == str(teacher.pk)
    assert data["questions"][0]["correctAnswer"] == "water"  # the author sees the key
    assert Exam.objects.get().questions.count() == 2


def test_an_inconsistent_question_names_its_position(api, teacher):
    api.force_authenticate(teacher)
    bad = reference_exam()
    bad["questions"][0]["correctAnswer"] = "lava"
    response = api.post("/api/exams", bad, format="json")
    assert response.status_code == 400
    assert "questions.1.correctAnswer" in str(response.json()["error"]["details"])
    assert not Exam.objects.exists()


def test_an_exam_must_end_after_it_starts(api, teacher):
    api.force_authenticate(teacher)
    body = reference_exam(endTime=(timezone.now() - timedelta(days=1)).isoformat())
    assert api.post("/api/exams", body, format="json").status_code == 400


def test_a_student_lists_published_open_exams_without_questions(api, teacher, student):
    enrol_in_own_course(teacher, student)  # exams made without a course land in Tess's own
    api.force_authenticate(teacher)
    api.post("/api/exams", reference_exam(), format="json")
    api.post("/api/exams", reference_exam(title="Draft", isPublished=False), format="json")
    api.force_authenticate(student)
    listed = api.get("/api/exams").json()["data"]
    assert [e["title"] for e in listed] == ["Chemistry"]
    assert listed[0]["questions"] == []


def test_questions_cannot_change_once_a_student_started(api, teacher, student):
    enrol_in_own_course(teacher, student)
    api.force_authenticate(teacher)
    exam_id = api.post("/api/exams", reference_exam(), format="json").json()["data"]["id"]
    exam = Exam.objects.get(pk=exam_id)
    Exam.objects.filter(pk=exam_id).update(security_level="low", proctoring_enabled=False)
    exam.refresh_from_db()
    exam_session_start(exam=exam, student=student)
    response = api.put(f"/api/exams/{exam_id}", reference_exam(), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "EXAM_HAS_ATTEMPTS"
    fields_only = reference_exam(title="Chemistry (room 2)")
    del fields_only["questions"]
    assert api.put(f"/api/exams/{exam_id}", fields_only, format="json").status_code == 200
    assert Exam.objects.get().title == "Chemistry (room 2)"


def test_the_student_payload_is_cached_and_forgotten_when_a_question_changes(api, teacher):
    api.force_authenticate(teacher)
    exam = Exam.objects.get(pk=api.post("/api/exams", reference_exam(), format="json").json()["data"]["id"])
    first = exam_student_payload(exam)
    assert cache.get(payload_cache_key(exam.pk)) == first
    question = exam.questions.get(type="Paragraph")
    question.text = "Explain pH, with an example."
    question.save()
    assert cache.get(payload_cache_key(exam.pk)) is None
    assert exam_student_payload(exam)["questions"][str(question.pk)]["question_text"].endswith("example.")


def test_the_cached_payload_never_holds_answers(api, teacher):
    api.force_authenticate(teacher)
    exam = Exam.objects.get(pk=api.post("/api/exams", reference_exam(), format="json").json()["data"]["id"])
    payload = str(exam_student_payload(exam))
    assert "water" in payload  # an option, which students see
    assert "correct" not in payload and "Two hydrogens" not in payload


def test_question_images_are_not_public_before_the_exam(client, teacher, student, exam_with_image):
    question = exam_with_image.questions.get(type=Question.Type.IMAGE)
    url = f"/exams/questions/{question.pk}/image"
    enrol(exam_with_image, student)
    client.force_login(student)
    assert client.get(url).status_code == 404  # in the course, but not sitting it yet
    exam_session_start(exam=exam_with_image, student=student)
    assert client.get(url).status_code == 200
    client.force_login(teacher)
    assert client.get(url).status_code == 200


@pytest.fixture
def exam_with_image(teacher, settings, tmp_path):
    from exams.demo import triangle_png
    from exams.services import exam_create

    settings.MEDIA_ROOT = tmp_path
    now = timezone.now()
    return exam_create(
        author=teacher,
        title="Shapes",
        duration_minutes=10,
        start_time=now - timedelta(minutes=1),
        end_time=now + timedelta(hours=1),
        is_published=True,
        proctoring_enabled=False,
        questions=[{"type": "Image", "text": "Name the shape.", "image": triangle_png()}],
    )


# --- image questions through the API -----------------------------------------------------------------


def png_data_url() -> tuple[str, bytes]:
    from exams.demo import triangle_png

    raw = triangle_png().read()
    return "data:image/png;base64," + base64.b64encode(raw).decode(), raw


def image_question(image: str | None) -> dict:
    question = {"type": "Image", "questionText": "Name this shape and its angles.", "points": 2}
    return question | ({"image": image} if image is not None else {})


def test_an_image_question_is_created_with_its_picture_in_the_json(api, client, teacher, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    data_url, raw = png_data_url()
    api.force_authenticate(teacher)
    response = api.post("/api/exams", reference_exam(questions=[image_question(data_url)]), format="json")
    assert response.status_code == 201, response.json()
    question = response.json()["data"]["questions"][0]
    assert question["type"] == "Image" and question["imageUrl"].endswith("/image")
    client.force_login(teacher)
    picture = client.get(question["imageUrl"])
    assert picture.status_code == 200
    assert b"".join(picture.streaming_content if picture.streaming else [picture.content]) == raw
    # Bare base64 works too.
    bare = data_url.split(",", 1)[1]
    assert (
        api.post("/api/exams", reference_exam(questions=[image_question(bare)]), format="json").status_code
        == 201
    )


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("data:image/png;base64,@@not-base64@@", "base64"),
        (base64.b64encode(b"GIF89a but not really a picture").decode(), "not a JPEG, PNG"),
        (base64.b64encode(b"%PDF-1.7 " * 10).decode(), "not a JPEG, PNG"),
        ("A" * (3 * 1024 * 1024), "larger than 2 MB"),
        (12345, "base64"),
    ],
)
def test_a_bad_picture_is_a_400_naming_the_question(api, teacher, settings, tmp_path, image, message):
    settings.MEDIA_ROOT = tmp_path
    api.force_authenticate(teacher)
    response = api.post("/api/exams", reference_exam(questions=[image_question(image)]), format="json")
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    # DRF names the list item by its index: {"questions": {"0": {"image": [...]}}}.
    assert message in str(details["questions"]["0"]["image"])
    assert not Exam.objects.exists()


def test_a_body_past_the_request_limit_is_413_not_500(api, teacher, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    api.force_authenticate(teacher)
    question = image_question("A" * (1024 * 1024 + 10))
    response = api.post("/api/exams", reference_exam(questions=[question]), format="json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_an_image_question_without_a_picture_is_refused(api, teacher):
    api.force_authenticate(teacher)
    response = api.post("/api/exams", reference_exam(questions=[image_question(None)]), format="json")
    assert response.status_code == 400
    assert "questions.1.image" in response.json()["error"]["details"]


def test_a_teacher_switches_automatic_termination_on_when_creating_an_exam(api, teacher):
    api.force_authenticate(teacher)
    body = reference_exam()
    body["settings"]["autoTerminate"] = True
    created = api.post("/api/exams", body, format="json")
    assert created.status_code == 201, created.json()
    exam_id = created.json()["data"]["id"]
    assert Exam.objects.get(pk=exam_id).auto_terminate
    assert api.get(f"/api/exams/{exam_id}").json()["data"]["settings"]["autoTerminate"] is True


def test_a_teacher_switches_automatic_termination_on_and_off_again_with_put(api, teacher):
    api.force_authenticate(teacher)
    exam_id = api.post("/api/exams", reference_exam(), format="json").json()["data"]["id"]
    assert api.get(f"/api/exams/{exam_id}").json()["data"]["settings"]["autoTerminate"] is False
    body = reference_exam()
    body["settings"]["autoTerminate"] = True
    updated = api.put(f"/api/exams/{exam_id}", body, format="json")
    assert updated.status_code == 200, updated.json()
    assert updated.json()["data"]["settings"]["autoTerminate"] is True
    assert api.get(f"/api/exams/{exam_id}").json()["data"]["settings"]["autoTerminate"] is True
    # Settings left out of a request take their defaults, automatic termination's is off.
    del body["settings"]["autoTerminate"]
    api.put(f"/api/exams/{exam_id}", body, format="json")
    assert not Exam.objects.get(pk=exam_id).auto_terminate


def test_an_unknown_value_for_a_setting_is_refused(api, teacher):
    api.force_authenticate(teacher)
    body = reference_exam()
    body["settings"]["autoTerminate"] = "sometimes"
    response = api.post("/api/exams", body, format="json")
    assert response.status_code == 400
    assert "autoTerminate" in str(response.json()["error"]["details"])
    assert not Exam.objects.exists()
