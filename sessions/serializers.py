"""Session shapes. Students see their attempt's questions without answers until results are
released; staff see answers and scores. Keys are snake_case here, camelCase on the wire."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import serializers

from accounts.serializers import identity_image_size_check
from exams.models import Question
from exams.selectors import questions_student_payload, user_sees_answers
from sessions.models import Answer, ExamSession
from sessions.outcomes import outcome_of
from sessions.results import results_released
from sessions.services import GRACE


def time_remaining_seconds(session: ExamSession) -> int:
    if not session.is_in_progress:
        return 0
    return max(0, int((session.deadline - timezone.now()).total_seconds()))


def answer_data(answer: Answer, *, with_grades: bool) -> dict:
    data = {
        "question_id": str(answer.question_id),
        "student_answer": answer.response,
        "sequence": answer.client_seq,
        "time_spent": answer.time_spent_seconds,
        "updated_at": answer.updated_at,
    }
    if with_grades:
        data.update(score=None if answer.score is None else float(answer.score), feedback=answer.feedback)
    return data


def session_summary(session: ExamSession) -> dict:
    duration_end = session.ended_at or timezone.now()
    return {
        "id": str(session.pk),
        "exam_id": str(session.exam_id),
        "exam_title": session.exam.title,
        # None once the student's account is deleted (the attempt stays, anonymous).
        "student": None
        if session.student is None
        else {
            "id": str(session.student_id),
            "email": session.student.email,
            "first_name": session.student.first_name,
            "last_name": session.student.last_name,
        },
        "attempt": session.attempt,
        "status": session.status,
        "start_time": session.started_at,
        "deadline": session.deadline,
        "end_time": session.ended_at,
        "time_remaining": time_remaining_seconds(session),
        "duration_seconds": int((duration_end - session.started_at).total_seconds()),
        "final_score": None if session.final_score is None else float(session.final_score),
        "max_score": float(session.max_score),
        "grading": session.grading,
        "media_exempt": session.media_exempt,
        "event_count": getattr(session, "event_count", None),
        "high_severity_count": getattr(session, "high_severity_count", None),
    }


def session_detail(session: ExamSession, *, viewer) -> dict:
    """The attempt as `viewer` may see it: the student's own view, or a staff view."""
    is_student = viewer.pk == session.student_id
    released = results_released(session)
    show_answers = user_sees_answers(viewer, session.exam) or (is_student and released)
    with_grades = not is_student or released
    # The attempt's own questions, in its order: a bank draw's are this student's, fixed at start.
    questions = questions_student_payload(exam=session.exam, question_ids=session.question_order)
    if show_answers:
        keys = {str(q.pk): q for q in Question.objects.filter(pk__in=session.question_order)}
        for item in questions:
            item["correct_answer"] = keys[item["id"]].correct_answer
            item["explanation"] = keys[item["id"]].explanation
    data = session_summary(session) | {
        "server_time": timezone.now(),
        "grace_seconds": int(GRACE.total_seconds()),
        "settings": {
            "security_level": session.exam.security_level,
            "proctoring_enabled": session.exam.proctoring_enabled,
            "show_results": session.exam.show_results,
        },
        "questions": questions,
        "answers": [answer_data(a, with_grades=with_grades) for a in session.answers.all()],
        "results_released": released,
        "outcome": outcome_of(session).as_dict(),
    }
    if is_student and not released:
        data["final_score"] = None
    return data


class StartInput(serializers.Serializer):
    exam_id = serializers.IntegerField()
    browser_info = serializers.DictField(required=False, default=dict)
    screen_resolution = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


# The columns' ranges (Answer.client_seq is a bigint, time_spent_seconds an integer on PostgreSQL):
# a larger number is the client's mistake, a 400 here rather than the database's 500.
MAX_SEQUENCE = 2**63 - 1
MAX_TIME_SPENT = 2**31 - 1


class AnswerInput(serializers.Serializer):
    question_id = serializers.CharField(max_length=32)
    student_answer = serializers.JSONField(allow_null=True)
    time_spent = serializers.IntegerField(min_value=0, max_value=MAX_TIME_SPENT, required=False, default=0)
    sequence = serializers.IntegerField(min_value=0, max_value=MAX_SEQUENCE, required=False)


class SaveAnswersInput(serializers.Serializer):
    answers = AnswerInput(many=True, allow_empty=True, max_length=500)
    # The reference document's save has no number: such saves are ordered by arrival.
    sequence = serializers.IntegerField(
        min_value=0, max_value=MAX_SEQUENCE, required=False, allow_null=True, default=None
    )


class SubmitInput(serializers.Serializer):
    answers = AnswerInput(many=True, required=False, max_length=500)
    sequence = serializers.IntegerField(
        min_value=0, max_value=MAX_SEQUENCE, required=False, allow_null=True, default=None
    )


class SystemCheckInput(serializers.Serializer):
    items = serializers.DictField(child=serializers.BooleanField())
    measurements = serializers.DictField(required=False, default=dict)


def _at_most(limit: int):
    def check(upload) -> None:
        if upload.size > limit:
            raise serializers.ValidationError(f"At most {limit // 1_048_576} MB.")

    return check


class IdentityCheckInput(serializers.Serializer):
    live_capture = serializers.FileField(validators=[identity_image_size_check])


class RoomScanInput(serializers.Serializer):
    chunk = serializers.FileField(validators=[_at_most(5 * 1024 * 1024)])
    recording_id = serializers.RegexField(r"^[0-9a-fA-F-]{8,64}$", required=False, default="")
    index = serializers.IntegerField(min_value=0, max_value=10_000)
    final = serializers.BooleanField(default=False)
