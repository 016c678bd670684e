import json
from pathlib import Path

from django.core.management.base import BaseCommand

from proctoring.analysis_report import analyse_file


class Command(BaseCommand):
    help = (
        "Run the workers' detectors on image (JPEG/PNG) and audio (WAV) files and print one JSON "
        "line per file: to re-check a disputed snapshot or recording."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+", type=Path)

    def handle(self, *args, paths: list[Path], **options) -> None:
        failed = 0
        for path in paths:
            try:
                report = analyse_file(path)
            except Exception as exc:  # one bad file must not stop the others; it is reported
                failed += 1
                report = {"file": str(path), "error": f"{type(exc).__name__}: {exc}"}
            self.stdout.write(json.dumps(report))
        if failed:
            self.stderr.write(f"{failed} file(s) could not be analysed")
