"""One webcam frame through the lean path: the same questions as `proctoring.detectors.faces`,
the same answers (a `FrameAnalysis`), on MediaPipe's models run bare and in a cascade.

Light frames (most of them): the short-range model; the full-range one only when the short-range
model finds no face (someone far away, or no one); then the mesh on the largest face. Heavy
frames (`magnify=True`, which the workers ask for every few seconds per student, as for the
magnified search before): both models, the magnified search for small faces and the mesh, which
is what `faces.analyse_frame` does on every frame. A second face that only the full-range model
or the magnified search finds is therefore decided on heavy frames; proctoring.pipeline keeps a
light frame from clearing what a heavy one saw.

The thresholds, the lighting normalisation, the magnified search (with its brightened second
look in dim rooms), the blocked-camera test and the head pose are `faces`' own, used from there
with this path's models, so both paths decide alike.
"""

from __future__ import annotations

import functools
import io
from typing import NamedTuple

import cv2
import numpy as np
import simplejpeg
from PIL import Image

from proctoring.detectors import faces
from proctoring.detectors.faces import FaceBox, FrameAnalysis, FrameError, HeadPose
from proctoring.detectors.lite import detection, mesh, models
from proctoring.detectors.lite.detection import Detection

__all__ = ["FaceBox", "FrameAnalysis", "FrameError", "HeadPose", "analyse_frame", "decode_jpeg", "warm_up"]

# Browsers send 320x240 (static/js/exam/media.js), and the models see a 128 or 192 px square of
# the whole frame: larger frames are decoded at a half, quarter or eighth of their size by the
# JPEG decoder itself (IMREAD_REDUCED_COLOR_*, which skips most of the decoding work), then
# shrunk to this. The magnified search and the mesh get crops of it.
WORKING_WIDTH, WORKING_HEIGHT = 320, 240
_REDUCED = {
    1: cv2.IMREAD_COLOR,
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}
# JPEG markers (ITU T.81 table B.1): the start, where the segments end, EXIF's, and those without
# a length.
_SOI, _SOS, _EOI, _APP1 = 0xD8, 0xDA, 0xD9, 0xE1
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


class _Detectors(NamedTuple):
    short_range: detection.Detector
    full_range: detection.Detector


@functools.cache
def _detectors() -> _Detectors:
    return _Detectors(detection.Detector(detection.SHORT_RANGE), detection.Detector(detection.FULL_RANGE))


def warm_up() -> None:
    """Load the models now (a Celery worker's `worker_process_init`), not on the first frame."""
    with models.LOCK:
        detectors = _detectors()
        blank = np.zeros((WORKING_HEIGHT, WORKING_WIDTH, 3), dtype=np.uint8)
        detectors.short_range(blank)
        detectors.full_range(blank)
        # XNNPACK finishes preparing a model on its first call.
        face = Detection(0.4, 0.3, 0.2, 0.3, 1.0, np.array([[0.45, 0.4], [0.55, 0.4]] + [[0.5, 0.5]] * 4))
        mesh.landmarks_on(blank, face)


def decode_jpeg(data: bytes) -> np.ndarray:
    """The JPEG in `data` as RGB uint8 at most WORKING_WIDTH wide; FrameError if it is not one."""
    fast = _decoded_as_sent(data)
    if fast is not None:
        return fast
    # The header first: a few bytes can claim 30000x30000 pixels, which OpenCV would allocate.
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise FrameError() from exc
    if max(width, height) > faces.MAX_FRAME_SIDE:
        raise FrameError(message=f"The frame is larger than {faces.MAX_FRAME_SIDE} pixels on a side.")
    reduction = 1
    while (
        reduction < 8
        and width // (2 * reduction) >= WORKING_WIDTH
        and height // (2 * reduction) >= WORKING_HEIGHT
    ):
        reduction *= 2
    try:
        bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), _REDUCED[reduction])
    except cv2.error as exc:
        raise FrameError() from exc
    if bgr is None:
        raise FrameError()
    with faces.unanalysable_as_frame_error():
        return _working_copy(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def _decoded_as_sent(data: bytes) -> np.ndarray | None:
    """What the exam page sends (a plain JPEG no larger than the working size) decoded by
    libjpeg-turbo through simplejpeg: the same pixels as OpenCV's decoder, in half its time,
    and its header read in a microsecond where Pillow takes ~50. None for anything else (not a
    JPEG, larger, damaged, or with an APP1 segment, whose EXIF orientation OpenCV applies): the
    path above decides those as it always has."""
    if not isinstance(data, bytes | bytearray) or _has_app1(data):
        return None
    try:
        height, width, _, _ = simplejpeg.decode_jpeg_header(data)
        if width > WORKING_WIDTH or height > WORKING_HEIGHT:
            return None
        # strict: a warning (a truncated file) is an error here, so OpenCV's decoder still has
        # the last word on damaged frames.
        return simplejpeg.decode_jpeg(data, colorspace="RGB", strict=True)
    except (ValueError, TypeError, RuntimeError, MemoryError):
        return None


def _has_app1(data: bytes) -> bool:
    """Whether the segments before the picture's data hold an APP1 (EXIF), or cannot be walked.

    OpenCV turns a picture by the orientation in the first APP1 segment, whatever its header
    says; a search for the "Exif" mark alone would miss those, or one placed after a long
    comment. The exam page's frames have half a dozen segments and none of them.
    """
    if data[:2] != b"\xff\xd8":
        return True
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return True
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
        elif marker in _STANDALONE:
            at += 2
        elif marker in (_SOS, _EOI):
            return False
        elif marker in (_APP1, _SOI, 0x00):  # EXIF, or not a JPEG a decoder should be trusted with
            return True
        else:
            length = (data[at + 2] << 8) | data[at + 3]
            if length < 2:  # a length counts its own two bytes
                return True
            at += 2 + length
    return True


def analyse_frame(
    rgb: np.ndarray, *, yaw_limit: float = 30.0, pitch_limit: float = 25.0, magnify: bool = True
) -> FrameAnalysis:
    """Faces, head pose and blocked camera in one RGB uint8 frame; `magnify=True` is a heavy
    frame (both models and the magnified search), `magnify=False` a light one (the cascade).
    FrameError if OpenCV cannot work on it."""
    with faces.unanalysable_as_frame_error():
        return _analyse(rgb, yaw_limit=yaw_limit, pitch_limit=pitch_limit, magnify=magnify)


def _analyse(rgb: np.ndarray, *, yaw_limit: float, pitch_limit: float, magnify: bool) -> FrameAnalysis:
    frame = original = _working_copy(rgb)
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    normalised = faces.needs_normalising(grey)
    if normalised:
        frame = faces.normalise_lighting(frame)
    with models.LOCK:
        candidates, light = _candidates(frame, heavy=magnify)
        found = faces.count_faces(candidates)
        weak = len(found) == 1 and found[0].score < faces.OTHER_FACE_MIN_SCORE
        if weak and not faces.confirmed(frame, found[0], _short_range):
            # A lone weak face that a second look does not find again (faces.MAGNIFIED_MIN_SCORE).
            found = ()
        magnified = magnify and len(found) == 1
        # faces' own search (the brightened second look on a dim or backlit frame included), on
        # this path's short-range model.
        dim = original if magnified and faces.is_dim(grey) else None
        small = faces.magnified_faces(frame, found, candidates, _short_range, dim) if magnified else []
        found = (*found, *small)
        # The faces a light frame would not have found (the full-range model's beside the
        # short-range model's, the magnified search's): until the next heavy frame, a light one
        # that sees fewer faces cannot say these left (proctoring.pipeline).
        heavy_only = [
            f for f in found if not any(faces._overlap(f, seen) > faces.SAME_FACE_OVERLAP for seen in light)
        ]
        largest = max(found, key=lambda f: f.width * f.height) if found else None
        points = mesh.landmarks(frame, largest, _detectors().short_range) if largest else None
    height, width = frame.shape[:2]
    pose = (
        None
        if points is None
        else faces.head_pose_from_landmarks(points[list(faces.POSE_LANDMARKS)], width, height)
    )
    blocked = not found and faces.is_blocked(grey)
    mean, deviation = cv2.meanStdDev(grey)
    away = pose is not None and (abs(pose.yaw) > yaw_limit or abs(pose.pitch) > pitch_limit)
    return FrameAnalysis(
        face_count=len(found),
        faces=tuple(faces._inside_frame(face) for face in found),
        head_pose=pose,
        brightness=round(float(mean[0][0]), 2),
        contrast=round(float(deviation[0][0]), 2),
        camera_blocked=blocked,
        looking_away=away,
        normalised=normalised,
        magnified=magnified,
        small_faces=len(heavy_only) if magnify else 0,
    )


def _working_copy(rgb: np.ndarray) -> np.ndarray:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 HxWx3 frame, got {rgb.dtype} {rgb.shape}")
    scale = min(WORKING_WIDTH / rgb.shape[1], WORKING_HEIGHT / rgb.shape[0])
    if scale < 1:
        rgb = faces.shrunk(rgb, scale)  # never to no pixels (a 2000x2 frame)
    return rgb


def _boxes(found: list[Detection]) -> list[FaceBox]:
    return [FaceBox(d.x, d.y, d.width, d.height, d.score) for d in found]


def _short_range(rgb: np.ndarray) -> list[FaceBox]:
    # The letterbox warp reads a view (a tile) in place: no copy.
    return _boxes(_detectors().short_range(rgb))


def _candidates(frame: np.ndarray, *, heavy: bool) -> tuple[list[FaceBox], tuple[FaceBox, ...]]:
    """Both models' candidates (the full-range model's only when needed), and the faces a light
    frame finds among them."""
    detectors = _detectors()
    found = _boxes(detectors.short_range(frame))
    light = faces.count_faces(found)
    # The cascade: the full-range model finds faces too small for the short-range one (someone
    # 2-5 m away); beside a face the short-range model found, it runs on heavy frames only.
    if heavy or not light:
        found += _boxes(detectors.full_range(frame))
        if not light:
            light = faces.count_faces(found)
    return found, light
