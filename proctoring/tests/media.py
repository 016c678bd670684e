"""Wire messages for the stream socket, built from real images and sounds."""

from __future__ import annotations

import io
import time

import numpy as np
from PIL import Image

from proctoring.stream import AUDIO, FRAME, HEADER, encode_bundle
from proctoring.tests import faces


def webcam_jpeg(rgb: np.ndarray | None = None, size=(320, 240), quality: int = 70) -> bytes:
    image = Image.fromarray(faces.astronaut() if rgb is None else rgb).convert("RGB").resize(size)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def tone_pcm(seconds: float = 1.0, hz: float = 220.0, rate: int = 16_000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes()


def message(kind: int, seq: int, payload: bytes) -> bytes:
    return HEADER.pack(kind, seq, int(time.time() * 1000)) + payload


def frame_message(seq: int, jpeg: bytes | None = None) -> bytes:
    return message(FRAME, seq, jpeg or webcam_jpeg())


def audio_message(seq: int, pcm: bytes | None = None) -> bytes:
    return message(AUDIO, seq, pcm or tone_pcm())


def bundle_message(*parts: bytes) -> bytes:
    """A bundle (kind 3) of kind-1 and kind-2 messages, as the exam page sends a cadence's media."""
    return encode_bundle(list(parts))
