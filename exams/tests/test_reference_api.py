"""/api/exams as a client that knows only the reference document uses it.

The bodies below carry exactly the fields of the document's `Exam` and `Question` interfaces
(`../shared/reference/procto-architecture.md`, "Database Design"), nothing of the project's
own (`isPublished`, `language`, "MCQ-multiple"); the server assigns `_id`, `createdBy` and the
timestamps. The project's richer fields keep working, and are tested alongside.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from exams.models import Exam, Question
from exams.tests.factories import enrol_in_own_course

pytestmark = pytest.mark.django_db


def document_exam(*questions: dict) -> dict:
    """An exam in the document's shape, open now, sittable without proctoring checks."""
    now = timezone.now()
    return {
        "title": "Chemistry",
        "description": "Unit 3",
        "duration": 45,
        "startTime": (now - timedelta(minutes=1)).isoformat(),
        "endTime": (now + timedelta(days=2)).isoformat(),
        "questions": list(questions),
        "settings": {
            "allowedAttempts": 1,
            "shuffleQuestions": False,
            "showResults": True,
            "proctoringEnabled": False,
            "securityLevel": "low",
        },
    }


SEVERAL_CORRECT = {
    "type": "MCQ",
    "questionText": "Which are noble gases?",
    "options": ["Neon", "Nitrogen", "Argon", "Oxygen"],
    "correctAnswer": ["Neon", "Argon"],
    "points": 2,
    "explanation": "Group 18.",
}
ONE_CORRECT = {
    "type": "MCQ",
    "questionText": "H2O is?",
    "options": ["water", "salt"],
    "correctAnswer": "water",
    "points": 1,
    "explanation": "Two hydrogens, one oxygen.",
}
CODE_WITHOUT_LANGUAGE = {
    "type": "Code",
    "questionText": "Write a function that returns the molar mass of water.",
    "points": 3,
}


def create(api, body: dict):
    return api.post("/api/exams", body, format="json")


def test_an_mcq_with_a_list_of_correct_answers_is_a_multiple_answer_question(api, teacher):
    api.force_authenticate(teacher)
    response = create(api, document_exam(SEVERAL_CORRECT, ONE_CORRECT))
    assert response.status_code == 201, response.json()
    several, one = response.json()["data"]["questions"]
    assert several["type"] == "MCQ-multiple" and several["correctAnswer"] == ["Neon", "Argon"]
    assert one["type"] == "MCQ" and one["correctAnswer"] == "water"


def test_an_mcq_whose_list_names_a_choice_it_does_not_offer_is_refused(api, teacher):
    api.force_authenticate(teacher)
    response = create(api, document_exam(SEVERAL_CORRECT | {"correctAnswer": ["Neon", "Helium"]}))
    assert response.status_code == 400
    assert "questions.1.correctAnswer" in str(response.json()["error"]["details"])
    assert not Exam.objects.exists()


def test_a_code_question_without_a_language_is_accepted_as_plaintext(api, teacher):
    api.force_authenticate(teacher)
    response = create(api, document_exam(CODE_WITHOUT_LANGUAGE))
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["questions"][0]["language"] == "plaintext"


def test_a_code_question_keeps_the_language_a_client_sends(api, teacher):
    api.force_authenticate(teacher)
    response = create(api, document_exam(CODE_WITHOUT_LANGUAGE | {"language": "python"}))
    assert response.status_code == 201, response.json()
    assert Question.objects.get().language == "python"


def test_an_exam_created_with_only_the_documents_fields_is_published_for_students(api, teacher, student):
    enrol_in_own_course(teacher, student)  # the document has no courses: the exam lands in Tess's own
    api.force_authenticate(teacher)
    created = create(api, document_exam(ONE_CORRECT)).json()["data"]
    assert created["isPublished"] is True

    api.force_authenticate(student)
    assert [e["id"] for e in api.get("/api/exams").json()["data"]] == [created["id"]]
    assert api.get(f"/api/exams/{created['id']}").status_code == 200
    start = api.post("/api/exam-sessions/start", {"examId": created["id"]}, format="json")
    assert start.status_code == 201, start.json()


def test_an_exam_created_as_a_draft_stays_hidden_from_students(api, teacher, student):
    enrol_in_own_course(teacher, student)  # in the course: only being a draft hides it
    api.force_authenticate(teacher)
    draft = create(api, document_exam(ONE_CORRECT) | {"isPublished": False}).json()["data"]
    assert draft["isPublished"] is False

    api.force_authenticate(student)
    assert api.get("/api/exams").json()["data"] == []
    assert api.get(f"/api/exams/{draft['id']}").status_code == 404


@pytest.mark.parametrize("published", [True, False])
def test_a_put_in_the_documents_shape_leaves_publication_as_it_was(api, teacher, published):
    api.force_authenticate(teacher)
    exam_id = create(api, document_exam(ONE_CORRECT) | {"isPublished": published}).json()["data"]["id"]
    response = api.put(f"/api/exams/{exam_id}", document_exam(ONE_CORRECT) | {"title": "Chem"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["isPublished"] is published
    assert Exam.objects.get().title == "Chem"


def test_a_put_with_is_published_publishes_or_withdraws_the_exam(api, teacher):
    api.force_authenticate(teacher)
    exam_id = create(api, document_exam(ONE_CORRECT)).json()["data"]["id"]
    withdraw = document_exam(ONE_CORRECT) | {"isPublished": False}
    assert api.put(f"/api/exams/{exam_id}", withdraw, format="json").json()["data"]["isPublished"] is False
    publish = document_exam(ONE_CORRECT) | {"isPublished": True}
    assert api.put(f"/api/exams/{exam_id}", publish, format="json").json()["data"]["isPublished"] is True
