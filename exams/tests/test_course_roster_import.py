"""Enrolment from a CSV roster in the course admin (django-import-export): upload → preview (a
dry run) → confirm; bad rows are reported and left out, the good ones go in; a second upload
changes nothing; only the course's teachers (or an admin) import into it."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from exams.models import Enrolment

pytestmark = pytest.mark.django_db

ROSTER = (
    "E-mail,First name,Last name,Student id\n"
    "student@school.example,Stu,Stone,S-001\n"  # Stu: already in Physics 101
    "cat@school.example,Cat,Costa,S-002\n"  # Cat: has an account, in Chemistry 101 only
    "New.Comer@school.example,Nina,Comer,S-003\n"  # no account yet: invited
)


def url(course) -> str:
    return f"/admin/exams/course/{course.pk}/enrol-csv/"


def upload(client, course, text: str):
    roster = SimpleUploadedFile("roster.csv", text.encode(), content_type="text/csv")
    return client.post(url(course), {"roster": roster})


def confirm(client, course, preview):
    content = re.search(r'name="content" value="([^"]*)"', preview.content.decode()).group(1)
    return client.post(url(course), {"content": html.unescape(content), "confirm": "Confirm import"})


def outcomes(response) -> list[tuple[str, str]]:
    page = response.content.decode()
    rows = re.findall(r'<tr class="roster-(\w+)">\s*<td>(\d+)</td>', page)
    return [(number, status) for status, number in rows]


def roster_of(course) -> list[tuple[str, str, str]]:
    return sorted(
        (e.student.email, e.source, e.student_number) for e in Enrolment.objects.filter(course=course)
    )


def test_a_roster_is_previewed_then_enrols_and_invites_on_confirmation(
    client, world, django_capture_on_commit_callbacks
):
    physics = world.physics.course
    client.force_login(world.tess)
    preview = upload(client, physics, ROSTER)
    assert preview.status_code == 200
    assert outcomes(preview) == [("1", "update"), ("2", "enrol"), ("3", "invite")]
    # The preview wrote nothing and invited no one.
    assert roster_of(physics) == [
        ("other.student@school.example", "admin", ""),
        ("student@school.example", "admin", ""),
    ]
    assert not User.objects.filter(email__iexact="new.comer@school.example").exists()
    with django_capture_on_commit_callbacks(execute=True):
        done = confirm(client, physics, preview)
    assert done.status_code == 302 and done.url == f"/admin/exams/course/{physics.pk}/change/"
    assert roster_of(physics) == [
        ("cat@school.example", "csv", "S-002"),
        ("new.comer@school.example", "csv", "S-003"),
        ("other.student@school.example", "admin", ""),
        ("student@school.example", "admin", "S-001"),
    ]
    nina = User.objects.get(email="new.comer@school.example")
    assert (nina.role, nina.first_name, nina.last_name, nina.has_usable_password()) == (
        "student",
        "Nina",
        "Comer",
        False,
    )
    assert [m.to for m in mail.outbox] == [["new.comer@school.example"]]
    assert mail.outbox[0].subject == "[Procto] Tess Taylor added you to Physics 101"
    page = client.get(done.url).content.decode()
    assert "1 enrolled, 1 invited and enrolled, 1 student id(s) updated, 0 already enrolled." in page


def test_bad_rows_are_reported_with_their_reason_and_the_good_rows_still_go_in(client, world):
    history = world.history.course
    client.force_login(world.vic)
    roster = (
        "email,first_name,last_name\n"
        "not-an-address,Bad,Row\n"
        "teacher@school.example,Tess,Taylor\n"  # a staff account
        "cat@school.example,Cat,Costa\n"
        "CAT@school.example,Cat,Costa\n"  # the same student again
    )
    preview = upload(client, history, roster)
    assert outcomes(preview) == [("1", "error"), ("2", "error"), ("3", "enrol"), ("4", "error")]
    page = preview.content.decode()
    assert "Not an e-mail address: &#x27;not-an-address&#x27;." in page
    assert "teacher@school.example is a staff account, not a student&#x27;s." in page
    assert "Repeats row 3 (cat@school.example)." in page
    done = confirm(client, history, preview)
    assert done.status_code == 302
    assert roster_of(history) == [("cat@school.example", "csv", ""), ("hal@school.example", "admin", "")]
    shown = [str(m) for m in done.wsgi_request._messages]
    assert shown == [
        "1 enrolled, 0 invited and enrolled, 0 student id(s) updated, 0 already enrolled.",
        "Row 1 (not-an-address): Not an e-mail address: 'not-an-address'.",
        "Row 2 (teacher@school.example): teacher@school.example is a staff account, not a student's.",
        "Row 4 (CAT@school.example): Repeats row 3 (cat@school.example).",
        f'<a href="{url(history)}errors.csv" id="roster-errors-download">Download the 3 rows with errors'
        " as CSV</a> (with an error column: fix them and upload that file again).",
    ]


def test_a_second_upload_of_the_same_roster_changes_nothing(
    client, world, django_capture_on_commit_callbacks
):
    physics = world.physics.course
    client.force_login(world.tess)
    with django_capture_on_commit_callbacks(execute=True):
        confirm(client, physics, upload(client, physics, ROSTER))
    before = list(
        Enrolment.objects.filter(course=physics).values_list("pk", "student_id", "source", "student_number")
    )
    users = User.objects.count()
    mail.outbox.clear()
    again = upload(client, physics, ROSTER)
    assert outcomes(again) == [("1", "unchanged"), ("2", "unchanged"), ("3", "unchanged")]
    assert "3 rows · 0 to change" in again.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        confirm(client, physics, again)
    after = list(
        Enrolment.objects.filter(course=physics).values_list("pk", "student_id", "source", "student_number")
    )
    assert after == before
    assert User.objects.count() == users
    assert mail.outbox == []


def test_a_teacher_cannot_import_into_another_teachers_course(client, world):
    physics = world.physics.course
    client.force_login(world.vic)  # teaches History 201 only
    assert client.get(url(physics)).status_code == 404
    assert upload(client, physics, ROSTER).status_code == 404
    response = client.post(url(physics), {"content": ROSTER, "confirm": "Confirm import"})
    assert response.status_code == 404
    assert roster_of(physics) == [
        ("other.student@school.example", "admin", ""),
        ("student@school.example", "admin", ""),
    ]
    client.force_login(world.pat)  # a proctor: not admin staff, sent to the admin's login
    response = upload(client, physics, ROSTER)
    assert (response.status_code, response.url) == (302, f"/admin/login/?next={url(physics)}")
    assert Enrolment.objects.filter(course=physics).count() == 2


def test_a_file_without_an_email_column_is_refused_as_a_whole(client, world):
    client.force_login(world.tess)
    response = upload(client, world.physics.course, "name,number\nStu,1\n")
    assert "The file has no e-mail column" in response.content.decode()
    assert Enrolment.objects.filter(course=world.physics.course).count() == 2


def test_a_file_with_nul_bytes_is_refused_with_a_message(client, world):
    client.force_login(world.tess)
    course = world.chemistry.course
    response = upload(client, course, "email,first name,last name\nsid@school.example,Sid\x00,Stranger\n")
    assert response.status_code == 200
    assert "not a CSV text file" in response.content.decode()
    assert list(course.students.values_list("email", flat=True)) == ["cat@school.example"]


def errors_report(client, course):
    return client.get(f"{url(course)}errors.csv")


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


BAD_ROSTER = (
    "E-mail,First name,Last name,Student id,Tutor\n"
    "not-an-address,Bad,Row,H-1,Ms Ode\n"
    "hal@school.example,Hal,Hughes,H-2,Ms Ode\n"  # already in History 201: unchanged
    "teacher@school.example,Tess,Taylor,,\n"  # a staff account
    "cat@school.example,Cat,Costa,H-4,Mr Po\n"
    "CAT@school.example,Cat,Costa,H-5,Mr Po\n"  # the same student again
    "new.one@school.example,New,One,H-6,\n"
)


def test_the_rows_with_errors_download_as_csv_with_an_error_column(client, world):
    history = world.history.course
    client.force_login(world.vic)
    preview = upload(client, history, BAD_ROSTER)
    assert (
        'id="roster-errors-download">Download the 3 rows with errors as CSV</a>' in preview.content.decode()
    )
    report = errors_report(client, history)
    assert report.status_code == 200
    assert report["Content-Type"] == "text/csv; charset=utf-8"
    assert report["Content-Disposition"] == f'attachment; filename="enrolment-errors-course-{history.pk}.csv"'
    # Exactly the failed rows, as the file had them (its own headers and columns), and why.
    assert csv_rows(report) == [
        ["E-mail", "First name", "Last name", "Student id", "Tutor", "error"],
        ["not-an-address", "Bad", "Row", "H-1", "Ms Ode", "Not an e-mail address: 'not-an-address'."],
        [
            "teacher@school.example",
            "Tess",
            "Taylor",
            "",
            "",
            "teacher@school.example is a staff account, not a student's.",
        ],
        ["CAT@school.example", "Cat", "Costa", "H-5", "Mr Po", "Repeats row 4 (cat@school.example)."],
    ]
    # The confirmation enrols the good rows and keeps the report, linked from the course page.
    done = confirm(client, history, preview)
    assert done.status_code == 302
    assert "Download the 3 rows with errors as CSV" in client.get(done.url).content.decode()
    assert csv_rows(errors_report(client, history)) == csv_rows(report)


def test_the_fixed_error_report_uploads_again_and_a_clean_upload_drops_it(client, world):
    history = world.history.course
    client.force_login(world.vic)
    confirm(client, history, upload(client, history, BAD_ROSTER))
    rows = csv_rows(errors_report(client, history))
    rows[1][0] = "bad.row@school.example"  # fixed; the staff account still fails
    fixed = io.StringIO()
    csv.writer(fixed).writerows(rows)
    again = upload(client, history, fixed.getvalue())
    # Cat went in with the first upload: her repeated row now only changes her student id.
    assert outcomes(again) == [("1", "invite"), ("2", "error"), ("3", "update")]
    # The second round's report has one error column, with this round's reasons.
    assert csv_rows(errors_report(client, history)) == [
        ["E-mail", "First name", "Last name", "Student id", "Tutor", "error"],
        [
            "teacher@school.example",
            "Tess",
            "Taylor",
            "",
            "",
            "teacher@school.example is a staff account, not a student's.",
        ],
    ]
    clean = upload(client, history, "email\nhal@school.example\n")
    assert "roster-errors-download" not in clean.content.decode()
    assert errors_report(client, history).status_code == 404


def test_no_one_but_the_uploading_teacher_downloads_their_error_report(client, world):
    history = world.history.course
    client.force_login(world.vic)
    upload(client, history, BAD_ROSTER)
    assert errors_report(client, history).status_code == 200
    # Tess teaches other courses: History 201 is a 404 to her.
    client.force_login(world.tess)
    assert errors_report(client, history).status_code == 404
    # Not even a co-teacher or an admin: the report is the uploader's, kept under their account.
    history.teachers.add(world.tess)
    assert errors_report(client, history).status_code == 404
    client.force_login(world.ada)
    assert errors_report(client, history).status_code == 404
    # Students and proctors are not admin staff: sent to the admin's login.
    for outsider in (world.hal, world.quinn):
        client.force_login(outsider)
        response = errors_report(client, history)
        assert response.status_code == 302 and response.url.startswith("/admin/login/")
