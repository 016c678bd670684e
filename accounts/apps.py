from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts import (  # noqa: F401 (registers receivers and extensions)
            login_limits,
            personal_data,
            schema,
            signals,
        )
