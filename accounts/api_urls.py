from django.urls import path

from accounts import apis

urlpatterns = [
    path("register", apis.RegisterApi.as_view(), name="api-register"),
    path("register/confirm", apis.RegisterConfirmApi.as_view(), name="api-register-confirm"),
    path("login", apis.LoginApi.as_view(), name="api-login"),
    path("refresh", apis.RefreshApi.as_view(), name="api-refresh"),
    path("logout", apis.LogoutApi.as_view(), name="api-logout"),
    path("profile", apis.ProfileApi.as_view(), name="api-profile"),
    path("verify-identity", apis.VerifyIdentityApi.as_view(), name="api-verify-identity"),
    path("ws-ticket", apis.WebSocketTicketApi.as_view(), name="api-ws-ticket"),
]
