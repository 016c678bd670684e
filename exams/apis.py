"""/api/exams (list, create, read, update, delete, as in the reference document) and /api/courses
(a teacher's courses and their students)."""

from __future__ import annotations

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import Can, capability_required, user_can
from exams import services
from exams.selectors import (
    course_get_for_user,
    courses_visible_to,
    database_id,
    exam_get_for_user,
    exams_visible_to,
    user_sees_answers,
)
from exams.serializers import (
    CourseInput,
    CourseJoinInput,
    CourseJoinOutput,
    CourseOutput,
    CourseStudentsInput,
    EnrolmentReportOutput,
    ExamInput,
    ExamOutput,
)
from procto.errors import ForbiddenError, NotFoundError
from procto.openapi import errors


def _output(request: Request, exam, *, with_questions: bool = True) -> dict:
    context = {
        "request": request,
        "with_answers": user_sees_answers(request.user, exam),
        "with_questions": with_questions,
    }
    return ExamOutput(exam, context=context).data


def _course(request: Request, data: ExamInput):
    """The course a teacher names with courseId (one they teach: 404/403 otherwise), or None."""
    course_id = data.validated_data.get("course_id")
    return course_get_for_user(user=request.user, course_id=course_id, for_edit=True) if course_id else None


class ExamListCreateApi(APIView):
    @extend_schema(responses={200: ExamOutput(many=True)})
    def get(self, request: Request) -> Response:
        exams = exams_visible_to(request.user).order_by("start_time", "pk")
        # The list is a catalogue: questions only come with a single exam.
        return Response([_output(request, exam, with_questions=False) for exam in exams])

    # 404: a courseId that is not one of the teacher's courses (as for any object not theirs).
    @extend_schema(request=ExamInput, responses={201: ExamOutput, **errors(404)})
    def post(self, request: Request) -> Response:
        if not user_can(request.user, Can.AUTHOR_EXAMS):
            raise ForbiddenError(gettext("Only teachers and administrators create exams."))
        data = ExamInput(data=request.data)
        data.is_valid(raise_exception=True)
        course = _course(request, data)
        exam = services.exam_create(author=request.user, course=course, **data.to_service_kwargs())
        return Response(_output(request, exam), status=status.HTTP_201_CREATED)


class ExamDetailApi(APIView):
    @extend_schema(responses={200: ExamOutput})
    def get(self, request: Request, exam_id: str) -> Response:
        exam = exam_get_for_user(user=request.user, exam_id=exam_id)
        # Students get questions from their session (in their attempt's order), not here.
        with_questions = not user_can(request.user, Can.TAKE_EXAMS)
        return Response(_output(request, exam, with_questions=with_questions))

    @extend_schema(request=ExamInput, responses={200: ExamOutput, **errors(409)})
    def put(self, request: Request, exam_id: str) -> Response:
        exam = exam_get_for_user(user=request.user, exam_id=exam_id, for_edit=True)
        data = ExamInput(exam, data=request.data)  # the instance: a field left out keeps its value
        data.is_valid(raise_exception=True)
        course = _course(request, data)
        exam = services.exam_update(exam=exam, course=course, **data.to_service_kwargs())
        return Response(_output(request, exam))

    def get_permissions(self):
        if self.request.method == "DELETE":
            return [IsAuthenticated(), capability_required(Can.DELETE_EXAMS)()]
        return super().get_permissions()

    @extend_schema(responses={204: None, **errors(409)})
    def delete(self, request: Request, exam_id: str) -> Response:
        exam = exam_get_for_user(user=request.user, exam_id=exam_id)
        services.exam_delete(exam=exam)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CourseListCreateApi(APIView):
    """The courses a teacher teaches (admins: all); POST makes one the teacher teaches."""

    permission_classes = [capability_required(Can.AUTHOR_EXAMS)]

    @extend_schema(responses={200: CourseOutput(many=True)})
    def get(self, request: Request) -> Response:
        courses = courses_visible_to(request.user).order_by("title", "pk")
        return Response(CourseOutput(courses, many=True).data)

    @extend_schema(request=CourseInput, responses={201: CourseOutput})
    def post(self, request: Request) -> Response:
        data = CourseInput(data=request.data)
        data.is_valid(raise_exception=True)
        course = services.course_create(teacher=request.user, **data.validated_data)
        return Response(CourseOutput(course).data, status=status.HTTP_201_CREATED)


class CourseStudentsApi(APIView):
    """Enrol students by e-mail; unknown addresses are invited (an account and an e-mail)."""

    permission_classes = [capability_required(Can.AUTHOR_EXAMS)]

    @extend_schema(request=CourseStudentsInput, responses={200: EnrolmentReportOutput})
    def post(self, request: Request, course_id: str) -> Response:
        course = course_get_for_user(user=request.user, course_id=course_id, for_edit=True)
        data = CourseStudentsInput(data=request.data)
        data.is_valid(raise_exception=True)
        report = services.course_students_add(
            course=course, emails=data.validated_data["emails"], actor=request.user
        )
        return Response(EnrolmentReportOutput(report).data)


class CourseStudentApi(APIView):
    permission_classes = [capability_required(Can.AUTHOR_EXAMS)]

    @extend_schema(responses={204: None})
    def delete(self, request: Request, course_id: str, user_id: str) -> Response:
        course = course_get_for_user(user=request.user, course_id=course_id, for_edit=True)
        try:
            student_id = database_id(user_id)
        except ValueError as exc:
            raise NotFoundError(gettext("No such student in this course.")) from exc
        if not services.course_student_remove(course=course, student_id=student_id):
            raise NotFoundError(gettext("No such student in this course."))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CourseJoinApi(APIView):
    """A student joins a course with its join code (wrong codes are counted per account and per
    address: 429 JOIN_CODE_LOCKED with Retry-After past the limits)."""

    permission_classes = [capability_required(Can.TAKE_EXAMS)]

    @extend_schema(request=CourseJoinInput, responses={200: CourseJoinOutput, **errors(404, 429)})
    def post(self, request: Request) -> Response:
        data = CourseJoinInput(data=request.data)
        data.is_valid(raise_exception=True)
        course, created = services.course_join(
            student=request.user, code=data.validated_data["code"], address=request.META.get("REMOTE_ADDR")
        )
        return Response(CourseJoinOutput({"course": course, "newly_enrolled": created}).data)
