"""/api/exam-sessions/...: the reference document's routes, plus GET /api/exam-sessions/:id."""

from __future__ import annotations

import logging
import uuid

from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.identity_files import identity_file_url
from accounts.images import upload_request_bytes
from accounts.permissions import Can, capability_required
from exams.selectors import exam_get_for_user
from procto.errors import NotFoundError
from procto.openapi import OBJECTS, errors
from sessions import admissions, readiness, services
from sessions.admission_realtime import admission_message
from sessions.room_scan import room_scan_chunk_add
from sessions.selectors import (
    exam_session_get_for_user,
    exam_session_get_own,
)
from sessions.serializers import (
    IdentityCheckInput,
    RoomScanInput,
    SaveAnswersInput,
    StartInput,
    SubmitInput,
    SystemCheckInput,
    session_detail,
)

logger = logging.getLogger(__name__)

# The attempt as its viewer may see it (sessions.serializers.session_detail): summary, serverTime,
# graceSeconds, settings, questions, answers, resultsReleased, finalScore.
SESSION_DETAIL = OpenApiResponse(OpenApiTypes.OBJECT, description="The exam session as this user may see it.")
ADMISSION_STATUS = inline_serializer(
    "AdmissionStatusOutput",
    {
        "required": serializers.BooleanField(),
        "status": serializers.CharField(),
        "reason": serializers.CharField(allow_blank=True),
        "requested_at": serializers.DateTimeField(allow_null=True),
        "decided_at": serializers.DateTimeField(allow_null=True),
        "expires_at": serializers.DateTimeField(allow_null=True),
    },
)
# sessions.admission_realtime.admission_message plus the viewer's photoUrl.
ADMISSION = OpenApiResponse(OpenApiTypes.OBJECT, description="An admission request, as the monitor shows it.")


class SessionStartApi(APIView):
    permission_classes = [capability_required(Can.TAKE_EXAMS)]

    @extend_schema(
        request=StartInput, responses={201: SESSION_DETAIL, 200: SESSION_DETAIL, **errors(404, 409)}
    )
    def post(self, request: Request) -> Response:
        data = StartInput(data=request.data)
        data.is_valid(raise_exception=True)
        exam = exam_get_for_user(user=request.user, exam_id=data.validated_data["exam_id"])
        session, created = services.exam_session_start(
            exam=exam,
            student=request.user,
            ip=request.META.get("REMOTE_ADDR"),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            browser_info=data.validated_data["browser_info"],
            screen_resolution=data.validated_data["screen_resolution"],
        )
        return Response(
            session_detail(session, viewer=request.user),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class SessionDetailApi(APIView):
    @extend_schema(responses={200: SESSION_DETAIL})
    def get(self, request: Request, session_id: str) -> Response:
        session = exam_session_get_for_user(user=request.user, session_id=session_id)
        services.exam_sessions_expire_overdue_lazily(student=session.student, exam=session.exam)
        session.refresh_from_db()
        return Response(session_detail(session, viewer=request.user))


class SessionSaveAnswersApi(APIView):
    permission_classes = [capability_required(Can.TAKE_EXAMS)]

    @extend_schema(
        request=SaveAnswersInput,
        responses={
            200: inline_serializer(
                "SaveAnswersOutput",
                {
                    "saved": serializers.ListField(child=serializers.CharField()),
                    "stale": serializers.ListField(child=serializers.CharField()),
                    "sequence": serializers.IntegerField(allow_null=True),
                    "time_remaining": serializers.IntegerField(),
                },
            ),
            **errors(409),
        },
    )
    def put(self, request: Request, session_id: str) -> Response:
        # The hottest path of an exam (every student, every few seconds): the service checks
        # ownership on the row it locks anyway, instead of a selector reading it first.
        try:
            session_uuid = uuid.UUID(session_id)
        except ValueError as exc:
            raise NotFoundError(gettext("No such exam session.")) from exc
        data = SaveAnswersInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.exam_session_answers_save(
            session_id=session_uuid, student=request.user, **data.validated_data
        )
        remaining = max(0, int((result.deadline - timezone.now()).total_seconds()))
        return Response(
            {
                "saved": result.saved,
                "stale": result.stale,
                "sequence": data.validated_data["sequence"],  # null when saved in arrival order
                "time_remaining": remaining,
            }
        )


class SessionSubmitApi(APIView):
    permission_classes = [capability_required(Can.TAKE_EXAMS)]

    @extend_schema(request=SubmitInput, responses={200: SESSION_DETAIL, **errors(409)})
    def put(self, request: Request, session_id: str) -> Response:
        session = exam_session_get_for_user(user=request.user, session_id=session_id)
        data = SubmitInput(data=request.data)
        data.is_valid(raise_exception=True)
        session, _ = services.exam_session_submit(
            session_id=session.pk, student=request.user, **data.validated_data
        )
        return Response(session_detail(session, viewer=request.user))


# --- before the exam: system check, identity check; during it: the room scan ------------------------


class SystemCheckApi(APIView):
    permission_classes = [capability_required(Can.TAKE_EXAMS)]

    @extend_schema(
        request=SystemCheckInput,
        responses={
            201: inline_serializer(
                "SystemCheckOutput",
                {
                    "passed": serializers.BooleanField(),
                    "required": serializers.ListField(child=serializers.CharField()),
                    "failed": serializers.ListField(child=serializers.CharField()),
                },
            ),
            **errors(409),
        },
    )
    def post(self, request: Request, exam_id: str) -> Response:
        exam = exam_get_for_user(user=request.user, exam_id=exam_id)
        data = SystemCheckInput(data=request.data)
        data.is_valid(raise_exception=True)
        check = readiness.system_check_record(exam=exam, student=request.user, **data.validated_data)
        failed = [item for item in check.required if not check.items.get(item)]
        return Response(
            {"passed": check.passed, "required": check.required, "failed": failed},
            status=status.HTTP_201_CREATED,
        )


class IdentityCheckApi(APIView):
    permission_classes = [capability_required(Can.TAKE_EXAMS)]
    max_request_bytes = upload_request_bytes(images=1)  # procto.body_limit

    @extend_schema(
        request=IdentityCheckInput,
        responses={
            200: inline_serializer(
                "IdentityCheckOutput",
                {
                    "passed": serializers.BooleanField(),
                    "distance": serializers.FloatField(allow_null=True),
                    "threshold": serializers.FloatField(),
                    "message": serializers.CharField(),
                },
            ),
            **errors(409, 422),
        },
    )
    def post(self, request: Request, exam_id: str) -> Response:
        exam = exam_get_for_user(user=request.user, exam_id=exam_id)
        data = IdentityCheckInput(data=request.data)
        data.is_valid(raise_exception=True)
        check = readiness.identity_check_record(
            exam=exam, student=request.user, capture=data.validated_data["live_capture"].read()
        )
        message = (
            gettext("It's you: identity confirmed.")
            if check.passed
            else gettext(
                "The face on camera does not match your ID photo. Face the camera in good light and "
                "try again; if it keeps failing, ask your proctor."
            )
        )
        return Response(
            {
                "passed": check.passed,
                "distance": check.distance,
                "threshold": check.threshold,
                "message": message,
            }
        )


ROOM_SCAN_OUTPUT = inline_serializer(
    "RoomScanOutput",
    {
        "complete": serializers.BooleanField(),
        "bytes": serializers.IntegerField(),
        "next": serializers.IntegerField(),
    },
)


class PreExamRoomScanApi(APIView):
    """The room scan a student records before starting the exam (the journey's last step)."""

    permission_classes = [capability_required(Can.TAKE_EXAMS)]

    @extend_schema(request=RoomScanInput, responses={200: ROOM_SCAN_OUTPUT, **errors(409)})
    def post(self, request: Request, exam_id: str) -> Response:
        exam = exam_get_for_user(user=request.user, exam_id=exam_id)
        data = RoomScanInput(data=request.data)
        data.is_valid(raise_exception=True)
        scan = readiness.pre_exam_room_scan_record(
            exam=exam,
            student=request.user,
            index=data.validated_data["index"],
            data=data.validated_data["chunk"].read(),
            final=data.validated_data["final"],
            recording_id=data.validated_data["recording_id"],
        )
        return Response({"complete": scan.complete, "bytes": scan.received_bytes, "next": len(scan.chunks)})


class RoomScanApi(APIView):
    """A room scan sent for an attempt in progress (API clients; the pages record it before)."""

    permission_classes = [capability_required(Can.TAKE_EXAMS)]

    @extend_schema(request=RoomScanInput, responses={200: ROOM_SCAN_OUTPUT, **errors(409)})
    def post(self, request: Request, session_id: str) -> Response:
        session = exam_session_get_own(user=request.user, session_id=session_id)
        data = RoomScanInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = room_scan_chunk_add(
            session=session,
            index=data.validated_data["index"],
            data=data.validated_data["chunk"].read(),
            final=data.validated_data["final"],
            recording_id=data.validated_data["recording_id"],
        )
        return Response(
            {"complete": upload.complete, "bytes": upload.received_bytes, "next": len(upload.chunks)}
        )


class ByteCountParser(BaseParser):
    """Reads a raw body and keeps only its length.

    The probe needs a parser for its content type even though it wants no data: with the session
    cookie, DRF's CSRF check reads request.POST, which parses the body, and with no parser that
    was a 415 for the page's own upload (a bearer token skips the CSRF check, so it worked)."""

    media_type = "application/octet-stream"

    def parse(self, stream, media_type=None, parser_context=None) -> int:
        size = 0
        while chunk := stream.read(64 * 1024):
            size += len(chunk)
        return size


class BandwidthProbeApi(APIView):
    """The system check times an upload to this: it reads the body and says how much arrived."""

    permission_classes = [capability_required(Can.TAKE_EXAMS)]
    parser_classes = [ByteCountParser]
    # The page sends 256 KB (precheck.js UPLOAD_BYTES); procto.body_limit refuses far more unread.
    max_request_bytes = 1024 * 1024

    @extend_schema(
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses={200: inline_serializer("BandwidthProbeOutput", {"bytes": serializers.IntegerField()})},
    )
    def post(self, request: Request) -> Response:
        # No body at all leaves DRF no stream to parse: its data is then an empty QueryDict.
        return Response({"bytes": request.data if isinstance(request.data, int) else 0})


# --- exams a proctor admits each student to (sessions.admissions) ------------------------------------


class AdmissionDecideInput(serializers.Serializer):
    admit = serializers.BooleanField()
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class AdmissionListInput(serializers.Serializer):
    exam_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)


def _admission_for(admission, *, viewer) -> dict:
    """The monitor's view of a request: the broadcast shape plus the profile photo, whose URL is
    minted for this viewer only."""
    photo_url = identity_file_url(owner=admission.student, kind="photo", viewer=viewer)
    return admission_message(admission) | {"photoUrl": photo_url}


class ExamAdmissionApi(APIView):
    """The student's side: GET the state of their request (the start page polls it), POST to ask."""

    permission_classes = [capability_required(Can.TAKE_EXAMS)]

    @extend_schema(responses={200: ADMISSION_STATUS})
    def get(self, request: Request, exam_id: str) -> Response:
        exam = exam_get_for_user(user=request.user, exam_id=exam_id)
        return Response(admissions.admission_status_for_student(exam=exam, student=request.user))

    @extend_schema(request=None, responses={201: ADMISSION_STATUS, 200: ADMISSION_STATUS, **errors(409)})
    def post(self, request: Request, exam_id: str) -> Response:
        exam = exam_get_for_user(user=request.user, exam_id=exam_id)
        _, created = admissions.admission_request(exam=exam, student=request.user)
        return Response(
            admissions.admission_status_for_student(exam=exam, student=request.user),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class AdmissionListApi(APIView):
    permission_classes = [capability_required(Can.MONITOR_SESSIONS)]

    @extend_schema(
        parameters=[OpenApiParameter("examId", int, description="Only this exam's requests.")],
        responses={200: OpenApiResponse(OBJECTS, description="Pending requests.")},
    )
    def get(self, request: Request) -> Response:
        exam_id = request.query_params.get("examId")
        data = AdmissionListInput(data={} if exam_id in (None, "") else {"exam_id": exam_id})
        data.is_valid(raise_exception=True)
        pending = admissions.admissions_pending_for(user=request.user, **data.validated_data)
        return Response([_admission_for(a, viewer=request.user) for a in pending[:500]])


class AdmissionDecideApi(APIView):
    permission_classes = [capability_required(Can.MONITOR_SESSIONS)]

    @extend_schema(request=AdmissionDecideInput, responses={200: ADMISSION, **errors(409)})
    def post(self, request: Request, admission_id: int) -> Response:
        data = AdmissionDecideInput(data=request.data)
        data.is_valid(raise_exception=True)
        admission = admissions.admission_decide(
            actor=request.user, admission_id=admission_id, **data.validated_data
        )
        return Response(_admission_for(admission, viewer=request.user))
