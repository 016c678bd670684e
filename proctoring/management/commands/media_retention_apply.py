import json

from django.core.management.base import BaseCommand

from proctoring.retention import media_retention_apply


class Command(BaseCommand):
    help = (
        "Delete the proctoring data whose retention period is over (docs/PRIVACY.md), as beat does "
        "every hour; for a deployment without beat (embedded mode), from cron. Prints what went."
    )

    def handle(self, *args, **options) -> None:
        self.stdout.write(json.dumps(dict(media_retention_apply()), sort_keys=True))
