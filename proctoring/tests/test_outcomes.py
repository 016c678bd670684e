"""How an attempt ended, as the student's dashboard, the exam report, the review page and the PDF
say it (sessions.outcomes, proctoring.endings): an exam a proctor ends is "Ended by proctor" with
their reason, one the risk policy ends is "Ended automatically" with what triggered it, and
"cheating" appears only once a reviewer confirmed the ending as a finding.
"""

from __future__ import annotations

import io
import re

import pytest
from django.conf import settings as django_settings
from pypdf import PdfReader

from proctoring import actions
from proctoring.models import ProctoringEvent
from proctoring.risk import WEIGHTS
from proctoring.services import event_record_client
from sessions.models import ExamSession

pytestmark = pytest.mark.django_db

REASON = "Phone on the desk after the first warning."


def text(html: bytes) -> str:
    """The page's visible words, roughly: tags and scripts out, whitespace folded."""
    page = re.sub(rb"<script\b.*?</script>", b" ", html, flags=re.S)
    return " ".join(re.sub(rb"<[^>]+>", b" ", page).decode().split())


def dashboard_outcome(client, session: ExamSession) -> tuple[str, str]:
    """(code, words) of the session's row in its student's Finished list."""
    client.force_login(session.student)
    page = client.get("/").content
    row = re.search(rb'<td class="outcome" data-outcome="([^"]+)">(.*?)</td>', page, re.S)
    assert row, text(page)
    assert b"cheat" not in page.lower() or row.group(1) == b"cheating-confirmed"
    return row.group(1).decode(), text(row.group(2))


def report_outcome(client, user, session: ExamSession) -> tuple[str, str]:
    client.force_login(user)
    page = client.get(f"/exams/{session.exam_id}/report/").content
    row = re.search(rf'data-session="{session.pk}">.*?</tr>'.encode(), page, re.S).group(0)
    cell = re.search(rb'<td class="outcome" data-outcome="([^"]+)">(.*?)</td>', row, re.S)
    return cell.group(1).decode(), text(cell.group(2))


def review_outcome(client, user, session: ExamSession) -> tuple[str, str]:
    """(the status pill, the line under the header) of the session's review page."""
    client.force_login(user)
    page = client.get(f"/proctoring/sessions/{session.pk}/").content
    pill = re.search(rb'id="status-pill"[^>]*>([^<]*)<', page).group(1).decode()
    detail = re.search(rb'id="outcome-detail">(.*?)</p>', page, re.S)
    return pill, text(detail.group(1)) if detail else ""


def pdf_outcome(client, user, session: ExamSession) -> str:
    client.force_login(user)
    pdf = PdfReader(io.BytesIO(client.get(f"/proctoring/sessions/{session.pk}/report.pdf").content))
    words = " ".join(" ".join(page.extract_text().split()) for page in pdf.pages)
    return re.search(r"Outcome (.*?) Started", words).group(1)


def test_an_exam_a_proctor_ends_is_ended_by_proctor_with_the_reason_not_cheating(client, world):
    session = world.stu_in_physics  # Pat proctors physics, Tess teaches it
    actions.session_terminate(actor=world.pat, session_id=session.pk, reason=REASON)
    session.refresh_from_db()
    assert session.status == ExamSession.Status.CHEATING_DETECTED  # the reference's name, on the wire

    assert dashboard_outcome(client, session) == ("ended-by-proctor", f"Ended by proctor {REASON}")
    assert report_outcome(client, world.tess, session) == ("ended-by-proctor", f"Ended by proctor {REASON}")
    assert review_outcome(client, world.pat, session) == ("Ended by proctor", f"Ended by proctor: {REASON}")
    assert pdf_outcome(client, world.tess, session) == f"Ended by proctor: {REASON}"
    client.force_login(world.stu)
    detail = client.get(f"/api/exam-sessions/{session.pk}").json()["data"]
    assert detail["outcome"] == {"code": "ended-by-proctor", "label": "Ended by proctor", "detail": REASON}
    # The ending is on record, for a reviewer to confirm or dismiss.
    ending = ProctoringEvent.objects.get(session=session, type="cheating-detected")
    assert (ending.source, ending.review_status, ending.details) == ("proctor", "open", {"reason": REASON})


def test_only_a_reviewer_confirming_the_ending_makes_it_cheating_confirmed(client, world):
    session = world.stu_in_physics
    actions.session_terminate(actor=world.pat, session_id=session.pk, reason=REASON)
    ending = ProctoringEvent.objects.get(session=session, type="cheating-detected")

    actions.event_review(
        actor=world.tess, event_id=ending.pk, status="dismissed", reason="A misunderstanding."
    )
    assert dashboard_outcome(client, session)[0] == "ended-by-proctor"

    finding = "The phone showed the answers (room scan, 14:02)."
    actions.event_review(actor=world.tess, event_id=ending.pk, status="confirmed", reason=finding)
    expected = f"Cheating confirmed {finding}"
    assert dashboard_outcome(client, session) == ("cheating-confirmed", expected)
    assert report_outcome(client, world.tess, session) == ("cheating-confirmed", expected)
    assert review_outcome(client, world.pat, session) == (
        "Cheating confirmed",
        f"Cheating confirmed: {finding}",
    )
    assert pdf_outcome(client, world.tess, session) == f"Cheating confirmed: {finding}"


def test_an_automatic_ending_says_what_triggered_it(client, world, django_capture_on_commit_callbacks):
    session = world.cat_in_chemistry  # medium security
    session.exam.auto_terminate = True
    session.exam.save(update_fields=["auto_terminate"])
    exits = int(django_settings.PROCTORING_POLICY["medium"]["terminate_risk"] / WEIGHTS["high"])
    with django_capture_on_commit_callbacks(execute=True):
        for seq in range(1, exits + 1):
            event_record_client(
                session_id=session.pk, student=session.student, type="fullscreen-exit", client_seq=seq
            )
    session.refresh_from_db()
    assert session.status == ExamSession.Status.CHEATING_DETECTED
    trigger = "the risk score reached 90 (the limit is 90) after fullscreen exit."
    assert session.end_reason == f"Ended automatically: {trigger}"
    ending = ProctoringEvent.objects.get(session=session, type="cheating-detected")
    assert (ending.source, ending.details["trigger"]) == ("server", "fullscreen-exit")

    assert dashboard_outcome(client, session) == ("ended-automatically", f"Ended automatically {trigger}")
    assert report_outcome(client, world.tess, session) == (
        "ended-automatically",
        f"Ended automatically {trigger}",
    )
    assert review_outcome(client, world.tess, session) == (
        "Ended automatically",
        f"Ended automatically: {trigger}",
    )
    assert pdf_outcome(client, world.tess, session) == f"Ended automatically: {trigger}"


def test_other_endings_say_what_happened(client, world):
    from sessions.services import exam_session_transition

    for status, code, words in (
        (ExamSession.Status.SUBMITTED, "submitted", "Submitted"),
        (
            ExamSession.Status.EXPIRED,
            "time-up",
            "Time up the answers saved before the deadline were submitted",
        ),
    ):
        session = world.stu_in_physics if status == ExamSession.Status.SUBMITTED else world.cat_in_chemistry
        exam_session_transition(session_id=session.pk, to=status)
        session.refresh_from_db()
        assert dashboard_outcome(client, session) == (code, words)


def test_the_admins_session_list_accuses_no_one_of_an_exam_a_proctor_ended(client, world):
    session = world.stu_in_physics
    actions.session_terminate(actor=world.pat, session_id=session.pk, reason=REASON)
    client.force_login(world.ada)
    listing = client.get("/admin/exam_sessions/examsession/").content
    assert str(session.pk).encode() in listing or world.stu.email.encode() in listing
    assert b"Ended early" in listing
    assert b"cheating" not in text(listing).lower().encode()
