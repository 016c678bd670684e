"""Procto settings: the only settings module, driven by environment variables.

Every variable is documented in README.md. Two shapes come out of it:
- embedded (no DATABASE_URL / REDIS_URL): SQLite, local-memory cache, in-memory channel layer and
  Celery tasks run in-process, so `make run` needs nothing but Python;
- services (DATABASE_URL and REDIS_URL set): PostgreSQL, Redis cache, channels_redis and real
  Celery workers, as in docker-compose.yml.
"""

from __future__ import annotations

import logging
from pathlib import Path

import environ
import structlog
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from procto.keys import (
    DEV_SECRET_KEY,
    dev_hex_key,
    parse_hex_key,
    require_production_secret,
)
from procto.media_storage import s3_media_storage

BASE_DIR = Path(__file__).resolve().parent.parent
# Git-ignored home of everything a dev checkout generates for itself (SQLite file, dev keys).
LOCAL_DIR = Path(environ.Env().str("PROCTO_LOCAL_DIR", default=str(BASE_DIR / ".local")))

env = environ.Env()

# --- Core -----------------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=DEV_SECRET_KEY)
if not DEBUG:
    require_production_secret(SECRET_KEY)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# 32 bytes for AES-256-GCM (identity photos, ID cards). Losing it makes encrypted data unreadable,
# so production must supply it explicitly; a dev checkout generates and keeps its own.
_encryption_key_hex = env.str("ENCRYPTION_KEY", default="")
if not _encryption_key_hex:
    if not DEBUG:
        raise ImproperlyConfigured("ENCRYPTION_KEY (64 hex digits) is required when DJANGO_DEBUG=0.")
    _encryption_key_hex = dev_hex_key(LOCAL_DIR / "encryption.key")
ENCRYPTION_KEY = parse_hex_key(_encryption_key_hex, name="ENCRYPTION_KEY")
# Keys retired by a rotation: still able to decrypt what they encrypted, never used to encrypt.
ENCRYPTION_OLD_KEYS = [
    parse_hex_key(value, name="ENCRYPTION_OLD_KEYS") for value in env.list("ENCRYPTION_OLD_KEYS", default=[])
]

# --- Applications ---------------------------------------------------------------------------------
INSTALLED_APPS = [
    "daphne",  # first, so `runserver` is daphne's ASGI server too
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "axes",  # failed-login throttling (accounts/login_limits.py)
    "django_structlog",  # JSON log lines with a request id, web and worker (see LOGGING)
    "adminsortable2",  # drag-and-drop order of an exam's questions in the admin (exams/admin.py)
    "accounts",
    "exams",
    "sessions.apps.ExamSessionsConfig",
    "proctoring",
]

MIDDLEWARE = [
    "procto.request_metrics.RequestMetricsMiddleware",  # first: times everything below it
    "django.middleware.security.SecurityMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "sessions.lti.iframe.LtiIframeCookiesMiddleware",  # above the two that set the cookies it edits
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before CommonMiddleware (Django's documented place): the language cookie set by
    # the header's picker, else the browser's Accept-Language. A signed-in user's own choice wins
    # below, once AuthenticationMiddleware has found them (accounts.middleware.UserLanguageMiddleware).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "procto.log_context.request_log_context",
    "procto.log_context.RequestLogMiddleware",  # django-structlog's, after auth: its lines name the user
    "accounts.middleware.TimeZoneMiddleware",  # the viewer's zone, for every time a page shows
    "accounts.middleware.UserLanguageMiddleware",  # the signed-in user's language (User.language)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "sessions.lti.iframe.LtiFramingMiddleware",  # below CSP and X-Frame-Options: they read what it sets
    "procto.error_pages.ApplicationErrorMiddleware",
    # Last: makes a locked login's page a 429 with Retry-After (AXES_LOCKOUT_CALLABLE); axes'
    # own AxesMiddleware, mended for ASGI (hence axes.W002 silenced below).
    "accounts.login_limits.LockoutMiddleware",
]

# Content-Security-Policy (django-csp): scripts only from our own files, so markup injected into a
# page (a student's name, an answer, an event's details) cannot run. Inline styles stay allowed:
# the Django admin and Chart.js set them, and they cannot run code. Camera previews and the
# identity photo are blob: URLs; sockets are same-origin ('self' covers ws/wss in CSP 3).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        # No site may frame Procto, except an LMS showing a page of an LTI launch it made
        # (sessions.lti.iframe replaces this per response with that LMS's origins).
        "frame-ancestors": ["'none'"],
    }
}

# Permissions-Policy (django-permissions-policy): the camera, microphone, full screen and screen
# capture (exams that capture the screen: docs/PROTOCOL.md) for our own pages only (inside an LMS
# iframe the LMS must grant them too, allow="camera *; microphone *; fullscreen *; display-capture
# *": docs/LTI.md), and features Procto never uses switched off for every page and frame.
PERMISSIONS_POLICY = {
    "camera": ["self"],
    "microphone": ["self"],
    "fullscreen": ["self"],
    "display-capture": ["self"],
    "geolocation": [],
    "payment": [],
    "usb": [],
}

# LTI inside the LMS's iframe (docs/LTI.md): a third-party frame keeps cookies only if they are
# `SameSite=None; Secure`. On, sessions signed in by an LTI launch get such session and CSRF
# cookies (over HTTPS only; sessions.lti.iframe); all other sessions keep SameSite=Lax, which
# stops other sites from making requests with a user's session at all. Setting
# SESSION_COOKIE_SAMESITE=None for everyone instead would leave the CSRF token as the only guard
# of every form. Off, the LMS must open Procto in a new window (the LTI login offers one).
LTI_IFRAME_COOKIES = env.bool("LTI_IFRAME_COOKIES", default=not DEBUG)

ROOT_URLCONF = "procto.urls"
ASGI_APPLICATION = "procto.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "procto.local_time.time_zone_context",
                "accounts.registration.registration_context",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
# django-axes first: it refuses a locked (e-mail, address) pair before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Dev prints e-mails (password resets) to the console; production sets an SMTP backend.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Procto <no-reply@procto.local>")
# Where people reach this site: links in e-mails sent by workers, which have no request to ask.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)

# Argon2 first: new and re-saved passwords use it; older hashes still verify and are upgraded.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The languages Procto ships a complete catalog for (locale/<code>/LC_MESSAGES; the catalog test
# fails on an untranslated string). A visitor gets the picker's cookie, else the browser's
# Accept-Language; a signed-in user their profile's language (accounts.User.language).
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Database -------------------------------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default="")
if DATABASE_URL:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
else:
    LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": LOCAL_DIR / "procto.sqlite3"}}

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI each request runs in its own thread context, so CONN_MAX_AGE would leak one
    # connection per thread; Django's docs prescribe the driver's pool instead. The pool keeps
    # connections open across requests (the "persistent connections" we want) in web and worker.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # With the pool, this makes it try each connection before handing it out: after PostgreSQL
    # restarted (or dropped idle connections) the pool's old ones are dead, and each would fail
    # one request with a 500 (bench/drill.py's postgres fault). One round trip per checkout.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "connect_timeout": env.int("DATABASE_CONNECT_TIMEOUT", default=3),
            "pool": {
                "min_size": env.int("DATABASE_POOL_MIN", default=1),
                "max_size": env.int("DATABASE_POOL_MAX", default=10),
                "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10),
            },
        }
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the in-process task writes; the timeout waits out the
    # short write locks instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}
    )

# --- Redis: cache, channel layer, Celery ----------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
SERVICES_MODE = bool(REDIS_URL)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "procto",
            "OPTIONS": {
                # A dead Redis must fail fast (and show on /healthz), not hang every request.
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
            },
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "procto.channel_layer.RedisChannelLayer",
            "CONFIG": {
                # redis-py's async pool refuses (rather than waits) past max_connections, default
                # 100; a class of 250 opening sockets at the same minute needs more at once.
                # redis-py 8 times socket reads out after 5 s, exactly channels_redis' blocking
                # receive: every idle consumer crashed after 5 s. Reads wait longer than that.
                "hosts": [{"address": REDIS_URL, "max_connections": 2000, "socket_timeout": 15}],
                "prefix": "procto:channels",
                # Group messages to a page that stopped reading are dropped after this, not queued.
                "expiry": 30,
                "capacity": 500,
            },
        }
    }
else:
    # Django's default of 300 entries would cull the stream state (~20 keys per student) of a
    # class of more than a dozen students; 100,000 small entries is still a few hundred MB at most.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
# Embedded mode runs every task inside the calling process, so `make run` needs no worker.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a task is acked after it ran, so a killed worker loses nothing
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # ...and the broker hands it to another worker
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # frame tasks are short and uneven: no hoarding
CELERY_TASK_IGNORE_RESULT = True  # tasks report through the DB and channel layer, not results
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = (Queue("default"), Queue("frames"), Queue("audio"))
CELERY_TASK_ROUTES = {
    "proctoring.tasks.*frame*": {"queue": "frames"},
    "proctoring.tasks.*audio*": {"queue": "audio"},
}
# Analysis tasks run for well under a second; a task held by a worker that vanished is
# redelivered after this many seconds. Long enough never to double-run a slow task, short
# enough that a crashed worker's work resumes within a couple of minutes.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=120),
    # Restoring unacknowledged tasks takes a Redis lock that expires after this; kombu's default
    # (300 s) lets a worker killed while holding it block every redelivery for five minutes.
    "unacked_mutex_expire": 10,
    # kombu sweeps for abandoned tasks every interval x throttle seconds (default 10 x 10): a
    # killed worker's frames would wait up to ~100 s past their visibility timeout. ~10 s here.
    "unacked_restore_interval": 5,
    "unacked_restore_throttle": 2,
}
CELERY_TASK_SOFT_TIME_LIMIT = 30
CELERY_TASK_TIME_LIMIT = 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Every periodic job, in one place; each runs a task of the app that owns the job.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "beat-heartbeat": {"task": "procto.tasks.beat_heartbeat", "schedule": 60.0},
    # Abandoned sessions are auto-submitted within 30 s of their deadline + grace.
    "expire-overdue-sessions": {"task": "sessions.tasks.exam_sessions_expire_overdue", "schedule": 30.0},
    # A student whose camera and microphone went quiet shows as unmonitored within ~10 s.
    "stream-heartbeats": {"task": "proctoring.tasks.stream_heartbeats_check", "schedule": 10.0},
    # A page that went away and did not come back reloaded is a departure alert ~30-40 s later.
    "departures-settle": {"task": "proctoring.tasks.departures_settle", "schedule": 10.0},
    # Workers falling behind slow the least risky sessions' frames, and give them back (proctoring.cadence).
    # Expires: runs that waited behind a busy queue are dropped, not run back to back (each counts
    # as a step of the governor's, which gives back only after three calm steps in a row).
    "cadence-adjust": {
        "task": "proctoring.tasks.cadence_adjust",
        "schedule": 5.0,
        "options": {"expires": 4.0},
    },
    # Proctoring data past its retention period is deleted within the hour (docs/PRIVACY.md).
    "media-retention": {"task": "proctoring.tasks.media_retention_apply", "schedule": 3600.0},
    # Results released at the time a teacher chose, within a minute, and their students e-mailed
    # (once each; also those graded after the release: sessions.results).
    "results-release": {"task": "sessions.tasks.results_release_due", "schedule": 60.0},
    # Scores the LMS did not take yet (down, busy) are sent again when due: 1 min after the first
    # attempt, doubling to hourly, for about a day (sessions.lti.grades).
    "lti-scores": {"task": "sessions.tasks.lti_scores_post_due", "schedule": 60.0},
}

# --- Proctoring policy -----------------------------------------------------------------------------
# Per security level: how long a condition must be gone before its event closes (release, seconds),
# and the risk scores at which the student is warned, the session is flagged for a proctor, and
# (only on exams that allow it) the session is ended. Risk is explained in proctoring/risk.py; how
# long each condition must last before it is an event (its onset) is in proctoring/conditions.py.
# identity_recheck_seconds: how often the face is compared with the verified photo when nothing
# made it due sooner; a face back in view after being gone, or the face count changing, makes it
# due at once (proctoring.pipeline._identity_recheck; the choice in docs/TUNING.md).
PROCTORING_POLICY = {
    "low": {
        "release": 10, "warn_risk": 40, "flag_risk": 60, "terminate_risk": 95,
        "identity_recheck_seconds": 600, "stream_lost_cadences": 3,
    },
    "medium": {
        "release": 8, "warn_risk": 30, "flag_risk": 50, "terminate_risk": 90,
        "identity_recheck_seconds": 300, "stream_lost_cadences": 3,
    },
    "high": {
        "release": 6, "warn_risk": 20, "flag_risk": 40, "terminate_risk": 80,
        "identity_recheck_seconds": 120, "stream_lost_cadences": 3,
    },
}  # fmt: skip

# --- Data retention (docs/PRIVACY.md) --------------------------------------------------------------
# Days each kind of proctoring data is kept after its session ends (the kinds: exams/retention.py);
# an exam may set its own. Nothing is deleted while a session's result is not final or its review
# is open; the consent page states these periods.
DATA_RETENTION_DAYS = {
    "frames": env.int("RETENTION_FRAMES_DAYS", default=30),
    "screenshots": env.int("RETENTION_SCREENSHOTS_DAYS", default=30),
    "audio": env.int("RETENTION_AUDIO_DAYS", default=30),
    "room_scans": env.int("RETENTION_ROOM_SCANS_DAYS", default=30),
    "identity": env.int("RETENTION_IDENTITY_DAYS", default=30),
    "answers": env.int("RETENTION_ANSWERS_DAYS", default=365),
}
if any(days < 0 for days in DATA_RETENTION_DAYS.values()):
    raise ImproperlyConfigured("RETENTION_*_DAYS must be 0 or more days.")

# --- Identity checks (accounts/identity_pool.py) -------------------------------------------------
# Photo checks and face embeddings run in IDENTITY_WORKERS processes of their own beside each
# daphne (started on first use; ~180 MB each, ~550 MB at the peak of a 24 MP photo); IDENTITY_QUEUE
# more checks may wait for one. Beyond that a check is refused with 503 BUSY and Retry-After.
IDENTITY_WORKERS = env.int("IDENTITY_WORKERS", default=1)
IDENTITY_QUEUE = env.int("IDENTITY_QUEUE", default=8)
if IDENTITY_WORKERS < 1 or IDENTITY_QUEUE < 0:
    raise ImproperlyConfigured("IDENTITY_WORKERS must be at least 1 and IDENTITY_QUEUE at least 0.")

# --- Frame analysis (proctoring.pipeline) --------------------------------------------------------
# "lite" (default): MediaPipe's models run bare by LiteRT, light frames cascading
# (proctoring/detectors/lite): the same counts on every labelled set, ~0.65x the CPU, ~50 MB less
# per worker. "mediapipe": MediaPipe's own graphs on every frame (proctoring/detectors/faces.py),
# kept for one release should the lean path need turning off. docs/BENCHMARKS.md compares them.
FRAME_PATH = env.str("FRAME_PATH", default="lite")
if FRAME_PATH not in {"lite", "mediapipe"}:
    raise ImproperlyConfigured('FRAME_PATH must be "lite" or "mediapipe".')
# Each web process sends the frames its sockets accepted within this many seconds as one task
# (proctoring/frame_batches.py): Celery's per-task cost, shared. Each frame's analysis (and so its
# alert) may start this much later; a web process killed outright loses this window's frames.
# 0 sends every frame as its own task. Embedded mode (eager tasks) never batches.
FRAME_BATCH_SECONDS = env.float("FRAME_BATCH_SECONDS", default=0.05)
if not 0 <= FRAME_BATCH_SECONDS <= 10:
    raise ImproperlyConfigured("FRAME_BATCH_SECONDS must be between 0 and 10 seconds (0.05-0.1 advised).")

# The still-frame gate (proctoring.pipeline): a light frame whose 32x24 thumbnail is within this
# many grey levels (largest 4x4 cell's mean difference) of the student's last analysed frame, when
# that one showed nothing (one face shown, no condition), reuses its analysis instead of running
# the models; at most two frames in a row, so every scene is analysed at least every third picture.
# 8 is a third of the weakest event measured (someone appearing behind: 25) and answered 12% of
# the pictures of real recordings of people at a camera (docs/BENCHMARKS.md). 0 turns it off.
STILL_FRAME_THRESHOLD = env.float("STILL_FRAME_THRESHOLD", default=8.0)
if not 0 <= STILL_FRAME_THRESHOLD <= 25:
    raise ImproperlyConfigured("STILL_FRAME_THRESHOLD must be between 0 (off) and 25 grey levels.")

# --- Static and media files -----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# In dev whitenoise serves straight from the source folders, so no collectstatic is needed.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))

AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    # Private objects, SigV4 URLs that expire, SSE; what each promises: procto/media_storage.py.
    _default_storage = s3_media_storage(
        bucket=AWS_STORAGE_BUCKET_NAME,
        region=env.str("AWS_S3_REGION_NAME", default=""),
        endpoint_url=env.str("AWS_S3_ENDPOINT_URL", default=""),
        signed_url_seconds=env.int("AWS_QUERYSTRING_EXPIRE", default=300),
        server_side_encryption=env.str("AWS_S3_SERVER_SIDE_ENCRYPTION", default="AES256"),
        kms_key_id=env.str("AWS_S3_SSE_KMS_KEY_ID", default=""),
    )
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}

STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "procto.storage.StaticFilesWithModules"
        )
    },
}

# --- REST API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Bearer access tokens for API clients; the session cookie (with CSRF) for our own pages' JS.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.AccessTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["procto.renderers.EnvelopeRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "procto.parsers.JSONParser",
        "djangorestframework_camel_case.parser.CamelCaseMultiPartParser",
        "djangorestframework_camel_case.parser.CamelCaseFormParser",
    ],
    "EXCEPTION_HANDLER": "procto.api.exception_handler",
    # ?format= belongs to the reference API (export?format=csv|json), not to DRF's negotiation.
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_SCHEMA_CLASS": "procto.openapi.EnvelopeAutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_THROTTLE_CLASSES": [
        "procto.throttles.ApiAnonRateThrottle",
        "procto.throttles.ApiUserRateThrottle",
    ],
    # The client's address is REMOTE_ADDR, which daphne --proxy-headers sets from nginx's
    # X-Forwarded-For; a header the client sends itself must not pick its own bucket.
    "NUM_PROXIES": 0,
}
# Largest request body read into memory (Django's default is 2.5 MB): an exam with its image
# questions travels as one JSON document, each picture up to 2 MB in base64. nginx allows 25 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BYTES", default=16 * 1024 * 1024)
# API rate limits (procto/throttles.py). Signed-in calls count per user, not per address: a whole
# school shares one address, and a student autosaves about 6 times a minute. Anonymous calls
# (login, register, token refresh) count per address.
API_USER_RATE = env.str("API_USER_RATE", default="600/min")
# Bearer token a Prometheus scraper sends to /metrics; unset, only logged-in staff read them.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
API_ANON_RATE = env.str("API_ANON_RATE", default="120/min")

# --- Tokens ---------------------------------------------------------------------------------------
# HS256 with a key of its own: leaking SECRET_KEY (sessions, CSRF) must not let anyone mint tokens.
_jwt_key_hex = env.str("JWT_SIGNING_KEY", default="")
if not _jwt_key_hex:
    if not DEBUG:
        raise ImproperlyConfigured("JWT_SIGNING_KEY (64 hex digits) is required when DJANGO_DEBUG=0.")
    _jwt_key_hex = dev_hex_key(LOCAL_DIR / "jwt-signing.key")
JWT_SIGNING_KEY = parse_hex_key(_jwt_key_hex, name="JWT_SIGNING_KEY")
if JWT_SIGNING_KEY in (ENCRYPTION_KEY, SECRET_KEY.encode()):
    raise ImproperlyConfigured("JWT_SIGNING_KEY must differ from ENCRYPTION_KEY and SECRET_KEY.")
JWT_ALGORITHM = "HS256"
JWT_ISSUER = env.str("JWT_ISSUER", default="procto")
JWT_AUDIENCE = "procto-api"
ACCESS_TOKEN_LIFETIME_SECONDS = 15 * 60
REFRESH_TOKEN_LIFETIME_SECONDS = 7 * 24 * 60 * 60
WS_TICKET_LIFETIME_SECONDS = 30

# --- Login throttling (django-axes, accounts/login_limits.py) -------------------------------------
# Failures count per (e-mail, client address) pair, never per e-mail or per address alone: no one
# can lock a student out by typing their e-mail, nor a school behind one NAT address. A pair's
# first LOGIN_FAILURES_BEFORE_DELAY - 1 failures are free; the next locks it for
# LOGIN_FIRST_DELAY_SECONDS, each further one doubles that up to LOGIN_MAX_DELAY_SECONDS. A pair's
# failures are forgotten LOGIN_FAILURE_MEMORY_SECONDS after the last (or after its lock ends), or
# at once when it logs in. Locks are listed (and cleared) in the admin under Axes.
LOGIN_FAILURES_BEFORE_DELAY = env.int("LOGIN_FAILURES_BEFORE_DELAY", default=5)
LOGIN_FIRST_DELAY_SECONDS = env.int("LOGIN_FIRST_DELAY_SECONDS", default=60)
LOGIN_MAX_DELAY_SECONDS = env.int("LOGIN_MAX_DELAY_SECONDS", default=60 * 60)
LOGIN_FAILURE_MEMORY_SECONDS = env.int("LOGIN_FAILURE_MEMORY_SECONDS", default=60 * 60)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = LOGIN_FAILURES_BEFORE_DELAY
AXES_COOLOFF_TIME = "accounts.login_limits.cool_off"
# Each pair's failures expire on their own: with one window for all (axes' default), a pair with a
# short delay would clear the failures of every other pair older than it.
AXES_USE_ATTEMPT_EXPIRATION = True
# A locked pair trying again (its right password, say) is refused without lengthening the lock.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "email"
AXES_USERNAME_CALLABLE = "accounts.login_limits.attempt_username"
AXES_CLIENT_IP_CALLABLE = "accounts.login_limits.client_address"
AXES_LOCKOUT_CALLABLE = "accounts.login_limits.lockout_response"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# Not axes' log of successful logins: it would open a session for every API (token) login.
AXES_DISABLE_ACCESS_LOG = True
# axes.W002 asks for "axes.middleware.AxesMiddleware" by name; accounts.login_limits.LockoutMiddleware
# is that class with its async path fixed.
SILENCED_SYSTEM_CHECKS = ["axes.W002"]
# The OpenAPI description (/api/schema, Swagger UI at /api/docs, Redoc at /api/redoc) says what
# the wire carries: camelCase names, the envelope and each operation's errors (procto/openapi.py).
# The UI pages load Swagger UI and Redoc from our static files (drf-spectacular-sidecar): no CDN,
# CSP intact. Redoc's options are attributes in templates/api/redoc.html (procto/api_docs.py).
SPECTACULAR_SETTINGS = {
    "TITLE": "Procto API",
    "VERSION": "0.1.0",
    "DESCRIPTION": (
        "Every JSON response is an envelope: `{success: true, data, timestamp}` or "
        "`{success: false, error: {code, message, details, timestamp}}`. Names are camelCase."
    ),
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "drf_spectacular.contrib.djangorestframework_camel_case.camelize_serializer_fields",
    ],
}

# --- Registration ---------------------------------------------------------------------------------
# Who may create their own student account: "open" (anyone), "closed" (accounts come from the
# school only: the admin, enrolment, the LMS) or "domains" (addresses at REGISTRATION_EMAIL_DOMAINS
# or their subdomains, e.g. school.edu also admits students.school.edu).
REGISTRATION_POLICY = env.str("REGISTRATION_POLICY", default="open").strip().lower()
REGISTRATION_EMAIL_DOMAINS = [
    domain.strip().lower().lstrip("@") for domain in env.list("REGISTRATION_EMAIL_DOMAINS", default=[])
]
if REGISTRATION_POLICY not in ("open", "closed", "domains"):
    raise ImproperlyConfigured("REGISTRATION_POLICY must be open, closed or domains.")
if REGISTRATION_POLICY == "domains" and not REGISTRATION_EMAIL_DOMAINS:
    raise ImproperlyConfigured(
        "REGISTRATION_POLICY=domains needs REGISTRATION_EMAIL_DOMAINS (comma-separated)."
    )
# Registering sends a link (valid REGISTRATION_LINK_SECONDS) that creates the account, or, to an
# address that has one, a notice: the answer is the same, so it tells no one who has an account.
REGISTRATION_LINK_SECONDS = env.int("REGISTRATION_LINK_SECONDS", default=24 * 60 * 60)
# E-mails anyone can ask for (password reset, registration; accounts/email_limits.py): per
# recipient, past which nothing more is sent (the answer is unchanged), and per client address,
# past which 429 (generous: a school's students share one address).
ACCOUNT_EMAILS_PER_RECIPIENT = env.str("ACCOUNT_EMAILS_PER_RECIPIENT", default="3/hour")
ACCOUNT_EMAILS_PER_ADDRESS = env.str("ACCOUNT_EMAILS_PER_ADDRESS", default="100/hour")

# --- Course join codes ----------------------------------------------------------------------------
# Wrong join codes (exams/join_code_limits.py) lock a student's account, or a client address, for
# JOIN_CODE_LOCK_SECONDS. A code is 8 of 31 characters (31^8, about 8.5e11): 10 guesses per account
# and 30 per address every 15 minutes find none. The address limit is the higher one because a
# whole class joins from the school's one address; only wrong codes count, never right ones.
JOIN_CODE_FAILURES_PER_ACCOUNT = env.int("JOIN_CODE_FAILURES_PER_ACCOUNT", default=10)
JOIN_CODE_FAILURES_PER_IP = env.int("JOIN_CODE_FAILURES_PER_IP", default=30)
JOIN_CODE_LOCK_SECONDS = env.int("JOIN_CODE_LOCK_SECONDS", default=15 * 60)


# --- Security when not in debug -------------------------------------------------------------------
# Production is HTTPS only: browsers give a page the camera and microphone only over HTTPS (or on
# localhost), so a plain-HTTP Procto cannot proctor anyone. nginx terminates TLS (deploy/nginx.conf)
# and says so in X-Forwarded-Proto; Django still redirects anything that arrives as http, except
# the health check, which the container runtime and the drill ask daphne for directly.
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    # A year, subdomains included: a school that serves Procto over HTTPS has no reason to let a
    # browser fall back to HTTP. `preload` only consents to the browsers' preload list; nothing
    # changes until the domain's owner submits it at hstspreload.org. Lower these only while
    # trying HTTPS out (the max-age a browser has seen cannot be taken back).
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# --- Logging --------------------------------------------------------------------------------------
# One JSON object per line (LOG_FORMAT=json, production's default) from web and worker alike, each
# with the request_id of the HTTP request or WebSocket connection it serves: django-structlog binds
# it per request (nginx's $request_id arrives as X-Request-ID), procto.log_context per socket, and
# Celery carries it in a task header to the worker (a frame, which travels in a batch with other
# sockets' frames, carries its own), so one student's frame can be followed from the socket to its
# analysis. Standard-library loggers go through the same formatter.
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
if LOG_FORMAT not in ("json", "console"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or console.")
_log_pre_chain = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.ExtraAdder(),
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    # Which process: two web nodes and two workers write to one log stream.
    structlog.processors.CallsiteParameterAdder([structlog.processors.CallsiteParameter.PROCESS]),
]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        fmt: {
            "()": structlog.stdlib.ProcessorFormatter,
            "foreign_pre_chain": _log_pre_chain,
            "processors": [
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        }
        for fmt, renderer in (
            ("json", structlog.processors.JSONRenderer()),
            ("console", structlog.dev.ConsoleRenderer(colors=False)),
        )
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        # One line per request is django-structlog's request_finished; its request_started and
        # Django's own per-request lines would only repeat it.
        "django.request": {"level": "ERROR"},
    },
}
structlog.configure(
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.filter_by_level,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.CallsiteParameterAdder([structlog.processors.CallsiteParameter.PROCESS]),
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.StackInfoRenderer(),
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)
# Python's warnings (a deprecation, Celery's warning about running as root) as log lines too.
logging.captureWarnings(True)
DJANGO_STRUCTLOG_CELERY_ENABLED = True
# nginx sets X-Request-ID to its own $request_id (a client's is replaced there); without nginx
# procto.log_context keeps a client's only when it is short and plain.
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True
# procto.log_context binds `ip` from REMOTE_ADDR (what daphne took from nginx), not from headers
# a client could set when there is no proxy in front.
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False
DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = logging.DEBUG
# Every frame is a task: a line per enqueue and per success would be hundreds a second. Failures
# and retries still log at WARNING/ERROR.
DJANGO_STRUCTLOG_CELERY_DEFAULT_LOG_LEVEL = logging.DEBUG
