"""Validation of the stream socket's binary messages; no input may escape as anything but
BadMessage."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proctoring.stream import (
    AUDIO,
    BUNDLE,
    FRAME,
    PART_LENGTH,
    BadMessage,
    jpeg_size,
    parse_bundle,
    parse_media,
)
from proctoring.tests.media import (
    audio_message,
    bundle_message,
    frame_message,
    message,
    tone_pcm,
    webcam_jpeg,
)


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


def test_a_bundle_carries_a_frame_and_the_audio_since_the_last_one():
    bundle = parse_bundle(bundle_message(audio_message(4), audio_message(5), frame_message(2)))
    assert [(p.kind_name, p.seq) for p in bundle.parts] == [("audio", 4), ("audio", 5), ("frame", 2)]
    assert bundle.refused == []
    assert jpeg_size(bundle.parts[2].payload) == (320, 240)


def test_a_bad_part_is_refused_alone_and_loses_none_of_the_others():
    bundle = parse_bundle(bundle_message(audio_message(4), frame_message(2, jpeg=b"\x89PNG not a jpeg")))
    assert [(p.kind_name, p.seq) for p in bundle.parts] == [("audio", 4)]
    assert [(e.code, e.seq) for e in bundle.refused] == [("BAD_FRAME", 2)]


def _parts_with_lengths(*chunks: bytes) -> bytes:
    return b"".join(PART_LENGTH.pack(len(c)) + c for c in chunks)


@pytest.mark.parametrize(
    "data",
    [
        bytes([BUNDLE]),  # no part count
        bytes([BUNDLE, 0]),  # no parts
        bytes([BUNDLE, 9]) + _parts_with_lengths(*[audio_message(k) for k in range(1, 10)]),  # too many
        bytes([BUNDLE, 2]) + _parts_with_lengths(audio_message(1)),  # a part missing
        bytes([BUNDLE, 1]) + PART_LENGTH.pack(10**6) + audio_message(1),  # a length past the end
        bundle_message(audio_message(1)) + b"\x00",  # bytes after the last part
        bundle_message(bundle_message(audio_message(1))),  # a bundle inside a bundle
        bundle_message(frame_message(1), frame_message(2)),  # two frames
        bundle_message(frame_message(1), frame_message(2, jpeg=b"GIF89a")),  # two, one of them bad
    ],
    ids=[
        "no-count",
        "empty",
        "too-many",
        "part-missing",
        "too-long",
        "trailing",
        "nested",
        "two-frames",
        "two-frames-one-bad",
    ],
)
def test_a_bundle_whose_framing_is_broken_is_refused_whole(data):
    with pytest.raises(BadMessage) as excinfo:
        parse_bundle(data)
    assert (excinfo.value.code, excinfo.value.seq) == ("BAD_MESSAGE", None)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes_after_a_bundles_kind_only_ever_raise_bad_message(data):
    with contextlib.suppress(BadMessage):
        parse_bundle(bytes([BUNDLE]) + data)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=8))
def test_well_framed_bundles_of_garbage_parts_refuse_each_part_with_bad_message(chunks):
    try:
        bundle = parse_bundle(bundle_message(*chunks))
    except BadMessage:
        return
    assert all(isinstance(exc, BadMessage) for exc in bundle.refused)
    assert len(bundle.parts) + len(bundle.refused) == len(chunks)
