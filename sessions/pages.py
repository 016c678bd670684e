"""The student's journey through an exam, as server-rendered pages (docs/PROTOCOL.md)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import Can, user_can
from exams.retention import RetentionPeriod, retention_periods, site_retention_days
from exams.selectors import exam_get_for_user
from procto.errors import ApplicationError, ForbiddenError
from sessions import admissions, readiness, services
from sessions.outcomes import outcome_of
from sessions.selectors import exam_session_get_own, student_dashboard

STEP_URLS = {
    "consent": "exam-consent",
    "system-check": "exam-check",
    "identity-check": "exam-identity",
    "room-scan": "exam-room-scan",
}
STEP_LABELS = {
    "consent": "Read and accept the privacy notice",
    "system-check": "Pass the system check",
    "identity-check": "Confirm your identity on camera",
    "room-scan": "Record a short video of your room",
}


def _student_exam(request: HttpRequest, exam_id: int):
    if not user_can(request.user, Can.TAKE_EXAMS):
        raise ForbiddenError(gettext("Only students take exams."))
    return exam_get_for_user(user=request.user, exam_id=exam_id)


def _journey(exam, student) -> dict:
    return {
        "needs_checks": exam.proctoring_enabled,
        "needs_identity": exam.proctoring_enabled
        and readiness.needs_identity_check(exam=exam, student=student),
        "media_exempt": readiness.media_exempt(exam=exam, student=student),
        # Not lifted by a camera and microphone exemption: the screen is neither.
        "captures_screen": exam.captures_screen,
    }


def _retention_stated(exam, journey: dict) -> list[RetentionPeriod]:
    """The periods of what this exam records of this student, as the privacy notice states them."""
    recorded = {"answers"}
    if journey["needs_checks"] and not journey["media_exempt"]:
        recorded |= {"frames", "audio"}
    if journey["needs_identity"]:
        recorded |= {"identity", "room_scans"}
    if journey["captures_screen"]:
        recorded.add("screenshots")
    return [period for period in retention_periods(exam) if period.kind.key in recorded]


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "sessions/dashboard.html", student_dashboard(student=request.user))


@login_required
@require_http_methods(["GET", "POST"])
def consent(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = _student_exam(request, exam_id)
    if request.method == "POST":
        readiness.consent_record(exam=exam, student=request.user)
        return redirect("exam-check", exam_id=exam.pk)
    journey = _journey(exam, request.user)
    context = {
        "exam": exam,
        **journey,
        "screenshot_interval": exam.screenshot_interval_seconds,
        "retention": _retention_stated(exam, journey),
        "identity_history_days": site_retention_days("identity"),
        "notice_version": readiness.NOTICE_VERSION,
    }
    return render(request, "sessions/consent.html", context)


@login_required
@require_GET
def system_check(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = _student_exam(request, exam_id)
    journey = _journey(exam, request.user)
    bootstrap = {
        "examId": exam.pk,
        "securityLevel": exam.security_level,
        "required": readiness.required_items(exam=exam, student=request.user),
        "mediaExempt": journey["media_exempt"],
        "checkUrl": reverse("api-exam-system-check", args=[exam.pk]),
        "wsPath": "/ws/check/",
        "ticketUrl": reverse("api-ws-ticket"),
        "nextUrl": reverse("exam-identity" if journey["needs_identity"] else "exam-ready", args=[exam.pk]),
    }
    return render(request, "sessions/check.html", {"exam": exam, "bootstrap": bootstrap, **journey})


@login_required
@require_GET
def identity_check(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = _student_exam(request, exam_id)
    bootstrap = {
        "examId": exam.pk,
        "checkUrl": reverse("api-exam-identity-check", args=[exam.pk]),
        "isVerified": request.user.is_verified,
        "profileUrl": reverse("profile"),
        "nextUrl": reverse(
            "exam-room-scan" if readiness.needs_room_scan(exam=exam, student=request.user) else "exam-ready",
            args=[exam.pk],
        ),
    }
    context = {"exam": exam, "bootstrap": bootstrap, **_journey(exam, request.user)}
    return render(request, "sessions/identity.html", context)


@login_required
@require_GET
def room_scan(request: HttpRequest, exam_id: int) -> HttpResponse:
    """The last step before the clock starts (high security): record the room, uploaded as it
    records; starting the exam then gives the video to the new attempt. A student back here
    with a finished scan is told it is kept until a new recording is complete."""
    exam = _student_exam(request, exam_id)
    bootstrap = {
        "uploadUrl": reverse("api-exam-room-scan", args=[exam.pk]),
        "minSeconds": 10,
        "maxSeconds": 20,
        "nextUrl": reverse("exam-ready", args=[exam.pk]),
    }
    context = {"exam": exam, "bootstrap": bootstrap}
    context["recorded"] = readiness.room_scan_recorded(exam=exam, student=request.user)
    return render(request, "sessions/room_scan.html", context)


@login_required
@require_GET
def ready(request: HttpRequest, exam_id: int) -> HttpResponse:
    """The last page before the clock starts: what is left to do, and the start button."""
    exam = _student_exam(request, exam_id)
    missing = [
        (STEP_LABELS[step], reverse(STEP_URLS[step], args=[exam.pk]))
        for step in readiness.readiness_missing(exam=exam, student=request.user)
    ]
    context = {"exam": exam, "missing": missing, **_journey(exam, request.user)}
    if admissions.admission_needed(exam=exam, student=request.user):
        context["admission"] = {
            "statusUrl": reverse("api-exam-admission", args=[exam.pk]),
            "initial": admissions.admission_status_for_student(exam=exam, student=request.user),
            "pollMs": 3000,
        }
    return render(request, "sessions/ready.html", context)


@login_required
@require_POST
def start(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = _student_exam(request, exam_id)
    try:
        session, _ = services.exam_session_start(
            exam=exam,
            student=request.user,
            ip=request.META.get("REMOTE_ADDR"),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            screen_resolution=request.POST.get("screen_resolution", ""),
        )
    except readiness.NotReady as exc:
        first = exc.details["missing"][0]
        messages.error(request, gettext("Finish this step before the exam starts."))
        return redirect(STEP_URLS[first], exam_id=exam.pk)
    except admissions.AdmissionRequired as exc:
        messages.error(request, exc.message)
        return redirect("exam-ready", exam_id=exam.pk)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("home")
    return redirect("session-take", session_id=session.pk)


@login_required
@require_GET
def take(request: HttpRequest, session_id) -> HttpResponse:
    session = exam_session_get_own(user=request.user, session_id=session_id)
    exam = session.exam
    bootstrap = {
        "sessionId": str(session.pk),
        "examTitle": exam.title,
        "apiBase": "/api/exam-sessions/",
        "wsPath": f"/ws/exam-sessions/{session.pk}/stream/",
        "ticketUrl": reverse("api-ws-ticket"),
        "securityLevel": exam.security_level,
        "frameIntervalMs": readiness.FRAME_INTERVAL_MS[exam.security_level],
        "mediaExempt": session.media_exempt,
        "proctoringEnabled": exam.proctoring_enabled,
        "fullscreenRequired": exam.proctoring_enabled and exam.security_level != "low",
        "dashboardUrl": reverse("home"),
        # docs/PROTOCOL.md, "Screen capture"; null: the exam does not capture the screen.
        "screenCapture": {
            "intervalMs": exam.screenshot_interval_seconds * 1000,
            "enforced": exam.screen_share_enforced,
            "timeGivenBack": exam.screen_share_enforced and exam.screen_share_lapse == "pause",
        }
        if exam.captures_screen
        else None,
    }
    if not session.is_in_progress:
        messages.info(
            request, gettext("This attempt has ended: %(outcome)s.") % {"outcome": outcome_of(session)}
        )
    return render(request, "sessions/take.html", {"session": session, "bootstrap": bootstrap})


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The site's front page: a student's dashboard, or the staff landing page."""
    if user_can(request.user, Can.TAKE_EXAMS):
        return dashboard(request)
    return render(request, "home.html")
