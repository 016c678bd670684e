from contextvars import ContextVar

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.html import format_html_join

from accounts.forms import UserAdminChangeForm, UserAdminCreationForm
from accounts.identity_files import identity_blob_url
from accounts.models import AuditEntry, TokenFamily, User
from accounts.services import token_family_revoke

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
        ("Person", {"fields": ["first_name", "last_name", "institution", "role"]}),
        ("Identity", {"fields": ["identity_images", "is_verified", "verified_at"]}),
        (
            "Access",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("History", {"fields": ["last_login", "date_joined", "updated_at", "token_version"]}),
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

    @admin.display(description="Photo and ID card")
    def identity_images(self, user: User) -> str:
        return identity_images_html(user, {"Photo": user.photo, "ID card": user.id_card})

    def save_model(self, request, obj: User, form, change: bool) -> None:
        if not change:
            obj.is_staff = obj.role in User.STAFF_ROLES or obj.is_superuser
        super().save_model(request, obj, form, change)


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

    @admin.action(description="End these logins now")
    def revoke(self, request, queryset) -> None:
        for family in queryset.select_related("user"):
            token_family_revoke(user=family.user, family_id=family.id, reason="revoked-by-admin")
        self.message_user(request, "Logins ended; their sockets were closed.", messages.SUCCESS)


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
