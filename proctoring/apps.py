from django.apps import AppConfig


class ProctoringConfig(AppConfig):
    name = "proctoring"
    verbose_name = "Proctoring"

    def ready(self) -> None:
        from procto.metrics import collector_register
        from proctoring import (
            signals,  # noqa: F401 - connects the receivers
            tasks,  # noqa: F401 - registers them: notifications queue by name
        )
        from proctoring.metrics import RECORDS

        collector_register(RECORDS)
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
