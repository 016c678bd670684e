"""Courses and enrolment: a student meets only the exams of the courses they are in (404 for
the others), teachers and proctors only their courses', in the API, the pages and the admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import UserFactory
from exams.models import Course, Enrolment, Exam

pytestmark = pytest.mark.django_db


def exam_body(**extra) -> dict:
    now = timezone.now()
    return {
        "title": "Optics quiz",
        "duration": 20,
        "startTime": (now - timedelta(minutes=5)).isoformat(),
        "endTime": (now + timedelta(days=1)).isoformat(),
        "questions": [{"type": "Paragraph", "questionText": "Why is the sky blue?", "points": 1}],
    } | extra


def titles(api, user) -> list[str]:
    api.force_authenticate(user)
    return sorted(e["title"] for e in api.get("/api/exams").json()["data"])


# --- who meets which exam -------------------------------------------------------------------------


def test_a_student_meets_only_the_exams_of_their_courses(api, world):
    assert titles(api, world.stu) == ["Physics final"]
    assert titles(api, world.cat) == ["Chemistry midterm"]
    assert titles(api, world.sid) == []  # enrolled nowhere
    api.force_authenticate(world.stu)
    assert api.get(f"/api/exams/{world.chemistry.pk}").status_code == 404  # not 403: it does not exist
    start = api.post("/api/exam-sessions/start", {"examId": world.chemistry.pk}, format="json")
    assert start.status_code == 404


def test_the_dashboard_lists_the_courses_exams_only(client, world):
    client.force_login(world.sid)
    page = client.get("/").content.decode()
    assert "Physics final" not in page and "Chemistry midterm" not in page
    assert client.get(f"/exams/{world.physics.pk}/consent/").status_code == 404


def test_a_student_taken_out_of_a_course_no_longer_meets_its_open_exam(api, world):
    Enrolment.objects.filter(course=world.chemistry.course, student=world.cat).delete()
    assert titles(api, world.cat) == []


def test_teachers_and_proctors_meet_the_exams_of_the_courses_they_teach_or_proctor(api, world):
    assert titles(api, world.tess) == ["Chemistry midterm", "Physics final"]
    assert titles(api, world.vic) == ["History essay"]
    # A co-teacher of Physics 101 meets its exams, and may change them.
    world.physics.course.teachers.add(world.vic)
    assert titles(api, world.vic) == ["History essay", "Physics final"]
    fields_only = exam_body(title="Physics final (room 2)")
    del fields_only["questions"]  # students have started: the questions are frozen
    api.force_authenticate(world.vic)
    assert api.put(f"/api/exams/{world.physics.pk}", fields_only, format="json").status_code == 200
    # A proctor of a course watches all of its exams, not only those assigned one by one.
    assert titles(api, world.pat) == ["Physics final (room 2)"]
    world.chemistry.course.proctors.add(world.pat)
    assert titles(api, world.pat) == ["Chemistry midterm", "Physics final (room 2)"]


# --- exams and their course over the API ----------------------------------------------------------


def test_an_exam_made_without_a_course_lands_in_the_teachers_own_course(api, world):
    api.force_authenticate(world.tess)
    first = api.post("/api/exams", exam_body(), format="json").json()["data"]
    second = api.post("/api/exams", exam_body(title="Optics quiz 2"), format="json").json()["data"]
    own = Course.objects.get(default_for=world.tess)
    assert first["courseId"] == second["courseId"] == str(own.pk)  # made once, on demand
    assert list(own.teachers.all()) == [world.tess]
    # Nobody is enrolled in it yet: no student meets the new exam.
    assert titles(api, world.stu) == ["Physics final"]


def test_an_exam_goes_into_a_course_its_teacher_names_and_not_into_someone_elses(api, world):
    api.force_authenticate(world.tess)
    created = api.post("/api/exams", exam_body(courseId=str(world.physics.course_id)), format="json")
    assert created.status_code == 201
    assert created.json()["data"]["courseId"] == str(world.physics.course_id)
    assert "Optics quiz" in titles(api, world.sam)  # Sam is in Physics 101
    api.force_authenticate(world.tess)
    refused = api.post("/api/exams", exam_body(courseId=str(world.history.course_id)), format="json")
    assert refused.status_code == 404
    assert api.post("/api/exams", exam_body(courseId="9" * 19), format="json").status_code == 404
    assert not Exam.objects.filter(course=world.history.course, title="Optics quiz").exists()


def test_every_exam_response_carries_its_course(api, world):
    api.force_authenticate(world.stu)
    listed = api.get("/api/exams").json()["data"]
    assert [e["courseId"] for e in listed] == [str(world.physics.course_id)]
    assert api.get(f"/api/exams/{world.physics.pk}").json()["data"]["courseId"] == str(
        world.physics.course_id
    )


# --- courses and enrolment over the API -----------------------------------------------------------


def test_a_teacher_makes_a_course_and_lists_only_their_own(api, world):
    api.force_authenticate(world.tess)
    made = api.post("/api/courses", {"title": "Optics", "code": "PHY-202"}, format="json")
    assert made.status_code == 201
    data = made.json()["data"]
    assert (data["title"], data["code"], data["teacherIds"], data["studentCount"]) == (
        "Optics",
        "PHY-202",
        [str(world.tess.pk)],
        0,
    )
    listed = [c["title"] for c in api.get("/api/courses").json()["data"]]
    assert listed == ["Chemistry 101", "Optics", "Physics 101"]
    api.force_authenticate(world.vic)
    assert [c["title"] for c in api.get("/api/courses").json()["data"]] == ["History 201"]


def test_enrolling_by_email_enrols_accounts_invites_unknown_addresses_and_can_be_repeated(api, world):
    api.force_authenticate(world.tess)
    url = f"/api/courses/{world.chemistry.course_id}/students"
    body = {
        "emails": ["SID@school.example", "new.kid@school.example", "cat@school.example", "vic@school.example"]
    }
    report = api.post(url, body, format="json").json()["data"]
    assert report == {
        "enrolled": ["sid@school.example"],
        "alreadyEnrolled": ["cat@school.example"],
        "invited": ["new.kid@school.example"],
        "refused": [{"email": "vic@school.example", "reason": "This account is not a student's."}],
    }
    invited = User.objects.get(email="new.kid@school.example")
    assert invited.role == User.Role.STUDENT and not invited.has_usable_password()
    assert titles(api, world.sid) == ["Chemistry midterm"]
    assert titles(api, invited) == ["Chemistry midterm"]
    # The same upload again changes nothing and invites nobody twice.
    api.force_authenticate(world.tess)
    again = api.post(url, body, format="json").json()["data"]
    assert again["enrolled"] == [] and again["invited"] == []
    assert sorted(again["alreadyEnrolled"]) == [
        "cat@school.example",
        "new.kid@school.example",
        "sid@school.example",
    ]
    assert world.chemistry.course.enrolments.count() == 3


def test_an_invited_student_gets_an_email_to_choose_a_password(
    api, world, django_capture_on_commit_callbacks
):
    api.force_authenticate(world.tess)
    with django_capture_on_commit_callbacks(execute=True):
        api.post(
            f"/api/courses/{world.chemistry.course_id}/students",
            {"emails": ["new.kid@school.example"]},
            format="json",
        )
    [message] = mail.outbox
    assert message.to == ["new.kid@school.example"]
    assert "Chemistry 101" in message.subject
    assert "/accounts/password/reset/" in message.body


def test_a_teacher_cannot_enrol_into_or_remove_from_another_teachers_course(api, world):
    api.force_authenticate(world.tess)
    history = world.history.course_id
    assert (
        api.post(
            f"/api/courses/{history}/students", {"emails": ["sid@school.example"]}, format="json"
        ).status_code
        == 404
    )
    assert api.delete(f"/api/courses/{history}/students/{world.hal.pk}").status_code == 404
    assert world.history.course.enrolments.filter(student=world.hal).exists()


def test_removing_a_student_hides_the_courses_exams_but_keeps_their_session(api, world):
    api.force_authenticate(world.tess)
    url = f"/api/courses/{world.physics.course_id}/students/{world.sam.pk}"
    assert api.delete(url).status_code == 204
    assert api.delete(url).status_code == 404  # not in it any more
    assert api.delete(f"/api/courses/{world.physics.course_id}/students/{'9' * 19}").status_code == 404
    assert titles(api, world.sam) == []
    assert world.sam_in_physics.__class__.objects.filter(pk=world.sam_in_physics.pk).exists()


# --- the admin ------------------------------------------------------------------------------------


def test_the_accommodation_picker_lists_only_the_exams_course_students(client, world):
    UserFactory(email="elsewhere@school.example", role="student")
    client.force_login(world.tess)
    page = client.get(f"/admin/exams/exam/{world.physics.pk}/change/").content.decode()
    picker = page[page.index('name="accommodations-__prefix__-student"') :]
    picker = picker[: picker.index("</select>")]
    assert "student@school.example" in picker and "other.student@school.example" in picker  # Stu, Sam
    for outsider in (
        "cat@school.example",
        "hal@school.example",
        "sid@school.example",
        "elsewhere@school.example",
    ):
        assert outsider not in picker


def test_a_teacher_sees_only_their_courses_in_the_admin_and_enrols_by_email(client, world):
    client.force_login(world.tess)
    listing = client.get("/admin/exams/course/").content.decode()
    assert "Physics 101" in listing and "History 201" not in listing
    assert client.get(f"/admin/exams/course/{world.history.course_id}/change/").status_code in (302, 403, 404)
    course = world.chemistry.course
    url = f"/admin/exams/course/{course.pk}/change/"
    form = {
        "title": course.title,
        "code": course.code,
        "term": course.term,
        "teachers": [world.tess.pk],
        "enrolments-TOTAL_FORMS": "2",
        "enrolments-INITIAL_FORMS": "1",
        "enrolments-MIN_NUM_FORMS": "0",
        "enrolments-MAX_NUM_FORMS": "1000",
        "enrolments-0-id": str(course.enrolments.get().pk),
        "enrolments-0-course": str(course.pk),
        "enrolments-1-course": str(course.pk),
        "enrolments-1-email": "nobody@school.example",
    }
    refused = client.post(url, form)
    assert refused.status_code == 200
    assert "No student account has this e-mail address." in refused.content.decode()
    saved = client.post(url, form | {"enrolments-1-email": "sid@school.example"})
    assert saved.status_code == 302
    assert set(course.students.values_list("email", flat=True)) == {
        "cat@school.example",
        "sid@school.example",
    }


def enrolment_form(course, *emails: str, remove: list | None = None) -> dict:
    """The course's change form: its enrolments as they are (those in `remove` ticked for
    deletion), then one new row per address."""
    existing = list(course.enrolments.order_by("pk"))
    form = {
        "title": course.title,
        "code": course.code,
        "term": course.term,
        "teachers": [t.pk for t in course.teachers.all()],
        "enrolments-TOTAL_FORMS": str(len(existing) + len(emails)),
        "enrolments-INITIAL_FORMS": str(len(existing)),
        "enrolments-MIN_NUM_FORMS": "0",
        "enrolments-MAX_NUM_FORMS": "1000",
    }
    for number, enrolment in enumerate(existing):
        form |= {f"enrolments-{number}-id": str(enrolment.pk), f"enrolments-{number}-course": str(course.pk)}
        if enrolment.student in (remove or []):
            form[f"enrolments-{number}-DELETE"] = "on"
    for number, email in enumerate(emails, start=len(existing)):
        form |= {f"enrolments-{number}-course": str(course.pk), f"enrolments-{number}-email": email}
    return form


def test_the_admin_enrols_and_removes_students_as_the_api_does(client, world):
    course = world.physics.course
    client.force_login(world.tess)
    url = f"/admin/exams/course/{course.pk}/change/"
    staff = client.post(url, enrolment_form(course, "proctor@school.example"))
    assert "No student account has this e-mail address." in staff.content.decode()
    again = client.post(url, enrolment_form(course, "Student@School.example"))
    assert "This student is in the course already." in again.content.decode()
    saved = client.post(url, enrolment_form(course, "SID@school.example", remove=[world.sam]))
    assert saved.status_code == 302
    assert sorted((e.student.email, e.source) for e in course.enrolments.all()) == [
        ("sid@school.example", "admin"),
        ("student@school.example", "admin"),
    ]
    # Sam's session stays on record, as when the API takes a student out.
    world.sam_in_physics.refresh_from_db()


def test_the_same_student_twice_in_the_enrolment_rows_is_an_error_not_a_500(client, world):
    course = world.chemistry.course
    client.force_login(world.tess)
    response = client.post(
        f"/admin/exams/course/{course.pk}/change/",
        enrolment_form(course, "sid@school.example", "SID@school.example"),
    )
    assert response.status_code == 200
    assert "This student is listed twice." in response.content.decode()
    assert list(course.students.values_list("email", flat=True)) == ["cat@school.example"]


def test_a_course_a_teacher_makes_in_the_admin_is_theirs(client, world):
    client.force_login(world.vic)
    form = {
        "title": "Modern history",
        "code": "HIS-301",
        "term": "",
        "enrolments-TOTAL_FORMS": "0",
        "enrolments-INITIAL_FORMS": "0",
        "enrolments-MIN_NUM_FORMS": "0",
        "enrolments-MAX_NUM_FORMS": "1000",
    }
    response = client.post("/admin/exams/course/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(Course.objects.get(title="Modern history").teachers.all()) == [world.vic]


def test_an_exam_added_in_the_admin_without_a_course_goes_into_the_teachers_own(client, teacher):
    from exams.tests.test_admin import add_exam

    client.force_login(teacher)
    response = add_exam(
        client, {"order": "1", "text": "Why?", "choices": ["A", "B"], "choices-correct": ["0"], "points": "1"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    exam = Exam.objects.get()
    assert exam.course == Course.objects.get(default_for=teacher)
    assert list(exam.course.teachers.all()) == [teacher]


def test_an_exam_added_in_the_admin_goes_into_the_course_picked(client, world):
    from exams.tests.test_admin import add_exam

    client.force_login(world.tess)
    response = add_exam(
        client,
        {"order": "1", "text": "Why?", "choices": ["A", "B"], "choices-correct": ["0"], "points": "1"},
        course=str(world.chemistry.course_id),
        title="Admin exam",
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Exam.objects.get(title="Admin exam").course == world.chemistry.course
    # Another teacher's course is not among the choices.
    page = client.get("/admin/exams/exam/add/").content.decode()
    picker = page[page.index('name="course"') :]
    picker = picker[: picker.index("</select>")]
    assert "Chemistry 101" in picker and "History 201" not in picker


def test_teachers_review_the_identity_verifications_of_their_enrolled_students(
    client, world, settings, tmp_path
):
    # Sid has not set out on any exam yet: joining a course puts his verification before the
    # teachers of that course ("a teacher will review it" must be true), and before nobody else.
    from accounts.identity_service import identity_verify
    from accounts.tests import identity_images as ids

    settings.MEDIA_ROOT = tmp_path
    verification = identity_verify(user=world.sid, photo=ids.astronaut_photo(), id_card=ids.hopper_id_card())
    client.force_login(world.tess)
    listing = "/admin/accounts/identityverification/"
    assert world.sid.email not in client.get(listing).content.decode()
    # Typed in by a teacher: not yet (any teacher could enrol anyone to look at their ID card).
    enrolment = Enrolment.objects.create(course=world.chemistry.course, student=world.sid)
    assert world.sid.email not in client.get(listing).content.decode()
    # Joined with the course's code (or from the LMS): his teachers review it.
    Enrolment.objects.filter(pk=enrolment.pk).update(source=Enrolment.Source.JOIN_CODE)
    assert world.sid.email in client.get(listing).content.decode()
    assert client.get(f"{listing}{verification.pk}/change/").status_code == 200
    client.force_login(world.vic)
    assert world.sid.email not in client.get(listing).content.decode()


def test_a_teacher_who_enrols_a_stranger_does_not_get_to_see_their_id_card(api, world):
    from sessions.selectors import may_view_identity_of

    api.force_authenticate(world.vic)
    url = f"/api/courses/{world.history.course_id}/students"
    assert api.post(url, {"emails": [world.stu.email]}, format="json").json()["data"]["enrolled"] == [
        world.stu.email
    ]
    assert not may_view_identity_of(viewer=world.vic, owner=world.stu)
    # Once Stu acts on one of the course's exams (here: a session), Vic oversees him.
    from sessions.tests.factories import ExamSessionFactory

    ExamSessionFactory(exam=world.history, student=world.stu, attempt=1)
    assert may_view_identity_of(viewer=world.vic, owner=world.stu)


def test_a_teacher_with_a_very_long_name_still_gets_an_own_course(api, world):
    from accounts.models import User

    User.objects.filter(pk=world.vic.pk).update(first_name="V" * 150, last_name="W" * 150)
    world.vic.refresh_from_db()
    api.force_authenticate(world.vic)
    created = api.post("/api/exams", exam_body(), format="json")
    assert created.status_code == 201
    course = Course.objects.get(default_for=world.vic)
    assert len(course.title) <= 200 and course.title.endswith("'s exams")


def test_a_teacher_taken_off_a_course_loses_its_exams_even_those_they_wrote(api, world):
    world.chemistry.course.teachers.add(world.vic)  # a co-teacher stays
    world.chemistry.course.teachers.remove(world.tess)
    api.force_authenticate(world.tess)
    assert api.get(f"/api/exams/{world.chemistry.pk}").status_code == 404
    moved = api.put(
        f"/api/exams/{world.chemistry.pk}", {"courseId": str(world.physics.course_id)}, format="json"
    )
    assert moved.status_code == 404
    assert titles(api, world.tess) == ["Physics final"]
    assert titles(api, world.vic) == ["Chemistry midterm", "History essay"]
