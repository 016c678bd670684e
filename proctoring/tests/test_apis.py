"""The proctoring API against input no store can hold (issue 13, item 5): refused with a 400 where it
arrives, never stored, never a 500 then or later."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from proctoring.models import ProctoringEvent

pytestmark = pytest.mark.django_db


def log_event(api, session, body: str):
    return api.post(f"/api/exam-sessions/{session.pk}/log-event", body, content_type="application/json")


@pytest.mark.parametrize(
    ("details", "where"),
    [
        ({"selection": "a\udc00b"}, "selection"),  # a lone surrogate (json.dumps writes its escape)
        ({"\ud800": "key"}, "\\ud800"),  # ... in a key, named escaped
        ({"clipboard": "a\x00b"}, "clipboard"),  # NUL, which PostgreSQL cannot store
    ],
)
def test_event_details_that_are_not_storable_text_are_a_400_and_the_session_still_reviews(
    api, world, details, where
):
    student, session = world.cat, world.cat_in_chemistry
    api.force_authenticate(student)
    response = log_event(api, session, json.dumps({"type": "paste", "details": details, "seq": 1}))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert list(error["details"]["details"]) == [where]
    assert not ProctoringEvent.objects.exists()
    # What a stored one broke: the export and the review page of the session.
    api.force_authenticate(world.tess)
    assert api.get(f"/api/exam-sessions/{session.pk}/export?format=json").status_code == 200
    pages = Client()
    pages.force_login(world.tess)
    assert pages.get(f"/proctoring/sessions/{session.pk}/").status_code == 200


def test_an_event_number_past_a_bigint_is_a_400_not_a_500(api, world):
    api.force_authenticate(world.cat)
    response = log_event(api, world.cat_in_chemistry, json.dumps({"type": "paste", "seq": 2**63}))
    assert response.status_code == 400
    assert "less than or equal to" in response.json()["error"]["details"]["seq"][0]
    assert (
        log_event(api, world.cat_in_chemistry, json.dumps({"type": "paste", "seq": 2**63 - 1})).status_code
        == 201
    )


def test_event_details_nested_a_thousand_levels_deep_are_a_400_not_a_500(api, world):
    api.force_authenticate(world.cat)
    body = '{"type": "paste", "details": {"x": %s}}' % ("[" * 1000 + "]" * 1000)
    response = log_event(api, world.cat_in_chemistry, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MALFORMED_REQUEST"
    assert not ProctoringEvent.objects.exists()
