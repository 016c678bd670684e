"""The stream socket's wire format (docs/PROTOCOL.md): parsing and validating client messages.

Pure functions: no Django, no I/O, so the consumer stays thin and this is easy to fuzz.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

FRAME, AUDIO, BUNDLE = 1, 2, 3
HEADER = struct.Struct(">BIQ")  # kind, sequence, capture time (ms since epoch)
# A bundle (kind 3): the frame and the audio chunks of one cadence in one message, so the server
# handles one message per student per cadence instead of three (issue 15: daphne's cost is per
# message). Kind byte, part count, then each part as a uint32 length and a kind-1 or kind-2
# message with its own header (docs/PROTOCOL.md).
BUNDLE_HEADER = struct.Struct(">BB")
PART_LENGTH = struct.Struct(">I")
# One frame and up to 7 s of audio: the page sends a frame every cadence and holds audio at most
# 2.5 s, so this is room to spare, and a bound on what one message may hold (~650 KB).
MAX_BUNDLE_PARTS = 8
MAX_BUNDLE_FRAMES = 1
# How long the exam page holds an audio chunk waiting for a frame (static/js/exam/stream.js).
AUDIO_HOLD_MS = 2500
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


@dataclass(frozen=True)
class Bundle:
    """The parts of a bundle that passed their checks, and why each other part was refused."""

    parts: list[MediaMessage]
    refused: list[BadMessage]


def is_bundle(data: bytes) -> bool:
    return data[:1] == bytes([BUNDLE])


def parse_bundle(data: bytes) -> Bundle:
    """Split a kind-3 message into its parts. A bundle whose framing is broken (counts and lengths
    that do not add up) is refused whole; a part that fails its own checks (a frame that is not a
    JPEG, odd audio) is refused alone, and the rest still count: a bad frame loses no audio."""
    if len(data) < BUNDLE_HEADER.size:
        raise BadMessage("BAD_MESSAGE", "a bundle starts with its kind and part count")
    _kind, count = BUNDLE_HEADER.unpack_from(data)
    if not 1 <= count <= MAX_BUNDLE_PARTS:
        raise BadMessage("BAD_MESSAGE", f"a bundle holds 1 to {MAX_BUNDLE_PARTS} parts, not {count}")
    chunks, offset = [], BUNDLE_HEADER.size
    for _ in range(count):
        if offset + PART_LENGTH.size > len(data):
            raise BadMessage("BAD_MESSAGE", "the bundle ends before its last part")
        (length,) = PART_LENGTH.unpack_from(data, offset)
        offset += PART_LENGTH.size
        if offset + length > len(data):
            raise BadMessage("BAD_MESSAGE", "a part of the bundle is longer than what follows it")
        chunks.append(data[offset : offset + length])
        offset += length
    if offset != len(data):
        raise BadMessage("BAD_MESSAGE", f"{len(data) - offset} bytes follow the bundle's last part")
    # From the kind bytes alone, before any part's checks: a refused bundle costs no JPEG scan.
    if any(chunk[:1] == bytes([BUNDLE]) for chunk in chunks):
        raise BadMessage("BAD_MESSAGE", "a bundle cannot hold another bundle")
    if sum(chunk[:1] == bytes([FRAME]) for chunk in chunks) > MAX_BUNDLE_FRAMES:
        raise BadMessage("BAD_MESSAGE", f"a bundle holds at most {MAX_BUNDLE_FRAMES} frame")
    parts, refused = [], []
    for chunk in chunks:
        try:
            parts.append(parse_media(chunk))
        except BadMessage as exc:
            refused.append(exc)
    return Bundle(parts=parts, refused=refused)


def encode_bundle(messages: list[bytes]) -> bytes:
    """A bundle of kind-1 and kind-2 messages (each with its header), as the exam page sends it."""
    body = b"".join(PART_LENGTH.pack(len(m)) + m for m in messages)
    return BUNDLE_HEADER.pack(BUNDLE, len(messages)) + body


def acked_parts(ack: dict) -> list[tuple[int, int]]:
    """(kind, seq) of each part an `ack` message names: a bundle's frame and chunks, or the one
    frame or chunk of a message of kind 1 or 2. For clients (the benchmarks' simulated pages)."""
    if ack["kind"] == "bundle":
        frame = [(FRAME, ack["frame"])] if ack.get("frame") is not None else []
        return frame + [(AUDIO, seq) for seq in ack.get("audio", [])]
    return [(FRAME if ack["kind"] == "frame" else AUDIO, ack["seq"])]


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
