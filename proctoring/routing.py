from django.urls import path

from proctoring.consumers import ExamStreamConsumer, MonitorConsumer

websocket_urlpatterns = [
    path("ws/exam-sessions/<uuid:session_id>/stream/", ExamStreamConsumer.as_asgi()),
    path("ws/monitor/", MonitorConsumer.as_asgi()),
]
