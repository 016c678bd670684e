from django.apps import AppConfig


class ExamSessionsConfig(AppConfig):
    name = "sessions"
    # django.contrib.sessions already owns the label "sessions".
    label = "exam_sessions"
    verbose_name = "Exam sessions"
