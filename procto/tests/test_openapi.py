"""The OpenAPI description matches the wire: every operation /api/schema lists is called with
requests generated from the schema itself (schemathesis, a few derandomized examples each), and
every response must be one the schema documents, in its content type and shape.

Each generated request goes out three times: as generated, by Stu (so random ids meet 404s and
random bodies meet 400s), and with the path's ids replaced by the world's own, by Stu and by
Tess (so the successes of both roles are checked too).
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services import token_pair_issue
from proctoring.models import ProctoringEvent
from sessions.models import Admission

EXAMPLES_PER_OPERATION = 10
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
METHODS = ("get", "put", "post", "patch", "delete")


def _operations() -> list[str]:
    # Read when the tests are collected, so an operation added later is tested without a change here.
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return [
        f"{method.upper()} {path}" for path, item in paths.items() for method in item if method in METHODS
    ]


@pytest.fixture
def connections_kept_open():
    """Requests go straight to the WSGI application here, not through Django's test client, so
    its request signals would close the test's database connection (with PostgreSQL's pool, in the
    middle of the test's transaction); the test client disconnects them the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def served_schema(api) -> schemathesis.schemas.BaseSchema:
    response = api.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return schemathesis.openapi.from_dict(json.loads(response.content))


def _bearer(user) -> dict[str, str]:
    pair = token_pair_issue(user=user, ip="127.0.0.1", user_agent="schema test")
    return {"Authorization": f"Bearer {pair.access_token}"}


def _real_ids(world) -> dict[str, str]:
    # Physics needs no admission, so the service would refuse the request: the row is made here.
    admission = Admission.objects.create(exam=world.physics, student=world.stu, requested_at=timezone.now())
    event = ProctoringEvent.objects.create(
        session=world.stu_in_physics,
        type="multiple-faces",
        severity="high",
        source="server",
        confidence=0.9,
        details={"faceCount": 2},
        occurred_at=world.stu_in_physics.started_at,
    )
    return {
        "session_id": str(world.stu_in_physics.pk),
        "exam_id": str(world.physics.pk),
        "course_id": str(world.physics.course_id),
        "user_id": str(world.sam.pk),
        "admission_id": str(admission.pk),
        "event_id": str(event.pk),
    }


@pytest.mark.parametrize("operation", _operations())
def test_every_response_matches_the_schema(operation, served_schema, world, connections_kept_open):
    method, path = operation.split(" ", 1)
    api_operation = served_schema[path][method]
    app = get_wsgi_application()
    stu, tess = _bearer(world.stu), _bearer(world.tess)
    ids = _real_ids(world)

    @hypothesis_settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=api_operation.as_strategy())
    def check(case) -> None:
        response = case.call(app=app, headers=stu)
        case.validate_response(response, checks=CHECKS)
        if case.path_parameters:
            case.path_parameters = {name: ids.get(name, old) for name, old in case.path_parameters.items()}
        for headers in (stu, tess):
            response = case.call(app=app, headers=headers)
            case.validate_response(response, checks=CHECKS)

    check()
