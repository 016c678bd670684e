from procto.errors import ApplicationError


class ExamNotOpen(ApplicationError):
    code = "EXAM_NOT_OPEN"
    status = 409
    message = "This exam is not open right now."


class NoAttemptsLeft(ApplicationError):
    code = "NO_ATTEMPTS_LEFT"
    status = 409
    message = "You have used all your attempts at this exam."


class SessionClosed(ApplicationError):
    code = "SESSION_CLOSED"
    status = 409
    message = "This exam session has ended; answers can no longer be changed."


class DeadlinePassed(ApplicationError):
    code = "DEADLINE_PASSED"
    status = 409
    message = "Time is up: answers sent more than 60 seconds after the deadline are not accepted."


class IllegalTransition(ApplicationError):
    code = "ILLEGAL_TRANSITION"
    status = 409
    message = "A finished exam session cannot change state again."


class InvalidAnswer(ApplicationError):
    code = "INVALID_ANSWER"
    status = 400
    message = "An answer does not fit its question."
