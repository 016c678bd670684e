"""dlib's face-recognition ResNet, its own weights read from its own model file, run on numpy.

The dlib-bin wheel is built without BLAS: its network does every convolution in dlib's own
matrix code, ~100-115 ms a face on this machine. The same network on numpy's OpenBLAS (one
thread) takes ~17-25 ms and gives the same 128 numbers (they differ by ~1e-6, the order of the
sums; `test_detectors_face_descriptor.py` holds them to 1e-5 of dlib's on real faces), so every
embedding already stored stays valid.
dlib still finds the face, its landmarks and the 150x150 chip (`dlib.get_face_chip`); only the
network's arithmetic moves here.

The file is dlib's serialisation of `anet_type` in dlib's dnn_face_recognition_ex.cpp: a 7x7
convolution, a max pool, fourteen residual blocks (32, 64, 128 and 256 filters; the first of
each width after the first halves the size) and a 128-wide layer without bias. Its layers are
read in file order, and the architecture is checked as it is read: a different file is refused
with a message, not run wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

CHIP_SIZE = 150
# input_rgb_image_sized<150>: each channel's mean taken off, divided by 256 (dlib/dnn/input.h).
_CHANNEL_MEANS = np.array([122.782, 117.001, 104.298], dtype=np.float32)

# The layers with parameters, found by their serialised version strings (a length byte pair,
# then the name): a 7-byte pattern cannot turn up by chance in the raw floats around them.
_LAYER = re.compile(
    rb"\x01\x05con_4|\x01\x07affine_|\x01\x08affine_2|\x01\x04fc_2|\x01\x0amax_pool_2|\x01\x0aavg_pool_2"
)


class ModelFileError(RuntimeError):
    """The file is not dlib's face-recognition ResNet as this module knows it."""


@dataclass(frozen=True)
class _Conv:
    weights: np.ndarray  # (kh * kw * channels, filters): one matrix product over the patches
    bias: np.ndarray
    size: int
    stride: int
    padding: int


@dataclass(frozen=True)
class _Block:
    """conv, affine, relu, conv, affine; plus the input (2x2-averaged when `down`); relu."""

    first: _Conv
    first_affine: tuple[np.ndarray, np.ndarray]
    second: _Conv
    second_affine: tuple[np.ndarray, np.ndarray]
    down: bool


class _Reader:
    """dlib's serialisation (dlib/serialize.h, dlib/cuda/tensor.h): integers as a byte holding
    the length (and 0x80 for negative) then that many little-endian bytes; strings as a length
    then bytes; bools as ASCII "0" or "1"; tensors as a version, four dimensions and raw
    little-endian float32."""

    def __init__(self, data: bytes, position: int) -> None:
        self.data, self.position = data, position

    def integer(self) -> int:
        head = self.data[self.position]
        size = head & 0x0F
        value = int.from_bytes(self.data[self.position + 1 : self.position + 1 + size], "little")
        self.position += 1 + size
        return -value if head & 0x80 else value

    def string(self) -> str:
        size = self.integer()
        text = self.data[self.position : self.position + size]
        self.position += size
        return text.decode("ascii")

    def tensor(self) -> np.ndarray:
        if self.integer() != 2:
            raise ModelFileError("unknown tensor version")
        shape = tuple(self.integer() for _ in range(4))
        count = int(np.prod(shape))
        values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.position)
        self.position += 4 * count
        return values.astype(np.float32)

    def alias(self) -> tuple[int, ...]:
        if self.integer() != 1:
            raise ModelFileError("unknown alias_tensor version")
        return tuple(self.integer() for _ in range(4))


def _layers(data: bytes) -> list[tuple]:
    layers: list[tuple] = []
    for match in _LAYER.finditer(data):
        reader = _Reader(data, match.start())
        version = reader.string()
        if version == "con_4":
            params = reader.tensor()
            filters, rows, cols, stride_y, stride_x, pad_y, pad_x = (reader.integer() for _ in range(7))
            shape = reader.alias()
            if rows != cols or stride_y != stride_x or pad_y != pad_x or shape[0] != filters:
                raise ModelFileError(f"an unexpected convolution: {shape}, stride {stride_y}x{stride_x}")
            size = filters * shape[1] * rows * cols
            # (filters, channels, kh, kw) -> (kh, kw, channels, filters): the patches' layout.
            weights = params[:size].reshape(shape).transpose(2, 3, 1, 0).reshape(-1, filters)
            # Copies, so that the file's order of the weights is not kept alive beside them.
            layers.append(
                ("con", _Conv(np.ascontiguousarray(weights), params[size:].copy(), rows, stride_y, pad_y))
            )
        elif version.startswith("affine"):
            params = reader.tensor()
            channels = reader.alias()[1]
            reader.alias()
            if reader.integer() != 0 or params.size != 2 * channels:  # dlib's CONV_MODE: per channel
                raise ModelFileError("an affine layer that is not per channel")
            # dlib's fuse_layers folds an affine layer into the convolution before it and
            # disables it: a file saved after that runs its convolutions differently.
            if version == "affine_2" and reader.data[reader.position : reader.position + 1] != b"0":
                raise ModelFileError("a disabled (fused) affine layer")
            layers.append(("affine", (params[:channels], params[channels:])))
        elif version == "fc_2":
            outputs, inputs = reader.integer(), reader.integer()
            layers.append(("fc", reader.tensor().reshape(inputs, outputs)))
        else:
            rows, cols, stride_y, stride_x, pad_y, pad_x = (reader.integer() for _ in range(6))
            layers.append((version, (rows, stride_y, pad_y)))
    return layers


class FaceDescriptor:
    """The network, loaded once (~22 MB of weights); call it with a 150x150 RGB uint8 chip."""

    def __init__(self, path: str | Path) -> None:
        try:
            self._stem, self._pool, self._blocks, self._fc = _assemble(_layers(Path(path).read_bytes()))
        # A cut or foreign file reads past its end, or its layers are not the network's.
        except (IndexError, ValueError, ModelFileError) as exc:
            raise ModelFileError(f"{path} is not dlib's face-recognition ResNet: {exc}") from exc
        if self._fc.shape[0] != self._blocks[-1].second.bias.size:
            raise ModelFileError(f"{path}: the last layer does not take the network's features")

    def __call__(self, chip: np.ndarray) -> np.ndarray:
        if chip.shape != (CHIP_SIZE, CHIP_SIZE, 3) or chip.dtype != np.uint8:
            raise ValueError(
                f"expected a {CHIP_SIZE}x{CHIP_SIZE} RGB uint8 chip, got {chip.dtype} {chip.shape}"
            )
        x = (chip.astype(np.float32) - _CHANNEL_MEANS) / 256.0
        conv, (gamma, beta) = self._stem
        x = np.maximum(_convolve(x, conv) * gamma + beta, 0)
        size, stride, _ = self._pool
        x = _windows(x, size, stride).max(axis=(3, 4))
        for block in self._blocks:
            x = _residual(x, block)
        return (x.mean(axis=(0, 1)) @ self._fc).astype(np.float64)


def _assemble(layers: list[tuple]):
    kinds = [kind for kind, _ in layers]
    if kinds[:3] != ["con", "affine", "max_pool_2"] or kinds[-2:] != ["avg_pool_2", "fc"]:
        raise ModelFileError(f"unexpected layers: {kinds[:3]} ... {kinds[-2:]}")
    stem = (layers[0][1], layers[1][1])
    if layers[2][1][2] != 0 or stem[0].weights.shape[0] != stem[0].size ** 2 * 3:
        raise ModelFileError("the first layers do not take an RGB image")
    blocks, index = [], 3
    while layers[index][0] == "con":
        if [kind for kind, _ in layers[index : index + 4]] != ["con", "affine", "con", "affine"]:
            raise ModelFileError("a residual block that is not convolution, affine, convolution, affine")
        (_, first), (_, first_affine), (_, second), (_, second_affine) = layers[index : index + 4]
        index += 4
        down = first.stride == 2
        if down:
            if layers[index][0] != "avg_pool_2" or layers[index][1] != (2, 2, 0):
                raise ModelFileError("a downsampling block without its 2x2 average pool")
            index += 1
        # Each convolution takes the channels the one before it gives (the skip is zero-padded).
        channels = (blocks[-1].second if blocks else stem[0]).bias.size
        if first.weights.shape[0] != 9 * channels or second.weights.shape[0] != 9 * first.bias.size:
            raise ModelFileError(f"a residual block that does not follow its input's {channels} channels")
        blocks.append(_Block(first, first_affine, second, second_affine, down))
    if index != len(layers) - 2 or len(blocks) != 14 or layers[index][1][0] != 0:
        raise ModelFileError(f"{len(blocks)} residual blocks where dlib's network has 14")
    return stem, layers[2][1], blocks, layers[-1][1]


def _convolve(x: np.ndarray, conv: _Conv) -> np.ndarray:
    """x is height x width x channels; the patches as rows, one matrix product with BLAS."""
    if conv.padding:
        p = conv.padding
        x = np.pad(x, ((p, p), (p, p), (0, 0)))
    patches = _windows(x, conv.size, conv.stride)
    rows, cols = patches.shape[:2]
    # (rows, cols, channels, kh, kw) -> (rows * cols, kh * kw * channels), as the weights.
    matrix = patches.transpose(0, 1, 3, 4, 2).reshape(rows * cols, -1)
    return (matrix @ conv.weights + conv.bias).reshape(rows, cols, -1)


def _windows(x: np.ndarray, size: int, stride: int) -> np.ndarray:
    """Every size x size window of x (height x width x channels) at `stride`, unpadded, as views:
    (rows, cols, channels, size, size)."""
    return sliding_window_view(x, (size, size), axis=(0, 1))[::stride, ::stride]


def _residual(x: np.ndarray, block: _Block) -> np.ndarray:
    gamma, beta = block.first_affine
    y = np.maximum(_convolve(x, block.first) * gamma + beta, 0)
    gamma, beta = block.second_affine
    y = _convolve(y, block.second) * gamma + beta
    if block.down:
        x = _windows(x, 2, 2).mean(axis=(3, 4))
    # dlib's add_prev: tensors of different sizes are added as if zero-padded at the end (the
    # strided convolution of a 4x4 input is 1x1, its average pool 2x2; 32 channels meet 64).
    out = np.zeros([max(a, b) for a, b in zip(y.shape, x.shape, strict=True)], dtype=np.float32)
    out[: y.shape[0], : y.shape[1], : y.shape[2]] = y
    out[: x.shape[0], : x.shape[1], : x.shape[2]] += x
    return np.maximum(out, 0, out=out)
