from django.urls import path

from proctoring import views
from proctoring.apis import EventReviewApi

api_urlpatterns = [
    path("<int:event_id>/review", EventReviewApi.as_view(), name="api-event-review"),
]

urlpatterns = [
    path("sessions/<uuid:session_id>/thumbnail.jpg", views.session_thumbnail, name="session-thumbnail"),
]
