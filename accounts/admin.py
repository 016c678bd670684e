from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.forms import UserAdminChangeForm, UserAdminCreationForm
from accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserAdminChangeForm
    add_form = UserAdminCreationForm
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "role", "institution", "is_verified"]
    list_filter = ["role", "is_verified", "is_active", "is_staff"]
    search_fields = ["email", "first_name", "last_name", "institution"]
    readonly_fields = ["last_login", "date_joined", "updated_at", "verified_at", "token_version"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "institution", "role"]}),
        ("Identity", {"fields": ["photo", "id_card", "is_verified", "verified_at"]}),
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

    def save_model(self, request, obj: User, form, change: bool) -> None:
        if not change:
            obj.is_staff = obj.role in User.STAFF_ROLES or obj.is_superuser
        super().save_model(request, obj, form, change)
