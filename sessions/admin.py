from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from accounts.permissions import Can, user_can
from sessions.models import Answer, ExamSession
from sessions.selectors import sessions_watchable_by


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0
    can_delete = False
    fields = ["question", "response", "score", "feedback", "updated_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ExamSession)
class ExamSessionAdmin(admin.ModelAdmin):
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
    ]
    list_filter = ["status", "grading", "exam"]
    search_fields = ["student__email", "student__last_name", "exam__title"]
    inlines = [AnswerInline]
    readonly_fields = [f.name for f in ExamSession._meta.fields] + ["grade_link"]

    def get_queryset(self, request):
        return sessions_watchable_by(request.user)

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

    @admin.display(description="grading page")
    def grade_link(self, session: ExamSession) -> str:
        return format_html('<a href="{}">Grade</a>', reverse("grade-session", args=[session.pk]))
