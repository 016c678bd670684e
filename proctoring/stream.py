"""The stream socket's wire format (docs/PROTOCOL.md): parsing and validating client messages.

Pure functions: no Django, no I/O, so the consumer stays thin and this is easy to fuzz.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

FRAME, AUDIO = 1, 2
HEADER = struct.Struct(">BIQ")  # kind, sequence, capture time (ms since epoch)
MAX_FRAME_BYTES = 200 * 1024
MAX_FRAME_SIDE = (1920, 1080)
AUDIO_RATE = 16_000
MAX_AUDIO_BYTES = 2 * AUDIO_RATE * 2  # 2 s of int16 mono
JPEG_START, JPEG_END = b"\xff\xd8\xff", b"\xff\xd9"


class BadMessage(ValueError):
    def __init__(self, code: str, message: str, seq: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.seq = code, message, seq


@dataclass(frozen=True)
class MediaMessage:
    kind: int
    seq: int
    captured_ms: int
    payload: bytes

    @property
    def kind_name(self) -> str:
        return "frame" if self.kind == FRAME else "audio"


def parse_media(data: bytes) -> MediaMessage:
    if len(data) < HEADER.size:
        raise BadMessage("BAD_MESSAGE", f"binary messages start with a {HEADER.size}-byte header")
    kind, seq, captured_ms = HEADER.unpack_from(data)
    payload = data[HEADER.size :]
    if kind == FRAME:
        _check_jpeg(payload, seq)
    elif kind == AUDIO:
        _check_pcm(payload, seq)
    else:
        raise BadMessage("BAD_MESSAGE", f"unknown message kind {kind}", seq)
    if seq == 0:
        raise BadMessage("BAD_MESSAGE", "sequence numbers start at 1", seq)
    return MediaMessage(kind=kind, seq=seq, captured_ms=captured_ms, payload=payload)


def _check_jpeg(payload: bytes, seq: int) -> None:
    if len(payload) > MAX_FRAME_BYTES:
        raise BadMessage("BAD_FRAME", f"frame is {len(payload)} bytes; the limit is {MAX_FRAME_BYTES}", seq)
    if not payload.startswith(JPEG_START) or JPEG_END not in payload[-64:]:
        raise BadMessage("BAD_FRAME", "frame is not a complete JPEG", seq)
    width, height = jpeg_size(payload)
    if width == 0 or height == 0 or width > MAX_FRAME_SIDE[0] or height > MAX_FRAME_SIDE[1]:
        raise BadMessage("BAD_FRAME", f"frame is {width}x{height}; the limit is 1920x1080", seq)


def _check_pcm(payload: bytes, seq: int) -> None:
    if not payload or len(payload) % 2:
        raise BadMessage("BAD_AUDIO", "audio must be whole 16-bit samples", seq)
    if len(payload) > MAX_AUDIO_BYTES:
        raise BadMessage("BAD_AUDIO", "audio chunks are at most 2 s of 16 kHz mono", seq)


def jpeg_size(data: bytes) -> tuple[int, int]:
    """Width and height from the JPEG's start-of-frame marker, without decoding the image."""
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            return width, height
        i += 2 + length
    return 0, 0
