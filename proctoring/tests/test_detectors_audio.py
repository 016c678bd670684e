"""The audio detector on real sounds: espeak-ng speech, sox noise and music, cut into chunks
the way the exam page sends them."""

from __future__ import annotations

import pickle
import pickletools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import signal
from scipy.io import wavfile

from proctoring.detectors import voices
from proctoring.detectors.audio import (
    RATE,
    AudioError,
    ChunkAnalysis,
    VoiceTracker,
    analyse_chunk,
    load_audio,
    pcm_to_float,
)
from proctoring.tests import audio_fixtures as fx


def analysed(samples: np.ndarray) -> list[ChunkAnalysis]:
    return [analyse_chunk(chunk) for chunk in fx.browser_chunks(samples)]


def voices_heard(samples: np.ndarray, *, with_samples: bool = True) -> list[int]:
    tracker = VoiceTracker()
    return [
        tracker.update(analyse_chunk(chunk), chunk if with_samples else None)
        for chunk in fx.browser_chunks(samples)
    ]


def test_silence_is_not_speech() -> None:
    for analysis in analysed(fx.silence(3)) + analysed(fx.quiet_room(3)):
        assert not analysis.speech
        assert analysis.pitch_hz is None
        assert not analysis.mic_activity
        assert not analysis.background_noise
        assert not analysis.tonal


def test_a_spoken_sentence_is_speech() -> None:
    analyses = analysed(fx.speech(fx.SENTENCES[0], fx.LOW_VOICE))
    assert len(analyses) == 3
    assert all(analysis.speech and analysis.mic_activity for analysis in analyses)
    # A low male voice: its median pitch where men speak.
    assert all(80 < analysis.pitch_hz < 160 for analysis in analyses)
    assert not any(analysis.tonal or analysis.background_noise for analysis in analyses)


def test_a_chunk_at_another_rate_is_analysed_at_its_own_rate() -> None:
    chunk = fx.browser_chunks(fx.speech(fx.SENTENCES[0]))[1]
    at_48_khz = signal.resample_poly(chunk, 3, 1)
    native, resampled = analyse_chunk(chunk), analyse_chunk(at_48_khz, rate=48_000)
    assert resampled.speech and native.speech
    assert resampled.pitch_hz == pytest.approx(native.pitch_hz, rel=0.02)
    assert resampled.level_dbfs == pytest.approx(native.level_dbfs, abs=0.5)


def test_a_high_voice_is_speech_at_its_own_pitch() -> None:
    analyses = analysed(fx.speech(fx.SENTENCES[1], fx.HIGH_VOICE))
    assert all(analysis.speech for analysis in analyses)
    assert all(170 < analysis.pitch_hz < 300 for analysis in analyses)


def test_quiet_speech_is_still_speech() -> None:
    loud = analysed(fx.speech(fx.SENTENCES[0]))
    quiet = analysed(fx.at_level(fx.speech(fx.SENTENCES[0]), -30))
    assert all(analysis.speech and analysis.mic_activity for analysis in quiet)
    for before, after in zip(loud, quiet, strict=True):
        assert after.level_dbfs == pytest.approx(before.level_dbfs - 30, abs=0.5)
        assert after.pitch_hz == pytest.approx(before.pitch_hz, rel=0.03)


def test_a_fan_is_background_noise_not_speech() -> None:
    for analysis in analysed(fx.room_noise(4)):
        assert analysis.background_noise
        assert not analysis.speech
        assert not analysis.tonal
        assert analysis.mic_activity
        # A steady noise is its own floor: its level and its background level are close.
        assert analysis.noise_dbfs == pytest.approx(analysis.level_dbfs, abs=6)


def test_a_distant_fan_is_too_quiet_to_report() -> None:
    for analysis in analysed(fx.room_noise(3, volume=0.0025)):
        assert not analysis.background_noise
        assert not analysis.mic_activity


def test_speech_over_a_fan_is_speech_and_background_noise() -> None:
    analyses = analysed(fx.speech_over_noise(fx.SENTENCES[3], snr_db=10))
    assert all(analysis.speech for analysis in analyses)
    assert sum(analysis.background_noise for analysis in analyses) >= len(analyses) - 1


def test_key_clicks_are_sound_but_not_speech_or_noise() -> None:
    for analysis in analysed(fx.key_clicks(3)):
        assert analysis.mic_activity
        assert not (analysis.speech or analysis.background_noise or analysis.tonal)


@pytest.mark.parametrize("kind", ["melody", "chords", "arpeggio"])
def test_music_is_tonal_not_speech(kind: str) -> None:
    for analysis in analysed(fx.music(kind)):
        assert analysis.tonal
        assert not analysis.speech
        assert not analysis.background_noise


def test_one_voice_is_one_voice() -> None:
    for voice in (fx.LOW_VOICE, fx.HIGH_VOICE):
        heard = voices_heard(fx.conversation(fx.SENTENCES[:4], voice))
        assert max(heard) == 1
        assert heard[-1] == 1


def test_two_alternating_voices_are_two_voices() -> None:
    heard = voices_heard(fx.two_speakers_alternating(fx.SENTENCES[:4]))
    first_turn = len(fx.speech(fx.SENTENCES[0], fx.LOW_VOICE)) // RATE
    assert heard[:first_turn] == [1] * first_turn  # only the first voice so far
    assert heard[-1] == 2
    assert heard.count(2) >= len(heard) // 2


def test_two_voices_are_told_apart_from_the_analyses_alone() -> None:
    heard = voices_heard(fx.two_speakers_alternating(fx.SENTENCES[:4]), with_samples=False)
    assert heard[-1] == 2


def test_voices_leave_the_window_after_it_passes() -> None:
    two = fx.two_speakers_alternating(fx.SENTENCES[:2])
    heard = voices_heard(np.concatenate([two, fx.silence(12)]))
    assert 2 in heard
    assert heard[-1] == 0


def test_odd_length_pcm_is_an_audio_error() -> None:
    with pytest.raises(AudioError) as odd:
        pcm_to_float(b"\x00\x01\x02")
    assert odd.value.code == "odd-length"
    with pytest.raises(AudioError) as empty:
        pcm_to_float(b"")
    assert empty.value.code == "empty"


def test_pcm_is_read_as_little_endian_int16() -> None:
    samples = pcm_to_float(np.array([0, 16384, -32768, 32767], dtype="<i2").tobytes())
    assert samples.dtype == np.float32
    assert samples.tolist() == pytest.approx([0.0, 0.5, -1.0, 32767 / 32768])


@pytest.mark.parametrize(
    ("rate", "data"),
    [
        (22_050, (np.sin(np.arange(22_050) / 10) * 30_000).astype(np.int16)),
        (44_100, np.stack([np.full(44_100, 0.5), np.full(44_100, -0.5)], axis=1).astype(np.float32)),
        (8_000, np.full(8_000, 128 + 64, dtype=np.uint8)),
        (16_000, np.full(16_000, 2**30, dtype=np.int32)),
    ],
    ids=["int16 22.05 kHz", "stereo float 44.1 kHz", "uint8 8 kHz", "int32 16 kHz"],
)
def test_any_wav_is_loaded_as_mono_float_at_16_khz(tmp_path, rate: int, data: np.ndarray) -> None:
    path = tmp_path / "sound.wav"
    wavfile.write(path, rate, data)
    samples = load_audio(path)
    assert samples.dtype == np.float32
    assert samples.ndim == 1
    assert len(samples) == RATE
    assert np.all(np.abs(samples) <= 1)
    if data.dtype in (np.uint8, np.int32):
        assert np.median(samples) == pytest.approx(0.5, abs=0.01)
    if data.ndim == 2:
        assert np.abs(samples).max() < 1e-6  # the two channels cancel out


def test_a_file_that_is_not_a_wav_is_an_audio_error(tmp_path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("not a recording")
    with pytest.raises(AudioError) as error:
        load_audio(path)
    assert error.value.code == "unreadable"


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.int16, st.integers(1, 2 * RATE)))
def test_any_int16_audio_is_analysed_without_error(samples: np.ndarray) -> None:
    analysis = analyse_chunk(pcm_to_float(samples.astype("<i2").tobytes()))
    assert -120 <= analysis.level_dbfs <= 3.1
    assert -120 <= analysis.noise_dbfs <= 3.1
    assert 0 <= analysis.speech_ratio <= 1
    assert (analysis.pitch_hz is not None) == analysis.speech
    VoiceTracker().update(analysis, pcm_to_float(samples.astype("<i2").tobytes()))


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=64))
def test_bytes_are_pcm_or_an_audio_error(data: bytes) -> None:
    try:
        samples = pcm_to_float(data)
    except AudioError as error:
        assert error.code == ("empty" if not data else "odd-length")
    else:
        assert len(samples) * 2 == len(data)


def test_a_tracker_cached_before_voice_embeddings_still_counts_after_a_deploy() -> None:
    # Workers keep each session's VoiceTracker in the cache; one pickled by the release that
    # counted pitches holds (time, runs) pairs.
    old = VoiceTracker()
    old._heard.append((1.0, [(120.0, 0.5)]))
    old._heard = type(old._heard)((t, runs) for t, runs, *_ in old._heard)
    tracker = pickle.loads(pickle.dumps(old))  # noqa: S301 - our own object, as the cache does
    chunk = fx.browser_chunks(fx.speech(fx.SENTENCES[0]))[0]
    assert tracker.update(analyse_chunk(chunk), chunk) == 1


def test_a_tracker_cached_before_joins_still_counts_after_a_deploy() -> None:
    # One pickled by the release before the joins of neighbouring chunks has no last chunk.
    old = VoiceTracker()
    chunk = fx.browser_chunks(fx.speech(fx.SENTENCES[0]))[0]
    old.update(analyse_chunk(chunk), chunk)
    for name in ("_last", "_chunks"):
        old.__dict__.pop(name, None)
    tracker = pickle.loads(pickle.dumps(old))  # noqa: S301 - our own object, as the cache does
    assert tracker.update(analyse_chunk(chunk), chunk, seq=7) == 1


def test_a_tracker_with_joins_is_cached_as_plain_arrays_an_older_release_can_read() -> None:
    # A rollback, or the old workers of a rolling deploy, load the session's tracker with code
    # that has none of this release's new classes: the pickle may name only the tracker,
    # NumPy's and the standard library's.
    tracker = VoiceTracker()
    for seq, chunk in enumerate(fx.browser_chunks(fx.speech(" ".join(fx.SENTENCES[:2])))):
        tracker.update(analyse_chunk(chunk), chunk, seq=seq)
    assert tracker._last is not None
    named = {
        arg.split(" ")[0] if isinstance(arg, str) else ""
        for op, arg, _ in pickletools.genops(pickle.dumps(tracker))
        if op.name in ("GLOBAL", "STACK_GLOBAL", "SHORT_BINUNICODE", "BINUNICODE")
    }
    ours = {name for name in named if name.startswith("proctoring")}
    assert ours <= {"proctoring.detectors.audio"}
    assert "Half" not in named and "Voice" not in named


def test_a_chunk_delivered_twice_is_counted_once() -> None:
    # A worker lost after it saved the tracker: the chunk comes again, to another worker.
    chunks = fx.browser_chunks(fx.speech(" ".join(fx.SENTENCES[:2])))
    analyses = [analyse_chunk(chunk) for chunk in chunks]
    once, twice = VoiceTracker(), VoiceTracker()
    for seq, (analysis, chunk) in enumerate(zip(analyses, chunks, strict=True)):
        once.update(analysis, chunk, seq=seq)
        twice.update(analysis, chunk, seq=seq)
        if seq == 2:
            twice.update(analysis, chunk, seq=seq)
    assert [(t, p is None) for t, _, p in twice._heard] == [(t, p is None) for t, _, p in once._heard]


def _vectors_with(gram: np.ndarray) -> list[np.ndarray]:
    """Unit vectors whose pairwise cosine similarities are `gram`."""
    values, basis = np.linalg.eigh(gram)
    assert values.min() > -1e-9
    rows = basis * np.sqrt(np.clip(values, 0, None))
    return [np.pad(row, (0, 192 - len(row))).astype(np.float32) for row in rows]


def test_a_group_alike_only_through_shared_audio_is_no_voice_of_its_own() -> None:
    # Five seconds of one voice, each 0.6 alike with the others; five vectors half a second
    # apart (seconds and the joins between them) that are alike only where they share audio
    # (0.6 for neighbours, 0.2 otherwise), 0.2 alike with the first five: one voice under
    # noise, heard through overlapping windows.
    gram = np.full((10, 10), 0.2)
    gram[:5, :5] = 0.6
    for i in range(5, 9):
        gram[i, i + 1] = gram[i + 1, i] = 0.6
    np.fill_diagonal(gram, 1.0)
    vectors = _vectors_with(gram)
    centres = [0.5, 1.5, 2.5, 3.5, 4.5, 10.0, 10.5, 11.0, 11.5, 12.0]
    assert voices.count_voices(vectors, centres) == 1
    # Were the five seconds apart, they would be a voice of their own.
    assert voices.count_voices(vectors, [*centres[:5], 10, 11, 12, 13, 14]) == 2
