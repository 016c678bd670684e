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
