"""CSV enrolment of a large roster through the course admin, timed, and idempotent on re-upload.

Generates a roster of `--rows` students (plausible fake names, no network: most addresses have no
account yet and are invited, `--existing` percent belong to existing student accounts), makes a
fresh course and its teacher, and drives the real admin views with Django's test client as the
teacher: upload (the preview, a dry run), confirm (the import), then the same file again (preview
and confirm), which must change nothing: same enrolments, same accounts, no e-mail. The invitation
e-mails go to Django's in-memory backend and are counted.

    .venv/bin/python bench/enrol_csv.py                  # SQLite (embedded), in a temporary dir
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python bench/enrol_csv.py

With DATABASE_URL set it runs on SQLite and then on PostgreSQL; of DATABASE_URL only the server
is used: the database is always `--pg-database` (default procto_bench_enrol), dropped and created
for the run. Each backend runs in a child process of its own (Django's settings are per
process). Prints one JSON line per backend, then a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
FIRST = "Amara Ben Chloe Dmitri Elif Farah Gabriel Hana Ibrahim Jonas Keiko Liam Maya Nikos Olga Pedro Quynh"
FIRST += " Rosa Samir Tara Umar Vera Wei Ximena Yusuf Zoe Aisha Bruno Carmen Diego Emma Felix"
LAST = "Abara Becker Costa Dubois Eriksen Fernandes Garcia Haddad Ivanova Jensen Kowalski Laurent Moreau"
LAST += " Nakamura Okafor Petrov Quintero Rossi Schmidt Tanaka Urquhart Varga Weber Xu Yilmaz Zhang"


def roster(rows: int, seed: int = 12) -> list[tuple[str, str, str, str]]:
    rng = random.Random(seed)  # noqa: S311 - fake names, the same each run
    students = []
    for n in range(rows):
        first, last = rng.choice(FIRST.split()), rng.choice(LAST.split())
        email = f"{first.lower()}.{last.lower()}.{n:04d}@students.example.edu"
        students.append((email, first, last, f"2026{n:05d}"))
    return students


def roster_csv(students) -> str:
    lines = ["E-mail,First name,Last name,Student id"]
    lines += [",".join(s) for s in students]
    return "\n".join(lines) + "\n"


def run_backend(args) -> dict:
    """In the child process: Django on the backend the environment names; the four steps, timed."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="procto.settings",
        DJANGO_DEBUG="1",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        LOG_LEVEL="WARNING",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core import mail
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from accounts.models import User
    from accounts.services import user_create
    from exams.models import Course, Enrolment
    from exams.services import course_create

    call_command("migrate", verbosity=0)
    setup_test_environment()  # the locmem outbox, and 'testserver' allowed
    mail.outbox = []
    teacher = user_create(email=f"teacher-{secrets.token_hex(4)}@bench.procto", password=None, role="teacher")
    course = course_create(teacher=teacher, title="Bench 101", code="BEN-101")
    students = roster(args.rows)
    existing = students[: args.rows * args.existing // 100]
    for email, first, last, _ in existing:
        user_create(email=email, password=None, role=User.Role.STUDENT, first_name=first, last_name=last)
    text = roster_csv(students)
    client = Client()
    client.force_login(teacher)
    url = f"/admin/exams/course/{course.pk}/enrol-csv/"

    def preview() -> float:
        started = time.perf_counter()
        page = client.post(url, {"roster": SimpleUploadedFile("roster.csv", text.encode(), "text/csv")})
        elapsed = time.perf_counter() - started
        assert page.status_code == 200, page.status_code
        assert page.content.count(b'<tr class="roster-') == args.rows
        return elapsed

    def confirm() -> float:
        started = time.perf_counter()
        done = client.post(url, {"content": text, "confirm": "Confirm import"})
        elapsed = time.perf_counter() - started
        assert done.status_code == 302, done.status_code
        return elapsed

    def state():
        return (
            list(
                Enrolment.objects.filter(course=course)
                .order_by("pk")
                .values_list("pk", "student_id", "student_number")
            ),
            User.objects.count(),
        )

    result = {"backend": connection.vendor, "rows": args.rows, "existing_accounts": len(existing)}
    result["first_preview_s"] = round(preview(), 3)
    result["first_confirm_s"] = round(confirm(), 3)
    first = state()
    result["enrolled"] = len(first[0])
    result["invited"] = len(mail.outbox)
    mail.outbox.clear()
    result["second_preview_s"] = round(preview(), 3)
    result["second_confirm_s"] = round(confirm(), 3)
    second = state()
    assert first[0] and len(first[0]) == args.rows, len(first[0])
    assert second == first, "the second upload changed the course's enrolments or the accounts"
    assert mail.outbox == [], "the second upload sent e-mail"
    result["second_upload_changed"] = 0
    result["first_upload_total_s"] = round(result["first_preview_s"] + result["first_confirm_s"], 3)
    result["second_upload_total_s"] = round(result["second_preview_s"] + result["second_confirm_s"], 3)
    Course.objects.filter(pk=course.pk).delete()
    return result


def pg_recreate(database_url: str, name: str) -> str:
    import psycopg

    parts = urlsplit(database_url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def child(env: dict, argv: list[str]) -> dict:
    out = subprocess.run(  # noqa: S603 - this script, with our own arguments
        [sys.executable, __file__, "--child", *argv], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode:
        sys.stderr.write(out.stdout + out.stderr)
        raise SystemExit(f"the {env.get('DATABASE_URL') or 'SQLite'} run failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--existing", type=int, default=10, help="percent of rows with an account already")
    parser.add_argument("--pg-database", default="procto_bench_enrol")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_backend(args)))
        return
    argv = ["--rows", str(args.rows), "--existing", str(args.existing)]
    results = []
    with tempfile.TemporaryDirectory(prefix="procto-bench-enrol-") as local:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env["PROCTO_LOCAL_DIR"] = local
        results.append(child(env, argv))
        print(json.dumps(results[-1]), flush=True)
        if os.environ.get("DATABASE_URL"):
            env["DATABASE_URL"] = pg_recreate(os.environ["DATABASE_URL"], args.pg_database)
            results.append(child(env, argv))
            print(json.dumps(results[-1]), flush=True)
    print(
        "\n| backend | rows | 1st preview s | 1st confirm s | 1st total s | 2nd preview s | 2nd confirm s |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['backend']} | {r['rows']} ({r['existing_accounts']} had accounts, {r['invited']} invited) "
            f"| {r['first_preview_s']} | {r['first_confirm_s']} | {r['first_upload_total_s']} "
            f"| {r['second_preview_s']} | {r['second_confirm_s']} |"
        )


if __name__ == "__main__":
    main()
