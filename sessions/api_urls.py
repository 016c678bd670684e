from django.urls import path

from sessions import apis

urlpatterns = [
    path("start", apis.SessionStartApi.as_view(), name="api-session-start"),
    # Before the <str:session_id> routes, which would take "admissions" for a session id.
    path("admissions", apis.AdmissionListApi.as_view(), name="api-admissions"),
    path(
        "admissions/<int:admission_id>/decide", apis.AdmissionDecideApi.as_view(), name="api-admission-decide"
    ),
    path("<str:session_id>", apis.SessionDetailApi.as_view(), name="api-session-detail"),
    path("<str:session_id>/save-answers", apis.SessionSaveAnswersApi.as_view(), name="api-session-save"),
    path("<str:session_id>/submit", apis.SessionSubmitApi.as_view(), name="api-session-submit"),
    path("<str:session_id>/room-scan", apis.RoomScanApi.as_view(), name="api-session-room-scan"),
]

bandwidth_urlpatterns = [
    path("system-check/bandwidth", apis.BandwidthProbeApi.as_view(), name="api-bandwidth-probe"),
]

# Steps before an exam, under /api/exams/<id>/...
readiness_urlpatterns = [
    path("<str:exam_id>/system-check", apis.SystemCheckApi.as_view(), name="api-exam-system-check"),
    path("<str:exam_id>/identity-check", apis.IdentityCheckApi.as_view(), name="api-exam-identity-check"),
    path("<str:exam_id>/room-scan", apis.PreExamRoomScanApi.as_view(), name="api-exam-room-scan"),
    path("<str:exam_id>/admission", apis.ExamAdmissionApi.as_view(), name="api-exam-admission"),
]
