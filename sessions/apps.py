from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExamSessionsConfig(AppConfig):
    name = "sessions"
    # django.contrib.sessions already owns the label "sessions".
    label = "exam_sessions"
    verbose_name = _("Exam sessions")

    def ready(self) -> None:
        # Accounts serves identity images; who may see whose depends on the exams staff oversee,
        # which is known here, above accounts.
        from accounts.identity_files import identity_viewer_rule_set
        from sessions import (
            results,  # noqa: F401 - connects its exam_session_graded receiver
            room_scan,  # noqa: F401 - connects its receiver deleting a pre-exam scan's files
            tasks,  # noqa: F401 - registers them in every process, not only workers
        )
        from sessions.lti import grades  # noqa: F401 - connects its exam_session_graded receiver
        from sessions.selectors import may_view_identity_of

        identity_viewer_rule_set(may_view_identity_of)
