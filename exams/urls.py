from django.urls import path

from exams import views

urlpatterns = [
    path("questions/<int:question_id>/image", views.question_image, name="question-image"),
    path("<int:exam_id>/preview/", views.exam_preview, name="exam-preview"),
]
