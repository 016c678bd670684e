"""Face images for identity tests and the benchmark, built from real photographs only.

Two real people ship with the installed packages: the astronaut Eileen Collins
(scikit-image) and Grace Hopper (matplotlib). Every variant below is one of them seen the way
a student's upload or webcam would show them: smaller, larger, darker, recompressed, tilted,
cropped. No array here is noise dressed up as a face.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import matplotlib.cbook
import numpy as np
import skimage.data
from PIL import Image


def astronaut() -> np.ndarray:
    return skimage.data.astronaut()


def grace_hopper() -> np.ndarray:
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as file:
        return np.array(Image.open(file).convert("RGB"))


def cat() -> np.ndarray:
    """Chelsea the cat: a sharp, well-lit photo with no human face in it."""
    return skimage.data.chelsea()


def black_frame(height: int = 480, width: int = 640) -> np.ndarray:
    """What a covered or unlit webcam sends."""
    return np.zeros((height, width, 3), dtype=np.uint8)


def two_people() -> np.ndarray:
    """The astronaut and Grace Hopper side by side, as if both sat in front of one camera."""
    left, right = astronaut(), grace_hopper()
    height = max(left.shape[0], right.shape[0])
    return np.hstack([_pad_to_height(left, height), _pad_to_height(right, height)])


def _pad_to_height(rgb: np.ndarray, height: int) -> np.ndarray:
    # A mid-grey background, like a wall, rather than black that would darken the frame.
    padding = np.full((height - rgb.shape[0], rgb.shape[1], 3), 128, dtype=np.uint8)
    return np.vstack([rgb, padding])


def resized(rgb: np.ndarray, factor: float) -> np.ndarray:
    height, width = rgb.shape[:2]
    size = (round(width * factor), round(height * factor))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))


def relit(rgb: np.ndarray, gamma: float) -> np.ndarray:
    """Gamma above 1 darkens the mid-tones (a dim room), below 1 brightens them (a window)."""
    return np.round(255 * (rgb / 255.0) ** gamma).astype(np.uint8)


def underexposed(rgb: np.ndarray, exposure: float) -> np.ndarray:
    """Every pixel scaled by `exposure`: a camera in a dark room, highlights included."""
    return np.clip(np.round(rgb * exposure), 0, 255).astype(np.uint8)


def jpeg_bytes(rgb: np.ndarray, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def recompressed(rgb: np.ndarray, quality: int) -> np.ndarray:
    """The photo after a round trip through JPEG at `quality`, blocking artefacts and all."""
    return np.asarray(Image.open(io.BytesIO(jpeg_bytes(rgb, quality))).convert("RGB"))


def rotated(rgb: np.ndarray, degrees: float) -> np.ndarray:
    """A head tilted by `degrees` (counter-clockwise), edges filled with the border colour."""
    image = Image.fromarray(rgb).rotate(degrees, resample=Image.Resampling.BICUBIC)
    return np.asarray(image)


def cropped(rgb: np.ndarray, top: float, left: float, bottom: float, right: float) -> np.ndarray:
    """The part of the photo between fractional edges, e.g. a passport-style head crop."""
    height, width = rgb.shape[:2]
    rows = slice(round(top * height), round(bottom * height))
    return rgb[rows, round(left * width) : round(right * width)]


def astronaut_variants() -> dict[str, np.ndarray]:
    return _variants(astronaut(), head=(0.0, 0.2, 0.55, 0.75))


def grace_hopper_variants() -> dict[str, np.ndarray]:
    return _variants(grace_hopper(), head=(0.1, 0.2, 0.6, 0.85))


def _variants(rgb: np.ndarray, head: tuple[float, float, float, float]) -> dict[str, np.ndarray]:
    """Every transformation the tests and the benchmark compare against the original."""
    builders: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "half size": lambda image: resized(image, 0.5),
        "1.5x size": lambda image: resized(image, 1.5),
        "darker (gamma 2.2)": lambda image: relit(image, 2.2),
        "brighter (gamma 0.5)": lambda image: relit(image, 0.5),
        "dim (exposure 0.1)": lambda image: underexposed(image, 0.1),
        "very dim (exposure 0.05)": lambda image: underexposed(image, 0.05),
        "jpeg quality 10": lambda image: recompressed(image, 10),
        "rotated 10 degrees": lambda image: rotated(image, 10),
        "rotated -10 degrees": lambda image: rotated(image, -10),
        "head crop": lambda image: cropped(image, *head),
        "webcam 320x240": lambda image: webcam_frame(image, 320, 240),
    }
    return {name: build(rgb) for name, build in builders.items()}


def webcam_frame(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """The photo letterboxed into a `width`x`height` frame, as a webcam capture would be."""
    scale = min(width / rgb.shape[1], height / rgb.shape[0])
    face = resized(rgb, scale)
    frame = np.full((height, width, 3), 128, dtype=np.uint8)
    top, left = (height - face.shape[0]) // 2, (width - face.shape[1]) // 2
    frame[top : top + face.shape[0], left : left + face.shape[1]] = face
    return frame
