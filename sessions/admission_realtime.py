"""Pushing admission requests and decisions to the monitors of their exam (docs/PROTOCOL.md,
monitor socket message "admission"); the sessions app's only channel-layer use for them."""

from __future__ import annotations

from django.urls import reverse

from procto.channels import group_send_on_commit
from sessions.models import Admission
from sessions.realtime import exam_monitor_groups


def admission_message(admission: Admission) -> dict:
    """What every watcher of the exam may see of a request. The student's profile photo is not
    here: its URL is minted for one viewer, so the monitor fetches it from the pending list."""
    check = admission.identity_check
    student = admission.student
    return {
        "id": admission.pk,
        "examId": str(admission.exam_id),
        "examTitle": admission.exam.title,
        "student": {"id": str(student.pk), "name": student.display_name, "email": student.email},
        "status": admission.status,
        "requestedAt": admission.requested_at.isoformat(),
        "decidedAt": admission.decided_at.isoformat() if admission.decided_at else None,
        "decidedBy": admission.decided_by.display_name if admission.decided_by else None,
        "reason": admission.reason,
        "identityCheck": None
        if check is None
        else {
            "checkedAt": check.created_at.isoformat(),
            "passed": check.passed,
            "distance": round(check.distance, 4),
            "threshold": round(check.threshold, 4),
            "captureUrl": reverse("admission-identity-capture", args=[admission.pk]),
        },
    }


def broadcast_admission(admission: Admission) -> None:
    """After commit, send a new request or a decision to the monitors of its exam and of all exams."""
    group_send_on_commit(
        exam_monitor_groups(admission.exam_id),
        {"type": "proctoring.admission_updated", "admission": admission_message(admission)},
        what=f"admission {admission.pk}",
    )
