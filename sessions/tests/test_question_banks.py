"""Question banks: an exam's draw gives each student their own questions from a course's bank,
fixed when they start, and graded, reviewed and exported like the exam's own questions.

Draws are made with a seeded random generator passed to the start, so which questions a student
gets is the same on every run."""

from __future__ import annotations

import io
import random
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from pypdf import PdfReader
from rest_framework.test import APIClient

from exams.models import Question, QuestionBank
from proctoring.reports.exports import session_export_data
from sessions import selectors, services
from sessions.results import session_result_for_student

pytestmark = pytest.mark.django_db


def bank_of(course, title="Kinematics", questions=()) -> QuestionBank:
    """A bank of `course` with its questions: (topic, difficulty, type, points) each."""
    bank = QuestionBank.objects.create(course=course, title=title)
    for n, (topic, difficulty, type_, points) in enumerate(questions, start=1):
        fields = {"options": ["right", "wrong"], "correct_answer": "right"} if type_ == "MCQ" else {}
        Question.objects.create(
            bank=bank,
            type=type_,
            text=f"{title} {topic} {difficulty} #{n}",
            topic=topic,
            difficulty=difficulty,
            points=points,
            order=n,
            **fields,
        )
    return bank


def draw_add(exam, bank, count: int, *, order: int = 2, **filters) -> Question:
    """A draw entry as the admin saves it (full_clean: the refusals a teacher sees)."""
    draw = Question(
        exam=exam, type=Question.Type.DRAW, draw_from=bank, draw_count=count, order=order, **filters
    )
    draw.full_clean()
    draw.save()
    return draw


@pytest.fixture
def kinematics(exam):
    """Five medium "vectors" questions (2 points each), two hard ones, one on another topic."""
    return bank_of(
        exam.course,
        questions=[("vectors", "medium", "MCQ", 2)] * 5
        + [("vectors", "hard", "MCQ", 2)] * 2
        + [("motion", "medium", "MCQ", 2)],
    )


def start(exam, student, seed: int):
    session, created = services.exam_session_start(exam=exam, student=student, rng=random.Random(seed))
    return session, created


def bank_ids(session) -> list[int]:
    return [int(pk) for pk in session.question_order if Question.objects.get(pk=pk).bank_id]


def test_a_draw_gives_each_student_n_matching_questions_in_its_place(exam, kinematics, student):
    draw = draw_add(exam, kinematics, 3, topic="vectors", difficulty="medium")
    session, created = start(exam, student, seed=1)

    assert created
    own = list(exam.questions.exclude(type="Draw").order_by("order", "id").values_list("pk", flat=True))
    drawn = session.drawn_questions[str(draw.pk)]
    # The exam's own questions around the draw, in the author's order (draw at order 2).
    assert session.question_order == [own[0], own[1], *drawn, own[2], own[3]]
    assert len(set(drawn)) == 3
    matching = set(
        kinematics.questions.filter(topic="vectors", difficulty="medium").values_list("pk", flat=True)
    )
    assert set(drawn) <= matching
    # 10 points of the exam's own questions, and three of the bank's worth 2 each.
    assert session.max_score == Decimal(16)


def test_the_draw_is_fixed_at_start_a_reload_and_a_second_start_show_the_same(exam, kinematics, student):
    draw_add(exam, kinematics, 3, topic="vectors", difficulty="medium")
    session, _ = start(exam, student, seed=1)
    # Reconnecting starts again: the attempt in progress comes back, with its draw, whatever the dice.
    again, created = start(exam, student, seed=99)
    assert not created and again.pk == session.pk
    assert again.question_order == session.question_order

    api = APIClient()
    api.force_authenticate(student)
    for _ in range(2):  # a reload, twice
        data = api.get(f"/api/exam-sessions/{session.pk}").json()["data"]
        assert [q["id"] for q in data["questions"]] == [str(pk) for pk in session.question_order]
    texts = [q["questionText"] for q in data["questions"]]
    assert sum(text.startswith("Kinematics vectors medium") for text in texts) == 3
    assert not any(q["type"] == "Draw" for q in data["questions"])
    assert all("correctAnswer" not in q for q in data["questions"])


def test_two_students_can_get_different_draws(exam, kinematics, student, other_student):
    draw_add(exam, kinematics, 3, topic="vectors", difficulty="medium")
    stu, _ = start(exam, student, seed=1)
    sam, _ = start(exam, other_student, seed=2)

    assert set(bank_ids(stu)) != set(bank_ids(sam))
    assert len(bank_ids(stu)) == len(bank_ids(sam)) == 3


def test_two_draws_from_one_bank_never_give_a_student_one_question_twice(exam, kinematics, student):
    draw_add(exam, kinematics, 3, order=1, topic="vectors")
    draw_add(exam, kinematics, 4, order=3, topic="vectors")
    session, _ = start(exam, student, seed=5)

    assert len(bank_ids(session)) == len(set(bank_ids(session))) == 7


def test_a_draw_larger_than_the_matching_questions_is_refused_when_saved(exam, kinematics):
    with pytest.raises(ValidationError) as refused:
        draw_add(exam, kinematics, 3, topic="vectors", difficulty="hard")
    assert refused.value.message_dict["draw_count"] == [
        'The bank "Kinematics" has only 2 matching questions (topic vectors, hard): '
        "a draw of 3 per student needs at least that many."
    ]


def test_a_draw_whose_questions_are_worth_different_points_is_refused(exam):
    bank = bank_of(exam.course, questions=[("vectors", "easy", "MCQ", 1), ("vectors", "easy", "MCQ", 2)])
    with pytest.raises(ValidationError) as refused:
        draw_add(exam, bank, 1)
    assert "worth different points (1, 2)" in refused.value.message_dict["draw_count"][0]


def test_a_draw_from_another_courses_bank_is_refused(exam, world):
    history_bank = bank_of(world.history.course, title="Dates", questions=[("wars", "easy", "MCQ", 1)])
    with pytest.raises(ValidationError) as refused:
        draw_add(exam, history_bank, 1)
    assert refused.value.message_dict["draw_from"] == ["Draw from a bank of this exam's course."]


def test_drawn_questions_are_graded_queued_and_reported_like_the_exams_own(exam, student, teacher):
    choice = bank_of(exam.course, "Optics", [("lenses", "easy", "MCQ", 2)] * 2)
    essays = bank_of(exam.course, "Essays", [("light", "hard", "Paragraph", 4)] * 2)
    draw_add(exam, choice, 1, order=2)
    draw_add(exam, essays, 1, order=3)
    exam.show_results = True
    exam.save()
    session, _ = start(exam, student, seed=3)
    mcq, essay = bank_ids(session)
    services.exam_session_submit(
        session_id=session.pk,
        student=student,
        answers=[
            {"question_id": str(mcq), "student_answer": "right"},
            {"question_id": str(essay), "student_answer": "Light bends."},
        ],
    )
    session.refresh_from_db()
    assert session.answers.get(question_id=mcq).score == Decimal(2)  # scored at submit, as a fixed MCQ
    assert session.grading == session.Grading.PENDING  # the essay waits for a grader

    # The essay is in the grading overview and its queue, numbered by its draw's place: Q1 and Q2
    # are the exam's, Q3 the optics draw, Q4 the exam's paragraph, Q5 the essay draw.
    overview = selectors.exam_grading_overview(exam=exam)
    progress = next(q for q in overview.questions if q.question.pk == essay)
    assert (progress.ungraded, progress.number) == (1, 5)
    queue = selectors.question_grading_queue(exam=exam, question=progress.question)
    services.answer_grade(answer=queue.current, grader=teacher, score=Decimal(3), feedback="Good")
    session.refresh_from_db()
    assert session.final_score == Decimal(5)
    assert session.max_score == Decimal(10 + 2 + 4)

    # The student's result, the export and the PDF list the student's own questions.
    result = session_result_for_student(user=student, session_id=session.pk)
    items = result["items"]
    assert [(items[2]["question"].pk, items[2]["score"]), (items[4]["question"].pk, items[4]["score"])] == [
        (mcq, "2"),
        (essay, "3"),
    ]
    exported = session_export_data(session)["questions"]
    assert [(q["question_id"], q["bank"], q["number"]) for q in exported if q["bank"]] == [
        (str(mcq), "Optics", 3),
        (str(essay), "Essays", 5),
    ]


def test_the_review_page_and_the_pdf_show_the_students_drawn_questions(
    client, exam, kinematics, student, teacher
):
    draw_add(exam, kinematics, 3, topic="vectors", difficulty="medium")
    session, _ = start(exam, student, seed=1)
    drawn = Question.objects.filter(pk__in=bank_ids(session))
    client.force_login(teacher)

    page = client.get(f"/proctoring/sessions/{session.pk}/").content.decode()
    for question in drawn:
        assert f'data-question-id="{question.pk}"' in page
    assert page.count("drawn from bank “Kinematics”") == 3

    pdf = client.get(f"/proctoring/sessions/{session.pk}/report.pdf").content
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages)
    assert text.count("bank Kinematics") == 3


def test_a_bank_questions_image_is_shown_only_to_whom_it_was_drawn_for_and_to_staff(
    client, settings, tmp_path, exam, student, other_student, teacher, world
):
    from exams.demo import triangle_png

    settings.MEDIA_ROOT = tmp_path
    bank = bank_of(exam.course, "Shapes")
    for n in (1, 2):
        question = Question(bank=bank, type="Image", text=f"Name shape {n}.", order=n)
        question.image.save("shape.png", triangle_png(), save=False)
        question.save()
    draw_add(exam, bank, 1)
    session, _ = start(exam, student, seed=1)
    (mine,) = bank_ids(session)
    (other,) = bank.questions.exclude(pk=mine).values_list("pk", flat=True)

    def status(user, pk) -> int:
        client.force_login(user)
        return client.get(f"/exams/questions/{pk}/image").status_code

    assert (status(student, mine), status(student, other)) == (200, 404)
    assert status(other_student, mine) == 404  # in the course, not sitting it
    assert (status(teacher, mine), status(teacher, other)) == (200, 200)
    assert status(world.vic, mine) == 404  # another course's teacher


def test_the_session_api_gives_the_student_their_drawn_questions_and_the_exam_api_the_teacher_the_draw(
    exam, kinematics, student, teacher
):
    draw = draw_add(exam, kinematics, 2, topic="vectors", difficulty="medium")
    api = APIClient()
    api.force_authenticate(student)
    # Students get their questions from their attempt, never from the exam (as before banks).
    assert api.get(f"/api/exams/{exam.pk}").json()["data"]["questions"] == []
    session, _ = start(exam, student, seed=4)
    detail = api.get(f"/api/exam-sessions/{session.pk}").json()["data"]["questions"]
    assert [q["id"] for q in detail][2:4] == [str(pk) for pk in session.drawn_questions[str(draw.pk)]]
    # The exam's teacher sees the draw entry where she put it.
    api.force_authenticate(teacher)
    authored = api.get(f"/api/exams/{exam.pk}").json()["data"]["questions"]
    assert authored[2]["type"] == "Draw"
    assert authored[2]["questionText"] == '2 questions from bank "Kinematics", topic vectors, medium'


class Picks(random.Random):
    """Draws as told: each sample takes the first or the last of the candidates, in turn."""

    def __init__(self, *picks: str) -> None:
        super().__init__(0)
        self.picks = list(picks)

    def sample(self, population, k):
        return population[:k] if self.picks.pop(0) == "first" else population[-k:]


def test_a_question_two_draws_gave_two_students_is_graded_once(exam, kinematics, student, other_student):
    # Two draws of one bank that overlap: a medium vectors question, then any vectors question.
    draw_add(exam, kinematics, 1, order=8, topic="vectors", difficulty="medium")
    draw_add(exam, kinematics, 1, order=9, topic="vectors")
    stu, _ = start_with(exam, student, Picks("first", "first"))
    sam, _ = start_with(exam, other_student, Picks("last", "first"))
    shared = bank_ids(stu)[0]
    assert shared == bank_ids(sam)[1]  # Stu's first draw gave it, Sam's second

    overview = selectors.exam_grading_overview(exam=exam)

    graded = [progress.question.pk for progress in overview.questions]
    assert graded.count(shared) == 1, graded
    assert len(graded) == len(set(graded))


def start_with(exam, student, rng):
    return services.exam_session_start(exam=exam, student=student, rng=rng)
