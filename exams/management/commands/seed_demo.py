import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from exams.demo import DEMO_USERS, demo_data_seed
from exams.settings_fields import exam_settings_by_api_name


class Command(BaseCommand):
    help = "Create the demo users and the demo exam (idempotent) and print the demo logins."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Seed even with DJANGO_DEBUG=0 (demo passwords are public: never on a real site).",
        )

    def handle(self, *args, allow_production: bool = False, **options) -> None:
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "Refusing to create demo accounts with public passwords while DJANGO_DEBUG=0. "
                "Pass --allow-production if this really is a throwaway site."
            )
        report = demo_data_seed()
        created = len(report.created_users)
        self.stdout.write(
            f"Demo data: {created} user(s) created, "
            f"exam {'created' if report.exam_created else 'already present'} "
            f"({report.exam.questions.count()} questions, id {report.exam.pk})."
        )
        # As the API spells them, so the line shows what a client may change.
        exam_settings = exam_settings_by_api_name(report.exam)
        self.stdout.write(
            "Demo exam settings: "
            + ", ".join(f"{name}={json.dumps(value)}" for name, value in exam_settings.items())
        )
        self.stdout.write(
            f"Demo course: {report.course} ({report.course.enrolments.count()} students enrolled, "
            f"join code {report.course.join_code})."
        )
        self.stdout.write("Demo logins (e-mail / password):")
        for demo in DEMO_USERS:
            self.stdout.write(f"  {demo.role:<8} {demo.email:<24} {demo.password}")
