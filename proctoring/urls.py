from django.urls import path

from proctoring import views

urlpatterns = [
    path("sessions/<uuid:session_id>/thumbnail.jpg", views.session_thumbnail, name="session-thumbnail"),
]
