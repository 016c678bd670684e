from django.urls import path

from sessions import grading_views, pages, results_views, views
from sessions.lti import views as lti_views

urlpatterns = [
    path("<uuid:session_id>/grade/", grading_views.grade_session, name="grade-session"),
    path("exams/<int:exam_id>/grading/", grading_views.grading_overview, name="grading-overview"),
    path(
        "exams/<int:exam_id>/grading/questions/<int:question_id>/",
        grading_views.grade_question,
        name="grade-question",
    ),
    path(
        "exams/<int:exam_id>/grading/questions/<int:question_id>/key/",
        grading_views.answer_key,
        name="answer-key",
    ),
    path("<uuid:session_id>/take/", pages.take, name="session-take"),
    path("<uuid:session_id>/result/", results_views.session_result, name="session-result"),
    path(
        "admissions/<int:admission_id>/identity-capture.jpg",
        views.admission_identity_capture,
        name="admission-identity-capture",
    ),
]

# The steps before an exam, under /exams/<id>/..., and the images of the questions it shows.
exam_step_urlpatterns = [
    path("questions/<int:question_id>/image", views.question_image, name="question-image"),
    path("<int:exam_id>/consent/", pages.consent, name="exam-consent"),
    path("<int:exam_id>/check/", pages.system_check, name="exam-check"),
    path("<int:exam_id>/identity/", pages.identity_check, name="exam-identity"),
    path("<int:exam_id>/room-scan/", pages.room_scan, name="exam-room-scan"),
    path("<int:exam_id>/ready/", pages.ready, name="exam-ready"),
    path("<int:exam_id>/start/", pages.start, name="exam-start"),
    path("<int:exam_id>/results/release/", results_views.exam_results_release, name="exam-results-release"),
    path("<int:exam_id>/lti-scores/retry/", lti_views.exam_lti_scores_retry, name="exam-lti-scores-retry"),
]
