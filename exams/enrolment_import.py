"""Enrolment from a CSV roster (e-mail, first name, last name, optional student id), with
django-import-export: a resource that imports rows into one course's Enrolment, resolving each
student by e-mail and inviting the addresses that have no account (accounts.invitations).

Good rows go in and bad rows are reported with their row number and reason (a malformed
address, a staff account, a row that repeats an earlier one): a registrar's roster of 300 with
two typos should not keep 298 students out of the course until someone fixes the two. The
teacher sees the same report as a preview first (a dry run that writes nothing and sends no
e-mail) and confirms it. A second upload of the same file changes nothing: every row is then
"already enrolled" (skipped), and no one is invited twice.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext
from import_export import fields, resources
from import_export.formats.base_formats import CSV
from import_export.results import RowResult

from accounts.invitations import student_invite
from accounts.models import User
from accounts.selectors import users_by_email
from exams.models import Course, Enrolment

# Headers a roster may carry, normalised (lowercase, no spaces, hyphens or underscores).
HEADER_ALIASES = {
    "email": "email",
    "emailaddress": "email",
    "mail": "email",
    "firstname": "first_name",
    "givenname": "first_name",
    "lastname": "last_name",
    "surname": "last_name",
    "familyname": "last_name",
    "studentid": "student_id",
    "studentnumber": "student_id",
}
COLUMNS = ["email", "first_name", "last_name", "student_id"]
# How long a teacher may download the rows with errors of their last upload into a course.
ROSTER_ERRORS_SECONDS = 60 * 60


def _cell(row: dict, column: str) -> str:
    value = row.get(column)
    return "" if value is None else str(value).strip()


class EnrolmentResource(resources.ModelResource):
    """Rows of one course's roster. Built per import: it holds the course, the teacher (who
    invites), and the accounts and enrolments looked up once for the whole file."""

    email = fields.Field(column_name="email")
    first_name = fields.Field(column_name="first_name")
    last_name = fields.Field(column_name="last_name")
    student_id = fields.Field(attribute="student_number", column_name="student_id")

    class Meta:
        model = Enrolment
        fields = ("email", "first_name", "last_name", "student_id")
        import_id_fields = ()
        # A row's checks are ours (import_instance); full_clean would query uniqueness per row.
        clean_model_instances = False
        skip_unchanged = True
        report_skipped = True
        skip_html_diff = True
        use_transactions = True

    def __init__(self, *, course: Course, actor: User) -> None:
        super().__init__()
        self.course = course
        self.actor = actor

    def before_import(self, dataset, **kwargs) -> None:
        # One query for the whole file.
        self.accounts = users_by_email(_cell(row, "email") for row in dataset.dict)
        student_ids = [u.pk for u in self.accounts.values()]
        self.enrolments = {e.student_id: e for e in self.course.enrolments.filter(student_id__in=student_ids)}
        self.seen: dict[str, int] = {}
        self.invited: set[str] = set()  # addresses with no account: invited (or, in a preview, to be)

    def get_instance(self, instance_loader, row) -> Enrolment | None:
        account = self.accounts.get(_cell(row, "email").lower())
        return self.enrolments.get(account.pk) if account else None

    def init_instance(self, row=None) -> Enrolment:
        return Enrolment(course=self.course, source=Enrolment.Source.CSV)

    def import_instance(self, instance: Enrolment, row, **kwargs) -> None:
        number = kwargs.get("row_number", 0)
        email = _cell(row, "email").lower()
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError({"email": f"Not an e-mail address: '{_cell(row, 'email')}'."}) from None
        if email in self.seen:
            raise ValidationError({"email": f"Repeats row {self.seen[email]} ({email})."})
        self.seen[email] = number
        account = self.accounts.get(email)
        if account is None:
            self.invited.add(email)
        elif account.role != User.Role.STUDENT:
            raise ValidationError({"email": f"{email} is a staff account, not a student's."})
        # A blank student id keeps the one on record; names belong to the student's own profile
        # and are only used for an account made here.
        if student_id := _cell(row, "student_id"):
            if len(student_id) > 64:
                raise ValidationError({"student_id": gettext("A student id has at most 64 characters.")})
            instance.student_number = student_id

    def skip_row(self, instance, original, row, import_validation_errors=None) -> bool:
        if import_validation_errors:
            return False
        return (
            original is not None
            and original.pk is not None
            and original.student_number == instance.student_number
        )

    def save_instance(self, instance: Enrolment, is_create: bool, row, **kwargs) -> None:
        if self._is_dry_run(kwargs):
            return  # the preview writes nothing and invites no one
        if instance.student_id is None:
            email = _cell(row, "email").lower()
            account = self.accounts.get(email)
            if account is None:
                account = student_invite(
                    email=email,
                    invited_by=self.actor,
                    course_title=self.course.title,
                    first_name=_cell(row, "first_name")[:150],
                    last_name=_cell(row, "last_name")[:150],
                )
                self.accounts[email] = account
            instance.student = account
        instance.save()

    def get_diff_headers(self) -> list[str]:
        return COLUMNS


@dataclass
class RosterRow:
    number: int
    email: str
    name: str
    student_id: str
    status: str  # "enrol", "invite", "update", "unchanged", "error"
    errors: list[str]
    cells: list[str] = field(default_factory=list)  # the row as the file has it


@dataclass
class RosterReport:
    rows: list[RosterRow]
    problems: list[str]  # problems with the whole file (no e-mail column, not CSV)
    headers: list[str] = field(default_factory=list)  # the file's header row as written

    def count(self, status: str) -> int:
        return sum(1 for row in self.rows if row.status == status)

    @property
    def changes(self) -> int:
        return sum(1 for row in self.rows if row.status in ("enrol", "invite", "update"))

    @property
    def error_count(self) -> int:
        return self.count("error")

    def errors_csv(self) -> str:
        """The rows with errors, as the file has them, and an `error` column saying why: the
        teacher fixes them and uploads this file again (the importer ignores `error`). An
        `error` column from an earlier round is replaced, not repeated."""
        keep = [i for i, header in enumerate(self.headers) if _normalised(header) != "error"]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([self.headers[i] for i in keep] + ["error"])
        for row in self.rows:
            if row.status == "error":
                cells = row.cells + [""] * (len(self.headers) - len(row.cells))
                writer.writerow([cells[i] for i in keep] + [" ".join(row.errors)])
        return out.getvalue()


def _normalised(header: object) -> str:
    return "".join(ch for ch in str(header).lower() if ch.isalnum())


def roster_dataset(content: bytes | str):
    """A tablib Dataset of the file (UTF-8, with or without Excel's byte-order mark), its headers
    normalised to COLUMNS where they are known, and the file's headers as written."""
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content.lstrip("\ufeff")
    dataset = CSV(encoding="utf-8").create_dataset(text)
    written = [str(header) for header in dataset.headers or []]
    dataset.headers = [HEADER_ALIASES.get(_normalised(header), header) for header in written]
    return dataset, written


def _status(row_result: RowResult, resource: EnrolmentResource, email: str) -> str:
    if row_result.import_type == RowResult.IMPORT_TYPE_SKIP:
        return "unchanged"
    if row_result.import_type == RowResult.IMPORT_TYPE_UPDATE:
        return "update"
    return "invite" if email.lower() in resource.invited else "enrol"


def course_roster_import(*, course: Course, actor: User, content: bytes | str, dry_run: bool) -> RosterReport:
    """Enrol the students of a CSV roster in `course` (the caller checked `actor` may edit it).

    With dry_run, nothing is written and no one is invited: the report says what would happen.
    Otherwise each good row enrols (source CSV) or invites-then-enrols its student (the e-mail
    leaves after commit); bad rows are left out and reported. Idempotent: a second upload of the
    same file reports every row unchanged. An unexpected error in any row rolls the file back.
    """
    try:
        dataset, headers = roster_dataset(content)
    except Exception as exc:  # tablib raises several kinds on a file that is not CSV
        return RosterReport(
            rows=[], problems=[f"This file could not be read as CSV ({exc.__class__.__name__})."]
        )
    if "email" not in (dataset.headers or []):
        return RosterReport(
            rows=[],
            problems=["The file has no e-mail column (expected: e-mail, first name, last name, student id)."],
        )
    resource = EnrolmentResource(course=course, actor=actor)
    result = resource.import_data(dataset, dry_run=dry_run, raise_errors=False)
    rows = []
    # report_skipped: result.rows has one result per data row, in order.
    for number, (values, row_result) in enumerate(zip(dataset.dict, result.rows, strict=False), start=1):
        cells = ["" if cell is None else str(cell) for cell in dataset[number - 1]]
        email = _cell(values, "email")
        name = " ".join(p for p in (_cell(values, "first_name"), _cell(values, "last_name")) if p)
        errors = []
        if row_result.validation_error is not None:
            errors = [
                str(m) for messages in row_result.validation_error.message_dict.values() for m in messages
            ]
        errors += [str(e.error) for e in row_result.errors]
        status = "error" if errors else _status(row_result, resource, email)
        rows.append(RosterRow(number, email, name, _cell(values, "student_id"), status, errors, cells))
    problems = [str(e.error) for e in result.base_errors]
    if result.has_errors() and not dry_run:
        problems.append("Nothing was imported: the rows marked with an error stopped the whole file.")
    return RosterReport(rows=rows, problems=problems, headers=headers)


def _errors_key(*, course: Course, user: User) -> str:
    return f"enrol-csv-errors:{course.pk}:{user.pk}"


def roster_errors_keep(*, course: Course, user: User, report: RosterReport) -> bool:
    """Keep the rows with errors of `user`'s latest upload into `course` for ROSTER_ERRORS_SECONDS
    (in the cache, under that user: no one else reads them). An upload without errors drops the
    last one's. Returns whether there is a report to download."""
    key = _errors_key(course=course, user=user)
    if not report.error_count:
        cache.delete(key)
        return False
    cache.set(key, report.errors_csv(), timeout=ROSTER_ERRORS_SECONDS)
    return True


def roster_errors_get(*, course: Course, user: User) -> str | None:
    """The CSV roster_errors_keep kept for this user and course, or None (none, or expired)."""
    return cache.get(_errors_key(course=course, user=user))
