"""Identity uploads built from real faces: a face photo and an ID card carrying a face."""

from __future__ import annotations

import io

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from proctoring.tests import faces


def jpeg(rgb: np.ndarray) -> bytes:
    return faces.jpeg_bytes(rgb, quality=92)


def id_card_with(face_rgb: np.ndarray, *, head: tuple[float, float, float, float]) -> bytes:
    """A credit-card-shaped ID (856x540) with the person's head at about 230 px, and text lines."""
    card = Image.new("RGB", (856, 540), (214, 230, 245))
    draw = ImageDraw.Draw(card)
    draw.rectangle([0, 0, 856, 70], fill=(29, 78, 216))
    draw.text((24, 22), "PROCTO UNIVERSITY  -  STUDENT ID", fill="white")
    portrait = Image.fromarray(faces.cropped(face_rgb, *head))
    portrait.thumbnail((260, 330))
    card.paste(portrait, (40, 120))
    for row, text in enumerate(["Name: ________________", "ID: 2026-000123", "Valid to 2030"]):
        draw.text((360, 150 + 50 * row), text, fill=(20, 20, 20))
    buffer = io.BytesIO()
    card.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


ASTRONAUT_HEAD = (0.0, 0.2, 0.55, 0.75)
HOPPER_HEAD = (0.05, 0.15, 0.65, 0.9)


def astronaut_photo() -> bytes:
    return jpeg(faces.astronaut())


def astronaut_id_card() -> bytes:
    return id_card_with(faces.astronaut(), head=ASTRONAUT_HEAD)


def hopper_photo() -> bytes:
    return jpeg(faces.grace_hopper())


def hopper_id_card() -> bytes:
    return id_card_with(faces.grace_hopper(), head=HOPPER_HEAD)


def astronaut_webcam() -> bytes:
    """A 640x480 webcam-like capture: smaller, dimmer, re-compressed."""
    frame = faces.relit(faces.resized(faces.astronaut(), 0.9), 1.3)
    return faces.jpeg_bytes(frame, quality=70)


def astronaut_phone_photo(megapixels: float = 24) -> bytes:
    """The astronaut's photo upscaled to about `megapixels`, the size of a phone camera's picture:
    at 24 MP a 1.7 MB JPEG whose checks cost a second or two of CPU."""
    side = round((megapixels * 1_000_000) ** 0.5)
    image = Image.fromarray(faces.astronaut()).resize((side, side), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def upload_file(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")
