"""manage.py analyze_media: the workers' detectors on files, for disputed snapshots and recordings."""

from __future__ import annotations

import json
import subprocess
from io import StringIO

from django.core.management import call_command
from PIL import Image

from proctoring.tests import faces


def run(*paths) -> list[dict]:
    out, err = StringIO(), StringIO()
    call_command("analyze_media", *map(str, paths), stdout=out, stderr=err)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_images_report_faces_pose_and_the_events_the_workers_would_raise(tmp_path):
    Image.fromarray(faces.astronaut()).save(tmp_path / "one.jpg")
    Image.fromarray(faces.two_people()).save(tmp_path / "two.png")
    Image.fromarray(faces.cat()).save(tmp_path / "cat.jpg")
    one, two, cat = run(tmp_path / "one.jpg", tmp_path / "two.png", tmp_path / "cat.jpg")
    assert (one["faceCount"], one["events"]) == (1, [])
    assert set(one["headPose"]) == {"yaw", "pitch", "roll"}
    assert (two["faceCount"], two["events"]) == (2, ["multiple-faces"])
    assert (cat["faceCount"], cat["events"]) == (0, ["face-not-visible"])


def test_a_recording_of_speech_reports_speech_at_any_sample_rate(tmp_path):
    raw = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(raw), "Please write your answer on the sheet"], check=True)
    resampled = tmp_path / "speech-44k.wav"
    subprocess.run(["sox", str(raw), "-r", "44100", "-c", "2", str(resampled)], check=True)
    for report in run(raw, resampled):
        assert report["speech"] is True
        assert "speech-detected" in report["events"]


def test_an_unreadable_file_is_reported_and_the_others_still_run(tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"not a picture")
    Image.fromarray(faces.astronaut()).save(tmp_path / "ok.jpg")
    broken, ok = run(tmp_path / "broken.jpg", tmp_path / "ok.jpg")
    assert "error" in broken and ok["faceCount"] == 1
