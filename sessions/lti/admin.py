from django.contrib import admin, messages
from django.db import models
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from sessions.lti.grades import lti_scores_retry
from sessions.lti.keys import tool_key_create
from sessions.lti.services import roster_sync_enqueue
from sessions.models import (
    LtiContext,
    LtiDeployment,
    LtiPlatform,
    LtiResourceLink,
    LtiScoreDelivery,
    LtiToolKey,
    LtiUser,
)


class AdministratorsOnly:
    """Registering an LMS decides who may sign in as whom: Procto administrators only, not teachers."""

    def _is_admin(self, request) -> bool:
        return request.user.is_active and (request.user.is_superuser or request.user.role == User.Role.ADMIN)

    def has_module_permission(self, request) -> bool:
        return self._is_admin(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._is_admin(request)

    def has_add_permission(self, request, obj=None) -> bool:
        return self._is_admin(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._is_admin(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._is_admin(request)


class LtiDeploymentInline(AdministratorsOnly, admin.TabularInline):
    model = LtiDeployment
    extra = 1


@admin.register(LtiPlatform)
class LtiPlatformAdmin(AdministratorsOnly, admin.ModelAdmin):
    list_display = ["name", "issuer", "client_id", "is_active"]
    search_fields = ["name", "issuer", "client_id"]
    inlines = [LtiDeploymentInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_fieldsets(self, request, obj=None):
        def url(name: str) -> str:
            return request.build_absolute_uri(reverse(name))

        tool = format_html(
            _(
                "Enter these in the LMS (docs/LTI.md): <br>Tool URL / Target link URI and Redirection URI: "
                "<code>{launch}</code><br>Initiate login URL: <code>{login}</code><br>"
                "Public keyset URL: <code>{jwks}</code>"
            ),
            launch=url("lti-launch"),
            login=url("lti-login"),
            jwks=url("lti-jwks"),
        )
        return [
            (_("Procto's URLs"), {"fields": (), "description": tool}),
            (None, {"fields": ["name", "issuer", "client_id", "is_active"]}),
            (_("The platform's URLs"), {"fields": ["auth_login_url", "auth_token_url", "auth_audience"]}),
            (_("The platform's public keys (one of the two)"), {"fields": ["key_set_url", "key_set"]}),
            (
                _("Inside the LMS page (iframe)"),
                {
                    "fields": ["frame_origins", "frame_ancestors_now"],
                    "description": _(
                        "The LMS may show Procto inside its own pages (docs/LTI.md) from "
                        "these origins only: its issuer's and auth login URL's, and those entered here."
                    ),
                },
            ),
        ]

    def get_readonly_fields(self, request, obj=None):
        return ["frame_ancestors_now"]

    @admin.display(description=_("May frame Procto now"))
    def frame_ancestors_now(self, obj: LtiPlatform) -> str:
        origins = obj.frame_ancestors if obj.pk else []
        return format_html_join(", ", "<code>{}</code>", ((origin,) for origin in origins)) or "—"


@admin.register(LtiToolKey)
class LtiToolKeyAdmin(AdministratorsOnly, admin.ModelAdmin):
    """Adding a key makes it current (it is generated, nothing to fill in); the older keys stay
    published at /lti/jwks until deleted here, once the platforms have fetched the new one."""

    list_display = ["kid", "created_at"]
    readonly_fields = ["kid", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            tool_key_create(obj)


@admin.register(LtiContext)
class LtiContextAdmin(AdministratorsOnly, admin.ModelAdmin):
    list_display = ["__str__", "platform", "context_id", "course"]
    list_select_related = ["platform", "course"]
    search_fields = ["title", "context_id"]
    raw_id_fields = ["course"]
    readonly_fields = ["platform", "context_id", "memberships_url", "roster_synced_at"]
    actions = ["roster_sync_now"]

    @admin.action(description=_("Sync roster now (enrol the LMS course's learners)"))
    def roster_sync_now(self, request, queryset):
        contexts = list(queryset.exclude(memberships_url="").exclude(course=None))
        for context in contexts:
            roster_sync_enqueue(context)
        self.message_user(
            request,
            _(
                "Roster sync started for %(started)d LMS course(s); "
                "%(skipped)d without a roster URL or Procto course skipped."
            )
            % {"started": len(contexts), "skipped": queryset.count() - len(contexts)},
            messages.SUCCESS,
        )


@admin.register(LtiResourceLink)
class LtiResourceLinkAdmin(AdministratorsOnly, admin.ModelAdmin):
    list_display = ["__str__", "platform", "context", "exam"]
    list_select_related = ["platform", "context", "exam"]
    raw_id_fields = ["exam"]
    readonly_fields = ["platform", "resource_link_id", "context", "lineitem_url"]


@admin.register(LtiUser)
class LtiUserAdmin(AdministratorsOnly, admin.ModelAdmin):
    list_display = ["sub", "platform", "user", "created_at"]
    list_select_related = ["platform", "user"]
    search_fields = ["sub", "user__email"]
    readonly_fields = ["platform", "sub", "user", "created_at"]


@admin.register(LtiScoreDelivery)
class LtiScoreDeliveryAdmin(AdministratorsOnly, admin.ModelAdmin):
    """Every score on its way to an LMS gradebook and how it went (sessions.lti.grades); written
    by grading, never here. "Send again" retries refused and given-up ones."""

    list_display = ["student", "exam", "link", "state", "score", "attempts", "last_error", "next_attempt_at"]
    list_filter = ["state", "link__platform"]
    list_select_related = ["session__student", "session__exam", "link__platform"]
    search_fields = ["session__student__email", "session__exam__title", "last_error"]
    readonly_fields = [field.name for field in LtiScoreDelivery._meta.fields]
    actions = ["send_again"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("student"), ordering="session__student__email")
    def student(self, obj: LtiScoreDelivery) -> str:
        return obj.session.student_name

    @admin.display(description=_("exam"), ordering="session__exam__title")
    def exam(self, obj: LtiScoreDelivery) -> str:
        return str(obj.session.exam)

    @admin.display(description=_("Score sent"))
    def score(self, obj: LtiScoreDelivery) -> str:
        return f"{obj.score_given} / {obj.score_maximum}"

    @admin.action(description=_("Send again (refused and given-up scores)"))
    def send_again(self, request, queryset):
        count = lti_scores_retry(actor=request.user, delivery_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request, _("%(count)d score(s) sent to the LMS again.") % {"count": count}, messages.SUCCESS
        )
