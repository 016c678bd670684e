"""/api/exams: list, create, read, update, delete, as in the reference document."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import Can, capability_required, user_can
from exams import services
from exams.selectors import exam_get_for_user, exams_visible_to, user_sees_answers
from exams.serializers import ExamInput, ExamOutput
from procto.errors import ForbiddenError
from procto.openapi import errors


def _output(request: Request, exam, *, with_questions: bool = True) -> dict:
    context = {
        "request": request,
        "with_answers": user_sees_answers(request.user, exam),
        "with_questions": with_questions,
    }
    return ExamOutput(exam, context=context).data


class ExamListCreateApi(APIView):
    @extend_schema(responses={200: ExamOutput(many=True)})
    def get(self, request: Request) -> Response:
        exams = exams_visible_to(request.user).order_by("start_time", "pk")
        # The list is a catalogue: questions only come with a single exam.
        return Response([_output(request, exam, with_questions=False) for exam in exams])

    @extend_schema(request=ExamInput, responses={201: ExamOutput})
    def post(self, request: Request) -> Response:
        if not user_can(request.user, Can.AUTHOR_EXAMS):
            raise ForbiddenError("Only teachers and administrators create exams.")
        data = ExamInput(data=request.data)
        data.is_valid(raise_exception=True)
        exam = services.exam_create(author=request.user, **data.to_service_kwargs())
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
        exam = services.exam_update(exam=exam, **data.to_service_kwargs())
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
