"""The proctoring record over the API: events a student's browser logs, the live monitor's cards and
buttons, alert reviews, the per-exam report and a session's export."""

from __future__ import annotations

import logging

from django.http import HttpResponse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import Can, capability_required
from procto.errors import NotFoundError
from procto.openapi import OBJECTS, errors
from proctoring import actions
from proctoring.actions import session_export_audit
from proctoring.reports import exam_report
from proctoring.reports.exports import session_export_csv, session_export_data
from proctoring.screen import MAX_UPLOAD_BYTES
from proctoring.selectors import exam_filter_get, live_session_cards
from proctoring.serializers import LogEventInput, ScreenshotInput
from proctoring.services import departures_settle_lazily, event_record_client, screenshot_record
from sessions.selectors import exam_session_get_for_user, exam_session_get_own, sessions_watchable_by
from sessions.services import exam_sessions_expire_overdue_lazily

logger = logging.getLogger(__name__)

FORMAT = OpenApiParameter("format", str, enum=["json", "csv"], description="json (default) or csv.")
CSV = OpenApiResponse(OpenApiTypes.STR, description="The same rows as CSV, as an attachment.")


class ActionInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=["warn", "terminate", "note", "extend-time"])
    message = serializers.CharField(max_length=500, required=False)
    reason = serializers.CharField(max_length=300, required=False)
    text = serializers.CharField(max_length=2000, required=False)
    minutes = serializers.IntegerField(required=False)

    REQUIRED = {"warn": "message", "terminate": "reason", "note": "text", "extend-time": "minutes"}

    def validate(self, data: dict) -> dict:
        needed = self.REQUIRED[data["type"]]
        if data.get(needed) in (None, ""):
            raise serializers.ValidationError({needed: f"Required for {data['type']}."})
        return data


class ReviewInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["confirmed", "dismissed"])
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class SessionActionApi(APIView):
    permission_classes = [capability_required(Can.MONITOR_SESSIONS)]

    @extend_schema(
        request=ActionInput,
        responses={
            201: inline_serializer(
                "ActionOutput",
                {
                    "id": serializers.IntegerField(),
                    "kind": serializers.CharField(),
                    "details": serializers.JSONField(),
                    "created_at": serializers.DateTimeField(),
                },
            ),
            **errors(409),
        },
    )
    def post(self, request: Request, session_id: str) -> Response:
        data = ActionInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields, actor = data.validated_data, request.user
        kind = fields["type"]
        if kind == "warn":
            action = actions.session_warn(actor=actor, session_id=session_id, message=fields["message"])
        elif kind == "terminate":
            action = actions.session_terminate(actor=actor, session_id=session_id, reason=fields["reason"])
        elif kind == "note":
            action = actions.session_note_add(actor=actor, session_id=session_id, text=fields["text"])
        else:
            action = actions.session_extend_time(
                actor=actor, session_id=session_id, minutes=fields["minutes"]
            )
        body = {
            "id": action.pk,
            "kind": action.kind,
            "details": action.details,
            "created_at": action.created_at,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class EventReviewApi(APIView):
    permission_classes = [capability_required(Can.REVIEW_SESSIONS)]

    @extend_schema(
        request=ReviewInput,
        responses={
            200: inline_serializer(
                "ReviewOutput", {"id": serializers.IntegerField(), "review_status": serializers.CharField()}
            ),
            **errors(409),
        },
    )
    def post(self, request: Request, event_id: int) -> Response:
        data = ReviewInput(data=request.data)
        data.is_valid(raise_exception=True)
        event = actions.event_review(actor=request.user, event_id=event_id, **data.validated_data)
        return Response({"id": event.pk, "review_status": event.review_status})


class SessionLogEventApi(APIView):
    permission_classes = [capability_required(Can.TAKE_EXAMS)]

    @extend_schema(
        request=LogEventInput,
        responses={
            201: inline_serializer(
                "LogEventOutput", {"id": serializers.IntegerField(), "type": serializers.CharField()}
            ),
            **errors(409),
        },
    )
    def post(self, request: Request, session_id: str) -> Response:
        session = exam_session_get_for_user(user=request.user, session_id=session_id)
        data = LogEventInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        event = event_record_client(
            session_id=session.pk,
            student=request.user,
            occurred_at=fields.pop("timestamp", None),
            client_seq=fields.pop("seq", None),
            **fields,
        )
        return Response({"id": event.pk, "type": event.type}, status=status.HTTP_201_CREATED)


class SessionScreenshotApi(APIView):
    """A screenshot of the student's shared screen (docs/PROTOCOL.md, "Screen capture")."""

    permission_classes = [capability_required(Can.TAKE_EXAMS)]
    # procto.body_limit refuses a larger body with 413 before it is read.
    max_request_bytes = MAX_UPLOAD_BYTES

    @extend_schema(
        request=ScreenshotInput,
        responses={
            201: inline_serializer(
                "ScreenshotOutput",
                {"id": serializers.IntegerField(), "type": serializers.CharField()},
            ),
            **errors(404, 409, 413, 429),
        },
    )
    def post(self, request: Request, session_id: str) -> Response:
        session = exam_session_get_own(user=request.user, session_id=session_id)
        data = ScreenshotInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        event = screenshot_record(
            session_id=session.pk,
            student=request.user,
            image=fields["image"].read(),
            trigger=fields["trigger"],
            captured_at=fields.get("captured_at"),
            alert_id=fields.get("alert_id"),
        )
        return Response({"id": event.pk, "type": event.type}, status=status.HTTP_201_CREATED)


class SessionLiveApi(APIView):
    permission_classes = [capability_required(Can.MONITOR_SESSIONS)]

    @extend_schema(
        parameters=[OpenApiParameter("examId", int, description="Only this exam's sessions.")],
        responses={
            200: OpenApiResponse(OBJECTS, description="The monitor's session cards."),
            **errors(404),
        },
    )
    def get(self, request: Request) -> Response:
        # The monitor's cards: the session summary plus risk, open alerts and the stream's state.
        exam = exam_filter_get(user=request.user, exam_id=request.query_params.get("examId"))
        exam_sessions_expire_overdue_lazily()
        departures_settle_lazily()
        return Response(live_session_cards(user=request.user, exam_id=exam and exam.pk))


class SessionReportsApi(APIView):
    """With examId: the exam's report (every session, any status; 404 unless the user oversees
    the exam). Without: the finished sessions of every exam the user oversees. ?format=csv|json."""

    permission_classes = [capability_required(Can.REVIEW_SESSIONS)]

    @extend_schema(
        parameters=[
            OpenApiParameter("examId", int, description="The report of this exam."),
            OpenApiParameter("sort", str, enum=list(exam_report.SORTS), description="With examId."),
            FORMAT,
        ],
        responses={
            (200, "application/json"): OpenApiResponse(OBJECTS, description="One row per session."),
            **errors(404),
            (200, "text/csv"): CSV,
        },
    )
    def get(self, request: Request) -> Response | HttpResponse:
        fmt = request.query_params.get("format", "json")
        if fmt not in ("json", "csv"):
            raise ValidationError({"format": "Use json or csv."})
        exam_id = request.query_params.get("examId")
        if exam_id:
            sort = request.query_params.get("sort", exam_report.DEFAULT_SORT)
            if sort not in exam_report.SORTS:
                raise ValidationError({"sort": f"Use one of {', '.join(exam_report.SORTS)}."})
            sessions = exam_report.exam_report_rows(user=request.user, exam_id=exam_id, sort=sort)
        else:
            sessions = exam_report.finished_session_rows(user=request.user)
        # A class's scores and risk in one file: on record in the log (the audit trail is per
        # session, for exports of one session's full record).
        logger.info(
            "user %s (%s) exported the report of %s as %s",
            request.user.pk,
            request.user.email,
            f"exam {exam_id}" if exam_id else "their finished sessions",
            fmt,
        )
        if fmt == "csv":
            response = HttpResponse(exam_report.report_csv(sessions), content_type="text/csv")
            name = f"exam-{int(exam_id)}-report.csv" if exam_id else "sessions-report.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        return Response([exam_report.report_row_data(s) for s in sessions])


class SessionExportApi(APIView):
    permission_classes = [capability_required(Can.REVIEW_SESSIONS)]

    @extend_schema(
        parameters=[FORMAT],
        responses={
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="docs/schemas/session-export.schema.json"
            ),
            (200, "text/csv"): CSV,
        },
    )
    def get(self, request: Request, session_id: str) -> Response | HttpResponse:
        session = exam_session_get_for_user(user=request.user, session_id=session_id)
        if not sessions_watchable_by(request.user).filter(pk=session.pk).exists():
            raise NotFoundError(gettext("No such exam session."))
        fmt = request.query_params.get("format", "json")
        if fmt not in ("csv", "json"):
            raise ValidationError({"format": "Use json or csv."})
        session_export_audit(actor=request.user, session=session, fmt=fmt)
        if fmt == "csv":
            response = HttpResponse(session_export_csv(session), content_type="text/csv")
            response["Content-Disposition"] = f'attachment; filename="session-{session.pk}.csv"'
            return response
        return Response(session_export_data(session))
