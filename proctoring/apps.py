from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProctoringConfig(AppConfig):
    name = "proctoring"
    verbose_name = _("Proctoring")

    def ready(self) -> None:
        from procto.metrics import collector_register
        from proctoring import (
            checks,  # noqa: F401 - registers them
            signals,  # noqa: F401 - connects the receivers
            tasks,  # noqa: F401 - registers them: notifications queue by name
        )
        from proctoring.metrics import RECORDS

        collector_register(RECORDS)
        # How a session ended early (by whom, confirmed by a reviewer or not) is in the proctoring
        # record; every page that says how an attempt ended reads it through this hook.
        from proctoring.endings import session_endings
        from sessions.outcomes import endings_reader_set

        endings_reader_set(session_endings)
        # A person's data is mostly here and in sessions: accounts' export, purge and account
        # deletion reach it through this hook.
        from accounts.personal_data import PersonalDataHandlers, personal_data_handlers_set
        from proctoring.personal_data import student_data_blockers, student_data_purge
        from proctoring.reports.personal_export import personal_data_export_write

        personal_data_handlers_set(
            PersonalDataHandlers(
                blockers=student_data_blockers,
                purge=student_data_purge,
                export=personal_data_export_write,
            )
        )
        # Which conditions an exam may weigh, and their default weights, are the registry's: the
        # exam settings check an exam's risk weights against them through this hook.
        from exams.tuning import risk_weight_defaults_set
        from proctoring.risk import default_weights

        risk_weight_defaults_set(default_weights)
