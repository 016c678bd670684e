from django.urls import path

from exams import views

urlpatterns = [
    path("<int:exam_id>/preview/", views.exam_preview, name="exam-preview"),
]
