from django import forms
from django.conf import settings
from django.contrib.auth.forms import AdminUserCreationForm, AuthenticationForm, UserChangeForm
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.errors import AccountLocked, InvalidCredentials
from accounts.images import MAX_BYTES
from accounts.models import User


class UserAdminCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email", "first_name", "last_name", "role")


class UserAdminChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


class ThrottledLoginForm(AuthenticationForm):
    """Django's login form through the same service as the API: failures count per (e-mail,
    address) pair, and a locked pair is told for how long (axes' middleware adds Retry-After)."""

    def clean(self) -> dict:
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email and password:
            try:
                self.user_cache = services.user_authenticate(
                    request=self.request, email=email, password=password
                )
            except AccountLocked as exc:
                raise ValidationError(exc.message, code="locked") from exc
            except InvalidCredentials as exc:
                raise ValidationError(exc.message, code="invalid_login") from exc
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class RegisterForm(forms.Form):
    first_name = forms.CharField(max_length=150, label=_("First name"))
    last_name = forms.CharField(max_length=150, label=_("Last name"))
    email = forms.EmailField(max_length=254, label=_("E-mail"))
    institution = forms.CharField(max_length=200, required=False, label=_("School or university"))
    password = forms.CharField(widget=forms.PasswordInput, label=_("Password"), strip=False)
    password_again = forms.CharField(widget=forms.PasswordInput, label=_("Password again"), strip=False)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("password") != data.get("password_again"):
            self.add_error("password_again", _("The two passwords differ."))
        elif data.get("password"):
            candidate = User(
                email=data.get("email", ""),
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
            )
            try:
                validate_password(data["password"], user=candidate)
            except ValidationError as exc:
                self.add_error("password", exc)
        return data


class RegisterConfirmForm(forms.Form):
    password = forms.CharField(widget=forms.PasswordInput, label=_("Password"), strip=False)


class ProfileForm(forms.ModelForm):
    # Each language in its own name (settings.LANGUAGES), after "your browser's".
    language = forms.ChoiceField(
        choices=[("", _("Your browser's language")), *settings.LANGUAGES], required=False, label=_("Language")
    )

    class Meta:
        model = User
        fields = ["first_name", "last_name", "institution", "time_zone", "language"]
        labels = {"institution": _("School or university"), "time_zone": _("Time zone")}
        help_texts = {
            "time_zone": _("Procto shows you every time (deadlines, e-mails, reports) in this zone."),
            "language": _("The language of Procto's pages, e-mails and reports."),
        }


class IdentityForm(forms.Form):
    photo = forms.FileField(label=_("Photo of your face"), required=False)
    id_card = forms.FileField(label=_("Photo of your ID card"), required=False)

    def clean(self) -> dict:
        data = super().clean()
        for name in ("photo", "id_card"):
            upload = data.get(name)
            if upload is not None and upload.size > MAX_BYTES:
                self.add_error(
                    name, _("The file is too large; the limit is %(mb)d MB.") % {"mb": MAX_BYTES // 1_048_576}
                )
        return data
