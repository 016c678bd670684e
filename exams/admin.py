"""Exam and course authoring in the Django admin: teachers see and edit only the exams and courses
they teach, and pick only their courses' students."""

from __future__ import annotations

from adminsortable2.admin import CustomInlineFormSet, SortableAdminBase, SortableStackedInline
from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.permissions import Can, user_can
from exams import models, services
from exams.enrolment_import import course_roster_import, roster_errors_get, roster_errors_keep
from exams.forms import BankQuestionAdminForm, ExamQuestionAdminForm, QuestionImportForm, RosterUploadForm
from exams.selectors import (
    bank_has_draws_sat,
    banks_visible_to,
    course_get_for_user,
    course_students,
    courses_visible_to,
    exam_has_attempts,
    exams_visible_to,
    student_for_enrolment,
    user_may_delete_course,
    user_may_delete_exam,
    user_may_edit,
    user_may_edit_course,
)
from exams.settings_fields import EXAM_SETTINGS, RETENTION, SCREEN, SETTINGS, TIMING, TUNING
from exams.tuning import risk_weights_help
from procto.errors import ApplicationError


class AuthorOnlyMixin:
    """Admin permissions from the role table, narrowed to the exams the user may edit (those of
    the courses they teach: exams.selectors.user_may_edit)."""

    def _may_author(self, request) -> bool:
        return user_can(request.user, Can.AUTHOR_EXAMS)

    def has_module_permission(self, request) -> bool:
        return self._may_author(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._may_author(request) and (obj is None or user_may_edit(request.user, _exam_of(obj)))

    def has_add_permission(self, request, obj=None) -> bool:
        return self._may_author(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.has_view_permission(request, obj)


def _exam_of(obj) -> models.Exam:
    return obj if isinstance(obj, models.Exam) else obj.exam


class DrawsFormSet(CustomInlineFormSet):
    """The exam's draws from one bank together must fit in it: two draws of 3 from a bank of 5
    matching questions cannot give each student 6 different ones (each alone is checked by
    Question._clean_draw)."""

    def clean(self) -> None:
        super().clean()
        by_bank: dict[int, list] = {}
        for form in self.forms:
            draw = form.instance
            if (
                not draw.is_draw
                or not draw.draw_from_id
                or not draw.draw_count
                or self._should_delete_form(form)
            ):
                continue
            by_bank.setdefault(draw.draw_from_id, []).append(form)
        for forms_ in by_bank.values():
            if len(forms_) < 2:
                continue
            wanted = sum(f.instance.draw_count for f in forms_)
            available = set()
            for f in forms_:
                available.update(f.instance.draw_candidates().values_list("pk", flat=True))
            if wanted > len(available):
                bank = forms_[0].instance.draw_from
                forms_[-1].add_error(
                    "draw_count",
                    _(
                        'The draws from bank "%(bank)s" ask for %(wanted)d different questions per '
                        "student; it has only %(available)d matching them."
                    )
                    % {"bank": bank.title, "wanted": wanted, "available": len(available)},
                )


class QuestionInline(AuthorOnlyMixin, SortableStackedInline):
    """Every question of the exam in one list whatever its type, in the order students meet them:
    dragged into place (django-admin-sortable2 writes `order`), the right choices ticked."""

    model = models.Question
    form = ExamQuestionAdminForm
    formset = DrawsFormSet
    extra = 0
    ordering = ["order", "id"]
    fields = [
        "type",
        "text",
        "choices",
        "pairs",
        ("numeric_value", "numeric_tolerance"),
        "image",
        "language",
        ("draw_from", "draw_count"),
        ("topic", "difficulty"),
        "points",
        "explanation",
        "order",
    ]
    verbose_name = _("question")
    verbose_name_plural = _(
        "questions and bank draws (drag a saved one by its title bar to move it; "
        "a draw gives each student their own questions from a bank)"
    )

    class Media:
        js = ["js/admin/questions.js"]
        css = {"all": ["css/admin-questions.css"]}

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        if "draw_from" in formset.form.base_fields:
            # Only the banks of the exam's course that this user sees (a new exam: all theirs).
            banks = banks_visible_to(request.user)
            if obj is not None and obj.course_id is not None:
                banks = banks.filter(course_id=obj.course_id)
            formset.form.base_fields["draw_from"].queryset = banks
        return formset

    def has_change_permission(self, request, obj=None) -> bool:
        # Once a student has started, questions are frozen: answers refer to them.
        if obj is not None and exam_has_attempts(obj):
            return False
        return super().has_change_permission(request, obj)

    has_delete_permission = has_change_permission

    def has_add_permission(self, request, obj=None) -> bool:
        return self.has_change_permission(request, obj)

    def get_fields(self, request, obj=None):
        if self.has_change_permission(request, obj):
            return super().get_fields(request, obj)
        # Read-only: what the form's own fields showed, from the question itself.
        return ["type", "text", "choices_shown", "image", "language", "points", "explanation"]

    def get_readonly_fields(self, request, obj=None):
        return ["choices_shown"] if not self.has_change_permission(request, obj) else []

    @admin.display(description=_("answer"))
    def choices_shown(self, question: models.Question) -> str:
        correct = question.correct_answer
        if question.type == models.Question.Type.MATCHING:
            return " · ".join(f"{p} → {m}" for p, m in zip(question.options, correct or [], strict=False))
        if question.type == models.Question.Type.NUMERIC and correct:
            return f"{correct['value']} ± {correct['tolerance']}"
        right = set(correct) if isinstance(correct, list) else {correct}
        return " · ".join(f"{o} ✓" if o in right else o for o in question.options or []) or "—"


class AccommodationInline(AuthorOnlyMixin, admin.TabularInline):
    model = models.Accommodation
    extra = 0
    fields = ["student", "extra_minutes", "time_multiplier", "media_exempt", "media_exempt_reason"]

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # An exam not saved yet has no course, so no students.
        students = course_students(obj.course) if obj is not None else get_user_model().objects.none()
        formset.form.base_fields["student"].queryset = students
        return formset

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_change_permission(request, obj)


def _settings_in(group: str) -> list[str]:
    # By identity: the titles are lazy translations, the same objects in the settings' rows.
    return [setting.name for setting in EXAM_SETTINGS if setting.admin_group is group]


class ExamForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "risk_weights" in self.fields:
            # The defaults are proctoring's, known only once the apps are ready.
            self.fields["risk_weights"].help_text = risk_weights_help()
        for field in self.fields.values():
            # The admin's date-and-time box is two inputs after the words "Date:" and "Time:", and
            # neither is labelled (its <label> points at no input): each gets a name to be read by.
            if isinstance(field.widget, forms.SplitDateTimeWidget):
                date, time = field.widget.widgets
                date.attrs["aria-label"] = _("%(field)s: date") % {"field": field.label}
                time.attrs["aria-label"] = _("%(field)s: time") % {"field": field.label}

    def clean_risk_weights(self) -> dict:
        # An emptied box means the defaults ({}), not a JSON null.
        return self.cleaned_data["risk_weights"] or {}


@admin.register(models.Exam)
class ExamAdmin(AuthorOnlyMixin, SortableAdminBase, admin.ModelAdmin):
    form = ExamForm
    list_display = [
        "title",
        "start_time",
        "end_time",
        "is_published",
        "created_by",
        "question_count",
        "preview",
        "report_links",
    ]
    list_filter = ["is_published", "security_level"]
    search_fields = ["title", "description"]
    filter_horizontal = ["proctors"]
    actions = ["duplicate"]
    readonly_fields = ["preview", "import_link", "report_links"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "title",
                    "course",
                    "description",
                    "is_published",
                    "preview",
                    "import_link",
                    "report_links",
                ]
            },
        ),
        (TIMING, {"fields": ["start_time", "end_time", "duration_minutes", *_settings_in(TIMING)]}),
        (SETTINGS, {"fields": _settings_in(SETTINGS)}),
        (TUNING, {"fields": _settings_in(TUNING)}),
        (SCREEN, {"fields": _settings_in(SCREEN)}),
        (RETENTION, {"fields": _settings_in(RETENTION), "classes": ["collapse"]}),
        (_("Proctors"), {"fields": ["proctors"]}),
    ]
    inlines = [QuestionInline, AccommodationInline]

    def get_queryset(self, request):
        return exams_visible_to(request.user)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        course = form.base_fields["course"]
        course.queryset = courses_visible_to(request.user)
        course.required = False
        course.help_text = _("Only its students take the exam. Left empty: your own course.")
        return form

    def has_delete_permission(self, request, obj=None) -> bool:
        return user_may_delete_exam(request.user, obj)

    def save_model(self, request, obj: models.Exam, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        if obj.course_id is None:
            obj.course = services.course_default_for(teacher=request.user)
        super().save_model(request, obj, form, change)

    @admin.display(description=_("questions"))
    def question_count(self, exam: models.Exam) -> int:
        return exam.questions.count()

    @admin.display(description=_("preview"))
    def preview(self, exam: models.Exam) -> str:
        if not exam.pk:
            return "—"
        return format_html(
            '<a href="{}" target="_blank">{}</a>',
            reverse("exam-preview", args=[exam.pk]),
            _("Preview as student"),
        )

    @admin.display(description=_("reports"))
    def report_links(self, exam: models.Exam) -> str:
        if not exam.pk:
            return "—"
        try:
            monitor = reverse("proctoring-monitor")
        except NoReverseMatch:  # the monitor page is optional in a trimmed deployment
            monitor = "/proctoring/monitor/"
        return format_html(
            '<a href="{}">{}</a> · <a href="{}?exam={}">{}</a> · '
            '<a href="{}?examId={}&amp;format=csv">CSV</a>',
            reverse("exam-report", args=[exam.pk]),
            _("Report"),
            monitor,
            exam.pk,
            _("Live monitor"),
            reverse("api-session-reports"),
            exam.pk,
        )

    @admin.display(description=_("import"))
    def import_link(self, exam: models.Exam) -> str:
        if not exam.pk:
            return _("Save the exam first, then import questions.")
        url = reverse("admin:exams_exam_import", args=[exam.pk])
        return format_html('<a href="{}">{}</a>', url, _("Import questions from GIFT or Aiken"))

    @admin.action(description=_("Duplicate (as an unpublished copy)"))
    def duplicate(self, request, queryset) -> None:
        for exam in queryset:
            services.exam_duplicate(exam=exam, author=request.user)
        done = _("%(count)d exam(s) duplicated.") % {"count": queryset.count()}
        self.message_user(request, done, messages.SUCCESS)

    def get_urls(self):
        custom = [
            path(
                "<int:exam_id>/import/",
                self.admin_site.admin_view(self.import_view),
                name="exams_exam_import",
            )
        ]
        return custom + super().get_urls()

    def import_view(self, request, exam_id: int):
        exam = get_object_or_404(self.get_queryset(request), pk=exam_id)
        if not self.has_change_permission(request, exam) or exam_has_attempts(exam):
            messages.error(request, _("Questions of an exam students have started cannot change."))
            return redirect("admin:exams_exam_change", exam.pk)
        form = QuestionImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                count = services.exam_questions_append(exam=exam, questions=form.cleaned_data["questions"])
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("%(count)d question(s) imported.") % {"count": count})
                return redirect("admin:exams_exam_change", exam.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import questions into %(title)s") % {"title": exam.title},
            "exam": exam,
            "form": form,
            "opts": self.model._meta,
        }
        return render(request, "admin/exams/exam/import.html", context)


class BankQuestionsFormSet(CustomInlineFormSet):
    """A bank's questions as saved must still serve every exam's draw from it as the exam was
    saved (Question._clean_draw): enough matching questions, all worth the same points. Else a
    question added later (new ones may be, even once students started) would give the students
    who start after it exams of another total than their classmates'."""

    def clean(self) -> None:
        super().clean()
        bank = self.instance
        if bank.pk is None or any(form.errors for form in self.forms):
            return
        draws = list(
            models.Question.objects.filter(draw_from=bank, type=models.Question.Type.DRAW).select_related(
                "exam"
            )
        )
        if not draws:
            return
        questions = {q.pk: q for q in bank.questions.exclude(type=models.Question.Type.DRAW)}
        for number, form in enumerate(self.forms):
            if self._should_delete_form(form):
                questions.pop(form.instance.pk, None)
            elif form.instance.pk is not None or form.has_changed():
                questions[form.instance.pk or f"new {number}"] = form.instance
        for draw in draws:
            matching = [q for q in questions.values() if draw.draw_takes(q)]
            worth = {q.points for q in matching}
            if len(worth) > 1:
                raise ValidationError(
                    _(
                        'The exam "%(exam)s" draws %(draw)s: its matching questions would be worth '
                        "different points (%(worth)s), and its students would sit exams of different "
                        "totals. Give them the same points."
                    )
                    % {
                        "exam": draw.exam,
                        "draw": draw.draw_summary,
                        "worth": ", ".join(sorted(f"{p.normalize():f}" for p in worth)),
                    }
                )
            if len(matching) < draw.draw_count:
                raise ValidationError(
                    _('The exam "%(exam)s" draws %(draw)s: the bank would have only %(count)d matching them.')
                    % {"exam": draw.exam, "draw": draw.draw_summary, "count": len(matching)}
                )


class BankQuestionInline(SortableStackedInline):
    """A bank's questions: the same types, fields and grading as an exam's, tagged by topic and
    difficulty. Frozen (new ones may still be added) once a student has started an exam that
    draws from the bank: any of them may have been drawn, and answers refer to them."""

    model = models.Question
    fk_name = "bank"
    form = BankQuestionAdminForm
    formset = BankQuestionsFormSet
    extra = 0
    ordering = ["order", "id"]
    fields = [
        "type",
        "text",
        "choices",
        "pairs",
        ("numeric_value", "numeric_tolerance"),
        "image",
        "language",
        ("topic", "difficulty"),
        "points",
        "explanation",
        "order",
    ]
    verbose_name = _("bank question")
    verbose_name_plural = _("questions of the bank (tag each with a topic and a difficulty for draws)")

    class Media:
        js = ["js/admin/questions.js"]
        css = {"all": ["css/admin-questions.css"]}

    def _may_edit(self, request, obj) -> bool:
        return user_can(request.user, Can.AUTHOR_EXAMS) and (
            obj is None or banks_visible_to(request.user).filter(pk=obj.pk).exists()
        )

    def has_view_permission(self, request, obj=None) -> bool:
        return self._may_edit(request, obj)

    def has_add_permission(self, request, obj=None) -> bool:
        return self._may_edit(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._may_edit(request, obj) and (obj is None or not bank_has_draws_sat(obj))

    has_delete_permission = has_change_permission


@admin.register(models.QuestionBank)
class QuestionBankAdmin(SortableAdminBase, admin.ModelAdmin):
    """A course's question banks, for its teachers (admins see all): exams of the course draw
    from them (a draw entry in the exam's question list)."""

    list_display = ["title", "course", "question_count", "topics"]
    list_filter = ["course"]
    search_fields = ["title", "questions__topic"]
    fields = ["title", "course", "description"]
    inlines = [BankQuestionInline]

    def get_queryset(self, request):
        return banks_visible_to(request.user)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        # A teacher files a bank under a course they teach, never another teacher's.
        form.base_fields["course"].queryset = courses_visible_to(request.user)
        return form

    def has_module_permission(self, request) -> bool:
        return user_can(request.user, Can.AUTHOR_EXAMS)

    def has_view_permission(self, request, obj=None) -> bool:
        if not user_can(request.user, Can.AUTHOR_EXAMS):
            return False
        return obj is None or banks_visible_to(request.user).filter(pk=obj.pk).exists()

    has_change_permission = has_view_permission

    def has_add_permission(self, request) -> bool:
        return user_can(request.user, Can.AUTHOR_EXAMS)

    def has_delete_permission(self, request, obj=None) -> bool:
        # A bank an exam draws from is protected (Question.draw_from): the admin says so.
        return self.has_change_permission(request, obj)

    @admin.display(description=_("questions"))
    def question_count(self, bank: models.QuestionBank) -> int:
        return bank.questions.count()

    @admin.display(description=_("topics"))
    def topics(self, bank: models.QuestionBank) -> str:
        names = sorted({t for t in bank.questions.values_list("topic", flat=True) if t}, key=str.casefold)
        return ", ".join(names) or "—"


class EnrolmentForm(forms.ModelForm):
    """A student is added by e-mail address: a teacher is never shown the platform's other students."""

    email = forms.EmailField(label=_("Student's e-mail"), required=False)

    class Meta:
        model = models.Enrolment
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["email"].initial = self.instance.student.email
            self.fields["email"].disabled = True

    def clean(self) -> dict:
        data = super().clean()
        if self.instance.pk or not data.get("email"):
            return data
        try:
            self.instance.student = student_for_enrolment(
                course_id=self.instance.course_id, email=data["email"]
            )
        except ApplicationError as exc:
            raise ValidationError({"email": exc.message}) from None
        return data


class EnrolmentFormSet(BaseInlineFormSet):
    """The same student in two new rows is an error on the second (it was a 500)."""

    def clean(self) -> None:
        super().clean()
        listed = set()
        for form in self.forms:
            student_id = form.instance.student_id
            if form.instance.pk or student_id is None or self._should_delete_form(form):
                continue
            if student_id in listed:
                form.add_error("email", _("This student is listed twice."))
            listed.add(student_id)


class EnrolmentInline(admin.TabularInline):
    model = models.Enrolment
    form = EnrolmentForm
    formset = EnrolmentFormSet
    extra = 1
    fields = ["email", "source", "enrolled_at"]
    readonly_fields = ["source", "enrolled_at"]

    def has_view_permission(self, request, obj=None) -> bool:
        return user_can(request.user, Can.AUTHOR_EXAMS)

    has_add_permission = has_change_permission = has_delete_permission = has_view_permission


@admin.register(models.Course)
class CourseAdmin(admin.ModelAdmin):
    """A teacher's courses: their students (search by e-mail or name), co-teachers and proctors."""

    list_display = ["title", "code", "term", "student_count", "join_code"]
    search_fields = ["title", "code", "term", "enrolments__student__email", "enrolments__student__last_name"]
    filter_horizontal = ["teachers", "proctors"]
    readonly_fields = ["join_code", "enrol_csv_link"]
    fields = ["title", "code", "term", "teachers", "proctors", "join_code", "enrol_csv_link"]
    inlines = [EnrolmentInline]
    actions = ["new_join_code"]

    def get_queryset(self, request):
        return courses_visible_to(request.user).distinct()

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        # The teacher who makes or saves a course teaches it (save_related): not a field to fill.
        form.base_fields["teachers"].required = False
        return form

    def has_module_permission(self, request) -> bool:
        return user_can(request.user, Can.AUTHOR_EXAMS)

    def has_view_permission(self, request, obj=None) -> bool:
        if not user_can(request.user, Can.AUTHOR_EXAMS):
            return False
        return obj is None or user_may_edit_course(request.user, obj)

    has_change_permission = has_view_permission

    def has_add_permission(self, request) -> bool:
        return user_can(request.user, Can.AUTHOR_EXAMS)

    def has_delete_permission(self, request, obj=None) -> bool:
        return user_may_delete_course(request.user, obj)

    def save_formset(self, request, form, formset, change: bool) -> None:
        # The students added and removed here are enrolled and taken out by the services, as
        # those of the API and the CSV roster are. save(commit=False) only sorts the rows into
        # new_objects and deleted_objects (which the admin's change message reads too).
        formset.save(commit=False)
        course = form.instance
        services.course_enrol(
            course=course,
            students=[enrolment.student for enrolment in formset.new_objects],
            source=models.Enrolment.Source.ADMIN,
        )
        for enrolment in formset.deleted_objects:
            services.course_student_remove(course=course, student_id=enrolment.student_id)

    def save_related(self, request, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        services.course_teacher_keep(course=form.instance, actor=request.user)

    @admin.display(description=_("students"))
    def student_count(self, course: models.Course) -> int:
        return course.enrolments.count()

    @admin.action(description=_("New join code (the old one stops working)"))
    def new_join_code(self, request, queryset) -> None:
        # The changelist lists only the courses the user may change (get_queryset).
        for course in queryset:
            code = services.course_join_code_rotate(course=course)
            done = _("%(course)s: the join code is now %(code)s.") % {"course": course, "code": code}
            self.message_user(request, done, messages.SUCCESS)

    @admin.display(description=_("enrol from a file"))
    def enrol_csv_link(self, course: models.Course) -> str:
        if not course.pk:
            return _("Save the course first, then enrol students from a CSV file.")
        url = reverse("admin:exams_course_enrol_csv", args=[course.pk])
        return format_html('<a href="{}">{}</a>', url, _("Enrol students from a CSV file"))

    def get_urls(self):
        custom = [
            path(
                "<int:course_id>/enrol-csv/",
                self.admin_site.admin_view(self.enrol_csv_view),
                name="exams_course_enrol_csv",
            ),
            path(
                "<int:course_id>/enrol-csv/errors.csv",
                self.admin_site.admin_view(self.enrol_csv_errors_view),
                name="exams_course_enrol_csv_errors",
            ),
        ]
        return custom + super().get_urls()

    def enrol_csv_view(self, request, course_id: int):
        """Upload → preview (a dry run: what each row would do, and its errors) → confirm."""
        # Only a teacher of this course (or an admin): another teacher's course is a 404.
        course = course_get_for_user(user=request.user, course_id=course_id, for_edit=True)
        form = RosterUploadForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            content = form.cleaned_data["content"]
            confirmed = "confirm" in request.POST and not request.FILES
            report = course_roster_import(
                course=course, actor=request.user, content=content, dry_run=not confirmed
            )
            roster_errors_keep(course=course, user=request.user, report=report)
            if confirmed and not report.problems:
                self._enrol_csv_message(request, report, course)
                return redirect("admin:exams_course_change", course.pk)
            form = RosterUploadForm(initial={"content": content})
        context = {
            **self.admin_site.each_context(request),
            "title": _("Enrol students in %(course)s from a CSV file") % {"course": course},
            "course": course,
            "form": form,
            "report": report,
            "opts": self.model._meta,
        }
        return render(request, "admin/exams/course/enrol_csv.html", context)

    def enrol_csv_errors_view(self, request, course_id: int):
        """The rows with errors of this user's latest upload into the course, as CSV with an
        `error` column, to fix and upload again. Only the user who uploaded reads it."""
        course = course_get_for_user(user=request.user, course_id=course_id, for_edit=True)
        text = roster_errors_get(course=course, user=request.user)
        if text is None:
            raise Http404("No rows with errors to download: upload the file again.")
        # With the byte-order mark, Excel opens UTF-8 as UTF-8; the importer ignores it.
        response = HttpResponse("\ufeff" + text, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="enrolment-errors-course-{course.pk}.csv"'
        response["Cache-Control"] = "private, no-store"
        return response

    def _enrol_csv_message(self, request, report, course) -> None:
        done = _(
            "%(enrolled)d enrolled, %(invited)d invited and enrolled, "
            "%(updated)d student id(s) updated, %(unchanged)d already enrolled."
        ) % {
            "enrolled": report.count("enrol"),
            "invited": report.count("invite"),
            "updated": report.count("update"),
            "unchanged": report.count("unchanged"),
        }
        messages.success(request, done)
        for row in report.rows:
            if row.status == "error":
                where = _("Row %(number)s (%(email)s)") % {
                    "number": row.number,
                    "email": row.email or _("no e-mail"),
                }
                messages.error(request, f"{where}: {' '.join(row.errors)}")
        if errors := report.error_count:
            words = ngettext(
                '<a href="{url}" id="roster-errors-download">Download the {count} row with errors as CSV</a>'
                " (with an error column: fix them and upload that file again).",
                '<a href="{url}" id="roster-errors-download">Download the {count} rows with errors as CSV</a>'
                " (with an error column: fix them and upload that file again).",
                errors,
            )
            link = format_html(
                words, url=reverse("admin:exams_course_enrol_csv_errors", args=[course.pk]), count=errors
            )
            messages.warning(request, link)
