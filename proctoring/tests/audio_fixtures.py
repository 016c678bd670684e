"""Sounds for the audio detector's tests and benchmark, made by real synthesisers at test time.

Speech comes from espeak-ng (English sentences in two different voices), noise, music and
key clicks from sox. Each sound is rendered once per process into a temporary folder and read
back with `load_audio`, so it reaches the detector the way a recording would: float32 mono at
16 kHz, resampled from espeak's 22.05 kHz. No array here is random noise pretending to be
speech: the only random numbers are sox's own noise generators, used as noise.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from scipy.io import wavfile

from proctoring.detectors.audio import RATE, load_audio, pcm_to_float

# A low male and a high female variant of espeak-ng's English voice: their voiced pitch sits
# around 100-130 Hz and 200-260 Hz, where men's and women's voices usually are.
LOW_VOICE = "en+m3"
HIGH_VOICE = "en+f3"

SENTENCES = (
    "Please keep your eyes on your own screen during the exam.",
    "The answer to question four is the second option, I think.",
    "Can you tell me what you wrote for the last question?",
    "Photosynthesis turns light, water and carbon dioxide into sugar.",
    "I will read the next paragraph slowly, and then write my answer.",
    "Seven times eight is fifty six, and nine squared is eighty one.",
    "Wait, is that true or false? I really don't know!",
    "Okay. Let me check the clock: ten minutes left, no more.",
)

OUT = "{out}"  # stands for the output path in a command given to _render


@functools.cache
def _folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="procto-audio-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@functools.cache
def _render(*command: str) -> np.ndarray:
    """Run `command` with OUT replaced by a WAV path, and read back what it wrote (read-only)."""
    path = _folder() / (hashlib.sha256("\0".join(command).encode()).hexdigest()[:20] + ".wav")
    subprocess.run(
        [str(path) if part == OUT else part for part in command], check=True, capture_output=True, timeout=60
    )
    samples = load_audio(path)
    samples.flags.writeable = False
    return samples


def _sox(*effects: str) -> np.ndarray:
    # -R: sox seeds its noise generators the same way every run, so results repeat. -D: no
    # dither, so silence stays digital zeros.
    return _render("sox", "-R", "-D", "-n", "-r", str(RATE), "-c", "1", "-b", "16", OUT, *effects)


def at_level(samples: np.ndarray, gain_db: float) -> np.ndarray:
    """`samples` made louder (positive) or quieter (negative) by `gain_db`."""
    return (samples * np.float32(10 ** (gain_db / 20))).astype(np.float32)


def speech(
    text: str = SENTENCES[0], voice: str = LOW_VOICE, speed: int = 160, pitch: int | None = None
) -> np.ndarray:
    """`text` spoken by espeak-ng's `voice` at `speed` words a minute (and `pitch`, 0-99)."""
    options = ["-v", voice, "-s", str(speed)] + ([] if pitch is None else ["-p", str(pitch)])
    return _render("espeak-ng", *options, "-w", OUT, text)


def conversation(
    texts: tuple[str, ...] = SENTENCES[:3], voice: str = LOW_VOICE, pause: float = 0.6
) -> np.ndarray:
    """Several sentences by one voice, with `pause` seconds of silence between them."""
    return _joined([speech(text, voice) for text in texts], pause)


def two_speakers_alternating(
    texts: tuple[str, ...] = SENTENCES[:4], voices: tuple[str, str] = (LOW_VOICE, HIGH_VOICE), pause=0.4
) -> np.ndarray:
    """`texts` spoken in turn by the two `voices`: someone else in the room talks with the student."""
    return _joined([speech(text, voices[i % 2]) for i, text in enumerate(texts)], pause)


def silence(seconds: float = 3.0) -> np.ndarray:
    """Digital silence: a muted microphone, or a quiet room after the browser's noise suppression."""
    return _sox("trim", "0", str(seconds))


def quiet_room(seconds: float = 5.0) -> np.ndarray:
    """A microphone's own hiss in a quiet room, about -70 dBFS: still silence to a listener."""
    return _sox("synth", str(seconds), "pinknoise", "vol", "0.0015")


def room_noise(seconds: float = 5.0, colour: str = "pink", volume: float = 0.05) -> np.ndarray:
    """Steady broadband noise: pink is a fan or air conditioning, brown is traffic or rumble.

    At the default volume pink noise is about -40 dBFS, brown about -31 dBFS: a laptop fan or
    an open window heard through the microphone.
    """
    return _sox("synth", str(seconds), f"{colour}noise", "vol", str(volume))


def music(kind: str = "melody") -> np.ndarray:
    """A few seconds of music from sox.

    "melody": plucked-string notes, one after another (a guitar or a piano); "chords": organ-
    like sustained chords of sawtooth partials; "arpeggio": square-wave notes, as a video
    game or a ringtone plays them.
    """
    if kind == "melody":
        notes = ["C4", "E4", "G4", "C5", "A4", "F4", "D4", "G3", "E4", "C4"]
        return _sox(*_chain([["synth", "0.45", "pluck", note, "vol", "0.6"] for note in notes]))
    if kind == "chords":
        chords = [("C3", "E3", "G3", "C4"), ("F3", "A3", "C4", "F4"), ("G3", "B3", "D4", "G4")]
        segments = []
        for chord in chords + chords[:1]:
            partials = [part for note in chord for part in ("sawtooth", note)]
            segments.append(["synth", "1.2", *partials, "lowpass", "3000", "fade", "0.05", "1.2", "0.1"])
        return _sox(*_chain(segments), "vol", "0.4")
    if kind == "arpeggio":
        notes = ["A4", "C5", "E5", "A5", "E5", "C5"] * 3
        return _sox(*_chain([["synth", "0.2", "square", note, "vol", "0.15"] for note in notes]))
    raise ValueError(f"unknown music kind {kind!r}")


def siren(kind: str = "wail") -> np.ndarray:
    """An emergency vehicle outside: "wail" sweeps 650-1300 Hz up and down, "hi-lo" alternates
    435 and 580 Hz. Both periodic like a voice, neither a voice."""
    if kind == "wail":
        sweeps = [["synth", "1.5", "sawtooth", span, "vol", "0.3"] for span in ("650-1300", "1300-650")] * 2
        return _sox(*_chain(sweeps))
    if kind == "hi-lo":
        return _sox(*_chain([["synth", "0.6", "square", hz, "vol", "0.2"] for hz in ("435", "580")] * 4))
    raise ValueError(f"unknown siren kind {kind!r}")


def key_clicks(seconds: float = 4.0) -> np.ndarray:
    """Typing: short clicks a few times a second, silence between them."""
    gaps = ["0.11", "0.23", "0.17", "0.31", "0.14", "0.26", "0.19", "0.09"]
    count = round(seconds / 0.2)
    clicks = [
        ["synth", "0.012", "whitenoise", "vol", "0.25", "fade", "0", "0.012", "0.01", "pad", "0", gaps[i % 8]]
        for i in range(count)
    ]
    return _sox(*_chain(clicks))


def speech_over_noise(
    text: str = SENTENCES[0], snr_db: float = 10.0, voice: str = LOW_VOICE, colour: str = "pink"
) -> np.ndarray:
    """`text` spoken over steady room noise, with speech `snr_db` louder than the noise (RMS over
    the voice's active frames against the noise's RMS)."""
    voice_samples = speech(text, voice)
    noise = room_noise(len(voice_samples) / RATE + 1, colour)[: len(voice_samples)]
    active = _active_rms(voice_samples)
    gain = active / (np.sqrt(np.mean(noise.astype(np.float64) ** 2)) * 10 ** (snr_db / 20))
    return (voice_samples + gain * noise).astype(np.float32)


def reverberant(samples: np.ndarray, reverberance: int = 50) -> np.ndarray:
    """`samples` played in a room: sox's reverb, with the dry sound kept."""
    return processed(samples, "reverb", str(reverberance))


def processed(samples: np.ndarray, *effects: str) -> np.ndarray:
    """`samples` through sox `effects` (for example "highpass", "200" for a thin laptop mic)."""
    source = _folder() / (hashlib.sha256(samples.tobytes()).hexdigest()[:20] + "-in.wav")
    if not source.exists():
        wavfile.write(source, RATE, np.asarray(samples, dtype=np.float32))
    result = _render("sox", "-R", str(source), "-b", "16", OUT, *effects)
    return result[: len(samples)] if len(result) > len(samples) else result


def browser_chunks(samples: np.ndarray, seconds: float = 1.0) -> list[np.ndarray]:
    """`samples` as the exam page sends them: whole chunks of 16-bit PCM, read back as floats."""
    pcm = np.clip(np.round(np.asarray(samples) * 32767), -32768, 32767).astype("<i2")
    size = round(seconds * RATE)
    return [pcm_to_float(pcm[i : i + size].tobytes()) for i in range(0, len(pcm) - size + 1, size)]


def _chain(segments: list[list[str]]) -> list[str]:
    # sox runs effect chains separated by ":" one after the other into the same output.
    joined: list[str] = []
    for segment in segments:
        joined += ([":"] if joined else []) + segment
    return joined


def _joined(parts: list[np.ndarray], pause: float) -> np.ndarray:
    gap = np.zeros(round(pause * RATE), dtype=np.float32)
    pieces = [piece for part in parts for piece in (part, gap)]
    return np.concatenate(pieces[:-1])


def _active_rms(samples: np.ndarray) -> float:
    frames = samples[: len(samples) // 480 * 480].reshape(-1, 480).astype(np.float64)
    energy = np.mean(frames**2, axis=1)
    return float(np.sqrt(np.mean(energy[energy > energy.max() * 1e-3])))
