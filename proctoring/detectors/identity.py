"""Whose face is this? dlib's ResNet face embedding, as pure functions on images.

One photo in, one 128-number embedding of the one face in it out; two embeddings closer than
MATCH_THRESHOLD are the same person. Used to check a student's photo against their ID card
and a live webcam capture, and by the proctoring pipeline to re-check identity during an
exam. The thresholds below come from `bench/face_identity.py`; docs/BENCHMARKS.md has the
figures.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np
from PIL import Image, ImageOps

# dlib and OpenCV load on first use, not on import: the web process imports this module for the
# identity check's messages and thresholds, and must not pay ~100 MB for libraries that only a
# photo upload or the worker's recheck runs (proctoring/tests/test_web_imports.py).
if TYPE_CHECKING:
    import dlib

    from proctoring.detectors.face_descriptor import FaceDescriptor

FaceProblem = Literal["unreadable", "no-face", "multiple-faces", "too-dark"]

MESSAGES: dict[FaceProblem, str] = {
    "unreadable": "The file could not be read as a photo. Upload a JPEG or PNG picture.",
    "no-face": "No face was found in the photo. Face the camera in good light.",
    "multiple-faces": "More than one face is in the photo. Make sure only you are in the picture.",
    "too-dark": "The photo is too dark to see a face. Turn on a light or uncover the camera.",
}

# Same-person distances measured up to 0.46, the two different people no closer than 0.64:
# the midpoint, a little under dlib's published 0.6 because a wrong accept lets someone else
# sit the exam while a wrong reject costs a retry. See docs/BENCHMARKS.md.
MATCH_THRESHOLD = 0.55

# A 4000 px phone photo is downscaled to this before detection: detection time grows with
# the area, and a face a tenth of the photo wide is still 80 px here, above the 40 px that
# HOG with one upsampling finds and close to the 150 px chip the embedding is taken from.
MAX_SIDE = 800
UPSAMPLE = 1

# Luminance (0-255) that the brightest 1% of pixels must reach. In the benchmark a photo
# exposed at 2% (brightest 5) never yields a face and one at 3% (brightest 7-8) yields the
# worst same-person distances, from a face drawn in fewer than ten grey levels: to a person
# both are black, and "too dark" tells the student what to fix where "no face" would not.
TOO_DARK_BRIGHTEST = 10
# Photos whose brightest 1% stays under mid-grey are underexposed: the embedding is taken
# from the lighting-normalised image. Well-exposed photos keep their own pixels: normalising
# them too moved the benchmark's farthest same-person pair from 0.46 to 0.48 and its
# closest different-person pair from 0.644 to 0.632, and never normalising moved the
# farthest same-person pair to 0.51.
UNDEREXPOSED_BRIGHTEST = 128

# A second HOG detection is confirmed by the CNN detector on a crop this many times the
# box's width, rescaled so the box is this many pixels wide: ~70 ms instead of the CNN's
# 1.2 s over a whole 640x480 frame.
CONFIRM_CROP = 1.5
CONFIRM_BOX_PIXELS = 100

# Where the frame's own analysis already found the one face (the workers' re-check), HOG looks
# only around it: a crop NEAR_MARGIN box-sizes wider on each side, scaled so the face is
# NEAR_FACE_PIXELS wide, without upsampling: at most 240x240 pixels where the whole 320x240 frame
# is searched at twice its size (UPSAMPLE), 1280x960 for dlib's HOG pyramid. dlib's box, landmarks
# and embedding are then taken as before.
NEAR_MARGIN = 0.5
NEAR_FACE_PIXELS = 120


class FaceImageError(ValueError):
    """A photo the student must retake; `message` says how."""

    def __init__(self, code: FaceProblem, message: str | None = None) -> None:
        self.code = code
        self.message = message or MESSAGES[code]
        super().__init__(self.message)


@dataclass(frozen=True)
class FaceComparison:
    distance: float
    match: bool
    threshold: float


class _Models(NamedTuple):
    detector: dlib.fhog_object_detector
    confirmer: dlib.cnn_face_detection_model_v1
    landmarks: dlib.shape_predictor
    encoder: FaceDescriptor


_MODEL_LOCK = threading.Lock()


@functools.cache
def _models() -> _Models:
    import dlib

    from proctoring.detectors.face_descriptor import FaceDescriptor

    # ~0.3 s and ~35 MB: once per process, never per photo. The embedding network is dlib's own
    # file run on numpy (face_descriptor.py): the same numbers at ~17-25 ms where dlib-bin took ~100-115.
    return _Models(
        detector=dlib.get_frontal_face_detector(),
        confirmer=dlib.cnn_face_detection_model_v1(_model_file("mmod_human_face_detector.dat")),
        landmarks=dlib.shape_predictor(_model_file("shape_predictor_5_face_landmarks.dat")),
        encoder=FaceDescriptor(_model_file("dlib_face_recognition_resnet_model_v1.dat")),
    )


def _model_file(name: str) -> str:
    """A model file shipped in the face_recognition_models package, found without importing it:
    its __init__ imports pkg_resources, which Python 3.12 environments no longer carry (and which
    costs daphne ~21,000 objects when it does load)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face_recognition_models is not installed (requirements.txt)")
    path = Path(spec.submodule_search_locations[0]) / "models" / name
    if not path.is_file():
        raise RuntimeError(f"face_recognition_models has no {name}")
    return str(path)


def warm_up() -> None:
    """Load the models now, so that the first photo is not the one that waits for them."""
    _models()


def decode_image(data: bytes) -> np.ndarray:
    """The photo in `data` (JPEG, PNG, WebP...) as RGB uint8, upright as the camera saw it."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            # Phones store portrait photos sideways with an EXIF rotation tag; a sideways
            # face is not found by a frontal-face detector.
            upright = ImageOps.exif_transpose(image).convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        # Pillow reports corrupt or truncated files through any of these.
        raise FaceImageError("unreadable") from exc
    return np.array(upright)  # np.asarray would be read-only


def face_embedding(rgb: np.ndarray, near: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """The 128-number embedding of the one face in an RGB uint8 image.

    `near`: where another detector already found the image's one face (x, y, width, height as
    fractions of the image): dlib looks there first, and over the whole image only if it finds
    no face there. A face found there is taken as the one face: the caller's detector counted the
    faces, so "multiple-faces" is raised only by the search of the whole image.

    Raises FaceImageError "too-dark", "no-face" or "multiple-faces".
    """
    import cv2

    image = _working_copy(rgb)
    brightest = np.percentile(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), 99)
    if brightest < TOO_DARK_BRIGHTEST:
        raise FaceImageError("too-dark")
    normalised = _normalise_lighting(image)
    # dlib's detectors and network keep working buffers inside the model objects: web threads
    # must take turns (a worker process runs one task at a time anyway).
    with _MODEL_LOCK:
        face = _face_near(normalised, near) if near is not None else None
        if face is None:
            face = _the_one_face(normalised)
        source = normalised if brightest < UNDEREXPOSED_BRIGHTEST else image
        return _describe(source, face)


def embedding_distance(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        raise ValueError(f"embeddings of different shapes: {a.shape} and {b.shape}")
    return float(np.linalg.norm(a - b))


def compare_embeddings(a: np.ndarray, b: np.ndarray, threshold: float = MATCH_THRESHOLD) -> FaceComparison:
    distance = embedding_distance(a, b)
    return FaceComparison(distance=distance, match=distance <= threshold, threshold=threshold)


def _working_copy(rgb: np.ndarray) -> np.ndarray:
    import cv2

    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 HxWx3 image, got {rgb.dtype} {rgb.shape}")
    scale = MAX_SIDE / max(rgb.shape[:2])
    if scale < 1:
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    # dlib refuses views with strides (crops, flips) instead of copying them itself.
    return np.ascontiguousarray(rgb)


def _normalise_lighting(rgb: np.ndarray) -> np.ndarray:
    import cv2

    # CLAHE equalises contrast tile by tile: a dim face is stretched to full contrast even
    # when a lamp or a window elsewhere in the frame holds the highlights. Colour is kept.
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(lab[..., 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def _the_one_face(rgb: np.ndarray) -> dlib.rectangle:
    boxes, scores, _ = _models().detector.run(rgb, UPSAMPLE, 0.0)
    if not boxes:
        raise FaceImageError("no-face")
    ranked = [box for _, box in sorted(zip(scores, boxes, strict=True), key=lambda p: -p[0])]
    face, others = ranked[0], ranked[1:]
    # HOG scores a mission patch or a name badge as high as a real tilted face, so a second
    # detection counts only once the CNN detector also sees a face there.
    if any(_is_second_face(rgb, box, face) for box in others):
        raise FaceImageError("multiple-faces")
    return face


def _face_near(rgb: np.ndarray, near: tuple[float, float, float, float]) -> dlib.rectangle | None:
    """dlib's box of the face found at `near`, searched on a crop around it; None if not there."""
    import dlib

    height, width = rgb.shape[:2]
    x, y, w, h = (float(v) for v in near)
    # A box of the frame: finite, inside it, with a size (a box from anywhere else is ignored).
    if not all(map(math.isfinite, (x, y, w, h))) or not (
        0 < w <= 1 and 0 < h <= 1 and -1 < x < 1 and -1 < y < 1
    ):
        return None
    side = max(w * width, h * height)
    if side < 1:
        return None
    centre_x, centre_y = (x + w / 2) * width, (y + h / 2) * height
    half = side * (0.5 + NEAR_MARGIN)
    left, top = max(0, round(centre_x - half)), max(0, round(centre_y - half))
    right, bottom = min(width, round(centre_x + half)), min(height, round(centre_y + half))
    if right - left < 2 or bottom - top < 2:
        return None
    scale = NEAR_FACE_PIXELS / side
    crop = _rescaled(rgb[top:bottom, left:right], scale)
    boxes, scores, _ = _models().detector.run(np.ascontiguousarray(crop), 0, 0.0)
    # The box whose centre falls inside the other detector's: the face it found, not a badge.
    found = [
        (score, box)
        for score, box in zip(scores, boxes, strict=True)
        if abs(left + box.dcenter().x / scale - centre_x) <= w * width / 2
        and abs(top + box.dcenter().y / scale - centre_y) <= h * height / 2
    ]
    if not found:
        return None
    box = max(found, key=lambda pair: pair[0])[1]
    return dlib.rectangle(
        round(left + box.left() / scale),
        round(top + box.top() / scale),
        round(left + box.right() / scale),
        round(top + box.bottom() / scale),
    )


def _is_second_face(rgb: np.ndarray, box: dlib.rectangle, face: dlib.rectangle) -> bool:
    """Whether the CNN detector sees a face centred in `box` that is not `face` again."""
    import dlib

    half = round(box.width() * CONFIRM_CROP / 2)
    top, left = max(0, box.center().y - half), max(0, box.center().x - half)
    crop = rgb[top : box.center().y + half, left : box.center().x + half]
    if crop.size == 0:
        return False
    scale = CONFIRM_BOX_PIXELS / box.width()
    crop = _rescaled(crop, scale)
    for found in _models().confirmer(crop, 0):
        centre = found.rect.dcenter()
        point = dlib.point(round(left + centre.x / scale), round(top + centre.y / scale))
        # The crop's margin can hold part of the first face or of a third one.
        if box.contains(point) and not face.contains(point):
            return True
    return False


def _rescaled(crop: np.ndarray, scale: float) -> np.ndarray:
    """A crop brought to the size a detector looks for: averaged down, interpolated up."""
    import cv2

    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(crop, None, fx=scale, fy=scale, interpolation=interpolation)


def _describe(rgb: np.ndarray, face: dlib.rectangle) -> np.ndarray:
    import dlib

    models = _models()
    landmarks = models.landmarks(rgb, face)
    # The chip dlib's compute_face_descriptor takes (150 px, padding 0.25), through its network.
    return models.encoder(dlib.get_face_chip(rgb, landmarks, size=150, padding=0.25))
