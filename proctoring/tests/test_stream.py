"""Validation of the stream socket's binary messages; no input may escape as anything but
BadMessage."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proctoring.stream import AUDIO, FRAME, BadMessage, jpeg_size, parse_media
from proctoring.tests.media import audio_message, frame_message, message, tone_pcm, webcam_jpeg


def test_a_webcam_frame_is_accepted_with_its_sequence_number():
    parsed = parse_media(frame_message(7))
    assert (parsed.kind, parsed.seq, parsed.kind_name) == (FRAME, 7, "frame")
    assert jpeg_size(parsed.payload) == (320, 240)


def test_a_second_of_audio_is_accepted():
    parsed = parse_media(audio_message(3))
    assert (parsed.kind_name, len(parsed.payload)) == ("audio", 32_000)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\x01\x00", "BAD_MESSAGE"),  # shorter than the header
        (message(9, 1, b"x"), "BAD_MESSAGE"),  # unknown kind
        (message(FRAME, 1, b"GIF89a" + b"\x00" * 100), "BAD_FRAME"),
        (message(FRAME, 1, webcam_jpeg()[:-200]), "BAD_FRAME"),  # truncated JPEG
        (message(FRAME, 1, webcam_jpeg(size=(1920, 1200))), "BAD_FRAME"),  # beyond 1920x1080
        (message(FRAME, 1, b"\xff\xd8\xff" + b"\x00" * (200 * 1024) + b"\xff\xd9"), "BAD_FRAME"),
        (message(AUDIO, 1, b"\x00\x01\x02"), "BAD_AUDIO"),  # half a sample
        (message(AUDIO, 1, tone_pcm(seconds=2.5)), "BAD_AUDIO"),  # longer than 2 s
        (message(AUDIO, 1, b""), "BAD_AUDIO"),
        (frame_message(0), "BAD_MESSAGE"),  # sequences start at 1
    ],
    ids=[
        "short",
        "kind",
        "gif",
        "truncated",
        "too-big-picture",
        "too-many-bytes",
        "odd",
        "long",
        "empty",
        "seq0",
    ],
)
def test_bad_messages_are_refused_with_a_code(data, code):
    with pytest.raises(BadMessage) as excinfo:
        parse_media(data)
    assert excinfo.value.code == code


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes_only_ever_raise_bad_message(data):
    with contextlib.suppress(BadMessage):
        parse_media(data)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=2), st.binary(min_size=0, max_size=512))
def test_a_valid_header_with_garbage_payload_only_raises_bad_message(kind, payload):
    with contextlib.suppress(BadMessage):
        parse_media(message(kind, 1, b"\xff\xd8\xff" + payload))
