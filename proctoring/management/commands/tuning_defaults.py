from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from proctoring.tuning import defaults_table, document_with_defaults

DOCUMENT = Path(settings.BASE_DIR) / "docs" / "TUNING.md"


class Command(BaseCommand):
    help = (
        "Print the table of each condition's default risk weight and onsets (proctoring.tuning); "
        "--write puts it into docs/TUNING.md, after a condition was added or changed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--write", action="store_true", help=f"rewrite the table in {DOCUMENT}")

    def handle(self, *args, write: bool = False, **options) -> None:
        if not write:
            self.stdout.write(defaults_table(), ending="")
            return
        DOCUMENT.write_text(document_with_defaults(DOCUMENT.read_text()))
        self.stdout.write(f"Wrote the defaults table into {DOCUMENT}.")
