"""Question banks in the admin: a course's teachers keep tagged questions in a bank and put
"N questions from bank X" entries among an exam's questions; another course's teacher neither
sees nor uses the bank."""

from __future__ import annotations

import re

import pytest

from exams.models import Question, QuestionBank
from exams.tests.factories import ExamFactory
from exams.tests.test_admin import exam_fields, management_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def kinematics(world):
    """Tess's bank in Physics 101: four medium "vectors" questions worth 2, one hard."""
    bank = QuestionBank.objects.create(course=world.physics.course, title="Kinematics")
    for n, difficulty in enumerate(["medium"] * 4 + ["hard"], start=1):
        Question.objects.create(
            bank=bank,
            type="Paragraph",
            text=f"Vectors question {n}",
            topic="vectors",
            difficulty=difficulty,
            points=2,
            order=n,
        )
    return bank


@pytest.fixture
def optics(world):
    """A draft exam of Physics 101 nobody has started, with one question of its own."""
    exam = ExamFactory(created_by=world.tess, course=world.physics.course, title="Optics")
    Question.objects.create(exam=exam, type="Paragraph", text="Why is the sky blue?", order=1)
    return exam


def exam_change(client, exam, draw: dict):
    """Save the exam's change form with its question and one new draw entry after it."""
    url = f"/admin/exams/exam/{exam.pk}/change/"
    page = client.get(url).content
    own = exam.questions.get()
    data = management_data(page) | exam_fields(course=str(exam.course_id))
    data |= {"questions-TOTAL_FORMS": "2", "questions-INITIAL_FORMS": "1"}
    data |= {"questions-0-id": str(own.pk), "questions-0-exam": str(exam.pk), "questions-0-type": "Paragraph"}
    data |= {"questions-0-text": own.text, "questions-0-points": "1", "questions-0-order": "1"}
    data |= {f"questions-1-{key}": value for key, value in ({"type": "Draw", "order": "2"} | draw).items()}
    return client.post(url, data)


def test_a_teacher_adds_a_bank_of_tagged_questions_to_her_course(client, world):
    client.force_login(world.tess)
    page = client.get("/admin/exams/questionbank/add/").content
    data = management_data(page) | {"title": "Kinematics", "course": str(world.physics.course.pk)}
    questions = [
        {"type": "Paragraph", "text": "Add two vectors.", "topic": "vectors", "difficulty": "easy"},
        {"type": "MCQ", "text": "Unit of speed?", "choices": ["m/s", "kg"], "choices-correct": ["0"]}
        | {"topic": "units", "difficulty": "medium"},
    ]
    data["questions-TOTAL_FORMS"] = str(len(questions))
    for i, question in enumerate(questions):
        data |= {
            f"questions-{i}-{k}": v for k, v in ({"points": "2", "order": str(i + 1)} | question).items()
        }

    response = client.post("/admin/exams/questionbank/add/", data)

    assert response.status_code == 302, response.content.decode()[:3000]
    bank = QuestionBank.objects.get(title="Kinematics")
    assert list(
        bank.questions.order_by("order").values_list("type", "topic", "difficulty", "correct_answer")
    ) == [
        ("Paragraph", "vectors", "easy", None),
        ("MCQ", "units", "medium", "m/s"),
    ]
    assert bank.questions.filter(exam__isnull=False).count() == 0


def test_a_draw_entry_is_saved_among_the_exams_questions(client, world, kinematics, optics):
    client.force_login(world.tess)
    response = exam_change(
        client,
        optics,
        {"draw_from": str(kinematics.pk), "draw_count": "3", "topic": "vectors", "difficulty": "medium"},
    )
    assert response.status_code == 302, [f.formset.errors for f in response.context["inline_admin_formsets"]]
    draw = optics.questions.get(type="Draw")
    assert (draw.draw_from, draw.draw_count, draw.order, draw.points) == (kinematics, 3, 2, 2)
    assert str(draw) == '3 questions from bank "Kinematics", topic vectors, medium'
    # The list shows it where it was put, by its summary.
    page = client.get(f"/admin/exams/exam/{optics.pk}/change/").content.decode()
    assert "3 questions from bank &quot;Kinematics&quot;, topic vectors, medium" in page


def test_a_draw_larger_than_the_banks_matching_questions_is_refused_with_a_clear_error(
    client, world, kinematics, optics
):
    client.force_login(world.tess)
    response = exam_change(
        client,
        optics,
        {"draw_from": str(kinematics.pk), "draw_count": "5", "topic": "vectors", "difficulty": "medium"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert (
        "The bank &quot;Kinematics&quot; has only 4 matching questions (topic vectors, medium): "
        "a draw of 5 per student needs at least that many." in page
    )
    assert not optics.questions.filter(type="Draw").exists()


def test_two_draws_that_together_need_more_than_the_bank_has_are_refused(client, world, kinematics, optics):
    client.force_login(world.tess)
    url = f"/admin/exams/exam/{optics.pk}/change/"
    Question.objects.create(exam=optics, type="Draw", draw_from=kinematics, draw_count=3, order=2, text="x")
    page = client.get(url).content
    first, draw = optics.questions.order_by("order")
    data = management_data(page) | exam_fields(course=str(optics.course_id))
    data |= {"questions-TOTAL_FORMS": "3", "questions-INITIAL_FORMS": "2"}
    data |= {
        "questions-0-id": str(first.pk),
        "questions-0-exam": str(optics.pk),
        "questions-0-type": "Paragraph",
    }
    data |= {"questions-0-text": first.text, "questions-0-points": "1", "questions-0-order": "1"}
    data |= {"questions-1-id": str(draw.pk), "questions-1-exam": str(optics.pk), "questions-1-type": "Draw"}
    data |= {
        "questions-1-draw_from": str(kinematics.pk),
        "questions-1-draw_count": "3",
        "questions-1-order": "2",
    }
    data |= {"questions-2-type": "Draw", "questions-2-draw_from": str(kinematics.pk)}
    data |= {"questions-2-draw_count": "3", "questions-2-order": "3"}

    response = client.post(url, data)

    assert response.status_code == 200
    assert (
        "The draws from bank &quot;Kinematics&quot; ask for 6 different questions per student; "
        "it has only 5 matching them." in response.content.decode()
    )


def test_a_teacher_of_another_course_neither_sees_nor_uses_the_bank(client, world, kinematics):
    client.force_login(world.vic)  # History 201's teacher
    listing = client.get("/admin/exams/questionbank/").content.decode()
    assert "Kinematics" not in listing
    assert (
        client.get(f"/admin/exams/questionbank/{kinematics.pk}/change/").status_code == 302
    )  # "doesn't exist"
    # Her own exam's list offers her none of Physics' banks, and a forged choice is refused.
    essay = ExamFactory(created_by=world.vic, course=world.history.course, title="Essay")
    Question.objects.create(exam=essay, type="Paragraph", text="Why 1848?", order=1)
    page = client.get(f"/admin/exams/exam/{essay.pk}/change/").content.decode()
    assert not re.search(rf'<option value="{kinematics.pk}"[^>]*>Kinematics', page)
    response = exam_change(client, essay, {"draw_from": str(kinematics.pk), "draw_count": "1"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not essay.questions.filter(type="Draw").exists()
    # Nor can she file a bank under Physics 101.
    page = client.get("/admin/exams/questionbank/add/").content
    response = client.post(
        "/admin/exams/questionbank/add/",
        management_data(page) | {"title": "Stolen", "course": str(world.physics.course.pk)},
    )
    assert response.status_code == 200 and not QuestionBank.objects.filter(title="Stolen").exists()


def test_an_admin_sees_every_courses_banks(client, world, kinematics):
    client.force_login(world.ada)
    assert "Kinematics" in client.get("/admin/exams/questionbank/").content.decode()
    assert client.get(f"/admin/exams/questionbank/{kinematics.pk}/change/").status_code == 200


def test_a_banks_questions_are_frozen_once_a_student_started_an_exam_drawing_from_it(
    client, world, kinematics
):
    # Physics final has students in progress: a draw from the bank makes its questions records.
    Question.objects.create(
        exam=world.physics, type="Draw", draw_from=kinematics, draw_count=1, order=9, text="draw"
    )
    client.force_login(world.tess)
    page = client.get(f"/admin/exams/questionbank/{kinematics.pk}/change/").content.decode()
    assert "Vectors question 1" in page
    assert 'name="questions-0-text"' not in page  # shown, not editable
    assert 'name="questions-__prefix__-text"' in page  # new ones may still be added


def test_the_preview_shows_a_draw_as_questions_from_its_bank(client, world, kinematics, optics):
    Question.objects.create(
        exam=optics, type="Draw", draw_from=kinematics, draw_count=2, difficulty="medium", order=2, text="d"
    )
    client.force_login(world.tess)
    page = client.get(f"/exams/{optics.pk}/preview/").content.decode()
    # Each student gets their own draw; the preview shows what one such draw looks like.
    assert "Why is the sky blue?" in page
    assert page.count("Vectors question") == 2
    assert "Vectors question 5" not in page  # the hard one: not in this draw


def test_replacing_the_questions_through_the_api_keeps_the_exams_bank_draw(api, world, kinematics, optics):
    Question.objects.create(exam=optics, type="Draw", draw_from=kinematics, draw_count=2, order=2, text="d")
    api.force_authenticate(world.tess)
    body = api.get(f"/api/exams/{optics.pk}").json()["data"]
    body["questions"] = [{"type": "Paragraph", "questionText": "Define force.", "points": 1}]

    response = api.put(f"/api/exams/{optics.pk}", body, format="json")

    assert response.status_code == 200, response.content
    assert [(q.type, q.text) for q in optics.questions.order_by("order", "id")] == [
        ("Paragraph", "Define force."),
        ("Draw", "d"),
    ]


def bank_save(client, bank, *, course=None, new_question: dict | None = None):
    """Save the bank's change form as it is (its questions untouched), with one new question."""
    url = f"/admin/exams/questionbank/{bank.pk}/change/"
    data = management_data(client.get(url).content)
    data |= {"title": bank.title, "course": str(course or bank.course_id), "description": ""}
    if new_question:
        data["questions-TOTAL_FORMS"] = "1"
        data |= {f"questions-0-{key}": value for key, value in new_question.items()}
    return client.post(url, data)


def test_a_bank_question_worth_other_points_than_a_draws_others_is_refused(client, world, kinematics):
    # Stu and Sam sit Physics final, which draws two medium vectors questions (2 points each).
    Question.objects.create(
        exam=world.physics,
        type="Draw",
        draw_from=kinematics,
        draw_count=2,
        topic="vectors",
        difficulty="medium",
        points=2,
        order=9,
        text="draw",
    )
    client.force_login(world.tess)
    worth_five = {
        "type": "Paragraph",
        "text": "Resolve a vector.",
        "topic": "Vectors",
        "difficulty": "medium",
    }

    response = bank_save(client, kinematics, new_question=worth_five | {"points": "5", "order": "6"})

    # Students starting after it would have drawn exams worth 4 or 7 points, their classmates 4.
    assert response.status_code == 200
    assert "would be worth different points (2, 5)" in response.content.decode()
    assert not kinematics.questions.filter(text="Resolve a vector.").exists()
    # Worth the draw's points, or outside its topic, it is added.
    assert (
        bank_save(client, kinematics, new_question=worth_five | {"points": "2", "order": "6"}).status_code
        == 302
    )
    other_topic = worth_five | {"topic": "motion", "points": "5", "order": "7"}
    assert bank_save(client, kinematics, new_question=other_topic).status_code == 302


def test_a_bank_an_exam_draws_from_stays_in_the_exams_course(client, world, kinematics):
    Question.objects.create(
        exam=world.physics, type="Draw", draw_from=kinematics, draw_count=2, points=2, order=9, text="draw"
    )
    client.force_login(world.tess)  # she teaches Chemistry 101 too

    response = bank_save(client, kinematics, course=world.chemistry.course_id)

    # Moved, Physics final would draw from a Chemistry bank, shown to Chemistry's teachers.
    assert response.status_code == 200
    assert "Exams of its course draw from this bank" in response.content.decode()
    kinematics.refresh_from_db()
    assert kinematics.course_id == world.physics.course_id


def test_an_exam_drawing_from_a_bank_is_not_moved_to_another_course_through_the_api(api, world, kinematics):
    Question.objects.create(
        exam=world.physics, type="Draw", draw_from=kinematics, draw_count=2, points=2, order=9, text="draw"
    )
    api.force_authenticate(world.tess)  # she teaches Chemistry 101 too

    body = api.get(f"/api/exams/{world.physics.pk}").json()["data"]
    body = {key: value for key, value in body.items() if key != "questions"}  # left out: kept
    body["courseId"] = str(world.chemistry.course_id)

    response = api.put(f"/api/exams/{world.physics.pk}", body, format="json")

    # Moved, Chemistry's students would be given Physics 101's bank questions, and Chemistry's
    # teachers would preview and grade them without seeing the bank.
    assert response.status_code == 400, response.content
    assert "bank" in response.json()["error"]["message"] + str(response.json()["error"]["details"])
    world.physics.refresh_from_db()
    assert world.physics.course_id == kinematics.course_id


def test_an_exam_drawing_from_a_bank_is_not_moved_to_another_course_in_the_admin(client, world, kinematics):
    # Stu and Sam sit Physics final: its questions are read-only, its course was still editable.
    Question.objects.create(
        exam=world.physics, type="Draw", draw_from=kinematics, draw_count=2, points=2, order=9, text="draw"
    )
    client.force_login(world.tess)
    url = f"/admin/exams/exam/{world.physics.pk}/change/"
    data = management_data(client.get(url).content)
    data |= exam_fields(course=str(world.chemistry.course_id), title="Physics final")

    response = client.post(url, data)

    assert response.status_code == 200
    assert "The exam draws questions from a bank of its course" in response.content.decode()
    world.physics.refresh_from_db()
    assert world.physics.course_id == kinematics.course_id


def test_an_exam_read_and_sent_back_through_the_api_keeps_its_draw(api, world, kinematics, optics):
    Question.objects.create(exam=optics, type="Draw", draw_from=kinematics, draw_count=2, order=2, text="d")
    api.force_authenticate(world.tess)
    body = api.get(f"/api/exams/{optics.pk}").json()["data"]
    body["questions"][0]["questionText"] = "Why is the sky blue at noon?"

    response = api.put(f"/api/exams/{optics.pk}", body, format="json")  # the draw entry included

    # Refused before: '"Draw" is not a valid choice.', for any exam with a draw.
    assert response.status_code == 200, response.content
    assert [(q.type, q.text) for q in optics.questions.order_by("order", "id")] == [
        ("Paragraph", "Why is the sky blue at noon?"),
        ("Draw", "d"),
    ]
