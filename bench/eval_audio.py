"""Audio analysis: precision and recall of the audio events on a labelled set of real sounds.

Speech from espeak-ng (eight sentences; two main voices as they are, quieter, louder, over fan
and traffic noise, in a reverberant room, through a thin microphone, fast, slow, with a lively
pitch; four more voices), man/woman pairs taking turns, and without speech: silence, noise,
key clicks, sirens and music from sox. Every recording is cut into 1-second chunks of 16-bit
PCM, as the exam page sends them, and analysed chunk by chunk; each recording is one session
for the VoiceTracker. Labels come from the clean sounds, never from the detector:

    .venv/bin/python bench/eval_audio.py

Prints a table per event, one per recording, how soon two voices are reported, the time per
chunk, then one JSON line. `evaluate()` returns the per-event counts (bench/eval_detection.py).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.scoring import confusion_scores
from proctoring.detectors import audio
from proctoring.detectors.audio import RATE
from proctoring.tests import audio_fixtures as fx

EVENTS = ("speech-detected", "multiple-voices", "background-noise", "mic-activity", "tonal")
CHUNK = RATE  # the browser's 1-second chunks
ORACLE_HOP = 160
# Ground truth for speech: 10 ms frames of the clean voice within 40 dB of its loudest frame.
ORACLE_RANGE_DB = 40.0
# A chunk is speech with at least 0.25 s of the clean voice in it, silence with under 0.02 s;
# chunks in between (a word's tail) are left out of the speech score.
SPEECH_SECONDS, NO_SPEECH_SECONDS = 0.25, 0.02
# Two voices in the 10 s window: each with at least 1 s of speech; one voice: the other has none.
VOICE_SECONDS = 1.0


@dataclass
class Recording:
    """One session's sound with what is really in it."""

    name: str
    samples: np.ndarray
    voices: list[np.ndarray] = field(default_factory=list)  # per voice, active 10 ms frames
    noise: bool | None = False  # steady noise over the room's level throughout (None: either is right)
    tonal: bool | None = False  # music or another steady tone throughout (None: either is right)
    sound: bool = False  # something audible throughout (noise, music, clicks)
    scored: bool = True  # False: a known limit, shown per condition but kept out of the totals


def _activity(clean: np.ndarray) -> np.ndarray:
    frames = clean[: len(clean) // ORACLE_HOP * ORACLE_HOP].reshape(-1, ORACLE_HOP).astype(np.float64)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    return level > level.max() - ORACLE_RANGE_DB


def spoken(turns: list[tuple[int, np.ndarray]], voices: int, pause: float = 0.6) -> Recording:
    """Utterances (voice index, clean samples) one after another with `pause` between them."""
    gap = np.zeros(round(pause * RATE), dtype=np.float32)
    quiet = np.zeros(len(gap) // ORACLE_HOP, dtype=bool)
    pieces: list[np.ndarray] = []
    activity: list[list[np.ndarray]] = [[] for _ in range(voices)]
    for speaker, clean in turns:
        clean = clean[: len(clean) // ORACLE_HOP * ORACLE_HOP]
        active = _activity(clean)
        pieces += [clean, gap]
        for index in range(voices):
            activity[index] += [active if index == speaker else np.zeros_like(active), quiet]
    return Recording("", np.concatenate(pieces), [np.concatenate(frames) for frames in activity])


def with_noise(recording: Recording, colour: str, snr_db: float) -> Recording:
    """The recording over steady noise `snr_db` under the voice's active RMS."""
    x = recording.samples
    frames = x[: len(x) // ORACLE_HOP * ORACLE_HOP].reshape(-1, ORACLE_HOP).astype(np.float64)
    active = np.any(recording.voices, axis=0)
    voice_rms = np.sqrt(np.mean(frames[active[: len(frames)]] ** 2))
    noise = fx.room_noise(len(x) / RATE + 1, colour)[: len(x)].astype(np.float64)
    gain = voice_rms / (np.sqrt(np.mean(noise**2)) * 10 ** (snr_db / 20))
    mixed = (x + gain * noise).astype(np.float32)
    return Recording(recording.name, mixed, recording.voices, noise=True, sound=True)


def recordings() -> list[Recording]:
    low, high = fx.LOW_VOICE, fx.HIGH_VOICE
    sentences = fx.SENTENCES
    found: list[Recording] = []

    def add(name: str, recording: Recording, **labels: bool | None) -> None:
        found.append(replace(recording, name=name, **labels))

    def alone(voice: str, texts: tuple[str, ...] = sentences, pause=0.6, **options: int) -> Recording:
        return spoken([(0, fx.speech(text, voice, **options)) for text in texts], 1, pause)

    def heard_as(recording: Recording, samples: np.ndarray) -> Recording:
        """The same voices, through another room, microphone or gain."""
        return Recording("", samples, recording.voices)

    for voice in (low, high):
        talk = alone(voice)
        add(f"{voice} speech", talk)
        add(f"{voice} speech -30 dB", heard_as(talk, fx.at_level(talk.samples, -30)))
        add(f"{voice} speech peak-normalised (auto-gain)", heard_as(talk, _peak_normalised(talk.samples)))
        add(f"{voice} speech over fan, SNR 10 dB", with_noise(talk, "pink", 10))
        add(f"{voice} speech over traffic, SNR 5 dB", with_noise(talk, "brown", 5))
        add(f"{voice} speech in a reverberant room", heard_as(talk, fx.reverberant(talk.samples)))
        thin = fx.processed(talk.samples, "sinc", "300-3400")  # a headset in phone-call mode
        add(f"{voice} speech, thin microphone (300-3400 Hz)", heard_as(talk, thin))
        add(f"{voice} fast speech (220 wpm)", alone(voice, sentences[:4], 0.3, speed=220))
        add(f"{voice} slow speech, 2 s pauses", alone(voice, sentences[4:], 2.0, speed=120))
        # One person, calmer then livelier: sentences alternately 5-6 semitones apart.
        lively = [(0, fx.speech(text, voice, pitch=(35, 65)[i % 2])) for i, text in enumerate(sentences)]
        add(f"{voice} speech, pitch alternating 35/65", spoken(lively, 1))
    for voice in ("en+m1", "en+f5", "en-us+m7", "en+f2"):
        add(f"{voice} speech", alone(voice, sentences[2:6]))

    for pair in ((low, high), ("en+m1", "en+f5"), ("en-us+m7", "en+f2")):
        turns = [(i % 2, fx.speech(text, pair[i % 2])) for i, text in enumerate(sentences)]
        both = spoken(turns, 2, 0.4)
        add(f"two voices {pair[0]} / {pair[1]}", both)
        if pair == (low, high):
            add(f"two voices {pair[0]} / {pair[1]} over fan, SNR 10 dB", with_noise(both, "pink", 10))
            add(f"two voices {pair[0]} / {pair[1]} -30 dB", heard_as(both, fx.at_level(both.samples, -30)))
    male = [(i % 2, fx.speech(text, ("en+m1", "en+m7")[i % 2])) for i, text in enumerate(sentences)]
    add("limit: two male voices en+m1 / en+m7", spoken(male, 2, 0.4), scored=False)
    add("limit: whispered speech", alone("en+whisper", sentences[:4]), scored=False)

    add("silence", Recording("", fx.silence(5)))
    add("quiet room (-71 dBFS)", Recording("", fx.quiet_room(10)))
    add("fan, pink noise -40 dBFS", Recording("", fx.room_noise(20)), noise=True, sound=True)
    add("traffic, brown noise -31 dBFS", Recording("", fx.room_noise(15, "brown")), noise=True, sound=True)
    add("hiss, white noise -44 dBFS", Recording("", fx.room_noise(10, "white", 0.02)), noise=True, sound=True)
    add("distant fan, pink noise -66 dBFS", Recording("", fx.room_noise(10, volume=0.0025)))
    add("key clicks", Recording("", fx.key_clicks(10)), sound=True)
    clicks = fx.key_clicks(10)
    fan = fx.room_noise(10)[: len(clicks)]
    add("key clicks over a fan", Recording("", clicks + fan), noise=True, sound=True)
    # A siren's held tones are tonal; a sweep may or may not be called so.
    add("siren: wail 650-1300 Hz", Recording("", fx.siren("wail")), sound=True, tonal=None)
    add("siren: hi-lo 435/580 Hz", Recording("", fx.siren("hi-lo")), sound=True, tonal=True)
    for kind in ("melody", "chords", "arpeggio"):
        add(f"music: {kind}", Recording("", fx.music(kind)), tonal=True, sound=True)
    add("music: melody -20 dB", Recording("", fx.at_level(fx.music("melody"), -20)), tonal=True, sound=True)
    melody = fx.music("melody")
    # Music is called tonal, never noise: the fan under it may or may not be reported.
    over_fan = Recording("", melody + fx.room_noise(6)[: len(melody)])
    add("music: melody over a fan", over_fan, tonal=True, sound=True, noise=None)
    return found


def _peak_normalised(samples: np.ndarray) -> np.ndarray:
    return (samples * (0.98 / np.max(np.abs(samples)))).astype(np.float32)


@dataclass
class Outcome:
    truth: bool | None  # None: left out of the score
    said: bool


def chunk_outcomes(recording: Recording, times: list[float]) -> dict[str, list[Outcome]]:
    outcomes: dict[str, list[Outcome]] = {event: [] for event in EVENTS}
    tracker = audio.VoiceTracker(window_seconds=10.0)
    frames_per_chunk = CHUNK // ORACLE_HOP
    window = 10 * frames_per_chunk
    for index, chunk in enumerate(fx.browser_chunks(recording.samples)):
        started = time.perf_counter()
        analysis = audio.analyse_chunk(chunk)
        times.append(time.perf_counter() - started)
        voices_heard = tracker.update(analysis, chunk)
        here = slice(index * frames_per_chunk, (index + 1) * frames_per_chunk)
        recent = slice(max(0, (index + 1) * frames_per_chunk - window), (index + 1) * frames_per_chunk)
        spoken = sum(voice[here].sum() for voice in recording.voices) * ORACLE_HOP / RATE
        speech = True if spoken >= SPEECH_SECONDS else False if spoken < NO_SPEECH_SECONDS else None
        per_voice = sorted(
            (voice[recent].sum() * ORACLE_HOP / RATE for voice in recording.voices), reverse=True
        )
        per_voice += [0.0, 0.0]
        two = True if per_voice[1] >= VOICE_SECONDS else False if per_voice[1] == 0 else None
        sound = True if recording.sound or speech else None if speech is None else False
        outcomes["speech-detected"].append(Outcome(speech, analysis.speech))
        outcomes["multiple-voices"].append(Outcome(two, voices_heard >= 2))
        outcomes["background-noise"].append(Outcome(recording.noise, analysis.background_noise))
        outcomes["mic-activity"].append(Outcome(sound, analysis.mic_activity))
        outcomes["tonal"].append(Outcome(recording.tonal, analysis.tonal))
    return outcomes


def scores(outcomes: list[Outcome]) -> dict[str, float | int]:
    scored = [o for o in outcomes if o.truth is not None]
    tp = sum(o.truth and o.said for o in scored)
    fp = sum(not o.truth and o.said for o in scored)
    fn = sum(o.truth and not o.said for o in scored)
    tn = sum(not o.truth and not o.said for o in scored)
    return confusion_scores(tp, fp, fn, tn)


def second_voice_delay(recording: Recording, outcomes: dict[str, list[Outcome]]) -> float | None:
    """Seconds from the second voice's first word to the end of the first chunk said to hold
    two voices (None: never said)."""
    onset = max(np.flatnonzero(voice)[0] for voice in recording.voices) * ORACLE_HOP / RATE
    for index, outcome in enumerate(outcomes["multiple-voices"]):
        if outcome.said and index + 1 > onset:
            return round(index + 1 - onset, 1)
    return None


@dataclass
class Run:
    results: dict[str, dict[str, float | int]]
    per_recording: dict[str, dict[str, list[Outcome]]]
    delays: dict[str, float | None]
    times: list[float]


def run() -> Run:
    times: list[float] = []
    per_recording, delays = {}, {}
    totals: dict[str, list[Outcome]] = {event: [] for event in EVENTS}
    for recording in recordings():
        outcomes = chunk_outcomes(recording, times)
        per_recording[recording.name] = outcomes
        if len(recording.voices) == 2:
            delays[recording.name] = second_voice_delay(recording, outcomes)
        if recording.scored:
            for event in EVENTS:
                totals[event] += outcomes[event]
    return Run({event: scores(totals[event]) for event in EVENTS}, per_recording, delays, times)


def evaluate() -> dict[str, dict[str, float | int]]:
    """Per event type: tp, fp, fn, tn, precision and recall over the labelled set."""
    return run().results


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    measured = run()
    results, per_recording, times = measured.results, measured.per_recording, measured.times
    print(f"{'event':18}{'tp':>6}{'fp':>6}{'fn':>6}{'tn':>6}{'precision':>11}{'recall':>8}")
    for event, s in results.items():
        print(
            f"{event:18}{s['tp']:6}{s['fp']:6}{s['fn']:6}{s['tn']:6}{s['precision']:11.3f}{s['recall']:8.3f}"
        )
    print("\nPer recording: chunks, then said/true for each event (true counts leave out unlabelled chunks)")
    print(f"{'recording':52}{'chunks':>7}" + "".join(f"{e:>18}" for e in EVENTS))
    for name, outcomes in per_recording.items():
        cells = []
        for event in EVENTS:
            labelled = [o for o in outcomes[event] if o.truth is not None]
            said = sum(o.said for o in labelled)
            true = sum(bool(o.truth) for o in labelled)
            cells.append(f"{said:>3}/{true:<3} of {len(labelled):<3}")
        print(f"{name:52}{len(outcomes['tonal']):7}" + "".join(f"{c:>18}" for c in cells))
    print("\nTwo voices: seconds from the second voice's first word to the first chunk said to hold two")
    for name, delay in measured.delays.items():
        print(f"  {name:50} {'never' if delay is None else delay}")
    median_ms = round(statistics.median(times) * 1000, 2)
    p95_ms = round(float(np.percentile(times, 95)) * 1000, 2)
    print(f"\nanalyse_chunk: median {median_ms} ms, p95 {p95_ms} ms per 1-second chunk ({len(times)} chunks)")
    print(
        json.dumps(
            {"events": results, "chunk_ms_median": median_ms, "chunk_ms_p95": p95_ms, "chunks": len(times)}
        )
    )


if __name__ == "__main__":
    main()
