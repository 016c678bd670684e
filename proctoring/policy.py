"""A session's proctoring policy: the thresholds of its exam's security level.

The thresholds (release, warn/flag/terminate risk, identity recheck, stream-lost) are
procto.settings.PROCTORING_POLICY, to be tuned per deployment; how long each condition must last
before it is an event is the condition's onset in proctoring.conditions.
"""

from __future__ import annotations

from django.conf import settings

from sessions.models import ExamSession


def policy_for(session: ExamSession) -> dict:
    return settings.PROCTORING_POLICY[session.exam.security_level]
