from django.urls import path

from sessions import views

urlpatterns = [
    path("<uuid:session_id>/grade/", views.grade_session, name="grade-session"),
]
