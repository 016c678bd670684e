"""The session API as a student's browser and a proctor's dashboard use it."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from sessions.models import Answer, ExamSession
from sessions.tests.conftest import qid

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_student(student):
    client = APIClient()
    client.force_authenticate(student)
    return client


@pytest.fixture
def as_teacher(teacher):
    client = APIClient()
    client.force_authenticate(teacher)
    return client


def start(api, exam, **extra):
    return api.post("/api/exam-sessions/start", {"examId": exam.pk, **extra}, format="json")


def save(api, session_id, answers: dict, sequence: int):
    body = {
        "answers": [{"questionId": q, "studentAnswer": a, "timeSpent": 5} for q, a in answers.items()],
        "sequence": sequence,
    }
    return api.put(f"/api/exam-sessions/{session_id}/save-answers", body, format="json")


def test_starting_returns_the_attempt_without_answers_and_the_server_clock(as_student, exam):
    response = start(as_student, exam, screenResolution="1920x1080", browserInfo={"name": "Chromium"})
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["status"] == "in-progress"
    assert 29 * 60 < data["timeRemaining"] <= 30 * 60
    assert [q["type"] for q in data["questions"]] == ["MCQ", "MCQ-multiple", "Paragraph", "Code"]
    assert data["questions"][0]["questionText"] == "Closest planet to the Sun?"
    assert ExamSession.objects.get().screen_resolution == "1920x1080"


def test_a_student_never_receives_correct_answers_or_explanations(as_student, exam):
    session_id = start(as_student, exam).json()["data"]["id"]
    bodies = [
        as_student.get(f"/api/exam-sessions/{session_id}").content,
        as_student.get(f"/api/exams/{exam.pk}").content,
        as_student.get("/api/exams").content,
    ]
    for body in bodies:
        text = body.decode()
        assert "correctAnswer" not in text and "explanation" not in text
        assert "0.39 AU" not in text and "4 and 9 are squares" not in text


def test_a_reload_restores_saved_answers_in_the_same_order(as_student, make_exam):
    exam = make_exam(shuffle_questions=True)
    first = start(as_student, exam).json()["data"]
    save(as_student, first["id"], {qid(exam, "Paragraph"): "Rayleigh", qid(exam, "MCQ"): "Mercury"}, 3)

    reloaded = as_student.get(f"/api/exam-sessions/{first['id']}").json()["data"]
    assert [q["id"] for q in reloaded["questions"]] == [q["id"] for q in first["questions"]]
    saved = {a["questionId"]: a["studentAnswer"] for a in reloaded["answers"]}
    assert saved == {qid(exam, "Paragraph"): "Rayleigh", qid(exam, "MCQ"): "Mercury"}
    assert all(a["sequence"] == 3 for a in reloaded["answers"])


def test_autosave_reports_what_was_saved_and_what_was_stale(as_student, exam):
    session_id = start(as_student, exam).json()["data"]["id"]
    paragraph = qid(exam, "Paragraph")
    assert save(as_student, session_id, {paragraph: "newer"}, 8).json()["data"]["saved"] == [paragraph]
    late = save(as_student, session_id, {paragraph: "older"}, 7).json()["data"]
    assert late["stale"] == [paragraph] and late["saved"] == []


def test_saving_after_the_grace_minute_is_a_409_with_a_clear_message(as_student, exam):
    session_id = start(as_student, exam).json()["data"]["id"]
    ExamSession.objects.filter(pk=session_id).update(deadline=timezone.now() - timedelta(minutes=2))
    response = save(as_student, session_id, {qid(exam, "MCQ"): "Venus"}, 2)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "DEADLINE_PASSED"


def test_an_invalid_answer_is_a_400_naming_the_question(as_student, exam):
    session_id = start(as_student, exam).json()["data"]["id"]
    response = save(as_student, session_id, {qid(exam, "MCQ"): "Pluto"}, 1)
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"questionId": qid(exam, "MCQ")}


def test_a_malformed_session_id_is_a_404_not_a_500(as_student):
    assert as_student.get("/api/exam-sessions/not-a-uuid").status_code == 404


def test_results_are_hidden_until_released(as_student, make_exam):
    exam = make_exam(show_results=False)
    session_id = start(as_student, exam).json()["data"]["id"]
    body = {"answers": [{"questionId": qid(exam, "MCQ"), "studentAnswer": "Mercury"}], "sequence": 1}
    data = as_student.put(f"/api/exam-sessions/{session_id}/submit", body, format="json").json()["data"]
    assert data["status"] == "submitted"
    assert data["finalScore"] is None and data["resultsReleased"] is False
    assert "correctAnswer" not in json.dumps(data)
    assert all("score" not in a for a in data["answers"])


def test_released_results_show_score_answers_and_explanations(as_student, make_exam):
    exam = make_exam(show_results=True)
    session_id = start(as_student, exam).json()["data"]["id"]
    body = {"answers": [{"questionId": qid(exam, "MCQ"), "studentAnswer": "Mercury"}], "sequence": 1}
    data = as_student.put(f"/api/exam-sessions/{session_id}/submit", body, format="json").json()["data"]
    assert data["resultsReleased"] is True
    assert data["finalScore"] == 2
    mcq = next(q for q in data["questions"] if q["type"] == "MCQ")
    assert mcq["correctAnswer"] == "Mercury" and mcq["explanation"] == "About 0.39 AU."


def test_a_browser_event_is_logged_and_a_bad_one_refused(as_student, exam):
    session_id = start(as_student, exam).json()["data"]["id"]
    ok = as_student.post(
        f"/api/exam-sessions/{session_id}/log-event",
        {"type": "tab-switch", "severity": "medium", "details": {"durationMs": 4200}},
        format="json",
    )
    assert ok.status_code == 201
    forged = as_student.post(
        f"/api/exam-sessions/{session_id}/log-event", {"type": "identity-mismatch"}, format="json"
    )
    assert forged.status_code == 400, "analysis results come from the server, not the browser"
    huge = as_student.post(
        f"/api/exam-sessions/{session_id}/log-event",
        {"type": "copy", "details": {"text": "x" * 5000}},
        format="json",
    )
    assert huge.status_code == 400


def test_events_after_the_session_ended_are_refused(as_student, exam):
    session_id = start(as_student, exam).json()["data"]["id"]
    as_student.put(f"/api/exam-sessions/{session_id}/submit", {}, format="json")
    response = as_student.post(f"/api/exam-sessions/{session_id}/log-event", {"type": "copy"}, format="json")
    assert response.status_code == 409


def test_live_and_reports_show_the_teachers_sessions(as_teacher, as_student, exam):
    session_id = start(as_student, exam).json()["data"]["id"]
    as_student.post(
        f"/api/exam-sessions/{session_id}/log-event", {"type": "copy", "severity": "high"}, format="json"
    )
    live = as_teacher.get("/api/exam-sessions/live").json()["data"]
    assert [s["id"] for s in live] == [session_id]
    assert live[0]["eventCount"] == 1 and live[0]["highSeverityCount"] == 1
    assert live[0]["student"]["email"] == "student@school.example"

    as_student.put(f"/api/exam-sessions/{session_id}/submit", {}, format="json")
    assert as_teacher.get("/api/exam-sessions/live").json()["data"] == []
    reports = as_teacher.get(f"/api/exam-sessions/reports?examId={exam.pk}").json()["data"]
    assert [s["id"] for s in reports] == [session_id]
    assert reports[0]["status"] == "submitted"


def test_export_as_json_and_csv(as_teacher, as_student, exam):
    session_id = start(as_student, exam).json()["data"]["id"]
    as_student.post(f"/api/exam-sessions/{session_id}/log-event", {"type": "paste"}, format="json")
    exported = as_teacher.get(f"/api/exam-sessions/{session_id}/export?format=json").json()["data"]
    assert [e["type"] for e in exported["events"]] == ["paste"]
    response = as_teacher.get(f"/api/exam-sessions/{session_id}/export?format=csv")
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows[0]["type"] == "paste" and rows[0]["student_email"] == "student@school.example"
    assert as_teacher.get(f"/api/exam-sessions/{session_id}/export?format=xml").status_code == 400


def test_event_details_are_stored_as_sent_and_a_resent_event_once(as_student, exam):
    from proctoring.models import ProctoringEvent

    session_id = start(as_student, exam).json()["data"]["id"]
    body = {"type": "window-blur", "details": {"durationMs": 1200, "hidden_by": "alt-tab"}, "seq": 77}
    for _ in range(2):
        assert (
            as_student.post(f"/api/exam-sessions/{session_id}/log-event", body, format="json").status_code
            == 201
        )
    event = ProctoringEvent.objects.get()
    assert event.details == {"durationMs": 1200, "hidden_by": "alt-tab"}


# --- input no store can hold: refused at the door, never a 500 (issue 13, item 5) ----------------


def send_raw(api, method: str, url: str, document, **raw_numbers: str):
    """`document` as JSON; json.dumps writes a lone surrogate as its escape ("\\udc00") and NaN as
    `NaN`, as a hostile client would. `raw_numbers` replace string placeholders with number tokens
    Python cannot produce (1e400)."""
    body = json.dumps(document)
    for placeholder, token in raw_numbers.items():
        body = body.replace(f'"{placeholder}"', token)
    return getattr(api, method)(url, body, content_type="application/json")


# A lone low surrogate, a high one without its pair, and NUL (which PostgreSQL cannot store).
@pytest.mark.parametrize("text", ["a\udc00b", "\ud83d", "a\x00b"])
def test_an_answer_that_is_not_storable_text_is_a_400_and_every_view_of_the_attempt_still_opens(
    as_student, as_teacher, exam, teacher, text
):
    session_id = start(as_student, exam).json()["data"]["id"]
    body = {"answers": [{"questionId": qid(exam, "Paragraph"), "studentAnswer": text}]}
    response = send_raw(as_student, "put", f"/api/exam-sessions/{session_id}/save-answers", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert list(error["details"]["answers"]["0"]) == ["studentAnswer"]
    assert Answer.objects.count() == 0
    # What a stored one broke: the student's own attempt, the grading page, the export, the review.
    assert as_student.get(f"/api/exam-sessions/{session_id}").status_code == 200
    assert as_teacher.get(f"/api/exam-sessions/{session_id}/export?format=json").status_code == 200
    pages = Client()
    pages.force_login(teacher)
    assert pages.get(f"/sessions/{session_id}/grade/").status_code == 200
    assert pages.get(f"/proctoring/sessions/{session_id}/").status_code == 200


@pytest.mark.parametrize(
    ("operation", "body", "field"),
    [
        ("save-answers", {"answers": [], "sequence": 2**63}, ["sequence"]),
        ("submit", {"answers": [], "sequence": 2**63}, ["sequence"]),
        ("save-answers", {"answers": [{"sequence": 2**63}]}, ["answers", "0", "sequence"]),
        ("save-answers", {"answers": [{"timeSpent": 2**63}]}, ["answers", "0", "timeSpent"]),
        # An integer column on PostgreSQL: 2^31 seconds fits SQLite, not there.
        ("save-answers", {"answers": [{"timeSpent": 2**31}]}, ["answers", "0", "timeSpent"]),
    ],
)
def test_a_number_past_its_database_column_is_a_400_not_a_500(as_student, exam, operation, body, field):
    session_id = start(as_student, exam).json()["data"]["id"]
    for answer in body["answers"]:
        answer.update(questionId=qid(exam, "Paragraph"), studentAnswer="Rayleigh")
    response = send_raw(as_student, "put", f"/api/exam-sessions/{session_id}/{operation}", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    details = error["details"]
    for key in field:
        details = details[key]
    assert "less than or equal to" in details[0]
    assert ExamSession.objects.get().status == "in-progress" and Answer.objects.count() == 0


def test_a_body_nested_a_thousand_levels_deep_is_a_400_not_a_500(as_student, exam):
    body = {"examId": exam.pk, "browserInfo": {"plugins": "DEEP"}}
    response = send_raw(as_student, "post", "/api/exam-sessions/start", body, DEEP="[" * 1000 + "]" * 1000)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MALFORMED_REQUEST"
    assert "nested more than 64 levels" in response.json()["error"]["message"]
    assert not ExamSession.objects.exists()


@pytest.mark.parametrize("number", ["1e400", "NaN", "-Infinity"])
def test_a_system_check_measurement_that_is_not_a_finite_number_is_a_400_not_a_500(as_student, exam, number):
    url = f"/api/exams/{exam.pk}/system-check"
    body = {"items": {"camera": True}, "measurements": {"rttMs": "RTT"}}
    response = send_raw(as_student, "post", url, body, RTT=number)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert "finite number" in error["details"]["measurements"]["rttMs"][0]
    assert send_raw(as_student, "post", url, body, RTT="42.5").status_code == 201
