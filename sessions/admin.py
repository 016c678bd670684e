from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

import sessions.lti.admin  # noqa: F401 - registers the LTI platforms, keys and links
from accounts.admin import ViewerAwareAdmin, identity_images_html
from accounts.identity_service import verification_review
from accounts.models import IdentityVerification
from accounts.permissions import Can, user_can
from sessions.admissions import admissions_watchable_by
from sessions.links import report_links
from sessions.models import Admission, Answer, ExamSession
from sessions.selectors import sessions_watchable_by, students_overseen_by


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0
    can_delete = False
    fields = ["question", "response", "score", "feedback", "updated_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class RecordAdmin(admin.ModelAdmin):
    """Records reviewers read in the admin; services write them, never the admin."""

    def has_module_permission(self, request) -> bool:
        return user_can(request.user, Can.REVIEW_SESSIONS) and request.user.is_staff

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ExamSession)
class ExamSessionAdmin(RecordAdmin):
    """Sessions are records: read here, graded on the grading page, changed by services only."""

    list_display = [
        "student",
        "exam",
        "attempt",
        "status",
        "started_at",
        "final_score",
        "grading",
        "grade_link",
        "record_links",
    ]
    # Only the exams of the sessions listed: a related filter would name every exam otherwise.
    list_filter = ["status", "grading", ("exam", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["student__email", "student__last_name", "exam__title"]
    inlines = [AnswerInline]
    readonly_fields = [f.name for f in ExamSession._meta.fields] + ["grade_link", "record_links"]

    def get_queryset(self, request):
        return sessions_watchable_by(request.user)

    @admin.display(description=_("records"))
    def record_links(self, session: ExamSession) -> str:
        links = report_links(session)
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">PDF</a> · <a href="{}">CSV</a> · <a href="{}">JSON</a>',
            links["detail"],
            _("Session page"),
            links["pdf"],
            links["csv"],
            links["json"],
        )

    @admin.display(description=_("grading page"))
    def grade_link(self, session: ExamSession) -> str:
        return format_html('<a href="{}">{}</a>', reverse("grade-session", args=[session.pk]), _("Grade"))


@admin.register(Admission)
class AdmissionAdmin(RecordAdmin):
    """Who admitted or turned away whom, and when: the record of the admit-students mode.
    Decisions are taken on the live monitor, never here."""

    list_display = [
        "student",
        "exam",
        "status",
        "requested_at",
        "decided_by",
        "decided_at",
        "reason",
        "session",
    ]
    list_filter = ["status", ("exam", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["student__email", "student__last_name", "exam__title"]
    list_select_related = ["student", "exam", "decided_by", "session"]
    readonly_fields = [f.name for f in Admission._meta.fields]

    def get_queryset(self, request):
        # The same requests the live monitor shows this user.
        return admissions_watchable_by(request.user)


@admin.register(IdentityVerification)
class IdentityVerificationAdmin(ViewerAwareAdmin):
    """Teachers and admins review automatic decisions, above all the mismatches."""

    list_display = ["user", "created_at", "outcome", "review", "photo_id_distance", "threshold"]
    list_filter = ["review", "outcome"]
    search_fields = ["user__email", "user__last_name"]
    list_select_related = ["user", "reviewed_by"]
    actions = ["approve", "reject"]
    fields = [
        "user",
        "created_at",
        "images",
        "outcome",
        "photo_id_distance",
        "photo_live_distance",
        "threshold",
        "review",
        "reviewed_by",
        "reviewed_at",
        "review_reason",
    ]
    readonly_fields = [f for f in fields if f != "review_reason"]

    def get_queryset(self, request):
        # Teachers review the students of their own exams; admins everyone's.
        return super().get_queryset(request).filter(user__in=students_overseen_by(request.user))

    def has_module_permission(self, request) -> bool:
        return user_can(request.user, Can.REVIEW_IDENTITY)

    def has_view_permission(self, request, obj=None) -> bool:
        return user_can(request.user, Can.REVIEW_IDENTITY)

    def has_change_permission(self, request, obj=None) -> bool:
        return user_can(request.user, Can.REVIEW_IDENTITY)

    def has_add_permission(self, request) -> bool:
        return False  # verifications come from students' uploads only

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the record of who decided what is kept

    @admin.display(description=_("Images"))
    def images(self, verification: IdentityVerification) -> str:
        return identity_images_html(
            verification.user,
            {
                _("Face photo"): verification.photo,
                _("ID card"): verification.id_card,
                _("Webcam capture"): verification.live_capture,
            },
        )

    def save_model(self, request, obj: IdentityVerification, form, change: bool) -> None:
        # Only the reason is editable; the decision goes through the actions below.
        IdentityVerification.objects.filter(pk=obj.pk).update(review_reason=obj.review_reason)

    def _review(self, request, queryset, *, approve: bool) -> None:
        for verification in queryset:
            verification_review(
                verification=verification,
                reviewer=request.user,
                approve=approve,
                reason=verification.review_reason or f"{'approved' if approve else 'rejected'} in the admin",
            )
        count = {"count": queryset.count()}
        done = (
            _("%(count)d verification(s) approved.") % count
            if approve
            else _("%(count)d verification(s) rejected.") % count
        )
        self.message_user(request, done, messages.SUCCESS)

    @admin.action(description=_("Approve: the faces are the same person"))
    def approve(self, request, queryset) -> None:
        self._review(request, queryset, approve=True)

    @admin.action(description=_("Reject: not the same person"))
    def reject(self, request, queryset) -> None:
        self._review(request, queryset, approve=False)
