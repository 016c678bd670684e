"""Teachers author exams in the Django admin, driven here through the test client."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from exams.models import Exam, Question
from exams.tests.factories import ExamFactory, enrol
from sessions.services import exam_session_start

pytestmark = pytest.mark.django_db

GIFT = """// Unit 1
::Q1:: Which planet is largest? {=Jupiter ~Mars ~Venus}

::Q2:: Explain gravity. {}
"""
BAD_GIFT = """What is 2+2? {~3 ~5}

Name a prime. {=2 =3}
"""
AIKEN = """Which gas do plants absorb?
A. Oxygen
B. Carbon dioxide
ANSWER: B
"""


def management_data(page: bytes) -> dict:
    """Empty management forms for every inline on an admin page."""
    data = {}
    for prefix in re.findall(rb'name="([\w-]+)-TOTAL_FORMS"', page):
        prefix = prefix.decode()
        data |= {
            f"{prefix}-TOTAL_FORMS": "0",
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        }
    return data


def exam_fields(**overrides) -> dict:
    now = timezone.now()
    fields = {
        "title": "Astronomy",
        "description": "",
        "is_published": "on",
        "start_time_0": now.strftime("%Y-%m-%d"),
        "start_time_1": now.strftime("%H:%M:%S"),
        "end_time_0": (now + timedelta(days=3)).strftime("%Y-%m-%d"),
        "end_time_1": "12:00:00",
        "duration_minutes": "40",
        "allowed_attempts": "1",
        "security_level": "medium",
        "proctoring_enabled": "on",
        # What the form shows for an exam with the default tuning, sent back as it was.
        "sensitivity": "standard",
        "risk_weights": "{}",
        "screenshot_interval_seconds": "30",
        "screen_share_lapse": "block",
    }
    return fields | overrides


def add_exam(client, single_choice: dict, **fields) -> object:
    page = client.get("/admin/exams/exam/add/").content
    data = management_data(page) | exam_fields(**fields)
    # One list holds every question, whatever its type.
    data["questions-TOTAL_FORMS"] = "1"
    data |= {f"questions-0-{key}": value for key, value in ({"type": "MCQ"} | single_choice).items()}
    return client.post("/admin/exams/exam/add/", data)


def test_a_teacher_adds_an_exam_with_a_choice_question_written_one_choice_per_line(client, teacher):
    client.force_login(teacher)
    response = add_exam(
        client,
        {
            "order": "1",
            "text": "Largest planet?",
            "choices": ["Mars", "Jupiter", "Venus"],
            "choices-correct": ["1"],  # Jupiter ticked
            "points": "2",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    exam = Exam.objects.get()
    assert exam.created_by == teacher
    question = exam.questions.get()
    assert (question.type, question.options, question.correct_answer) == (
        "MCQ",
        ["Mars", "Jupiter", "Venus"],
        "Jupiter",
    )


def test_a_choice_question_with_no_choice_ticked_is_shown_on_the_form(client, teacher):
    client.force_login(teacher)
    response = add_exam(
        client, {"order": "1", "text": "Largest planet?", "choices": ["Mars", "Venus"], "points": "1"}
    )
    assert response.status_code == 200
    assert b"Tick the right choice (or choices) among them." in response.content
    assert not Exam.objects.exists()


def test_a_single_answer_question_with_two_choices_ticked_is_refused(client, teacher):
    client.force_login(teacher)
    response = add_exam(
        client,
        {
            "text": "Largest planet?",
            "choices": ["Mars", "Jupiter"],
            "choices-correct": ["0", "1"],
            "points": "1",
        },
    )
    assert response.status_code == 200
    assert b"Tick only one right choice" in response.content
    assert not Exam.objects.exists()


def test_teachers_see_only_their_own_exams(client, teacher):
    mine = ExamFactory(created_by=teacher, title="Mine")
    theirs = ExamFactory(title="Theirs")
    client.force_login(teacher)
    listing = client.get("/admin/exams/exam/").content
    assert b"Mine" in listing and b"Theirs" not in listing
    assert client.get(f"/admin/exams/exam/{theirs.pk}/change/").status_code == 302  # "doesn't exist"
    assert client.get(f"/admin/exams/exam/{mine.pk}/change/").status_code == 200


def test_an_admin_sees_every_exam(client, admin_user, teacher):
    ExamFactory(created_by=teacher, title="Mine")
    client.force_login(admin_user)
    assert b"Mine" in client.get("/admin/exams/exam/").content


def test_duplicating_copies_questions_into_an_unpublished_exam(client, teacher, exam_with_questions):
    client.force_login(teacher)
    client.post("/admin/exams/exam/", {"action": "duplicate", "_selected_action": [exam_with_questions.pk]})
    copy = Exam.objects.get(title="Copy of Astronomy")
    assert not copy.is_published
    assert copy.questions.count() == exam_with_questions.questions.count() == 2


def test_gift_import_appends_questions(client, teacher, exam_with_questions):
    client.force_login(teacher)
    url = f"/admin/exams/exam/{exam_with_questions.pk}/import/"
    response = client.post(url, {"format": "gift", "text": GIFT})
    assert response.status_code == 302
    texts = list(exam_with_questions.questions.order_by("order").values_list("text", "type"))
    assert texts[-2:] == [("Which planet is largest?", "MCQ"), ("Explain gravity.", "Paragraph")]


def test_aiken_import_from_an_uploaded_file(client, teacher, exam_with_questions):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(teacher)
    upload = SimpleUploadedFile("bank.txt", AIKEN.encode(), content_type="text/plain")
    client.post(f"/admin/exams/exam/{exam_with_questions.pk}/import/", {"format": "aiken", "file": upload})
    question = exam_with_questions.questions.get(text="Which gas do plants absorb?")
    assert question.correct_answer == "Carbon dioxide"


def test_a_broken_gift_file_lists_every_problem_with_its_line_and_imports_nothing(
    client, teacher, exam_with_questions
):
    client.force_login(teacher)
    before = exam_with_questions.questions.count()
    response = client.post(
        f"/admin/exams/exam/{exam_with_questions.pk}/import/", {"format": "gift", "text": BAD_GIFT}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "line 1:" in page and "line 3:" in page
    assert exam_with_questions.questions.count() == before


def test_the_preview_shows_the_exam_as_a_student_sees_it(client, teacher, exam_with_questions):
    client.force_login(teacher)
    page = client.get(f"/exams/{exam_with_questions.pk}/preview/").content.decode()
    assert "Largest planet?" in page and "Jupiter" in page  # an option is shown...
    assert "Gas giant." not in page  # ...but not the explanation
    client.force_login(UserFactory(role="teacher", is_staff=True))
    assert client.get(f"/exams/{exam_with_questions.pk}/preview/").status_code == 404


def test_questions_become_read_only_once_a_student_started(client, teacher, student, exam_with_questions):
    enrol(exam_with_questions, student)
    exam_session_start(exam=exam_with_questions, student=student)
    client.force_login(teacher)
    page = client.get(f"/admin/exams/exam/{exam_with_questions.pk}/change/").content.decode()
    assert 'name="questions-0-text"' not in page  # shown, not editable
    assert "Largest planet?" in page


def test_a_teacher_switches_automatic_termination_on_in_the_change_form(client, api, teacher):
    exam = ExamFactory(created_by=teacher, title="Astronomy")
    assert not exam.auto_terminate
    client.force_login(teacher)
    url = f"/admin/exams/exam/{exam.pk}/change/"
    page = client.get(url).content
    assert b'name="auto_terminate"' in page
    response = client.post(url, management_data(page) | exam_fields(auto_terminate="on"))
    assert response.status_code == 302, response.content.decode()[:2000]
    exam.refresh_from_db()
    assert exam.auto_terminate
    api.force_authenticate(teacher)
    assert api.get(f"/api/exams/{exam.pk}").json()["data"]["settings"]["autoTerminate"] is True
    # An unticked box is absent from the form data: that switches it off again.
    client.post(url, management_data(page) | exam_fields())
    exam.refresh_from_db()
    assert not exam.auto_terminate


@pytest.fixture
def exam_with_questions(teacher):
    exam = ExamFactory(created_by=teacher, title="Astronomy", is_published=True, proctoring_enabled=False)
    Question.objects.create(
        exam=exam,
        type="MCQ",
        text="Largest planet?",
        options=["Mars", "Jupiter"],
        correct_answer="Jupiter",
        explanation="Gas giant.",
        order=1,
    )
    Question.objects.create(exam=exam, type="Paragraph", text="Why do stars twinkle?", order=2)
    return exam


def test_a_change_form_with_errors_and_no_course_is_shown_again_not_a_500(client, teacher):
    exam = ExamFactory(created_by=teacher, title="Astronomy")
    client.force_login(teacher)
    url = f"/admin/exams/exam/{exam.pk}/change/"
    page = client.get(url).content
    response = client.post(url, management_data(page) | exam_fields(course="", allowed_attempts="0"))
    assert response.status_code == 200
    assert "attempts" in str(response.context["adminform"].form.errors)
    exam.refresh_from_db()
    assert exam.course_id is not None  # nothing saved


def test_questions_of_every_type_are_one_list_saved_in_the_order_given(client, teacher):
    client.force_login(teacher)
    page = client.get("/admin/exams/exam/add/").content.decode()
    # The questions and the accommodations: no list per question type.
    assert re.findall(r'name="([\w-]+)-TOTAL_FORMS"', page) == ["questions", "accommodations"]
    # The code language is picked from a list, not typed.
    assert re.search(r'<select name="questions-__prefix__-language"', page)
    forms = [
        {"type": "Paragraph", "text": "Explain tides.", "order": "3"},
        {"type": "MCQ-multiple", "text": "Gas giants?", "choices": ["Mars", "Jupiter", "Saturn"]}
        | {"choices-correct": ["1", "2"], "order": "1"},
        {"type": "Code", "text": "Reverse a list.", "language": "python", "order": "2"},
    ]
    data = management_data(page.encode()) | exam_fields() | {"questions-TOTAL_FORMS": str(len(forms))}
    for i, form in enumerate(forms):
        data |= {f"questions-{i}-{key}": value for key, value in ({"points": "1"} | form).items()}
    response = client.post("/admin/exams/exam/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    questions = Exam.objects.get().questions.order_by("order")
    assert [(q.type, q.options, q.correct_answer, q.language) for q in questions] == [
        ("MCQ-multiple", ["Mars", "Jupiter", "Saturn"], ["Jupiter", "Saturn"], ""),
        ("Code", [], None, "python"),
        ("Paragraph", [], None, ""),
    ]


def test_a_saved_choice_question_shows_its_right_choice_ticked(client, teacher, exam_with_questions):
    client.force_login(teacher)
    page = client.get(f"/admin/exams/exam/{exam_with_questions.pk}/change/").content.decode()
    ticked = re.findall(r'name="questions-\d+-choices-correct" value="(\d+)" checked', page)
    question = exam_with_questions.questions.filter(type="MCQ").first()
    assert ticked == [str(question.options.index(question.correct_answer))]


def test_a_gift_file_without_blank_lines_imports_and_each_problem_shows_once(
    client, teacher, exam_with_questions
):
    client.force_login(teacher)
    url = f"/admin/exams/exam/{exam_with_questions.pk}/import/"
    packed = "Largest? {=Jupiter ~Mars}\nA prime? {=2 ~4}\nPi? {#3.14:0.01}\nMatch. {=a -> b =c -> d}"
    assert client.post(url, {"format": "gift", "text": packed}).status_code == 302
    assert list(exam_with_questions.questions.order_by("order").values_list("type", flat=True))[-4:] == [
        "MCQ",
        "MCQ",
        "Numeric",
        "Matching",
    ]
    broken = "Fine {=a ~b}\nTwice wrong {=a ~a =b}\n"
    page = client.post(url, {"format": "gift", "text": broken}).content.decode()
    assert page.count("appears twice") == 1
    assert "line 2: question 2 (“Twice wrong”): The choice &#x27;a&#x27; appears twice." in page
    assert "Only one choice may be marked =" in page  # the question's other problem, in the same entry
