"""API shapes. Field names are snake_case here; the wire is camelCase (firstName, isVerified)."""

from __future__ import annotations

from rest_framework import serializers

from accounts.identity_files import identity_file_url
from accounts.identity_service import identity_upload_size_check
from accounts.models import IdentityVerification, User


class UserOutput(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    institution_id = serializers.CharField(source="institution", read_only=True)
    photo_url = serializers.SerializerMethodField()
    id_card_url = serializers.SerializerMethodField()
    last_login = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(source="date_joined", read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "role",
            "first_name",
            "last_name",
            "institution_id",
            "photo_url",
            "id_card_url",
            "is_verified",
            "last_login",
            "created_at",
            "updated_at",
        ]

    def _file_url(self, user: User, kind: str) -> str | None:
        request = self.context.get("request")
        if not getattr(user, kind) or request is None:
            return None
        return identity_file_url(owner=user, kind=kind, viewer=request.user)

    def get_photo_url(self, user: User) -> str | None:
        return self._file_url(user, "photo")

    def get_id_card_url(self, user: User) -> str | None:
        return self._file_url(user, "id_card")


class RegisterInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    first_name = serializers.CharField(max_length=150)
    last_name = serializers.CharField(max_length=150)
    institution_id = serializers.CharField(max_length=200, required=False, allow_blank=True)


class RegisterConfirmInput(serializers.Serializer):
    token = serializers.CharField(max_length=100)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class LoginInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class RefreshInput(serializers.Serializer):
    refresh_token = serializers.CharField(max_length=2048)


class LogoutInput(serializers.Serializer):
    refresh_token = serializers.CharField(max_length=2048, required=False)
    everywhere = serializers.BooleanField(default=False)


class TokenPairOutput(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    token_type = serializers.SerializerMethodField()
    expires_in = serializers.IntegerField(source="access_expires_in")
    user = UserOutput()

    def get_token_type(self, pair) -> str:
        return "Bearer"


def identity_image_size_check(upload, field: serializers.Field) -> None:
    """A validator: an identity image over the limit is 413 TOO_LARGE (VerificationFailed, which
    DRF lets through to the exception handler), not a 400 among the fields' errors."""
    identity_upload_size_check(field.field_name, upload.size)


identity_image_size_check.requires_context = True


class VerifyIdentityInput(serializers.Serializer):
    photo = serializers.FileField(required=False, validators=[identity_image_size_check])
    id_card = serializers.FileField(required=False, validators=[identity_image_size_check])
    live_capture = serializers.FileField(required=False, validators=[identity_image_size_check])


class VerificationOutput(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    is_verified = serializers.BooleanField(source="user.is_verified")

    class Meta:
        model = IdentityVerification
        fields = [
            "id",
            "created_at",
            "outcome",
            "review",
            "photo_id_distance",
            "photo_live_distance",
            "threshold",
            "is_verified",
        ]
