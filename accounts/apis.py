"""The accounts API: /api/auth/... as in the reference document, one view per operation."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import realtime, services
from accounts.audit import audit_record
from accounts.identity_service import identity_verify
from accounts.images import upload_request_bytes
from accounts.models import AuditEntry
from accounts.permissions import Can, capability_required
from accounts.serializers import (
    LoginInput,
    LogoutInput,
    RefreshInput,
    RegisterConfirmInput,
    RegisterInput,
    TokenPairOutput,
    UserOutput,
    VerificationOutput,
    VerifyIdentityInput,
)
from accounts.tokens import ACCESS, REFRESH, decode
from procto.openapi import errors


def _client(request: Request) -> dict:
    return {
        "ip": request.META.get("REMOTE_ADDR"),
        "user_agent": request.META.get("HTTP_USER_AGENT", ""),
    }


def _token_response(request: Request, pair, status_code: int = status.HTTP_200_OK) -> Response:
    return Response(TokenPairOutput(pair, context={"request": request}).data, status=status_code)


REGISTRATION_SENT = gettext_lazy(
    "Check your inbox: we sent an e-mail to this address. Follow its link to finish creating your "
    "account (if the address already has one, the e-mail says how to sign in)."
)


class RegisterApi(APIView):
    """The same 202 whether or not the e-mail has an account: its inbox gets the link to finish
    (POST /api/auth/register/confirm, or the page it links to) or a notice."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        request=RegisterInput,
        responses={
            202: inline_serializer("RegisterOutput", {"message": serializers.CharField()}),
            **errors(403, 429),
        },
    )
    def post(self, request: Request) -> Response:
        data = RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields["institution"] = fields.pop("institution_id", "")
        services.user_register(**fields, client_address=request.META.get("REMOTE_ADDR"))
        return Response({"message": str(REGISTRATION_SENT)}, status=status.HTTP_202_ACCEPTED)


class RegisterConfirmApi(APIView):
    """The e-mailed link's token and the password chosen at registration: the account is made
    and this login starts."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        request=RegisterConfirmInput, responses={201: TokenPairOutput, **errors(400, 401, 403, 409)}
    )
    def post(self, request: Request) -> Response:
        data = RegisterConfirmInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.registration_confirm(**data.validated_data)
        pair = services.token_pair_issue(user=user, **_client(request))
        return _token_response(request, pair, status.HTTP_201_CREATED)


class LoginApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(request=LoginInput, responses={200: TokenPairOutput, **errors(401)})
    def post(self, request: Request) -> Response:
        data = LoginInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_authenticate(request=request, **data.validated_data)
        pair = services.token_pair_issue(user=user, **_client(request))
        # As django.contrib.auth.login does for pages: last_login, and the audit trail.
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        return _token_response(request, pair)


class RefreshApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(request=RefreshInput, responses={200: TokenPairOutput, **errors(401)})
    def post(self, request: Request) -> Response:
        data = RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        pair = services.token_refresh(refresh_token=data.validated_data["refresh_token"])
        return _token_response(request, pair)


class LogoutApi(APIView):
    """Ends this login (the refresh token's family), or every login with `everywhere: true`."""

    @extend_schema(
        request=LogoutInput,
        responses={200: inline_serializer("LogoutOutput", {"logged_out": serializers.BooleanField()})},
    )
    def post(self, request: Request) -> Response:
        data = LogoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["everywhere"]:
            services.user_logout_everywhere(user=request.user)
        elif "refresh_token" in data.validated_data:
            claims = decode(data.validated_data["refresh_token"], expected_type=REFRESH)
            services.token_family_revoke(user=request.user, family_id=claims.family_id)
        elif request.auth:  # a bearer access token: end the login it belongs to
            claims = decode(request.auth, expected_type=ACCESS)
            services.token_family_revoke(user=request.user, family_id=claims.family_id)
        audit_record(
            action=AuditEntry.Action.LOGOUT,
            actor=request.user,
            target=request.user,
            request=request,
            details={"everywhere": data.validated_data["everywhere"]},
        )
        return Response({"loggedOut": True})


class ProfileApi(APIView):
    @extend_schema(responses={200: UserOutput})
    def get(self, request: Request) -> Response:
        return Response(UserOutput(request.user, context={"request": request}).data)


class WebSocketTicketApi(APIView):
    """A single-use ticket for opening a WebSocket (browsers cannot send headers on upgrade)."""

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "WebSocketTicketOutput",
                {"ticket": serializers.CharField(), "expires_in": serializers.IntegerField()},
            )
        },
    )
    def post(self, request: Request) -> Response:
        if request.auth:
            login_id = str(decode(request.auth, expected_type=ACCESS).family_id)
        else:
            login_id = realtime.session_login_id(request.session.session_key or "")
        ticket = services.ws_ticket_issue(user=request.user, login_id=login_id)
        return Response({"ticket": ticket, "expires_in": settings.WS_TICKET_LIFETIME_SECONDS})


class VerifyIdentityApi(APIView):
    permission_classes = [IsAuthenticated, capability_required(Can.VERIFY_OWN_IDENTITY)]
    max_request_bytes = upload_request_bytes(images=3)  # procto.body_limit

    @extend_schema(request=VerifyIdentityInput, responses={201: VerificationOutput, **errors(422)})
    def post(self, request: Request) -> Response:
        data = VerifyIdentityInput(data=request.data)
        data.is_valid(raise_exception=True)
        # Sizes were checked by the serializer before anything is read into memory.
        files = {key: upload.read() for key, upload in data.validated_data.items()}
        verification = identity_verify(user=request.user, **files)
        return Response(VerificationOutput(verification).data, status=status.HTTP_201_CREATED)
