import hashlib
from pathlib import Path

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.decorators.cache import cache_control, cache_page
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from procto.api_docs import RedocView, redoc_bundle
from procto.health import healthz
from procto.metrics import metrics
from proctoring.urls import api_urlpatterns as proctoring_api_urlpatterns
from proctoring.urls import exam_report_urlpatterns, session_api_urlpatterns
from sessions.api_urls import bandwidth_urlpatterns, readiness_urlpatterns
from sessions.lti.urls import urlpatterns as lti_urlpatterns
from sessions.pages import home
from sessions.urls import exam_step_urlpatterns


def _catalogs_digest() -> str:
    """What the compiled JavaScript catalogs hold, for the cache key: a deploy with new
    translations is served at once, not after the previous day's copy expires."""
    digest = hashlib.sha256()
    for locale_dir in settings.LOCALE_PATHS:
        for mo in sorted(Path(locale_dir).glob("*/LC_MESSAGES/djangojs.mo")):
            digest.update(str(mo).encode() + mo.read_bytes())
    return digest.hexdigest()[:12]


# The JavaScript strings in the viewer's language (djangojs catalogs), as a script file of its own:
# the Content-Security-Policy allows no inline script. Built once a day per language (the cache key
# has the active language); browsers keep it an hour, and pages ask for it with the language in the
# query (templates/base.html), so a student who switches to French never runs an English copy.
javascript_catalog = cache_page(86400, key_prefix=f"jsi18n-{_catalogs_digest()}")(
    cache_control(max_age=3600)(JavaScriptCatalog.as_view())
)

urlpatterns = [
    path("", home, name="home"),
    path("jsi18n/", javascript_catalog, name="javascript-catalog"),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("accounts/", include("accounts.urls")),
    path("api/auth/", include("accounts.api_urls")),
    path("api/", include("exams.api_urls")),
    path("api/exam-sessions/", include(session_api_urlpatterns)),
    path("api/exam-sessions/", include("sessions.api_urls")),
    path("api/exams/", include(readiness_urlpatterns)),
    path("api/", include(bandwidth_urlpatterns)),
    path("exams/", include("exams.urls")),
    path("exams/", include(exam_step_urlpatterns)),
    path("exams/", include(exam_report_urlpatterns)),
    path("sessions/", include("sessions.urls")),
    path("proctoring/", include("proctoring.urls")),
    # LTI 1.3 (sessions.lti): the LMS's login initiation and launch, Procto's public keys.
    path("lti/", include(lti_urlpatterns)),
    path("api/proctoring-events/", include(proctoring_api_urlpatterns)),
    path("api/schema", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI from our static files (drf-spectacular-sidecar). The split view serves
    # Swagger's start-up script as a file of its own, as the Content-Security-Policy requires.
    path("api/docs", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Redoc, also from our static files, with what would leave the site taken out (procto.api_docs).
    path("api/redoc", RedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("api/redoc/redoc.standalone.js", redoc_bundle, name="api-redoc-bundle"),
    path("admin/", admin.site.urls),
]

handler400 = "procto.error_pages.bad_request"
handler403 = "procto.error_pages.permission_denied"
handler404 = "procto.error_pages.page_not_found"
handler500 = "procto.error_pages.server_error"
