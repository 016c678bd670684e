"""An attempt as a client that knows only the reference document makes it.

The document's `Answer` is `{questionId, studentAnswer, score?, feedback?, timeSpent}` and its
route `PUT /api/exam-sessions/:id/save-answers` carries no sequence number: saves without one are
ordered by their arrival under the session's row lock (docs/PROTOCOL.md). The exam is created
through the API with the document's fields only (exams/tests/test_reference_api.py).
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from exams.tests.factories import enrol_in_own_course
from exams.tests.test_reference_api import ONE_CORRECT, SEVERAL_CORRECT, document_exam
from sessions import services
from sessions.models import Answer
from sessions.tests.test_concurrency import run_together

pytestmark = pytest.mark.django_db

PARAGRAPH = {"type": "Paragraph", "questionText": "Explain pH.", "points": 4}


@pytest.fixture
def attempt(teacher, student) -> tuple[APIClient, dict]:
    """Tess creates an exam in the document's shape; Stu, in her course, starts it. Gives Stu's
    client and attempt."""
    enrol_in_own_course(teacher, student)
    api = APIClient()
    api.force_authenticate(teacher)
    created = api.post("/api/exams", document_exam(SEVERAL_CORRECT, ONE_CORRECT, PARAGRAPH), format="json")
    assert created.status_code == 201, created.json()
    api.force_authenticate(student)
    started = api.post("/api/exam-sessions/start", {"examId": created.json()["data"]["id"]}, format="json")
    assert started.status_code == 201, started.json()
    return api, started.json()["data"]


def question_id(attempt_data: dict, type_: str) -> str:
    return next(q["id"] for q in attempt_data["questions"] if q["type"] == type_)


def save(api, session_id: str, body: dict):
    return api.put(f"/api/exam-sessions/{session_id}/save-answers", body, format="json")


def stored(session_id: str) -> dict:
    return {str(a.question_id): a.response for a in Answer.objects.filter(session_id=session_id)}


def test_a_save_without_a_sequence_number_is_stored(attempt):
    api, data = attempt
    paragraph = question_id(data, "Paragraph")
    body = {"answers": [{"questionId": paragraph, "studentAnswer": "Acidity, as -log[H+].", "timeSpent": 42}]}
    response = save(api, data["id"], body)
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["saved"] == [paragraph]
    assert response.json()["data"]["sequence"] is None
    reloaded = api.get(f"/api/exam-sessions/{data['id']}").json()["data"]
    assert [(a["questionId"], a["studentAnswer"], a["timeSpent"]) for a in reloaded["answers"]] == [
        (paragraph, "Acidity, as -log[H+].", 42)
    ]


def test_saves_without_sequence_numbers_are_ordered_by_arrival(attempt):
    api, data = attempt
    paragraph = question_id(data, "Paragraph")
    for text in ["Acid", "Acidity", "Acidity, as -log[H+]."]:
        body = {"answers": [{"questionId": paragraph, "studentAnswer": text, "timeSpent": 5}]}
        assert save(api, data["id"], body).json()["data"]["saved"] == [paragraph]
    assert stored(data["id"]) == {paragraph: "Acidity, as -log[H+]."}


def test_a_save_without_a_number_neither_loses_nor_blocks_numbered_saves(attempt):
    api, data = attempt
    paragraph = question_id(data, "Paragraph")

    def answer(text: str, **sequence) -> dict:
        return {"answers": [{"questionId": paragraph, "studentAnswer": text, "timeSpent": 5}], **sequence}

    assert save(api, data["id"], answer("numbered 5", sequence=5)).json()["data"]["saved"] == [paragraph]
    assert save(api, data["id"], answer("unnumbered")).json()["data"]["saved"] == [paragraph]
    # A numbered save older than one already stored is still stale: it cannot overwrite anything.
    late = save(api, data["id"], answer("numbered 4, late", sequence=4)).json()["data"]
    assert late["stale"] == [paragraph]
    assert stored(data["id"]) == {paragraph: "unnumbered"}
    # The unnumbered save did not raise the number, so the numbered client's next save is not lost.
    assert save(api, data["id"], answer("numbered 6", sequence=6)).json()["data"]["saved"] == [paragraph]
    assert stored(data["id"]) == {paragraph: "numbered 6"}


def test_a_submit_without_a_sequence_number_keeps_its_last_answers(attempt):
    api, data = attempt
    paragraph = question_id(data, "Paragraph")
    draft = {"answers": [{"questionId": paragraph, "studentAnswer": "draft", "timeSpent": 5}]}
    assert save(api, data["id"], draft).json()["data"]["saved"] == [paragraph]
    body = {"answers": [{"questionId": paragraph, "studentAnswer": "final", "timeSpent": 9}]}
    response = api.put(f"/api/exam-sessions/{data['id']}/submit", body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["status"] == "submitted"
    assert stored(data["id"]) == {paragraph: "final"}


@pytest.mark.parametrize(
    ("chosen", "score"),
    [(["Neon", "Argon"], 2.0), (["Argon"], 1.0), (["Neon", "Nitrogen"], 0.0)],
)
def test_an_mcq_with_a_list_key_is_graded_per_choice(attempt, chosen, score):
    api, data = attempt
    several, one = question_id(data, "MCQ-multiple"), question_id(data, "MCQ")
    answers = [
        {"questionId": several, "studentAnswer": chosen, "timeSpent": 20},
        {"questionId": one, "studentAnswer": "water", "timeSpent": 3},
    ]
    assert save(api, data["id"], {"answers": answers}).json()["data"]["saved"] == [several, one]
    api.put(f"/api/exam-sessions/{data['id']}/submit", {}, format="json")
    result = api.get(f"/api/exam-sessions/{data['id']}").json()["data"]
    scores = {a["questionId"]: a["score"] for a in result["answers"]}
    assert scores == {several: score, one: 1.0}
    assert result["finalScore"] == score + 1.0


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_saves_without_sequence_numbers_all_land_and_one_wins(exam, student):
    session, _ = services.exam_session_start(exam=exam, student=student)
    paragraph = str(exam.questions.get(type="Paragraph").pk)
    texts = [f"version {i}" for i in range(20)]

    def save_one(i: int):
        answers = [{"question_id": paragraph, "student_answer": texts[i], "time_spent": i}]
        return services.exam_session_answers_save(session_id=session.pk, student=student, answers=answers)

    results = run_together(20, save_one)
    assert all(result.saved == [paragraph] for result in results)
    answer = Answer.objects.get(session=session)
    assert answer.response in texts
    # The last writer under the row lock is the stored one: its timeSpent travelled with it.
    assert texts[answer.time_spent_seconds] == answer.response
