"""The three `.tflite` files of the mediapipe wheel, each in a bare LiteRT interpreter.

The files are read from where pip put mediapipe, without importing it (importing it costs ~2.8 s
and ~95 MB per process): the models are MediaPipe's, the runtime is not.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from pathlib import Path

import numpy as np

SHORT_RANGE = "face_detection/face_detection_short_range.tflite"
FULL_RANGE = "face_detection/face_detection_full_range_sparse.tflite"
FACE_MESH = "face_landmark/face_landmark.tflite"

# An interpreter is not safe to share between threads: a Celery worker process runs one task at
# a time, web threads (identity checks, the analysis report) take turns.
LOCK = threading.Lock()


def model_path(name: str) -> Path:
    """Where the mediapipe wheel installed `name` (a path under its `modules/`)."""
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("mediapipe is not installed: its wheel ships the face models")
    return Path(next(iter(spec.submodule_search_locations))) / "modules" / name


class Model:
    """One model, one thread (a worker analyses one frame at a time; more threads only contend
    with the other worker process for the machine's cores)."""

    def __init__(self, name: str) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.name = name
        self._interpreter = Interpreter(model_path=str(model_path(name)), num_threads=1)
        self._interpreter.allocate_tensors()
        tensor = self._interpreter.get_input_details()[0]
        self._input = tensor["index"]
        self.input_size = int(tensor["shape"][1])  # square inputs: 128 or 192
        self._outputs = [t["index"] for t in self._interpreter.get_output_details()]
        # How often the model ran: the benchmark prices a frame's model calls at the bare cost.
        self.calls = 0

    def __call__(self, tensor: np.ndarray) -> list[np.ndarray]:
        """The model's outputs for one float32 HxWx3 input (copies: they outlive the next call)."""
        self._interpreter.set_tensor(self._input, tensor[np.newaxis])
        return self._invoke()

    def on_pixels(self, pixels: np.ndarray, scale: float, shift: float) -> list[np.ndarray]:
        """The model's outputs for one uint8 HxWx3 image, fed as `pixels * scale + shift`.

        The conversion is written straight into the interpreter's input buffer: no float copy
        of the image to allocate and copy again, which is a tenth of a short-range call.
        """
        # A view into the interpreter's memory; it must be gone before invoke(), which refuses
        # to run while Python holds one.
        buffer = self._interpreter.tensor(self._input)()[0]
        try:
            np.multiply(pixels, np.float32(scale), out=buffer, dtype=np.float32)
            buffer += np.float32(shift)
        finally:
            # Even when the conversion raised: a view kept by a traceback would make every
            # later invoke() of this process-wide model refuse to run.
            del buffer
        return self._invoke()

    def _invoke(self) -> list[np.ndarray]:
        self.calls += 1
        self._interpreter.invoke()
        return [self._interpreter.get_tensor(index) for index in self._outputs]


@functools.cache
def load(name: str) -> Model:
    return Model(name)
