from django.urls import path

from exams import views

urlpatterns = [
    path("<int:exam_id>/preview/", views.exam_preview, name="exam-preview"),
    path("courses/join/", views.course_join, name="course-join"),
]
