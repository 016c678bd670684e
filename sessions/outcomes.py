"""How an attempt ended, as every page says it: the student's dashboard, the exam report, the
review page, the PDF, the grading page and the exam page itself read it here, never spell it out.

An ending is not a verdict. An exam a proctor ends shows "Ended by proctor" with the reason they
gave; one the risk policy ends shows "Ended automatically" with what triggered it; "Cheating
confirmed" appears only once a reviewer confirmed the ending's record as a finding. The status
`cheating-detected` is the reference document's name for any early ending and stays on the wire.

Who ended a session and what a reviewer found are in the proctoring record, above this app: it
installs a reader of endings (`endings_reader_set`, from proctoring.apps). Without one, an early
ending says only "Ended early".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from django.utils.translation import gettext_lazy

from sessions.models import ExamSession

Status = ExamSession.Status


@dataclass(frozen=True)
class Ending:
    """How a session ended early, as the proctoring record knows it."""

    by: Literal["proctor", "automatic"]
    reason: str = ""  # the proctor's stated reason, or what triggered the automatic ending
    confirmed: bool = False  # a reviewer confirmed the ending as a finding of cheating
    review_reason: str = ""  # the reviewer's words when they confirmed it


@dataclass(frozen=True)
class Outcome:
    code: str  # stable, for pages' styles and the API: see OUTCOME_LABELS
    label: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.label}: {self.detail}" if self.detail else self.label

    def as_dict(self) -> dict:
        """As the API and the exports give it (camelCase keys are the same words)."""
        return {"code": self.code, "label": self.label, "detail": self.detail}


OUTCOME_LABELS = {
    "in-progress": gettext_lazy("In progress"),
    "submitted": gettext_lazy("Submitted"),
    "time-up": gettext_lazy("Time up"),
    "signed-out": gettext_lazy("Signed out"),
    "ended-early": gettext_lazy("Ended early"),  # an early ending whose cause this process cannot read
    "ended-by-proctor": gettext_lazy("Ended by proctor"),
    "ended-automatically": gettext_lazy("Ended automatically"),
    "cheating-confirmed": gettext_lazy("Cheating confirmed"),
}
# What the status alone says, where only the status is known (a live message on the review page).
STATUS_OUTCOMES = {
    Status.IN_PROGRESS: "in-progress",
    Status.SUBMITTED: "submitted",
    Status.EXPIRED: "time-up",
    Status.LOGGED_OUT: "signed-out",
    Status.CHEATING_DETECTED: "ended-early",
}
STATUS_DETAILS = {
    Status.EXPIRED: gettext_lazy("the answers saved before the deadline were submitted"),
}

EndingsReader = Callable[[list[ExamSession]], dict]
_endings_reader: EndingsReader | None = None


def endings_reader_set(reader: EndingsReader) -> None:
    """Install the reader of early endings: sessions -> {session id: Ending}, one query for all."""
    global _endings_reader
    _endings_reader = reader


def status_labels() -> dict[str, str]:
    """Each status's label when nothing else is known about the session."""
    return {str(status): str(OUTCOME_LABELS[code]) for status, code in STATUS_OUTCOMES.items()}


def session_outcome(session: ExamSession, ending: Ending | None = None) -> Outcome:
    """The outcome of one session, given its early ending if it has one (see session_outcomes)."""
    if session.status != Status.CHEATING_DETECTED or ending is None:
        code = STATUS_OUTCOMES.get(session.status, "ended-early")
        detail = session.end_reason if code == "ended-early" else str(STATUS_DETAILS.get(session.status, ""))
        return Outcome(code, str(OUTCOME_LABELS[code]), detail)
    if ending.confirmed:
        detail = ending.review_reason or ending.reason
        return Outcome("cheating-confirmed", str(OUTCOME_LABELS["cheating-confirmed"]), detail)
    code = "ended-by-proctor" if ending.by == "proctor" else "ended-automatically"
    return Outcome(code, str(OUTCOME_LABELS[code]), ending.reason)


def session_outcomes(sessions: Iterable[ExamSession]) -> dict:
    """{session id: Outcome} for any number of sessions: one query, for those that ended early."""
    sessions = list(sessions)
    early = [s for s in sessions if s.status == Status.CHEATING_DETECTED]
    endings = _endings_reader(early) if early and _endings_reader is not None else {}
    return {s.pk: session_outcome(s, endings.get(s.pk)) for s in sessions}


def outcome_of(session: ExamSession) -> Outcome:
    return session_outcomes([session])[session.pk]


def outcomes_attach(sessions: Iterable[ExamSession]) -> list[ExamSession]:
    """The sessions, each with `.outcome` set, for templates listing them."""
    sessions = list(sessions)
    outcomes = session_outcomes(sessions)
    for session in sessions:
        session.outcome = outcomes[session.pk]
    return sessions
