"""One file's analysis as a JSON-able dict, with the event types used everywhere else: the same
detectors and the same condition rules (proctoring.conditions) the workers apply to each frame or
audio chunk. Onsets do not apply: a condition seen in one frame or chunk is reported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from proctoring.conditions import AudioObservation, Observes, conditions_derive
from proctoring.detectors import audio, faces

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
AUDIO_SUFFIXES = {".wav"}


def frame_events(analysis: faces.FrameAnalysis) -> list[str]:
    return [type for type, seen in conditions_derive(Observes.FRAME, analysis).items() if seen]


def analyse_image_file(path: Path) -> dict:
    analysis = faces.analyse_frame(
        faces.decode_jpeg(path.read_bytes()) if path.suffix.lower() in {".jpg", ".jpeg"} else _png(path)
    )
    pose = analysis.head_pose
    return {
        "file": str(path),
        "faceCount": analysis.face_count,
        "headPose": {"yaw": round(pose.yaw, 1), "pitch": round(pose.pitch, 1), "roll": round(pose.roll, 1)}
        if pose
        else None,
        "events": frame_events(analysis),
    }


def _png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def analyse_audio_file(path: Path) -> dict:
    """Split into 1-second chunks as the browser sends them; report what any chunk or the
    voice tracker saw."""
    samples = audio.load_audio(path)
    tracker, events, speech, voices = audio.VoiceTracker(), set(), False, 0
    for start in range(0, max(len(samples), 1), audio.RATE):
        chunk = samples[start : start + audio.RATE]
        if len(chunk) < audio.RATE // 4:
            continue
        result = audio.analyse_chunk(chunk)
        heard = tracker.update(result, chunk)
        voices, speech = max(voices, heard), speech or result.speech
        seen = conditions_derive(Observes.AUDIO, AudioObservation(result, heard))
        events.update(type for type, present in seen.items() if present)
    return {"file": str(path), "speech": speech, "voices": voices, "events": sorted(events)}


def analyse_file(path: Path) -> dict:
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return analyse_image_file(path)
    if suffix in AUDIO_SUFFIXES:
        return analyse_audio_file(path)
    raise ValueError(f"{path}: expected a JPEG, PNG or WAV file")
