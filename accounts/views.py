from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.i18n import set_language

from accounts import email_limits, services
from accounts.errors import (
    EmailDomainNotAllowed,
    EmailTaken,
    IdentityBusy,
    InvalidCredentials,
    RegistrationLinkInvalid,
    VerificationFailed,
)
from accounts.forms import IdentityForm, ProfileForm, RegisterConfirmForm, RegisterForm
from accounts.identity_files import identity_file_name, identity_file_url
from accounts.identity_service import identity_verify
from accounts.images import upload_request_bytes
from accounts.permissions import Can, user_can
from accounts.registration import registration_open
from procto.body_limit import max_request_bytes
from procto.encrypted_files import read_encrypted

logger = logging.getLogger(__name__)


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    if not registration_open():
        return render(request, "accounts/register.html", {"closed": True}, status=403)
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.user_register(
                email=data["email"],
                password=data["password"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                institution=data["institution"],
                client_address=request.META.get("REMOTE_ADDR"),
            )
        except EmailDomainNotAllowed as exc:
            form.add_error("email", exc.message)
        else:
            # The same page whether or not the address has an account (services.user_register).
            context = {"email": data["email"], "link_hours": settings.REGISTRATION_LINK_SECONDS // 3600}
            return render(request, "accounts/register_sent.html", context)
    return render(request, "accounts/register.html", {"form": form})


@require_http_methods(["GET", "POST"])
def register_confirm(request: HttpRequest, token: str) -> HttpResponse:
    form = RegisterConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.registration_confirm(token=token, password=form.cleaned_data["password"])
        except InvalidCredentials as exc:
            form.add_error("password", exc.message)
        except (RegistrationLinkInvalid, EmailTaken) as exc:
            context = {"invalid": exc.message}
            return render(request, "accounts/register_confirm.html", context, status=exc.status)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, gettext("Welcome to Procto! Your account is ready."))
            return redirect("profile")
    return render(request, "accounts/register_confirm.html", {"form": form})


class PasswordResetView(auth_views.PasswordResetView):
    """Django's, under the account e-mail limits (accounts.email_limits): past the recipient's,
    the usual "check your e-mail" page and no e-mail; past the client address's, 429."""

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        recipient, client_address = form.cleaned_data["email"], self.request.META.get("REMOTE_ADDR")
        if email_limits.account_email_allow(recipient=recipient, client_address=client_address):
            return super().form_valid(form)
        return HttpResponseRedirect(self.get_success_url())


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """The header's language picker (a plain form: works without JavaScript). Django's set_language
    sets the cookie a visitor's pages follow and redirects back; a signed-in user's choice is also
    kept on the account (accounts.middleware.UserLanguageMiddleware reads it)."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        services.user_language_set(user=request.user, language=language)
    return response


@login_required
@require_GET
def signed_in(request: HttpRequest) -> HttpResponse:
    """Where "Sign in again" on the exam page lands, in a tab of its own: the exam's tab stays
    open with its unsent answers, and this page tells it (static/js/signed-in.js)."""
    return render(request, "accounts/signed_in.html")


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        services.user_profile_update(user=request.user, **form.cleaned_data)
        messages.success(request, gettext("Profile saved."))
        return redirect("profile")
    context = {
        "form": form,
        "identity_form": IdentityForm(),
        "can_verify": user_can(request.user, Can.VERIFY_OWN_IDENTITY),
        "photo_url": identity_file_url(owner=request.user, kind="photo", viewer=request.user)
        if request.user.photo
        else None,
        "latest_verification": request.user.verifications.first(),
    }
    return render(request, "accounts/profile.html", context)


@login_required
@require_POST
@max_request_bytes(upload_request_bytes(images=2))  # procto.body_limit
def identity_upload(request: HttpRequest) -> HttpResponse:
    form = IdentityForm(request.POST, request.FILES)
    if not user_can(request.user, Can.VERIFY_OWN_IDENTITY):
        messages.error(request, gettext("Only students verify their identity here."))
    elif not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    else:
        files = {k: f.read() for k, f in form.cleaned_data.items() if f is not None}
        try:
            verification = identity_verify(user=request.user, **files)
        except (VerificationFailed, IdentityBusy) as exc:
            messages.error(request, exc.message)
        else:
            if verification.outcome == verification.Outcome.MATCH:
                messages.success(request, gettext("Your identity is verified."))
            else:
                messages.error(
                    request,
                    gettext(
                        "The face in your photo does not match your ID card. A teacher will review "
                        "it; you can also try again with clearer photos."
                    ),
                )
    return redirect("profile")


@login_required
@require_GET
def identity_file(request: HttpRequest, token: str) -> HttpResponse:
    name = identity_file_name(token=token, viewer=request.user)
    try:
        jpeg = read_encrypted(name)
    except FileNotFoundError as exc:
        # The row still names a file a purge or retention already deleted.
        logger.warning("identity file %s is gone from storage", name)
        raise Http404("This image is no longer stored.") from exc
    response = HttpResponse(jpeg, content_type="image/jpeg")
    # Decrypted identity images must not linger in shared or browser caches.
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
