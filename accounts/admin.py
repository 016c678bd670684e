from contextvars import ContextVar

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.html import format_html_join

from accounts.forms import UserAdminChangeForm, UserAdminCreationForm
from accounts.identity_files import identity_blob_url
from accounts.identity_service import verification_review
from accounts.models import IdentityVerification, TokenFamily, User
from accounts.permissions import Can, user_can
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


def _images(owner: User, names: dict[str, str]) -> str:
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
        return _images(user, {"Photo": user.photo, "ID card": user.id_card})

    def save_model(self, request, obj: User, form, change: bool) -> None:
        if not change:
            obj.is_staff = obj.role in User.STAFF_ROLES or obj.is_superuser
        super().save_model(request, obj, form, change)


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
        from sessions.selectors import students_overseen_by

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

    @admin.display(description="Images")
    def images(self, verification: IdentityVerification) -> str:
        return _images(
            verification.user,
            {
                "Face photo": verification.photo,
                "ID card": verification.id_card,
                "Webcam capture": verification.live_capture,
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
        verb = "approved" if approve else "rejected"
        self.message_user(request, f"{queryset.count()} verification(s) {verb}.", messages.SUCCESS)

    @admin.action(description="Approve: the faces are the same person")
    def approve(self, request, queryset) -> None:
        self._review(request, queryset, approve=True)

    @admin.action(description="Reject: not the same person")
    def reject(self, request, queryset) -> None:
        self._review(request, queryset, approve=False)


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
