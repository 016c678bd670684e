from django.urls import path

from exams import apis

urlpatterns = [
    path("exams", apis.ExamListCreateApi.as_view(), name="api-exams"),
    path("exams/<str:exam_id>", apis.ExamDetailApi.as_view(), name="api-exam-detail"),
]
