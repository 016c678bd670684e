from django.urls import path

from proctoring import monitor_views, review_views, views
from proctoring.apis import EventReviewApi
from sessions import report_views

api_urlpatterns = [
    path("<int:event_id>/review", EventReviewApi.as_view(), name="api-event-review"),
]

urlpatterns = [
    path("sessions/<uuid:session_id>/thumbnail.jpg", views.session_thumbnail, name="session-thumbnail"),
    path("sessions/<uuid:session_id>/report.pdf", report_views.session_report_pdf, name="session-report-pdf"),
    path("monitor/", monitor_views.monitor, name="proctoring-monitor"),
    path("sessions/<uuid:session_id>/", review_views.session_detail, name="proctoring-session"),
    path(
        "sessions/<uuid:session_id>/room-scan",
        review_views.session_room_scan_video,
        name="session-room-scan-video",
    ),
    path("events/<int:event_id>/snapshot.jpg", review_views.event_snapshot, name="event-snapshot"),
]
