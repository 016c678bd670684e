from django.urls import path

from proctoring import apis, monitor_views, review_views, views
from proctoring.reports import views as report_views

# Under /api/proctoring-events/
api_urlpatterns = [
    path("<int:event_id>/review", apis.EventReviewApi.as_view(), name="api-event-review"),
]

# Under /api/exam-sessions/, before the sessions app's routes: its "<str:session_id>" would take
# "live" and "reports" for session ids.
session_api_urlpatterns = [
    path("live", apis.SessionLiveApi.as_view(), name="api-session-live"),
    path("reports", apis.SessionReportsApi.as_view(), name="api-session-reports"),
    path("<str:session_id>/log-event", apis.SessionLogEventApi.as_view(), name="api-session-log-event"),
    path("<str:session_id>/screenshots", apis.SessionScreenshotApi.as_view(), name="api-session-screenshots"),
    path("<str:session_id>/export", apis.SessionExportApi.as_view(), name="api-session-export"),
    path("<uuid:session_id>/actions", apis.SessionActionApi.as_view(), name="api-session-actions"),
]

# Under /exams/
exam_report_urlpatterns = [
    path("<int:exam_id>/report/", report_views.exam_report, name="exam-report"),
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
