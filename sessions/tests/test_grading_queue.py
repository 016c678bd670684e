"""Grading from the report: the overview, a question's queue across all students, a student's
page, validation in the page's own words, and answer-key changes that regrade (audited).

The class is `sessions.tests.grading_world`: Tess's "Optics quiz", sat by Ann, Ben and Stu."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import AuditEntry
from exams.models import Question
from sessions import services
from sessions.models import ExamSession
from sessions.selectors import exam_grading_overview, question_grading_queue
from sessions.tests.grading_world import grading_world_build

pytestmark = pytest.mark.django_db


@pytest.fixture
def optics(teacher, student, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return grading_world_build(tess=teacher, stu=student)


def queue_url(optics, kind: str, answer=None) -> str:
    url = reverse("grade-question", args=[optics.exam.pk, optics.questions[kind].pk])
    return f"{url}?answer={answer.pk}" if answer is not None else url


def answer_of(optics, name: str, kind: str):
    return optics.sessions[name].answers.get(question=optics.questions[kind])


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- what waits --------------------------------------------------------------------------------------


def test_the_overview_counts_what_waits_per_question_and_per_student(optics):
    overview = exam_grading_overview(exam=optics.exam)
    waiting = {q.number: (q.answered, q.ungraded) for q in overview.questions}
    assert waiting == {1: (3, 0), 2: (3, 3), 3: (2, 2), 4: (2, 2)}
    assert [(s.student.first_name, s.ungraded) for s in overview.sessions] == [
        ("Ann", 3),
        ("Ben", 2),
        ("Stu", 2),
    ]
    assert overview.ungraded == 7


def test_the_report_links_to_grading_for_the_exams_teacher(client, optics):
    client.force_login(optics.tess)
    report = text(client.get(reverse("exam-report", args=[optics.exam.pk])))
    assert f'href="{reverse("grading-overview", args=[optics.exam.pk])}"' in report
    assert "7 answers to grade" in report
    stu = optics.sessions["stu"]
    assert f'href="{reverse("grade-session", args=[stu.pk])}"' in report


def test_the_report_shows_its_proctor_no_grading_links(client, world):
    client.force_login(world.pat)
    report = client.get(reverse("exam-report", args=[world.physics.pk])).content.decode()
    assert "/grading/" not in report and "/grade/" not in report


def test_the_overview_offers_each_question_for_everyone_and_each_student(client, optics):
    client.force_login(optics.tess)
    page = text(client.get(reverse("grading-overview", args=[optics.exam.pk])))
    assert "7 answers wait for a grader" in page
    assert f'href="{queue_url(optics, "Paragraph")}">Grade Q2 for everyone' in page
    key = reverse("answer-key", args=[optics.exam.pk, optics.questions["MCQ"].pk])
    assert f'href="{key}">Answer key' in page
    assert f'href="{reverse("grade-session", args=[optics.sessions["ben"].pk])}">Grade Ben Brown' in page


# --- a question's queue --------------------------------------------------------------------------------


def test_a_questions_queue_goes_through_every_student_to_the_next_ungraded(client, optics):
    client.force_login(optics.tess)
    ann, ben, stu = (answer_of(optics, name, "Paragraph") for name in ("ann", "ben", "stu"))
    page = text(client.get(queue_url(optics, "Paragraph")))
    assert "Answer 1 of 3: Ann Abbot" in page and "Rayleigh scattering" in page

    # Ben first (the grader skipped Ann), then the queue comes round to Ann, then it is done.
    response = client.post(
        queue_url(optics, "Paragraph", ben), {f"score-{ben.pk}": "1", f"feedback-{ben.pk}": "No"}
    )
    assert response.url == queue_url(optics, "Paragraph", stu)
    response = client.post(queue_url(optics, "Paragraph", stu), {f"score-{stu.pk}": "2.5"})
    assert response.url == queue_url(optics, "Paragraph", ann)
    response = client.post(queue_url(optics, "Paragraph", ann), {f"score-{ann.pk}": "3"})
    assert response.url == queue_url(optics, "Paragraph")

    done = text(client.get(response.url))
    assert "All 3 answers to Q2 are graded" in done
    assert "Grade Q3 for everyone (2 waiting)" in done  # the next question with work
    ben.refresh_from_db()
    assert (ben.score, ben.feedback, ben.graded_by) == (Decimal(1), "No", optics.tess)
    assert ExamSession.objects.get(pk=optics.sessions["ann"].pk).grading == ExamSession.Grading.PENDING


def test_grading_the_last_open_answer_makes_the_session_final(client, optics):
    client.force_login(optics.tess)
    ben = optics.sessions["ben"]
    for kind, score in (("Paragraph", "1"), ("Image", "2")):
        answer = answer_of(optics, "ben", kind)
        client.post(queue_url(optics, kind, answer), {f"score-{answer.pk}": score})
    ben.refresh_from_db()
    # Venus scored 0, the blank code 0 without a grader.
    assert (ben.grading, ben.final_score) == (ExamSession.Grading.COMPLETE, Decimal(3))


def test_the_queue_skips_blank_answers_and_unfinished_sessions(optics, other_student):
    from exams.tests.factories import enrol

    enrol(optics.exam, other_student)
    sam, _ = services.exam_session_start(exam=optics.exam, student=other_student)
    services.exam_session_answers_save(
        session_id=sam.pk,
        student=other_student,
        answers=[{"question_id": str(optics.questions["Code"].pk), "student_answer": "print(1)"}],
    )
    queue = question_grading_queue(exam=optics.exam, question=optics.questions["Code"])
    assert [a.session.student.first_name for a in queue.answers] == [
        "Ann",
        "Stu",
    ]  # not Ben's blank, not Sam's


def test_the_image_question_is_graded_with_its_image_and_code_monospaced(client, optics):
    client.force_login(optics.tess)
    image = text(client.get(queue_url(optics, "Image")))
    src = reverse("question-image", args=[optics.questions["Image"].pk])
    assert f'<img class="question-image grading-image" src="{src}"' in image
    assert client.get(src).status_code == 200
    code = client.get(queue_url(optics, "Code")).content.decode()
    pre = '<pre class="answer code" aria-label="The student\'s answer" data-language="python">'
    assert f"{pre}<code>def is_even(n):\n    return n % 2 == 0</code></pre>" in code


def test_the_queue_page_documents_its_shortcut_keys(client, optics):
    client.force_login(optics.tess)
    page = text(client.get(queue_url(optics, "Paragraph")))
    assert 'data-shortcut="s"' in page and 'data-shortcut="n"' in page and 'data-shortcut="j"' in page
    assert "<kbd>n</kbd></dt><dd>next ungraded answer, without saving" in page
    assert "js/grading.js" in page


# --- validation in the page's words ------------------------------------------------------------------


def test_a_score_out_of_range_names_the_field_of_the_page_and_keeps_what_was_typed(client, optics):
    """Stu's paragraph is question 2 of the exam but item 1 of his page. The page said "Question 2:
    give a score from 0 to 3.00", emptied the box and marked nothing; the valid code score next to it
    was saved all the same."""
    client.force_login(optics.tess)
    stu = optics.sessions["stu"]
    paragraph, code = answer_of(optics, "stu", "Paragraph"), answer_of(optics, "stu", "Code")
    url = reverse("grade-session", args=[stu.pk])
    response = client.post(url, {f"score-{paragraph.pk}": "99", f"score-{code.pk}": "2"})

    assert response.status_code == 200  # the page again, not a redirect that loses the input
    page = text(response)
    message = "99 is more than this question&#x27;s 3 points: give a score from 0 to 3."
    assert f'<a href="#id_score-{paragraph.pk}">Score for item 1</a>: {message}' in page
    assert (
        f'<p class="field-error" id="id_score-{paragraph.pk}-error">Score for item 1: {message}</p>' in page
    )
    field = re.search(rf'<input id="id_score-{paragraph.pk}"[^>]*>', page).group(0)
    assert 'value="99"' in field and 'aria-invalid="true"' in field and "autofocus" in field
    assert f'aria-describedby="id_score-{paragraph.pk}-error"' in field
    assert re.search(rf'<input id="id_score-{code.pk}"[^>]*value="2"', page)
    assert "Question 2" not in page and "Question 3" not in page
    code.refresh_from_db()
    assert code.score is None  # all or nothing: the page says nothing was saved


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-1", "-1 is below 0: give a score from 0 to 3."),
        ("abc", "“abc” is not a number: give a score from 0 to 3."),
        ("1.125", "Use at most two decimals (1.125 has more): give a score from 0 to 3."),
        ("", "Give a score with this feedback: it is saved with one."),
    ],
)
def test_each_wrong_score_says_what_to_type(client, optics, typed, message):
    client.force_login(optics.tess)
    answer = answer_of(optics, "ann", "Paragraph")
    response = client.post(
        queue_url(optics, "Paragraph", answer), {f"score-{answer.pk}": typed, f"feedback-{answer.pk}": "Good"}
    )
    assert response.status_code == 200
    page = text(response)
    assert f"Score for Ann Abbot: {message}" in page.replace("&#x27;", "'")
    assert f'value="{typed}"' in page and "Good</textarea>" in page


def test_a_decimal_comma_is_a_score(client, optics):
    client.force_login(optics.tess)
    answer = answer_of(optics, "ann", "Paragraph")
    client.post(queue_url(optics, "Paragraph", answer), {f"score-{answer.pk}": "2,5"})
    answer.refresh_from_db()
    assert answer.score == Decimal("2.5")


def test_a_students_page_saves_and_moves_on_to_the_next_student_to_grade(client, optics):
    client.force_login(optics.tess)
    ann = optics.sessions["ann"]
    answers = {kind: answer_of(optics, "ann", kind) for kind in ("Paragraph", "Image", "Code")}
    data = {f"score-{a.pk}": "2" for a in answers.values()} | {"next": "1"}
    response = client.post(reverse("grade-session", args=[ann.pk]), data)
    assert response.url == reverse("grade-session", args=[optics.sessions["ben"].pk])
    ann.refresh_from_db()
    assert (ann.grading, ann.final_score) == (ExamSession.Grading.COMPLETE, Decimal(8))
    page = text(client.get(reverse("grade-session", args=[ann.pk])))
    assert 'Item 3 <span class="muted">· question 4 of the exam · Code (python)' in page
    assert 'data-shortcut="n"' in page and "Ben Brown" in page


# --- the answer key ----------------------------------------------------------------------------------


def test_changing_an_answer_key_regrades_every_session_and_is_audited(client, optics):
    client.force_login(optics.tess)
    mcq = optics.questions["MCQ"]
    url = reverse("answer-key", args=[optics.exam.pk, mcq.pk])
    page = text(client.get(url))
    assert "3 finished sessions answered it" in page

    response = client.post(url, {"correct_answer": "Venus"}, follow=True)
    assert "Q1&#x27;s answer key changed. 3 session(s) regraded; 3 score(s) changed." in text(response)
    scores = {name: answer_of(optics, name, "MCQ").score for name in ("ann", "ben", "stu")}
    assert scores == {"ann": Decimal(0), "ben": Decimal(2), "stu": Decimal(0)}

    entry = AuditEntry.objects.get(action=AuditEntry.Action.ANSWER_KEY_CHANGE)
    assert entry.actor == optics.tess
    assert entry.details["question"] == mcq.pk and entry.details["exam"] == optics.exam.pk
    assert (entry.details["from"], entry.details["to"]) == ("Mercury", "Venus")
    assert entry.details["sessions_regraded"] == 3
    moved = {c["session"]: (c["from"], c["to"]) for c in entry.details["scores_changed"]}
    assert moved[str(optics.sessions["ben"].pk)] == ("0.00", "2.00")


def test_a_key_change_moves_final_scores_and_tells_the_gradebook(optics, django_capture_on_commit_callbacks):
    from sessions.signals import exam_session_graded

    mcq = optics.questions["MCQ"]
    ben = optics.sessions["ben"]
    for kind in ("Paragraph", "Image"):
        services.answer_grade(answer=answer_of(optics, "ben", kind), grader=optics.tess, score=Decimal(1))
    ben.refresh_from_db()
    assert ben.final_score == Decimal(2)
    told = []

    def listen(sender, session_id, **kwargs):
        told.append(session_id)

    exam_session_graded.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            regrade = services.question_answer_key_change(
                question=mcq, correct_answer="Venus", actor=optics.tess
            )
    finally:
        exam_session_graded.disconnect(listen)
    ben.refresh_from_db()
    assert ben.final_score == Decimal(4)
    assert ben.pk in told
    assert len(regrade.changed) == 3


def test_a_session_still_running_is_scored_with_the_new_key_when_it_ends(optics, other_student):
    from exams.tests.factories import enrol

    mcq = optics.questions["MCQ"]
    enrol(optics.exam, other_student)
    sam, _ = services.exam_session_start(exam=optics.exam, student=other_student)
    services.question_answer_key_change(question=mcq, correct_answer="Mars", actor=optics.tess)
    services.exam_session_submit(
        session_id=sam.pk,
        student=other_student,
        answers=[{"question_id": str(mcq.pk), "student_answer": "Mars"}],
        sequence=1,
    )
    assert sam.answers.get(question=mcq).score == Decimal(2)


def test_a_multiple_answer_key_is_ticked_among_the_choices(client, optics):
    question = Question.objects.create(
        exam=optics.exam,
        type="MCQ-multiple",
        text="Which are prime?",
        options=["2", "4", "7"],
        correct_answer=["2"],
        points=2,
        order=5,
    )
    ann = optics.sessions["ann"]
    # The question came after the sitting (as no service allows): Ann's answer is added by hand.
    ann.answers.create(question=question, response=["2", "7"], score=Decimal(1))
    client.force_login(optics.tess)
    url = reverse("answer-key", args=[optics.exam.pk, question.pk])
    assert 'type="checkbox" name="correct_answer" value="7"' in client.get(url).content.decode()
    client.post(url, {"correct_answer": ["7", "2"]})
    question.refresh_from_db()
    assert question.correct_answer == ["2", "7"]  # in the choices' order
    assert ann.answers.get(question=question).score == Decimal(2)


def test_the_same_key_again_or_none_is_refused_and_regrades_nothing(client, optics):
    client.force_login(optics.tess)
    url = reverse("answer-key", args=[optics.exam.pk, optics.questions["MCQ"].pk])
    assert "This is the answer key already" in text(client.post(url, {"correct_answer": "Mercury"}))
    assert "Choose the right answer." in text(client.post(url, {}))
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.ANSWER_KEY_CHANGE).exists()


def test_a_key_outside_the_choices_is_refused_by_the_service(optics):
    with pytest.raises(ValidationError):
        services.question_answer_key_change(
            question=optics.questions["MCQ"], correct_answer="Pluto", actor=optics.tess
        )
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.ANSWER_KEY_CHANGE).exists()


# --- who may grade -----------------------------------------------------------------------------------


@pytest.fixture
def physics_urls(world):
    """The grading pages of Tess's physics exam, given a paragraph and a choice question."""
    physics = world.physics
    paragraph = Question.objects.create(exam=physics, type="Paragraph", text="Why?", points=3, order=1)
    choice = Question.objects.create(
        exam=physics, type="MCQ", text="Which?", options=["a", "b"], correct_answer="a", points=1, order=2
    )
    return [
        reverse("grading-overview", args=[physics.pk]),
        reverse("grade-question", args=[physics.pk, paragraph.pk]),
        reverse("answer-key", args=[physics.pk, choice.pk]),
        reverse("grade-session", args=[world.stu_in_physics.pk]),
    ]


@pytest.mark.parametrize("persona", ["vic", "quinn", "stu", "sid"])
def test_grading_pages_are_404_to_those_who_do_not_oversee_the_exam(client, world, physics_urls, persona):
    """Vic teaches another course, Quinn proctors it, Stu sat physics, Sid is enrolled nowhere."""
    client.force_login(getattr(world, persona))
    for url in physics_urls:
        assert client.get(url).status_code == 404, url
    for url in physics_urls[1:]:  # the pages that save
        assert client.post(url, {}).status_code == 404, url


def test_grading_pages_are_403_to_the_exams_proctor(client, world, physics_urls):
    client.force_login(world.pat)
    for url in physics_urls:
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("persona", ["tess", "ada"])
def test_the_exams_teacher_and_an_admin_grade_it(client, world, physics_urls, persona):
    client.force_login(getattr(world, persona))
    for url in physics_urls:
        assert client.get(url).status_code == 200, url


def test_another_courses_teacher_cannot_change_a_key(client, world, physics_urls):
    client.force_login(world.vic)
    assert client.post(physics_urls[2], {"correct_answer": "b"}).status_code == 404
    assert Question.objects.get(exam=world.physics, type="MCQ").correct_answer == "a"
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.ANSWER_KEY_CHANGE).exists()


def test_a_teacher_of_another_exam_gets_404_for_an_answer_of_this_one(client, optics, world):
    """An answer id in the query string is looked up within the exam and question of the path."""
    history_question = Question.objects.create(exam=world.history, type="Paragraph", text="When?", order=1)
    client.force_login(world.vic)
    answer = answer_of(optics, "ann", "Paragraph")
    url = reverse("grade-question", args=[world.history.pk, history_question.pk]) + f"?answer={answer.pk}"
    assert client.get(url).status_code == 404
    assert client.post(url, {f"score-{answer.pk}": "0"}).status_code == 404
    answer.refresh_from_db()
    assert answer.score is None


def test_a_teacher_taken_off_the_course_no_longer_grades_it(client, optics):
    """The course decides, not authorship (exams.selectors.exams_visible_to)."""
    optics.exam.course.teachers.remove(optics.tess)
    client.force_login(optics.tess)
    assert client.get(reverse("grading-overview", args=[optics.exam.pk])).status_code == 404


def test_a_numeric_key_and_tolerance_change_regrades(client, optics):
    question = Question.objects.create(
        exam=optics.exam,
        type="Numeric",
        text="g in m/s²?",
        correct_answer={"value": 9.8, "tolerance": 0},
        points=2,
        order=6,
    )
    ann = optics.sessions["ann"]
    # The question came after the sitting (as no service allows): Ann's answer is added by hand.
    ann.answers.create(question=question, response="9,81", score=Decimal(0))
    client.force_login(optics.tess)
    url = reverse("answer-key", args=[optics.exam.pk, question.pk])
    assert "This is the answer key already" in text(client.post(url, {"value": "9.8", "tolerance": "0"}))
    client.post(url, {"value": "9.8", "tolerance": "0.05"})
    question.refresh_from_db()
    assert question.correct_answer == {"value": 9.8, "tolerance": 0.05}
    assert ann.answers.get(question=question).score == Decimal(2)


def test_a_matching_key_is_chosen_among_the_matches_students_saw(client, optics):
    question = Question.objects.create(
        exam=optics.exam,
        type="Matching",
        text="Sounds",
        options=["cat", "dog"],
        correct_answer=["woof", "meow"],  # the author swapped them
        points=2,
        order=7,
    )
    ann = optics.sessions["ann"]
    ann.answers.create(question=question, response=["meow", "woof"], score=Decimal(0))
    client.force_login(optics.tess)
    url = reverse("answer-key", args=[optics.exam.pk, question.pk])
    page = text(client.get(url))
    assert "cat → woof" in page and '<option value="meow">meow</option>' in page
    client.post(url, {"match_0": "meow", "match_1": "woof"})
    question.refresh_from_db()
    assert question.correct_answer == ["meow", "woof"]
    assert ann.answers.get(question=question).score == Decimal(2)
    assert "Select a valid choice" in text(client.post(url, {"match_0": "purr", "match_1": "woof"}))
    assert "Choose the match of “cat”." in text(client.post(url, {"match_1": "woof"}))
