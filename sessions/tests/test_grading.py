"""Grading math: choice questions scored at submit, open questions by a teacher."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exams.models import Question
from sessions import services
from sessions.errors import InvalidAnswer
from sessions.grading import auto_score
from sessions.models import ExamSession
from sessions.tests.conftest import qid

pytestmark = pytest.mark.django_db


def multiple(points=2, correct=("2", "7")) -> Question:
    return Question(
        type="MCQ-multiple", options=["2", "4", "7", "9"], correct_answer=list(correct), points=points
    )


@pytest.mark.parametrize(
    ("response", "score"),
    [
        (["2", "7"], "2"),  # all right choices: full points
        (["2"], "1"),  # half the right choices: half the points
        (["7", "2"], "2"),  # order does not matter
        (["2", "4"], "0"),  # one right, one wrong: they cancel
        (["2", "7", "9"], "1"),  # two right, one wrong
        (["2", "4", "7", "9"], "0"),  # ticking everything earns nothing
        (["4", "9"], "0"),  # never below zero
        ([], "0"),
        (None, "0"),
    ],
)
def test_multiple_answer_scoring_rule(response, score):
    assert auto_score(multiple(), response) == Decimal(score)


def test_partial_scores_round_to_cents():
    question = multiple(points=1, correct=("2", "7", "9"))
    assert auto_score(question, ["2"]) == Decimal("0.33")


@pytest.mark.parametrize(("response", "score"), [("Mercury", "2"), ("Venus", "0"), (None, "0")])
def test_single_answer_scoring_is_exact(response, score):
    question = Question(type="MCQ", options=["Venus", "Mercury"], correct_answer="Mercury", points=2)
    assert auto_score(question, response) == Decimal(score)


def answer_and_submit(exam, student, answers: dict) -> ExamSession:
    session, _ = services.exam_session_start(exam=exam, student=student)
    services.exam_session_submit(
        session_id=session.pk,
        student=student,
        answers=[{"question_id": qid(exam, t), "student_answer": a} for t, a in answers.items()],
        sequence=1,
    )
    session.refresh_from_db()
    return session


def test_a_choice_only_submission_is_graded_at_once(exam, student):
    session = answer_and_submit(exam, student, {"MCQ": "Mercury", "MCQ-multiple": ["2"]})
    assert session.grading == ExamSession.Grading.COMPLETE
    assert session.final_score == Decimal("3")  # 2 + half of 2
    assert session.max_score == Decimal("10")


def test_open_answers_wait_for_a_teacher_then_the_final_score_recomputes(exam, student, teacher):
    session = answer_and_submit(
        exam, student, {"MCQ": "Mercury", "Paragraph": "Rayleigh scattering", "Code": "n % 2 == 0"}
    )
    assert session.grading == ExamSession.Grading.PENDING
    assert session.final_score is None

    paragraph = session.answers.get(question__type="Paragraph")
    services.answer_grade(answer=paragraph, grader=teacher, score=Decimal("2.5"), feedback="Good")
    session.refresh_from_db()
    assert session.grading == ExamSession.Grading.PENDING

    code = session.answers.get(question__type="Code")
    services.answer_grade(answer=code, grader=teacher, score=Decimal(3))
    session.refresh_from_db()
    assert session.grading == ExamSession.Grading.COMPLETE
    assert session.final_score == Decimal("7.5")
    assert session.graded_by == teacher and session.graded_at is not None


def test_regrading_an_answer_updates_the_final_score(exam, student, teacher):
    session = answer_and_submit(exam, student, {"Paragraph": "Rayleigh"})
    paragraph = session.answers.get()
    services.answer_grade(answer=paragraph, grader=teacher, score=Decimal(1))
    services.answer_grade(answer=paragraph, grader=teacher, score=Decimal(3))
    session.refresh_from_db()
    assert session.final_score == Decimal(3)


def test_unanswered_open_questions_need_no_grading(exam, student):
    session = answer_and_submit(exam, student, {"MCQ": "Venus"})
    assert session.grading == ExamSession.Grading.COMPLETE
    assert session.final_score == 0


@pytest.mark.parametrize("score", [Decimal("-1"), Decimal("3.5")])
def test_a_score_outside_the_questions_points_is_refused(exam, student, teacher, score):
    session = answer_and_submit(exam, student, {"Paragraph": "Rayleigh"})
    with pytest.raises(InvalidAnswer):
        services.answer_grade(answer=session.answers.get(), grader=teacher, score=score)


def test_the_grading_page_scores_open_answers(client, exam, student, teacher):
    session = answer_and_submit(exam, student, {"Paragraph": "Rayleigh", "Code": "n % 2 == 0"})
    client.force_login(teacher)
    page = client.get(f"/sessions/{session.pk}/grade/")
    assert b"Rayleigh" in page.content and b"n % 2 == 0" in page.content
    answers = {a.question.type: a for a in session.answers.select_related("question")}
    client.post(
        f"/sessions/{session.pk}/grade/",
        {
            f"score-{answers['Paragraph'].pk}": "3",
            f"feedback-{answers['Paragraph'].pk}": "Spot on",
            f"score-{answers['Code'].pk}": "2",
        },
    )
    session.refresh_from_db()
    assert session.final_score == Decimal(5)
    assert session.answers.get(question__type="Paragraph").feedback == "Spot on"


def test_another_teacher_cannot_open_the_grading_page(client, exam, student):
    from accounts.tests.factories import UserFactory

    session = answer_and_submit(exam, student, {"Paragraph": "Rayleigh"})
    client.force_login(UserFactory(role="teacher", is_staff=True))
    assert client.get(f"/sessions/{session.pk}/grade/").status_code == 404


def numeric(value=3.14, tolerance=0.01, points=2) -> Question:
    return Question(type="Numeric", correct_answer={"value": value, "tolerance": tolerance}, points=points)


@pytest.mark.parametrize(
    ("response", "score"),
    [
        ("3.14", "2"),
        ("3,15", "2"),  # a decimal comma; the edge of the tolerance counts
        (3.13, "2"),
        ("3.16", "0"),
        ("pi", "0"),
        ("1e999999999", "0"),  # a number past Decimal's range: wrong, not a crash
        ("", "0"),
        (None, "0"),
    ],
)
def test_a_numeric_answer_scores_within_its_tolerance(response, score):
    assert auto_score(numeric(), response) == Decimal(score)


def matching(points=3) -> Question:
    return Question(
        type="Matching", options=["cat", "dog", "cow"], correct_answer=["meow", "woof", "moo"], points=points
    )


@pytest.mark.parametrize(
    ("response", "score"),
    [
        (["meow", "woof", "moo"], "3"),
        (["meow", "moo", "woof"], "1"),  # one pair right of three
        (["meow", None, None], "1"),
        ([None, None, None], "0"),
        (None, "0"),
    ],
)
def test_a_matching_answer_earns_a_share_per_right_pair(response, score):
    assert auto_score(matching(), response) == Decimal(score)


def test_numeric_and_matching_answers_are_graded_at_submit(make_exam, student):
    exam = make_exam(
        questions=[
            {
                "type": "Numeric",
                "text": "Pi?",
                "correct_answer": {"value": 3.14, "tolerance": 0.01},
                "points": 2,
            },
            {
                "type": "Matching",
                "text": "Sounds",
                "options": ["cat", "dog"],
                "correct_answer": ["meow", "woof"],
                "points": 2,
            },
        ]
    )
    session = answer_and_submit(exam, student, {"Numeric": "3,141", "Matching": ["meow", "meow"]})
    assert session.grading == ExamSession.Grading.COMPLETE
    assert session.final_score == Decimal(3)


@pytest.mark.parametrize(
    ("question_type", "response"),
    [("Matching", ["meow"]), ("Matching", ["purr", "woof"]), ("Numeric", ["3"]), ("Numeric", True)],
)
def test_malformed_numeric_and_matching_answers_are_refused(make_exam, student, question_type, response):
    exam = make_exam(
        questions=[
            {"type": "Numeric", "text": "Pi?", "correct_answer": {"value": 3.14, "tolerance": 0.01}},
            {
                "type": "Matching",
                "text": "Sounds",
                "options": ["cat", "dog"],
                "correct_answer": ["meow", "woof"],
            },
        ]
    )
    session, _ = services.exam_session_start(exam=exam, student=student)
    with pytest.raises(InvalidAnswer):
        services.exam_session_answers_save(
            session_id=session.pk,
            student=student,
            answers=[{"question_id": qid(exam, question_type), "student_answer": response}],
            sequence=1,
        )
