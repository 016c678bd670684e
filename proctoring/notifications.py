"""Critical alerts by e-mail: the people responsible for an exam hear of them even when no live
monitor is open (an identity mismatch, a session ended automatically).

The exam's teacher and its proctors are told, not every administrator of the school: they are
the ones who can act. At most one e-mail per session and alert type per hour, so a flapping
condition does not flood anyone. Only server-detected events count; a browser cannot claim a
critical alert and send e-mails with it.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mass_mail
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from accounts.time_zones import zone_of
from procto.celery import app as celery_app
from procto.local_time import local_datetime
from proctoring.conditions import label_of
from proctoring.models import ProctoringEvent
from sessions.selectors import sessions_watchable_by

logger = logging.getLogger(__name__)

NOTIFY_EVERY_SECONDS = 3600
# proctoring.tasks.critical_alert_notify, named rather than imported: the tasks module imports the
# analysis services, which record events and so import this module.
NOTIFY_TASK = "proctoring.tasks.critical_alert_notify"


def critical_alert_enqueue(event: ProctoringEvent) -> None:
    """After commit, have a worker send the e-mails (never inside the frame's own task)."""
    if event.severity != ProctoringEvent.Severity.CRITICAL or event.source != ProctoringEvent.Source.SERVER:
        return
    # robust: a broker that is down must not fail the frame's task after its event is stored.
    transaction.on_commit(lambda: celery_app.signature(NOTIFY_TASK, args=(event.pk,)).delay(), robust=True)


def critical_alert_notify(*, event_id: int) -> int:
    """E-mail the exam's teacher and active proctors about one critical alert; returns how many
    e-mails were sent (0 when it was told within the hour, or nobody has an address)."""
    event = (
        ProctoringEvent.objects.select_related("session__exam__created_by", "session__student")
        .filter(pk=event_id, severity=ProctoringEvent.Severity.CRITICAL, source=ProctoringEvent.Source.SERVER)
        .first()
    )
    if event is None:
        return 0
    session, exam = event.session, event.session.exam
    # Only those who may watch this session now: a proctor who became a student, or a teacher
    # who lost the role, keeps the assignment row but must not get the student's alerts.
    staff = [u for u in [exam.created_by, *exam.proctors.all()] if u is not None and u.is_active and u.email]
    watching = {u.email: u for u in staff if sessions_watchable_by(u).filter(pk=session.pk).exists()}
    recipients = sorted(watching)
    told = f"critical-mail:{session.pk}:{event.type}"
    if not recipients or not cache.add(told, 1, NOTIFY_EVERY_SECONDS):
        return 0
    student = session.student.display_name
    review = settings.PUBLIC_BASE_URL.rstrip("/") + reverse("proctoring-session", args=[session.pk])

    def message(user) -> tuple[str, str, None, list[str]]:
        """In the recipient's own language and time zone (a worker: no request says)."""
        with translation.override(user.language_code):
            kind = label_of(event.type)  # "Exam ended early", not the type's name (an ending is no verdict)
            names = {"kind": kind, "student": student, "title": exam.title}
            # Names and titles are typed by users: a line break in a header would stop the e-mail.
            subject = " ".join(
                (gettext("[Procto] Critical alert: %(kind)s - %(student)s, %(title)s") % names).split()
            )
            reason = event.details.get("reason")
            lines = [
                gettext('A critical alert was raised for %(student)s in "%(title)s".') % names,
                "",
                gettext("Alert: %(kind)s") % names,
                gettext("At: %(when)s") % {"when": local_datetime(event.occurred_at, zone_of(user))},
                *([gettext("Reason: %(reason)s") % {"reason": reason}] if reason else []),
                "",
                gettext("Review the session: %(link)s") % {"link": review},
                "",
                gettext("You are told at most once an hour per student and alert."),
            ]
        return subject, "\n".join(lines), None, [user.email]

    messages = [message(watching[to]) for to in recipients]
    try:
        sent = send_mass_mail(messages, fail_silently=False)
    except Exception:
        cache.delete(told)  # not told after all: the task's retry, or the next alert, tries again
        raise
    logger.info("session %s: %s e-mailed to %d staff", session.pk, event.type, sent)
    return sent
