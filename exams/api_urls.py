from django.urls import path

from exams import apis

urlpatterns = [
    path("exams", apis.ExamListCreateApi.as_view(), name="api-exams"),
    path("exams/<str:exam_id>", apis.ExamDetailApi.as_view(), name="api-exam-detail"),
    path("courses", apis.CourseListCreateApi.as_view(), name="api-courses"),
    path("courses/join", apis.CourseJoinApi.as_view(), name="api-course-join"),
    path("courses/<str:course_id>/students", apis.CourseStudentsApi.as_view(), name="api-course-students"),
    path(
        "courses/<str:course_id>/students/<str:user_id>",
        apis.CourseStudentApi.as_view(),
        name="api-course-student",
    ),
]
