"""Who is speaking: a speaker embedding per second of speech, and how many voices a window holds.

The embedding is Resemblyzer's voice encoder (Jemine's implementation of GE2E, Wan et al. 2018:
a 3-layer LSTM over 40 mel bands, trained on LibriSpeech and VoxCeleb to put one speaker's
utterances close together and different speakers' apart). Its weights ship in the Resemblyzer
wheel (`pretrained.pt`, 17 MB, Apache-2.0); the wheel is installed without its dependencies
(PyTorch, librosa, webrtcvad), and the forward pass is run here in NumPy: reading the file
needs no PyTorch either (`_load_legacy_torch` accepts tensors and nothing else). About 12 ms of
CPU for one second of speech.

Counting: each second with enough speech gives one unit vector. The window's vectors are
grouped by average-linkage clustering on cosine similarity, merging while the groups are at
least SAME_VOICE_SIMILARITY alike; groups of MIN_VOICE_CHUNKS seconds or more are voices.
Thresholds from bench/eval_audio.py on the "dev" speakers (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import functools
import importlib.util
import pickle
import struct
from collections import OrderedDict
from pathlib import Path

import numpy as np

RATE = 16_000
# The encoder's input: 40 mel bands of 25 ms windows every 10 ms (librosa's Slaney mel, as
# Resemblyzer computed them in training), of speech brought to -30 dBFS.
N_FFT, HOP, N_MELS = 400, 160, 40
TARGET_DBFS = -30.0
HIDDEN = 256
# A second of audio gives an embedding when this many of its 10 ms frames are speech: under
# 0.3 s the embedding says more about the words than the voice.
MIN_SPEECH_FRAMES = 30
# Two groups of seconds are one voice while their average cosine similarity is at least this.
# On the dev set, one speaker's seconds (clean, quiet, over a fan or music, far away) sat above
# it; 0.58 missed a quarter of the two-voice windows, 0.62 called one voice two five times as often.
SAME_VOICE_SIMILARITY = 0.6
# A voice must speak in at least this many seconds of the window: one odd second (a cough, a
# word shouted over music) is no second person.
MIN_VOICE_CHUNKS = 2


def available() -> bool:
    """The Resemblyzer wheel (its weights) is installed."""
    return _weights_path() is not None


def embedding(samples: np.ndarray, speech: np.ndarray) -> np.ndarray | None:
    """The voice of one chunk: a unit vector (float32, 256) from the 10 ms frames in which
    `speech` (a bool per frame of HOP samples) is set; None with too little speech."""
    frames = _mel_frames(samples, speech)
    if frames is None:
        return None
    return _encode(frames)


def count_voices(embeddings: list[np.ndarray]) -> int:
    """0, 1 or 2 (two or more): the distinct voices among one window's chunk embeddings."""
    if not embeddings:
        return 0
    vectors = np.asarray(embeddings, dtype=np.float32)
    similarity = vectors @ vectors.T
    groups = [[i] for i in range(len(vectors))]
    while len(groups) > 1:
        best, pair = -np.inf, (0, 1)
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                alike = similarity[np.ix_(groups[i], groups[j])].mean()
                if alike > best:
                    best, pair = alike, (i, j)
        if best < SAME_VOICE_SIMILARITY:
            break
        i, j = pair
        groups = [g for k, g in enumerate(groups) if k not in pair] + [groups[i] + groups[j]]
    voices = sum(len(group) >= MIN_VOICE_CHUNKS for group in groups)
    return min(max(voices, 1), 2)


def _mel_frames(samples: np.ndarray, speech: np.ndarray) -> np.ndarray | None:
    x = np.asarray(samples, dtype=np.float32)
    count = 1 + len(x) // HOP  # centred frames, as librosa pads them
    keep = np.zeros(count, dtype=bool)
    keep[: min(count, len(speech))] = speech[:count]
    if keep.sum() < MIN_SPEECH_FRAMES:
        return None
    in_speech = np.repeat(keep, HOP)[: len(x)]
    rms = float(np.sqrt(np.mean(np.square(x[in_speech], dtype=np.float64))))
    if not rms > 0:
        return None
    x = x * np.float32(10 ** (TARGET_DBFS / 20) / rms)
    padded = np.pad(x, N_FFT // 2)
    index = np.arange(N_FFT)[None, :] + HOP * np.flatnonzero(keep)[:, None]
    index = index[index[:, -1] < len(padded)]
    spectrum = np.abs(np.fft.rfft(padded[index] * _hann(), N_FFT)) ** 2
    return (spectrum @ _mel_filters().T).astype(np.float32)


def _encode(frames: np.ndarray) -> np.ndarray:
    weights = _weights()
    sequence = frames
    for layer in range(3):
        inputs = sequence @ weights[f"ih{layer}"] + weights[f"b{layer}"]
        recurrent = weights[f"hh{layer}"]
        h = np.zeros(HIDDEN, dtype=np.float32)
        c = np.zeros(HIDDEN, dtype=np.float32)
        out = np.empty((len(frames), HIDDEN), dtype=np.float32)
        for t in range(len(frames)):
            gates = inputs[t] + h @ recurrent
            i, f = _sigmoid(gates[:HIDDEN]), _sigmoid(gates[HIDDEN : 2 * HIDDEN])
            g, o = np.tanh(gates[2 * HIDDEN : 3 * HIDDEN]), _sigmoid(gates[3 * HIDDEN :])
            c = f * c + i * g
            h = o * np.tanh(c)
            out[t] = h
        sequence = out
    vector = np.maximum(h @ weights["linear"] + weights["linear_bias"], 0)
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm > 0 else vector).astype(np.float32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1)


@functools.cache
def _hann() -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


@functools.cache
def _mel_filters() -> np.ndarray:
    """librosa.filters.mel(sr=16000, n_fft=400, n_mels=40): Slaney's mel scale and area norm."""

    def to_mel(hz: np.ndarray) -> np.ndarray:
        hz = np.asarray(hz, dtype=float)
        return np.where(
            hz >= 1000, 15 + np.log(np.maximum(hz, 1e-10) / 1000) / (np.log(6.4) / 27), hz / (200 / 3)
        )

    def to_hz(mel: np.ndarray) -> np.ndarray:
        return np.where(mel >= 15, 1000 * np.exp(np.log(6.4) / 27 * (mel - 15)), mel * 200 / 3)

    bins = np.fft.rfftfreq(N_FFT, 1 / RATE)
    edges = to_hz(np.linspace(to_mel(0), to_mel(RATE / 2), N_MELS + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - bins[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    filters = np.maximum(0, np.minimum(lower, upper)) * (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return filters.astype(np.float32)


def _weights_path() -> Path | None:
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt"
    return path if path.exists() else None


@functools.cache
def _weights() -> dict[str, np.ndarray]:
    """The LSTM's and the projection's weights, transposed for row-vector products."""
    path = _weights_path()
    if path is None:
        raise RuntimeError("The Resemblyzer wheel (its pretrained.pt) is not installed.")
    state = _load_legacy_torch(path)["model_state"]
    weights = {"linear": state["linear.weight"].T.copy(), "linear_bias": state["linear.bias"]}
    for layer in range(3):
        weights[f"ih{layer}"] = state[f"lstm.weight_ih_l{layer}"].T.copy()
        weights[f"hh{layer}"] = state[f"lstm.weight_hh_l{layer}"].T.copy()
        weights[f"b{layer}"] = state[f"lstm.bias_ih_l{layer}"] + state[f"lstm.bias_hh_l{layer}"]
    return {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in weights.items()}


class _Storage:
    def __init__(self, dtype: type) -> None:
        self.dtype = dtype
        self.data: np.ndarray | None = None


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, shape: tuple, stride: tuple) -> None:
        self.storage, self.offset, self.shape, self.stride = storage, offset, shape, stride

    def array(self) -> np.ndarray:
        base = self.storage.data[self.offset :]
        strides = [step * base.itemsize for step in self.stride]
        return np.lib.stride_tricks.as_strided(base, shape=self.shape, strides=strides).copy()


_STORAGES = {"FloatStorage": np.float32, "LongStorage": np.int64}


class _TensorUnpickler(pickle.Unpickler):
    """PyTorch's pre-1.6 checkpoint pickle, admitting dicts of float tensors and nothing else: a
    file that names any other class is refused, so unpickling it runs no code."""

    def __init__(self, file, storages: dict[str, _Storage]) -> None:
        super().__init__(file)
        self.storages = storages

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return lambda storage, offset, shape, stride, *_: _Tensor(
                storage, offset, tuple(shape), tuple(stride)
            )
        if module == "torch" and name in _STORAGES:
            return name
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a weights file")

    def persistent_load(self, pid):
        _, kind, key, _location, _size, *_ = pid
        return self.storages.setdefault(key, _Storage(_STORAGES[kind]))


def _load_legacy_torch(path: Path) -> dict:
    """A `torch.save` file of the legacy format (a magic number, protocol and system pickles,
    the object, the storage keys, then each storage's raw little-endian data)."""
    storages: dict[str, _Storage] = {}
    with path.open("rb") as file:
        for _ in range(3):
            _TensorUnpickler(file, storages).load()
        checkpoint = _TensorUnpickler(file, storages).load()
        for key in _TensorUnpickler(file, storages).load():
            (count,) = struct.unpack("<q", file.read(8))
            dtype = np.dtype(storages[key].dtype)
            storages[key].data = np.frombuffer(file.read(count * dtype.itemsize), dtype=dtype)

    def unwrap(value):
        if isinstance(value, dict):
            return {k: unwrap(v) for k, v in value.items()}
        return value.array() if isinstance(value, _Tensor) else value

    return unwrap(checkpoint)
