import tempfile
from contextvars import ContextVar

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import FileResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from accounts.forms import UserAdminChangeForm, UserAdminCreationForm
from accounts.identity_files import identity_blob_url
from accounts.models import AuditEntry, TokenFamily, User
from accounts.permissions import Can, user_can
from accounts.personal_data import (
    account_delete,
    personal_data_blockers,
    personal_data_export,
    personal_data_purge,
)
from accounts.services import token_family_revoke
from procto.errors import ApplicationError

# ModelAdmin instances serve every request at once; the viewer of the page being rendered is
# kept per request (thread or task), because image URLs are minted for that viewer only.
_viewer: ContextVar[User | None] = ContextVar("admin_viewer", default=None)


class ViewerAwareAdmin(admin.ModelAdmin):
    def changeform_view(self, request, *args, **kwargs):
        token = _viewer.set(request.user)
        try:
            response = super().changeform_view(request, *args, **kwargs)
            # Render now: the readonly fields read the viewer while the template renders.
            return response.render() if hasattr(response, "render") else response
        finally:
            _viewer.reset(token)


def identity_images_html(owner: User, names: dict[str, str]) -> str:
    """The owner's identity images, each by a URL minted for the admin page's viewer."""
    viewer = _viewer.get()
    if viewer is None:
        return "—"
    urls = [
        (label, identity_blob_url(owner=owner, name=name, viewer=viewer))
        for label, name in names.items()
        if name
    ]
    return (
        format_html_join(
            "",
            '<figure style="display:inline-block;margin:0 1em 0 0"><img src="{}" alt="{}" '
            'style="max-width:240px;max-height:240px"><figcaption>{}</figcaption></figure>',
            ((url, label, label) for label, url in urls if url),
        )
        or "—"
    )


@admin.register(User)
class UserAdmin(ViewerAwareAdmin, DjangoUserAdmin):
    form = UserAdminChangeForm
    add_form = UserAdminCreationForm
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "role", "institution", "is_verified", "is_active"]
    list_filter = ["role", "is_verified", "is_active", "is_staff"]
    search_fields = ["email", "first_name", "last_name", "institution"]
    actions = ["export_personal_data", "purge_proctoring_data"]
    readonly_fields = [
        "identity_images",
        "last_login",
        "date_joined",
        "updated_at",
        "verified_at",
        "token_version",
    ]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Person"), {"fields": ["first_name", "last_name", "institution", "role"]}),
        (_("Identity"), {"fields": ["identity_images", "is_verified", "verified_at"]}),
        (
            _("Access"),
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        (_("History"), {"fields": ["last_login", "date_joined", "updated_at", "token_version"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "email",
                    "first_name",
                    "last_name",
                    "role",
                    "usable_password",
                    "password1",
                    "password2",
                ],
            },
        ),
    ]

    @admin.display(description=_("Photo and ID card"))
    def identity_images(self, user: User) -> str:
        return identity_images_html(user, {_("Photo"): user.photo, _("ID card"): user.id_card})

    def save_model(self, request, obj: User, form, change: bool) -> None:
        if not change:
            obj.is_staff = obj.role in User.STAFF_ROLES or obj.is_superuser
        super().save_model(request, obj, form, change)

    # --- a person's data (accounts.personal_data; docs/PRIVACY.md) ---------------------------------

    def has_manage_personal_data_permission(self, request) -> bool:
        return user_can(request.user, Can.MANAGE_USERS)

    @admin.action(
        description=_("Export everything held about this person (ZIP)"), permissions=["manage_personal_data"]
    )
    def export_personal_data(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Export one person at a time."), messages.ERROR)
            return None
        user = queryset.get()
        # Room videos make it large: it is written to disk past a few megabytes, not kept in memory.
        out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (FileResponse closes it)
        personal_data_export(actor=request.user, user=user, out=out, request=request)
        out.seek(0)
        name = f"procto-personal-data-{user.pk}-{timezone.now():%Y%m%d}.zip"
        return FileResponse(out, as_attachment=True, filename=name, content_type="application/zip")

    @admin.action(description=_("Purge their proctoring data…"), permissions=["manage_personal_data"])
    def purge_proctoring_data(self, request, queryset):
        blockers = [reason for user in queryset for reason in personal_data_blockers(user)]
        if request.POST.get("post") == "yes" and not blockers:
            for user in queryset:
                try:
                    personal_data_purge(actor=request.user, user=user, request=request)
                except ApplicationError as exc:
                    self.message_user(request, f"{user}: {exc.message}", messages.ERROR)
                else:
                    done = _("%(user)s: proctoring data purged.") % {"user": user}
                    self.message_user(request, done, messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Purge proctoring data"),
            "queryset": queryset,
            "blockers": blockers,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/accounts/user/purge_confirmation.html", context)

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # What goes with an account (identity verifications, which nobody deletes by hand, its
        # checks and logins) is account_delete's to delete: an administrator needs no permission
        # on each of those models, anyone else may not delete accounts at all.
        if user_can(request.user, Can.MANAGE_USERS):
            perms_needed = set()
        else:
            perms_needed.add(_("users (only an administrator deletes accounts)"))
        # An account is not deleted while its person sits an exam: shown as Django shows what
        # protects an object, and the deletion is refused.
        protected = [*protected, *(reason for user in objs for reason in personal_data_blockers(user))]
        return deleted, counts, perms_needed, protected

    def delete_model(self, request, obj: User) -> None:
        account_delete(actor=request.user, user=obj, request=request)

    def delete_queryset(self, request, queryset) -> None:
        for user in queryset:
            account_delete(actor=request.user, user=user, request=request)


@admin.register(TokenFamily)
class TokenFamilyAdmin(admin.ModelAdmin):
    """API logins, for answering "where am I logged in?" and ending a stolen one."""

    list_display = ["user", "created_at", "last_used_at", "ip", "revoked_at", "revoked_reason"]
    list_filter = ["revoked_reason"]
    search_fields = ["user__email", "ip"]
    readonly_fields = [f.name for f in TokenFamily._meta.fields]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description=_("End these logins now"))
    def revoke(self, request, queryset) -> None:
        for family in queryset.select_related("user"):
            token_family_revoke(user=family.user, family_id=family.id, reason="revoked-by-admin")
        self.message_user(request, _("Logins ended; their sockets were closed."), messages.SUCCESS)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit trail, for administrators: read only, nothing edited or deleted by hand."""

    list_display = ["at", "action", "actor_ref", "actor", "target_ref", "target", "ip"]
    list_filter = ["action"]
    search_fields = ["actor__email", "target__email", "ip"]
    date_hierarchy = "at"
    list_select_related = ["actor", "target"]
    readonly_fields = [field.name for field in AuditEntry._meta.fields]

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
