from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from accounts import (  # noqa: F401 (registers receivers and extensions)
            login_limits,
            personal_data,
            schema,
            signals,
        )
