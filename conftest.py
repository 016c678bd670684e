"""Suite-wide set-up: real services when their variables are set, clear skips when not."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from accounts.models import User
    from exams.models import Exam
    from sessions.models import ExamSession

pytest_plugins = ["procto.tests.browser", "procto.tests.s3"]

SERVICE_MARKERS = {
    "needs_postgres": "DATABASE_URL",
    "needs_redis": "REDIS_URL",
}


def _unreachable(variable: str) -> str | None:
    """Why the service named by `variable` cannot be used, or None when it answers."""
    url = os.environ[variable]
    try:
        if variable == "REDIS_URL":
            import redis

            redis.Redis.from_url(url, socket_connect_timeout=3).ping()
        else:
            import psycopg

            psycopg.connect(url, connect_timeout=3).close()
    except Exception as exc:  # any failure to connect ends the run below
        return f"{type(exc).__name__}: {exc}"
    return None


def pytest_configure(config: pytest.Config) -> None:
    # A run that was given a service must test against it: an unreachable one ends the run
    # loudly instead of letting its tests skip and the suite pass without them.
    for variable in SERVICE_MARKERS.values():
        if os.environ.get(variable):
            problem = _unreachable(variable)
            if problem:
                pytest.exit(f"{variable} is set but unreachable ({problem})", returncode=3)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for marker, variable in SERVICE_MARKERS.items():
            if marker in item.keywords and not os.environ.get(variable):
                item.add_marker(pytest.mark.skip(reason=f"needs {variable}; set it to run (.ci/run does)"))


@pytest.fixture(scope="session", autouse=True)
def _close_database_pools_before_teardown(django_db_setup, django_db_blocker):
    # Pooled PostgreSQL connections (one pool per thread that touched the DB, e.g. async tests)
    # stay open after the tests; the test database can only be dropped once they are closed.
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        for connection in connections.all():
            if connection.settings_dict.get("OPTIONS", {}).get("pool"):
                connection.close_pool()


# --- personas -------------------------------------------------------------------------------------

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(request, settings):
    # Argon2 is deliberately slow; tests that check hashing itself opt out with `real_hashers`.
    if "real_hashers" not in request.keywords:
        settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(autouse=True)
def _english_afterwards():
    # A French request leaves French active in the test's thread (LocaleMiddleware activates the
    # request's language and never deactivates it; each real request sets its own): the next
    # test, calling services directly, would read French messages.
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(autouse=True)
def _isolated_cache():
    # Throttle counters and tickets live in the cache; each test starts from a clean slate.
    from django.core.cache import cache

    # Only Procto's own keys: a FLUSHDB would also wipe the channel layer and Celery queues.
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
        # Tasks queued by an earlier test (no worker was running) must not reach a later test's
        # worker, where their sessions no longer exist.
        from procto.celery import app

        app.control.purge()
    else:
        cache.clear()
    yield


# Each persona is one function, so the `world` below and the single-persona fixtures make the same
# people whether a test builds them on this thread or (browser tests) on another.


def make_tess():
    from accounts.tests.factories import UserFactory

    return UserFactory(
        email="teacher@school.example", first_name="Tess", last_name="Taylor", role="teacher", is_staff=True
    )


def make_pat():
    from accounts.tests.factories import UserFactory

    return UserFactory(email="proctor@school.example", first_name="Pat", last_name="Price", role="proctor")


def make_stu():
    from accounts.tests.factories import UserFactory

    return UserFactory(email="student@school.example", first_name="Stu", last_name="Stone", role="student")


def make_sam():
    from accounts.tests.factories import UserFactory

    return UserFactory(
        email="other.student@school.example", first_name="Sam", last_name="Sato", role="student"
    )


def make_ada():
    from accounts.tests.factories import UserFactory

    return UserFactory(
        email="admin@school.example",
        first_name="Ada",
        last_name="Admin",
        role="admin",
        is_staff=True,
        is_superuser=True,
    )


@pytest.fixture
def clock(settings):
    """A fake clock (time-machine), stopped at the real now; `clock.shift(seconds)` moves it on.

    For tests that would otherwise sleep out a cache timeout (a throttle window, a ticket's
    lifetime). The test runs on the in-process cache, whose expiry reads time.time() and so
    follows this clock; Redis keeps its own time, so tests about Redis's expiry itself wait
    for real (procto/tests/test_cache_batch.py).
    """
    import time

    import time_machine

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    with time_machine.travel(time.time(), tick=False) as traveller:
        yield traveller


@pytest.fixture
def student(db):
    """Stu, a student (in the `world`, sitting physics)."""
    return make_stu()


@pytest.fixture
def other_student(db):
    """Sam, another student (in the `world`, Stu's classmate in physics)."""
    return make_sam()


@pytest.fixture
def teacher(db):
    """Tess, a teacher (in the `world`, the author of physics and chemistry)."""
    return make_tess()


@pytest.fixture
def proctor(db):
    """Pat, a proctor (in the `world`, assigned to physics only)."""
    return make_pat()


@pytest.fixture
def admin_user(db):
    """Ada, an admin: she may see and do everything."""
    return make_ada()


# --- the world: who may see what ------------------------------------------------------------------


@dataclass
class World:
    """Tess teaches two courses, each with one exam, open and published:

    - `physics` ("Physics final", high security) in the course "Physics 101", where Stu and Sam
      are enrolled. Pat proctors it. Stu and Sam are sitting it (`stu_in_physics`,
      `sam_in_physics`, in progress).
    - `chemistry` ("Chemistry midterm", medium security) in "Chemistry 101", where Cat is
      enrolled. Nobody proctors it. Cat is sitting it (`cat_in_chemistry`, in progress).

    Vic teaches "History 201" with `history` ("History essay", medium security), where Hal is
    enrolled. Quinn proctors it. Hal is sitting it (`hal_in_history`, in progress). Sid is a
    student enrolled nowhere. Ada is the admin.

    Who may see what:

    - Tess sees her two exams and the sessions of Stu, Sam and Cat; nothing of Vic's.
    - Pat sees physics and the sessions of Stu and Sam; not chemistry, not Cat, not history.
    - Vic and Quinn see history and Hal's session; nothing of Tess's. They are the teacher and
      the proctor of another exam.
    - A student sees the exams of their own courses only, and only their own session: Stu sees
      physics (not chemistry, not history) and never Sam's session, although they sit the same
      exam.
    - Sid is enrolled nowhere: no exam, no session. He is the stranger.
    - Ada sees everything.
    """

    tess: User
    pat: User
    stu: User
    sam: User
    cat: User
    sid: User
    vic: User
    hal: User
    quinn: User
    ada: User
    physics: Exam
    chemistry: Exam
    history: Exam
    stu_in_physics: ExamSession
    sam_in_physics: ExamSession
    cat_in_chemistry: ExamSession
    hal_in_history: ExamSession


def world_build(*, tess=None, pat=None, stu=None, sam=None, ada=None) -> World:
    """The world, reusing the personas a test already has (the same rows, not look-alikes)."""
    from accounts.tests.factories import UserFactory
    from exams.tests.factories import CourseFactory, ExamFactory
    from sessions.tests.factories import ExamSessionFactory

    tess, pat, ada = tess or make_tess(), pat or make_pat(), ada or make_ada()
    stu, sam = stu or make_stu(), sam or make_sam()
    cat = UserFactory(email="cat@school.example", first_name="Cat", last_name="Costa", role="student")
    sid = UserFactory(email="sid@school.example", first_name="Sid", last_name="Stranger", role="student")
    vic = UserFactory(
        email="vic@school.example", first_name="Vic", last_name="Vance", role="teacher", is_staff=True
    )
    hal = UserFactory(email="hal@school.example", first_name="Hal", last_name="Hughes", role="student")
    quinn = UserFactory(email="quinn@school.example", first_name="Quinn", last_name="Quist", role="proctor")

    physics_101 = CourseFactory(title="Physics 101", code="PHY-101", teachers=[tess], students=[stu, sam])
    chemistry_101 = CourseFactory(title="Chemistry 101", code="CHE-101", teachers=[tess], students=[cat])
    history_201 = CourseFactory(title="History 201", code="HIS-201", teachers=[vic], students=[hal])
    physics = ExamFactory(
        created_by=tess, course=physics_101, title="Physics final", is_published=True, security_level="high"
    )
    physics.proctors.add(pat)
    chemistry = ExamFactory(
        created_by=tess,
        course=chemistry_101,
        title="Chemistry midterm",
        is_published=True,
        security_level="medium",
    )
    history = ExamFactory(
        created_by=vic, course=history_201, title="History essay", is_published=True, security_level="medium"
    )
    history.proctors.add(quinn)
    return World(
        tess=tess,
        pat=pat,
        stu=stu,
        sam=sam,
        cat=cat,
        sid=sid,
        vic=vic,
        hal=hal,
        quinn=quinn,
        ada=ada,
        physics=physics,
        chemistry=chemistry,
        history=history,
        stu_in_physics=ExamSessionFactory(exam=physics, student=stu, attempt=1),
        sam_in_physics=ExamSessionFactory(exam=physics, student=sam, attempt=1),
        cat_in_chemistry=ExamSessionFactory(exam=chemistry, student=cat, attempt=1),
        hal_in_history=ExamSessionFactory(exam=history, student=hal, attempt=1),
    )


@pytest.fixture
def world(student, other_student, teacher, proctor, admin_user) -> World:
    """The world (see `World`); its Stu, Sam, Tess, Pat and Ada are the single-persona fixtures."""
    return world_build(tess=teacher, pat=proctor, stu=student, sam=other_student, ada=admin_user)


@pytest.fixture
def transactional_world(transactional_db) -> World:
    """The world, committed, for browser tests whose servers read it from other connections.

    Built on a thread of its own: Playwright's event loop runs on this one, where Django refuses
    ORM calls. Such tests take their personas from here, not from the single-persona fixtures.
    """
    from procto.tests.browser import in_thread

    return in_thread(world_build)


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    return APIClient()
