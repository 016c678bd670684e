from django.urls import path

from sessions.lti import views

urlpatterns = [
    path("login", views.lti_login, name="lti-login"),
    path("launch", views.lti_launch, name="lti-launch"),
    path("jwks", views.lti_jwks, name="lti-jwks"),
    path("deep-link/<str:launch_id>", views.lti_deep_link, name="lti-deep-link"),
    path("window", views.lti_window_open, name="lti-window-open"),
    path("window/<str:token>", views.lti_window, name="lti-window"),
]
