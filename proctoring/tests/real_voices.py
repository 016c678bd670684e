"""Real human voices and real music for the audio detector's tests and benchmark.

Every sound here was recorded by a person and ships in a Debian package (installed by
scripts/ensure-test-tools.sh), except Chromium's fake-microphone beep, recorded from Debian's
Chromium once and kept beside this file. `MANIFEST` names each source: its package, licence,
speaker, sex and whether it is used to tune the detectors ("dev") or only to test them
("test", held out by speaker). Nothing is downloaded: a missing package is a skipped test.

- Asterisk's IVR prompts: whole sentences read by professional voices, in G.722 (16 kHz
  wideband, decoded with the `G722` package) and, for Armelle, GSM (8 kHz, a phone's band).
- KTuberling's spoken words: one volunteer per language names the toy's pieces ("hat", "nose"),
  recorded on whatever microphone they had.
- Asterisk's music on hold (opsound.org tracks): instrumental music.

Each recording comes back as float32 mono at 16 kHz, as the exam page sends it, with the
10 ms frames in which its voice is active (frames within 40 dB of its loudest), so labels come
from the clean sources and never from a detector.
"""

from __future__ import annotations

import functools
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import signal
from scipy.io import wavfile

from proctoring.detectors.audio import RATE, load_audio

HOP = 160  # 10 ms label frames
SENTENCES = 40  # per IVR voice
ACTIVE_RANGE_DB = 40.0
HERE = Path(__file__).resolve().parent
SOUNDS = Path("/usr/share/asterisk/sounds")
KTUBERLING = Path("/usr/share/ktuberling/sounds")
MUSIC = Path("/usr/share/asterisk/moh")
CHROMIUM_BEEP = HERE / "data" / "chromium-fake-mic.wav"


@dataclass(frozen=True)
class Speaker:
    name: str
    sex: str  # "f" or "m", as the package names the voice (KTuberling's: by ear of the pitch)
    split: str  # "dev": thresholds were tuned on it; "test": held out
    package: str
    licence: str
    files: str  # glob of this speaker's recordings
    kind: str  # "sentences" (IVR prompts) or "words" (one word a file)


MANIFEST: dict[str, Speaker] = {
    s.name: s
    for s in (
        Speaker(
            "allison",
            "f",
            "dev",
            "asterisk-core-sounds-en-g722",
            "CC-BY-SA-3.0 (Allison Smith)",
            str(SOUNDS / "en_US_f_Allison" / "*.g722"),
            "sentences",
        ),
        Speaker(
            "carlo",
            "m",
            "dev",
            "asterisk-core-sounds-it-g722",
            "CC-BY-3.0 (Carlo Flora)",
            str(SOUNDS / "it_IT_m_Carlo" / "*.g722"),
            "sentences",
        ),
        Speaker(
            "ktuberling-de",
            "m",
            "dev",
            "ktuberling-data",
            "GPL-2+ (KDE KTuberling, German voice)",
            str(KTUBERLING / "de" / "*.ogg"),
            "words",
        ),
        Speaker(
            "ktuberling-gl",
            "f",
            "dev",
            "ktuberling-data",
            "GPL-2+ (KDE KTuberling, Galician voice)",
            str(KTUBERLING / "gl" / "*.ogg"),
            "words",
        ),
        Speaker(
            "june",
            "f",
            "test",
            "asterisk-core-sounds-fr-g722",
            "CC-BY-SA-3.0 (June Wallack)",
            str(SOUNDS / "fr_CA_f_June" / "*.g722"),
            "sentences",
        ),
        Speaker(
            "ivrvoice-ru",
            "f",
            "test",
            "asterisk-core-sounds-ru-g722",
            "CC-BY-3.0 (ivrvoice.ru)",
            str(SOUNDS / "ru_RU_f_IvrvoiceRU" / "*.g722"),
            "sentences",
        ),
        Speaker(
            "armelle",
            "f",
            "test",
            "asterisk-prompt-fr-armelle",
            "GPL-2+ (Armelle Desjardins)",
            str(SOUNDS / "fr" / "*.gsm"),
            "sentences",
        ),
        Speaker(
            "ktuberling-wa",
            "m",
            "test",
            "ktuberling-data",
            "GPL-2+ (KDE KTuberling, Walloon voice)",
            str(KTUBERLING / "wa" / "*.ogg"),
            "words",
        ),
        Speaker(
            "ktuberling-el",
            "m",
            "test",
            "ktuberling-data",
            "GPL-2+ (KDE KTuberling, Greek voice)",
            str(KTUBERLING / "el" / "*.ogg"),
            "words",
        ),
    )
}

MUSIC_TRACKS = {
    # opsound.org tracks shipped as Asterisk's music on hold: asterisk-moh-opsound-g722,
    # CC-BY-SA-3.0. Instrumental.
    "cold-day": "macroform-cold_day.g722",
    "robot-dity": "macroform-robot_dity.g722",
    "the-simplicity": "macroform-the_simplicity.g722",
    "morning-coffee": "manolo_camp-morning_coffee.g722",
    "system": "reno_project-system.g722",
}
# Music tracks by split: the dev ones tuned the detectors.
MUSIC_SPLIT = {
    "cold-day": "dev",
    "morning-coffee": "dev",
    "robot-dity": "test",
    "the-simplicity": "test",
    "system": "test",
}


def available() -> bool:
    """The packages are installed (scripts/ensure-test-tools.sh) and the G.722 decoder is there."""
    try:
        import G722  # noqa: F401
    except ImportError:
        return False
    return all(any(Path(s.files).parent.glob(Path(s.files).name)) for s in MANIFEST.values()) and all(
        (MUSIC / name).exists() for name in MUSIC_TRACKS.values()
    )


def decode(path: str | Path) -> np.ndarray:
    """A recording as float32 mono at RATE: G.722 through libg722, anything else through sox."""
    path = Path(path)
    if path.suffix == ".g722":
        import G722

        pcm = np.asarray(G722.G722(RATE, 64000).decode(path.read_bytes()), dtype=np.int16)
        return (pcm.astype(np.float32) / 32768).astype(np.float32)
    with tempfile.NamedTemporaryFile(suffix=".wav") as out:
        subprocess.run(
            ["sox", str(path), "-r", str(RATE), "-c", "1", "-b", "16", out.name],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return load_audio(out.name)


def active_frames(clean: np.ndarray) -> np.ndarray:
    """The 10 ms frames of a clean recording in which the voice is active."""
    frames = clean[: len(clean) // HOP * HOP].reshape(-1, HOP).astype(np.float64)
    if not len(frames):
        return np.zeros(0, dtype=bool)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    return level > level.max() - ACTIVE_RANGE_DB


@functools.cache
def utterances(name: str) -> tuple[np.ndarray, ...]:
    """A speaker's recordings, trimmed of leading and trailing silence, in file-name order.

    The first SENTENCES of 1.5-8 s for the IVR voices (about 3 minutes); every word for
    KTuberling's (about a minute).
    """
    speaker = MANIFEST[name]
    pattern = Path(speaker.files)
    found = []
    for path in sorted(pattern.parent.glob(pattern.name)):
        samples = _trimmed(decode(path))
        seconds = len(samples) / RATE
        if speaker.kind == "sentences" and not 1.5 <= seconds <= 8:
            continue
        if seconds >= 0.2:
            samples.flags.writeable = False
            found.append(samples)
        if speaker.kind == "sentences" and len(found) == SENTENCES:
            break
    return tuple(found)


@dataclass
class Talk:
    """A recording with, per voice, its active 10 ms frames."""

    samples: np.ndarray
    voices: list[np.ndarray]


def talk(name: str, seconds: float, *, start: int = 0, pause: float = 0.5) -> Talk:
    """One speaker for about `seconds`: utterances from the `start`-th on, `pause` s apart
    (words get a shorter pause, as someone listing them says them)."""
    clips = utterances(name)
    gap = pause if MANIFEST[name].kind == "sentences" else min(pause, 0.3)
    turns, total, index = [], 0.0, start
    while total < seconds:
        clip = clips[index % len(clips)]
        turns.append((0, clip))
        total += len(clip) / RATE + gap
        index += 1
    return joined(turns, 1, gap)


def joined(turns: list[tuple[int, np.ndarray]], voices: int, pause: float) -> Talk:
    """Utterances (voice index, clean samples) one after another with `pause` s between."""
    gap = np.zeros(round(pause * RATE) // HOP * HOP, dtype=np.float32)
    quiet = np.zeros(len(gap) // HOP, dtype=bool)
    pieces: list[np.ndarray] = []
    activity: list[list[np.ndarray]] = [[] for _ in range(voices)]
    for speaker, clean in turns:
        clean = clean[: len(clean) // HOP * HOP]
        active = active_frames(clean)
        pieces += [clean, gap]
        for index in range(voices):
            activity[index] += [active if index == speaker else np.zeros_like(active), quiet]
    return Talk(np.concatenate(pieces), [np.concatenate(frames) for frames in activity])


def conversation(first: str, second: str, seconds: float = 24.0, *, overlap: float = 0.0) -> Talk:
    """Two speakers taking turns of a sentence (or three words) each for about `seconds`.

    `overlap` (0-1): the share of each turn that the next one starts over, as people talking
    over each other do."""
    turns, total, index = [], 0.0, 0
    while total < seconds:
        name = (first, second)[index % 2]
        part = talk(name, 2.0 if MANIFEST[name].kind == "words" else 0.1, start=index // 2 * 3)
        turns.append((index % 2, part.samples, part.voices[0]))
        total += len(part.samples) / RATE * (1 - overlap)
        index += 1
    starts, at = [], 0
    for _, clip, _ in turns:
        starts.append(at)
        at += round(len(clip) * (1 - overlap)) // HOP * HOP
    length = starts[-1] + len(turns[-1][1])
    samples = np.zeros(length, dtype=np.float32)
    voices = [np.zeros(length // HOP, dtype=bool) for _ in range(2)]
    for at, (speaker, clip, active) in zip(starts, turns, strict=True):
        samples[at : at + len(clip)] += clip
        voices[speaker][at // HOP : at // HOP + len(active)] |= active
    return Talk(np.clip(samples, -1, 1), voices)


@functools.cache
def music(track: str) -> np.ndarray:
    """One of the music-on-hold tracks, whole (2-4 minutes)."""
    samples = decode(MUSIC / MUSIC_TRACKS[track])
    samples.flags.writeable = False
    return samples


def chromium_beep() -> np.ndarray:
    """Six seconds of Debian Chromium's fake microphone (--use-fake-device-for-media-stream), as the
    exam page's getUserMedia constraints (echo cancellation, noise suppression) captured it at 16 kHz:
    a 400 Hz beep every half second. Recorded with Chromium 156 by a 16 kHz AudioContext."""
    return load_audio(CHROMIUM_BEEP)


def mixed(voice: np.ndarray, background: np.ndarray, voice_over_db: float) -> np.ndarray:
    """`voice` over `background` (cut or looped to its length), the voice's active RMS
    `voice_over_db` above the background's RMS."""
    reps = int(np.ceil(len(voice) / len(background)))
    under = np.tile(background, reps)[: len(voice)].astype(np.float64)
    active = active_frames(voice)
    frames = voice[: len(active) * HOP].reshape(-1, HOP).astype(np.float64)
    voice_rms = np.sqrt(np.mean(frames[active] ** 2))
    gain = voice_rms / (np.sqrt(np.mean(under**2)) * 10 ** (voice_over_db / 20) + 1e-12)
    return np.clip(voice + gain * under, -1, 1).astype(np.float32)


def far_away(samples: np.ndarray) -> np.ndarray:
    """A voice from a television across the room: a small speaker's band (200-5000 Hz), a room's
    reverberation (an exponentially decaying noise tail of 0.5 s RT60, a fixed seed), 25 dB down."""
    sos = signal.butter(4, [200, 5000], btype="bandpass", fs=RATE, output="sos")
    band = signal.sosfilt(sos, samples.astype(np.float64))
    rng = np.random.default_rng(7)
    t = np.arange(round(0.6 * RATE)) / RATE
    tail = rng.standard_normal(len(t)) * np.exp(-6.9 * t / 0.5)
    impulse = np.concatenate([[1.0], 0.6 * tail / np.sqrt(np.sum(tail**2))])
    wet = signal.fftconvolve(band, impulse)[: len(samples)]
    return (wet * 10 ** (-25 / 20) / max(np.max(np.abs(wet)), 1e-9) * 0.9).astype(np.float32)


def _trimmed(samples: np.ndarray) -> np.ndarray:
    active = active_frames(samples)
    if not active.any():
        return samples
    first, last = np.flatnonzero(active)[[0, -1]]
    return samples[max(0, first - 5) * HOP : (last + 6) * HOP].copy()


def write_wav(path: Path, samples: np.ndarray) -> None:
    wavfile.write(path, RATE, np.round(np.clip(samples, -1, 1) * 32767).astype(np.int16))
