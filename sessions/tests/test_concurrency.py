"""Races a real classroom produces, run with real threads on PostgreSQL (committed, not inside
one test transaction), because only a real database shows whether the locks hold."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from sessions import services
from sessions.models import Answer, ExamSession
from sessions.tests.conftest import qid

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]


def run_together(count: int, action) -> list:
    """Run `action(i)` in `count` threads released at the same instant."""
    barrier = threading.Barrier(count)

    def worker(i: int):
        try:
            barrier.wait(timeout=20)
            return action(i)
        finally:
            connection.close()  # each thread has its own connection; give it back

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(worker, range(count)))


def test_twenty_simultaneous_starts_open_one_session(exam, student):
    results = run_together(20, lambda _: services.exam_session_start(exam=exam, student=student))
    assert ExamSession.objects.count() == 1
    assert {session.pk for session, _ in results} == {ExamSession.objects.get().pk}
    assert sum(created for _, created in results) == 1


def test_fifty_simultaneous_submits_make_one_transition(exam, student):
    session, _ = services.exam_session_start(exam=exam, student=student)
    results = run_together(50, lambda _: services.exam_session_submit(session_id=session.pk, student=student))
    assert sum(changed for _, changed in results) == 1
    assert {s.status for s, _ in results} == {"submitted"}
    assert len({s.ended_at for s, _ in results}) == 1


def test_saves_arriving_in_any_order_keep_the_newest_answer(exam, student):
    session, _ = services.exam_session_start(exam=exam, student=student)
    paragraph = qid(exam, "Paragraph")
    sequences = list(range(1, 31))
    random.Random(7).shuffle(sequences)

    def save(i: int):
        seq = sequences[i]
        return services.exam_session_answers_save(
            session_id=session.pk,
            student=student,
            answers=[{"question_id": paragraph, "student_answer": f"draft {seq}"}],
            sequence=seq,
        )

    run_together(30, save)
    answer = Answer.objects.get(session=session)
    assert (answer.response, answer.client_seq) == ("draft 30", 30)


def test_a_submit_racing_autosaves_loses_no_saved_answer(exam, student):
    session, _ = services.exam_session_start(exam=exam, student=student)
    mcq, paragraph = qid(exam, "MCQ"), qid(exam, "Paragraph")

    def act(i: int):
        if i == 0:
            return services.exam_session_submit(session_id=session.pk, student=student)
        try:
            return services.exam_session_answers_save(
                session_id=session.pk,
                student=student,
                answers=[{"question_id": paragraph if i % 2 else mcq, "student_answer": None}],
                sequence=i,
            )
        except Exception as exc:  # saves after the submit are refused, which is the point
            return exc

    results = run_together(10, act)
    session.refresh_from_db()
    assert session.status == "submitted"
    refused = [r for r in results[1:] if isinstance(r, Exception)]
    assert all(type(r).__name__ == "SessionClosed" for r in refused)
    # Every save that was accepted is in the database; none was half-applied.
    accepted = [r for r in results[1:] if not isinstance(r, Exception)]
    stored = set(Answer.objects.filter(session=session).values_list("question_id", flat=True))
    assert {int(q) for r in accepted for q in r.saved} <= stored


def test_a_key_change_during_a_submit_waits_for_it_and_regrades_it(exam, student, teacher):
    """The submit has scored the answer with the old key and not yet committed when the teacher
    changes the key. Had the change listed only the finished sessions, it would not see this one
    and leave it scored with the old key; it locks every session of the exam, so it waits for
    the submit and regrades it."""
    from django.db import transaction

    from exams.models import Question

    session, _ = services.exam_session_start(exam=exam, student=student)
    mcq = qid(exam, "MCQ")
    answer = [{"question_id": mcq, "student_answer": "Venus"}]
    services.exam_session_answers_save(session_id=session.pk, student=student, answers=answer, sequence=1)
    scored, release = threading.Event(), threading.Event()

    def submit():
        try:
            with transaction.atomic():
                services.exam_session_transition(session_id=session.pk, to="submitted", reason="submitted")
                scored.set()
                release.wait(timeout=20)
        finally:
            connection.close()

    def change_key():
        try:
            scored.wait(timeout=20)
            question = Question.objects.get(pk=mcq)
            return services.question_answer_key_change(
                question=question, correct_answer="Venus", actor=teacher
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        submitting, changing = pool.submit(submit), pool.submit(change_key)
        assert scored.wait(timeout=20)
        time.sleep(1)
        assert not changing.done()  # waiting for the submit's lock on the session
        release.set()
        regrade = changing.result(timeout=30)
        submitting.result(timeout=30)
    assert Answer.objects.get(session=session, question_id=mcq).score == 2
    assert regrade.changed == [
        {"session": str(session.pk), "student": student.pk, "from": "0.00", "to": "2.00"}
    ]
    assert ExamSession.objects.get(pk=session.pk).final_score == 2


def test_a_key_change_while_a_student_first_answers_the_question_deadlocks_neither(
    exam, student, other_student, teacher
):
    """An autosave holds its session and then inserts the first answer to a question, which
    takes PostgreSQL's key-share lock on the question's row (the foreign key). The key change
    held the question FOR UPDATE, which that lock waits for, while it waited for the session:
    'deadlock detected', and the save or the key change failed."""
    from django.db import transaction

    from exams.models import Question

    running, _ = services.exam_session_start(exam=exam, student=student)
    done, _ = services.exam_session_start(exam=exam, student=other_student)
    services.exam_session_transition(session_id=done.pk, to="submitted", reason="submitted")
    mcq = qid(exam, "MCQ")
    locked = threading.Event()

    def autosave():
        try:
            # exam_session_answers_save's own order: the session's row, then the answer's insert.
            with transaction.atomic():
                ExamSession.objects.select_for_update(no_key=True).get(pk=running.pk)
                locked.set()
                time.sleep(1)  # the key change takes the question, then waits for this session
                services.exam_session_answers_save(
                    session_id=running.pk,
                    student=student,
                    answers=[{"question_id": mcq, "student_answer": "Venus"}],
                    sequence=1,
                )
            return "saved"
        finally:
            connection.close()

    def change_key():
        try:
            assert locked.wait(timeout=20)
            question = Question.objects.get(pk=mcq)
            services.question_answer_key_change(question=question, correct_answer="Venus", actor=teacher)
            return "changed"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        saving, changing = pool.submit(autosave), pool.submit(change_key)
        assert (saving.result(timeout=30), changing.result(timeout=30)) == ("saved", "changed")
    assert Answer.objects.get(session=running, question_id=mcq).response == "Venus"
