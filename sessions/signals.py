"""Signals the sessions app sends, so that code reacting to an attempt stays out of its services
(sessions.lti.grades posts the score to the LMS gradebook)."""

from django.dispatch import Signal

# Sent after commit, when a session's grading is complete (its final score settled), with
# `session_id`. Each time: a score changed by a later regrade is sent again.
exam_session_graded = Signal()
