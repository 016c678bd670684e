"""Audio analysis: precision and recall of the audio events on labelled sets of sounds.

Three sets. "synthetic" (below): espeak-ng speech and sox sounds. "dev" and "test": real human
voices and real music from Debian packages (proctoring/tests/real_voices.py): each speaker alone
(as recorded, 25 dB quieter, over a fan, over music at 10 and 5 dB, far away as from a TV),
pairs taking turns (man/woman, two women, two men; one after the other and talking over each
other, one pair over music), music alone, beeps, hum and key clicks. The detectors' thresholds
were tuned on "dev"; "test" holds other speakers and music tracks, and Chromium's beep.

Speech from espeak-ng (eight sentences; two main voices as they are, quieter, louder, over fan
and traffic noise, in a reverberant room, through a thin microphone, fast, slow, with a lively
pitch; four more voices), man/woman pairs taking turns, and without speech: silence, noise,
key clicks, sirens and music from sox. Every recording is cut into 1-second chunks of 16-bit
PCM, as the exam page sends them, and analysed chunk by chunk; each recording is one session
for the VoiceTracker. Labels come from the clean sounds, never from the detector:

    .venv/bin/python bench/eval_audio.py [--sets synthetic,dev,test] [--before REV]

Prints a table per event and set, one per recording source, one per recording, how soon two
voices are reported, false speech-detected events in a simulated hour without speech, the CPU
per chunk, then one JSON line. `--before REV` runs the detector of that git revision on the same
chunks in the same process, for before/after figures. `evaluate()` returns the per-event counts
(bench/eval_detection.py).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.scoring import confusion_scores
from proctoring import conditions, hysteresis
from proctoring.detectors import audio
from proctoring.detectors.audio import RATE
from proctoring.tests import audio_fixtures as fx
from proctoring.tests import real_voices as rv

ROOT = Path(__file__).resolve().parents[1]

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
    split: str = "synthetic"  # "synthetic", or the real set: "dev" (tuned on) or "test" (held out)
    source: str = "espeak-ng + sox"  # the package the sound comes from


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


# Pairs of real speakers per split: man/woman, two men, two women.
PAIRS = {
    "dev": [
        ("allison", "carlo", "man/woman"),
        ("ktuberling-gl", "ktuberling-de", "man/woman"),
        ("carlo", "ktuberling-de", "two men"),
        ("allison", "ktuberling-gl", "two women"),
    ],
    "test": [
        ("june", "ktuberling-wa", "man/woman"),
        ("ivrvoice-ru", "ktuberling-el", "man/woman"),
        ("armelle", "ktuberling-el", "man/woman"),
        ("ktuberling-wa", "ktuberling-el", "two men"),
        ("june", "ivrvoice-ru", "two women"),
        ("armelle", "june", "two women"),
    ],
}


def real_recordings(split: str) -> list[Recording]:
    """The real set of one split (see the module's docstring)."""
    found: list[Recording] = []
    tracks = [track for track, where in rv.MUSIC_SPLIT.items() if where == split]

    def add(name: str, source: str, samples: np.ndarray, voices: list[np.ndarray], **labels) -> None:
        found.append(Recording(name, samples, voices, split=split, source=source, **labels))

    def background(track: str, start: float, seconds: float) -> np.ndarray:
        return rv.music(track)[round(start * RATE) : round((start + seconds) * RATE)]

    for name, speaker in rv.MANIFEST.items():
        if speaker.split != split:
            continue
        alone, source = rv.talk(name, 30), speaker.package
        label = f"{name} ({speaker.sex})"
        add(label, source, alone.samples, alone.voices)
        add(f"{label} -25 dB", source, fx.at_level(alone.samples, -25), alone.voices)
        fan = rv.mixed(alone.samples, fx.room_noise(10), 10)
        add(f"{label} over a fan, 10 dB", source, fan, alone.voices, noise=None, sound=True)
        over = rv.mixed(alone.samples, background(tracks[0], 20, 40), 10)
        add(f"{label} over music, 10 dB", source, over, alone.voices, tonal=None, sound=True)
        under = rv.mixed(alone.samples, background(tracks[-1], 30, 40), 5)
        add(f"{label} over music, 5 dB", source, under, alone.voices, tonal=None, sound=True)
        add(f"{label} far away (a TV)", source, rv.far_away(alone.samples), alone.voices)
    for first, second, kind in PAIRS[split]:
        for overlap, how in ((0.0, "taking turns"), (0.3, "talking over each other")):
            both = rv.conversation(first, second, 30, overlap=overlap)
            add(f"{kind} {first}/{second}, {how}", "pair", both.samples, both.voices)
    first, second, kind = PAIRS[split][0]
    both = rv.conversation(first, second, 30)
    over = rv.mixed(both.samples, background(tracks[0], 60, 40), 10)
    add(f"{kind} {first}/{second} over music, 10 dB", "pair", over, both.voices, tonal=None, sound=True)
    for track in tracks:
        add(
            f"music: {track}",
            "asterisk-moh-opsound-g722",
            background(track, 10, 60),
            [],
            tonal=None,
            sound=True,
        )
    if split == "test":
        beep = np.tile(rv.chromium_beep(), 5)
        add("Chromium's fake microphone (400 Hz beeps)", "chromium", beep, [], tonal=None, sound=True)
        add(
            "mains hum 60 Hz",
            "sox",
            fx._sox("synth", "20", "sine", "60", "sine", "180", "vol", "0.05"),
            [],
            tonal=None,
            sound=True,
        )
    else:
        beeps = fx._sox(
            *fx._chain([["synth", "0.15", "sine", "1000", "vol", "0.3", "pad", "0", "0.85"]] * 20)
        )
        add("beeps: 1 kHz, 150 ms a second", "sox", beeps, [], tonal=None, sound=True)
        add(
            "mains hum 50 Hz",
            "sox",
            fx._sox("synth", "20", "sine", "50", "sine", "150", "vol", "0.05"),
            [],
            tonal=None,
            sound=True,
        )
    add("key clicks", "sox", fx.key_clicks(20), [], sound=True)
    add("quiet room", "sox", fx.quiet_room(20), [])
    return found


def _peak_normalised(samples: np.ndarray) -> np.ndarray:
    return (samples * (0.98 / np.max(np.abs(samples)))).astype(np.float32)


@dataclass
class Outcome:
    truth: bool | None  # None: left out of the score
    said: bool


def chunk_outcomes(
    recording: Recording,
    times: list[float],
    detector: ModuleType = audio,
    cpu: list[tuple[bool, float]] | None = None,
) -> dict[str, list[Outcome]]:
    """Every chunk's outcome per event; `times` gets analyse_chunk's wall seconds, `cpu` (when
    given) (chunk is silent, CPU seconds of analyse_chunk + tracker.update) per chunk."""
    outcomes: dict[str, list[Outcome]] = {event: [] for event in EVENTS}
    tracker = detector.VoiceTracker(window_seconds=10.0)
    frames_per_chunk = CHUNK // ORACLE_HOP
    window = 10 * frames_per_chunk
    for index, chunk in enumerate(fx.browser_chunks(recording.samples)):
        started, used = time.perf_counter(), time.process_time()
        analysis = detector.analyse_chunk(chunk)
        times.append(time.perf_counter() - started)
        voices_heard = tracker.update(analysis, chunk)
        if cpu is not None:
            cpu.append((detector.is_silent(chunk), time.process_time() - used))
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
    results: dict[str, dict[str, float | int]]  # over every scored recording of the sets
    per_set: dict[str, dict[str, dict[str, float | int]]]  # split -> event -> scores
    per_source: dict[str, dict[str, dict[str, float | int]]]  # "split source" -> event -> scores
    per_recording: dict[str, dict[str, list[Outcome]]]
    delays: dict[str, float | None]
    times: list[float]
    cpu: list[tuple[bool, float]]
    # "split, with music" or "split, no music" -> security level -> false events in the hour
    clean_hour: dict[str, dict[str, float]]


SETS = ("synthetic", "dev", "test")


def all_recordings(sets: tuple[str, ...] = SETS) -> list[Recording]:
    found = []
    for name in sets:
        found += recordings() if name == "synthetic" else real_recordings(name)
    return found


def run(
    sets: tuple[str, ...] = SETS, detector: ModuleType = audio, found: list[Recording] | None = None
) -> Run:
    times: list[float] = []
    cpu: list[tuple[bool, float]] = []
    per_recording, delays = {}, {}
    totals: dict[str, list[Outcome]] = {event: [] for event in EVENTS}
    by_set: dict[str, dict[str, list[Outcome]]] = {}
    by_source: dict[str, dict[str, list[Outcome]]] = {}
    quiet: dict[str, list[list[bool]]] = {}
    for recording in found if found is not None else all_recordings(sets):
        outcomes = chunk_outcomes(recording, times, detector, cpu)
        key = f"{recording.split} | {recording.name}"
        per_recording[key] = outcomes
        if len(recording.voices) == 2:
            delays[key] = second_voice_delay(recording, outcomes)
        if not recording.voices:
            said = [o.said for o in outcomes["speech-detected"]]
            quiet.setdefault(f"{recording.split}, with music", []).append(said)
            if not recording.name.startswith("music"):
                quiet.setdefault(f"{recording.split}, no music", []).append(said)
        if recording.scored:
            for event in EVENTS:
                totals[event] += outcomes[event]
                by_set.setdefault(recording.split, {e: [] for e in EVENTS})[event] += outcomes[event]
                source = f"{recording.split} | {recording.source}"
                by_source.setdefault(source, {e: [] for e in EVENTS})[event] += outcomes[event]
    return Run(
        {event: scores(totals[event]) for event in EVENTS},
        {name: {event: scores(o) for event, o in events.items()} for name, events in by_set.items()},
        {name: {event: scores(o) for event, o in events.items()} for name, events in by_source.items()},
        per_recording,
        delays,
        times,
        cpu,
        {split: clean_hour(chunks) for split, chunks in quiet.items()},
    )


def clean_hour(recordings_said: list[list[bool]], seed: int = 1) -> dict[str, float]:
    """False speech-detected events in a simulated hour without speech: the split's recordings
    without a voice, played one after another in a shuffled order (seeded) until an hour is
    full, each chunk's verdict as measured, through the onset and release of each security level
    (proctoring.hysteresis, PROCTORING_POLICY's releases)."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible order, not a secret
    hour: list[bool] = []
    while len(hour) < 3600:
        order = list(recordings_said)
        rng.shuffle(order)
        for said in order:
            hour += said
    hour = hour[:3600]
    releases = {"low": 10, "medium": 8, "high": 6}
    events = {}
    for level, release in releases.items():
        onset = conditions.onset_seconds("speech-detected", level)
        state, opened = hysteresis.ConditionState(), 0
        for second, present in enumerate(hour):
            state, action = hysteresis.step(
                state, present=present, now=float(second), onset=onset, release=release
            )
            opened += action == hysteresis.Action.OPEN
        events[level] = opened
    return events


def evaluate(sets: tuple[str, ...] = SETS) -> dict[str, dict[str, float | int]]:
    """Per event type: tp, fp, fn, tn, precision and recall over the labelled set."""
    return run(sets).results


def evaluate_sets(sets: tuple[str, ...] = SETS) -> dict[str, dict[str, dict[str, float | int]]]:
    """Per set, then per event type: the counts, precision and recall."""
    return run(sets).per_set


def detector_at(revision: str) -> ModuleType:
    """proctoring/detectors/audio.py as it was at a git revision, imported as its own module,
    with the speaker counting (voices.py) of the same revision when it had one."""
    package = importlib.import_module("proctoring.detectors")
    current = package.voices
    try:
        voices_then = _module_at(revision, "voices")
        if voices_then is not None:
            # audio.py imports `voices` from the package while it is executed.
            package.voices = voices_then
        detector = _module_at(revision, "audio")
        if detector is None:
            raise SystemExit(f"git show {revision}:proctoring/detectors/audio.py found nothing")
        return detector
    finally:
        package.voices = current


def _module_at(revision: str, name: str) -> ModuleType | None:
    shown = subprocess.run(  # noqa: S603 - git with a revision given on the command line
        ["git", "show", f"{revision}:proctoring/detectors/{name}.py"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if shown.returncode != 0:
        return None
    path = Path(tempfile.mkdtemp()) / f"{name}_before.py"
    path.write_text(shown.stdout)
    spec = importlib.util.spec_from_file_location(f"{name}_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[f"{name}_before"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def cpu_by_kind(detectors: dict[str, ModuleType], repeats: int = 3) -> dict[str, dict[str, float]]:
    """Mean CPU ms of analyse_chunk + VoiceTracker.update per 1-second chunk of each kind of
    sound, for each detector, interleaved in this process so that the machine's load weighs on
    all alike (compare the ratios, not the milliseconds, on a shared machine)."""
    kinds = {
        "real speech (one voice)": rv.talk("allison", 10).samples,
        "real speech (two voices)": rv.conversation("carlo", "ktuberling-de", 10).samples,
        "real music": rv.music("cold-day")[20 * RATE : 30 * RATE],
        "Chromium's beep": rv.chromium_beep(),
        "key clicks": fx.key_clicks(10),
        "fan": fx.room_noise(10),
    }
    spent = {kind: {name: [] for name in detectors} for kind in kinds}
    for _ in range(repeats):
        for kind, samples in kinds.items():
            for name, detector in detectors.items():
                tracker = detector.VoiceTracker()
                for chunk in fx.browser_chunks(samples):
                    used = time.process_time()
                    tracker.update(detector.analyse_chunk(chunk), chunk)
                    spent[kind][name].append(time.process_time() - used)
    return {
        kind: {name: round(1000 * statistics.mean(t), 1) for name, t in by.items()}
        for kind, by in spent.items()
    }


def _table(title: str, results: dict[str, dict[str, float | int]]) -> None:
    print(f"\n{title}")
    print(f"{'event':18}{'tp':>6}{'fp':>6}{'fn':>6}{'tn':>6}{'precision':>11}{'recall':>8}")
    for event, s in results.items():
        print(
            f"{event:18}{s['tp']:6}{s['fp']:6}{s['fn']:6}{s['tn']:6}{s['precision']:11.3f}{s['recall']:8.3f}"
        )


def _cpu_summary(cpu: list[tuple[bool, float]]) -> dict[str, float]:
    loud = [seconds for silent, seconds in cpu if not silent]
    return {
        "chunks": len(cpu),
        "cpu_ms_mean_all": round(1000 * statistics.mean(s for _, s in cpu), 2),
        "cpu_ms_mean_loud": round(1000 * statistics.mean(loud), 2) if loud else 0.0,
        "cpu_ms_p95_loud": round(1000 * float(np.percentile(loud, 95)), 2) if loud else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated: synthetic, dev, test")
    parser.add_argument("--before", metavar="REV", help="also run the audio detector of this git revision")
    parser.add_argument("--per-recording", action="store_true", help="print every recording's counts")
    args = parser.parse_args()
    # One BLAS thread, as in a worker (proctoring/tasks.py, after the warm-up that loads SciPy's
    # own OpenBLAS): CPU per chunk is then the worker's.
    audio.warm_up()
    threadpool_limits(limits=1, user_api="blas")
    sets = tuple(args.sets.split(","))
    found = all_recordings(sets)
    runs = {"after": run(sets, audio, found)}
    if args.before:
        runs = {"before": run(sets, detector_at(args.before), found)} | runs
    summary = {}
    for label, measured in runs.items():
        print(f"\n===== {label}{f' ({args.before})' if label == 'before' else ''} =====")
        for split, results in measured.per_set.items():
            _table(f"set {split}", results)
        print("\nBy source (speech-detected and multiple-voices: tp fp fn tn precision recall)")
        for source, results in measured.per_source.items():
            cells = [
                f"{e}: {r['tp']} {r['fp']} {r['fn']} {r['tn']} {r['precision']:.3f} {r['recall']:.3f}"
                for e, r in results.items()
                if e in ("speech-detected", "multiple-voices") and r["tp"] + r["fp"] + r["fn"]
            ]
            print(f"  {source:48} " + " | ".join(cells))
        if args.per_recording:
            print(f"\n{'recording':70}{'chunks':>7}" + "".join(f"{e:>18}" for e in EVENTS))
            for name, outcomes in measured.per_recording.items():
                cells = []
                for event in EVENTS:
                    labelled = [o for o in outcomes[event] if o.truth is not None]
                    said, true = sum(o.said for o in labelled), sum(bool(o.truth) for o in labelled)
                    cells.append(f"{said:>3}/{true:<3} of {len(labelled):<3}")
                print(f"{name[:70]:70}{len(outcomes['tonal']):7}" + "".join(f"{c:>18}" for c in cells))
        print("\nTwo voices: seconds from the second voice's first word to the first chunk said to hold two")
        for name, delay in measured.delays.items():
            print(f"  {name[:80]:80} {'never' if delay is None else delay}")
        print(f"\nFalse speech-detected events in a simulated hour without speech: {measured.clean_hour}")
        cpu = _cpu_summary(measured.cpu)
        print(f"CPU per 1-second chunk (analyse_chunk + VoiceTracker.update): {cpu}")
        summary[label] = {
            "sets": measured.per_set,
            "clean_hour": measured.clean_hour,
            "cpu": cpu,
            "chunk_ms_median": round(statistics.median(measured.times) * 1000, 2),
        }
    if args.before:
        print(
            "\nCPU ms per 1-second chunk by kind of sound (analyse_chunk + VoiceTracker.update, one process):"
        )
        by_kind = cpu_by_kind({"before": detector_at(args.before), "after": audio})
        for kind, by in by_kind.items():
            ratio = by["after"] / by["before"] if by["before"] else float("nan")
            print(f"  {kind:28} before {by['before']:6.1f}  after {by['after']:6.1f}  ({ratio:.1f}x)")
        summary["cpu_by_kind"] = by_kind
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
