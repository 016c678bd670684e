from django.utils.translation import gettext_lazy as _

from procto.errors import ApplicationError


class ExamNotOpen(ApplicationError):
    code = "EXAM_NOT_OPEN"
    status = 409
    message = _("This exam is not open right now.")


class NoAttemptsLeft(ApplicationError):
    code = "NO_ATTEMPTS_LEFT"
    status = 409
    message = _("You have used all your attempts at this exam.")


class RoomScanNotNeeded(ApplicationError):
    code = "ROOM_SCAN_NOT_NEEDED"
    status = 409
    message = _("This exam does not need a room scan: go on to the start.")


class AttemptInProgress(ApplicationError):
    code = "ATTEMPT_IN_PROGRESS"
    status = 409
    message = _("Your attempt at this exam is already in progress.")


class SessionClosed(ApplicationError):
    code = "SESSION_CLOSED"
    status = 409
    message = _("This exam session has ended; answers can no longer be changed.")


class DeadlinePassed(ApplicationError):
    code = "DEADLINE_PASSED"
    status = 409
    message = _("Time is up: answers sent more than 60 seconds after the deadline are not accepted.")


class IllegalTransition(ApplicationError):
    code = "ILLEGAL_TRANSITION"
    status = 409
    message = _("A finished exam session cannot change state again.")


class InvalidAnswer(ApplicationError):
    code = "INVALID_ANSWER"
    status = 400
    message = _("An answer does not fit its question.")
