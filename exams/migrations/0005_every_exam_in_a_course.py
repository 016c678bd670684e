"""Every exam belongs to a course. Exams made before courses existed go into their author's own
course, and every student who had already set out on one (a session, consent, a check, an
admission request) is enrolled in it, so nobody loses an exam or a result they had."""

from django.db import migrations


def courses_for_existing_exams(apps, schema_editor):
    Exam = apps.get_model("exams", "Exam")
    Course = apps.get_model("exams", "Course")
    Enrolment = apps.get_model("exams", "Enrolment")
    related = [
        (apps.get_model("exam_sessions", "ExamSession"), "student_id"),
        (apps.get_model("exam_sessions", "Admission"), "student_id"),
        (apps.get_model("exam_sessions", "ExamConsent"), "user_id"),
        (apps.get_model("exam_sessions", "SystemCheck"), "user_id"),
        (apps.get_model("exam_sessions", "IdentityCheck"), "user_id"),
    ]
    own_course = {}
    for exam in Exam.objects.filter(course__isnull=True).select_related("created_by"):
        author = exam.created_by
        course = own_course.get(author.pk)
        if course is None:
            name = f"{author.first_name} {author.last_name}".strip() or author.email
            course = Course.objects.filter(default_for=author).first() or Course.objects.create(
                title=f"{name[:180]}'s exams", join_code=_code(Course), default_for=author
            )
            course.teachers.add(author)
            own_course[author.pk] = course
        exam.course = course
        exam.save(update_fields=["course"])
        students = set()
        for model, field in related:
            students.update(model.objects.filter(exam_id=exam.pk).values_list(field, flat=True))
        for student_id in students:
            Enrolment.objects.get_or_create(
                course=course, student_id=student_id, defaults={"source": "migration"}
            )


def _code(Course) -> str:
    import secrets

    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    while True:
        code = "".join(secrets.choice(alphabet) for _ in range(8))
        if not Course.objects.filter(join_code=code).exists():
            return code


class Migration(migrations.Migration):
    dependencies = [
        ("exams", "0004_courses"),
        ("exam_sessions", "0002_admission"),
    ]

    operations = [
        migrations.RunPython(courses_for_existing_exams, migrations.RunPython.noop),
    ]
