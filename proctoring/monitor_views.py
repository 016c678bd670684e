"""The proctors' live monitor page: rendered with every card, then kept live by its script over
/ws/monitor/ (docs/PROTOCOL.md, "Live monitor")."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET
from djangorestframework_camel_case.util import camelize

from accounts.permissions import Can, user_can
from procto.errors import ForbiddenError
from proctoring import selectors
from proctoring.conditions import Severity, monitor_conditions
from proctoring.services import departures_settle_lazily
from sessions.services import exam_sessions_expire_overdue_lazily


@login_required
@require_GET
def monitor(request: HttpRequest) -> HttpResponse:
    if not user_can(request.user, Can.MONITOR_SESSIONS):
        raise ForbiddenError(gettext("Only proctors, teachers and administrators watch exams live."))
    exam = selectors.exam_filter_get(user=request.user, exam_id=request.GET.get("exam"))
    exam_sessions_expire_overdue_lazily()
    departures_settle_lazily()
    # The watermark is read before the cards: an alert landing in between is caught up, not lost.
    last_event_id = selectors.last_event_id()
    cards = selectors.live_session_cards(user=request.user, exam_id=exam and exam.pk)
    bootstrap = {
        "cards": camelize(cards),
        "recentAlerts": selectors.recent_alerts_for(user=request.user, exam_id=exam and exam.pk),
        "lastEventId": last_event_id,
        "serverTime": timezone.now(),
        "examId": exam and exam.pk,
        "urls": selectors.monitor_urls(),
        # Each condition's label, severity and default warning (proctoring.conditions).
        "conditions": monitor_conditions(),
    }
    context = {
        "cards": cards,
        "exams": selectors.monitor_exams_for(request.user),
        "exam": exam,
        "bootstrap": bootstrap,
        "severities": [(s.value, s.value.capitalize()) for s in Severity],
    }
    return render(request, "proctoring/monitor.html", context)
