from django.urls import path

from proctoring.consumers import ExamStreamConsumer

websocket_urlpatterns = [
    path("ws/exam-sessions/<uuid:session_id>/stream/", ExamStreamConsumer.as_asgi()),
]
