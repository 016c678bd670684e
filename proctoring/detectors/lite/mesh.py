"""MediaPipe's face mesh outside MediaPipe, on a face the detectors already found.

As the face mesh graph in static-image mode does, on the crop `proctoring.detectors.faces` gives
it: the short-range model finds the face again on a square crop twice the face's box (there the
face fills half the model's input, so its eyes are placed far more precisely than on the whole
frame); those eyes give the mesh's crop, as the graph's FaceDetectionFrontDetectionToRoi has it
(the box's centre, the line between the eyes made level, a square of the box's longer side,
1.5x larger). The landmark model sees that crop at 192x192, pixels 0..1, and its 468 points are
taken back to the frame. A face-presence score under 0.5 (the graph's threshold, after a
sigmoid), or no face found again, means no mesh.

The second detection costs a short-range call per frame. Taking the mesh's crop from the
whole frame's detection instead was measured (bench/eval_faces.py's one-face fixtures, each
person's pose against its median over ~15 variants of the same photo): the pitch's 90th
percentile went from 4.6 to 7.2 degrees and its worst from 14 to 39 (a hand over the mouth, a
face 12% of the frame wide), enough to call a student looking at the screen "looking away".
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from proctoring.detectors.faces import FaceBox
from proctoring.detectors.lite import models
from proctoring.detectors.lite.detection import Detection, Detector

# The crop the face is found again on: twice the box's longer side, as faces.MESH_CROP.
REDETECT_CROP = 2.0
ROI_SCALE = 1.5
MIN_PRESENCE = 0.5
LANDMARKS = 468


def roi_from_eyes(face: Detection, width: int, height: int) -> tuple[np.ndarray, float, float]:
    """The crop around `face` in a width x height frame: centre (px), side (px), rotation (rad)."""
    (x0, y0), (x1, y1) = face.keypoints[0] * (width, height), face.keypoints[1] * (width, height)
    # Turned so that the line from the face's right eye (the image's left) to its left is level.
    rotation = -math.atan2(-(y1 - y0), x1 - x0)
    rotation = (rotation + math.pi) % (2 * math.pi) - math.pi
    centre = np.array([(face.x + face.width / 2) * width, (face.y + face.height / 2) * height])
    side = ROI_SCALE * max(face.width * width, face.height * height)
    return centre, side, rotation


def landmarks(rgb: np.ndarray, face: FaceBox | Detection, short_range: Detector) -> np.ndarray | None:
    """The mesh's 468 points (x, y in the frame's pixels) of `face` (only its box is used), or
    None when the model finds no face in its crop."""
    again = _found_again(rgb, face, short_range)
    return None if again is None else landmarks_on(rgb, again)


def landmarks_on(rgb: np.ndarray, face: Detection) -> np.ndarray | None:
    """The mesh on the crop `face`'s own eyes give (no second detection)."""
    height, width = rgb.shape[:2]
    centre, side, rotation = roi_from_eyes(face, width, height)
    model = models.load(models.FACE_MESH)
    size = model.input_size
    cos, sin = math.cos(rotation), math.sin(rotation)
    # Frame -> crop: undo the rotation about the centre, scale the side to the model's input.
    to_crop = (size / side) * np.array([[cos, sin], [-sin, cos]])
    affine = np.hstack([to_crop, (size / 2 - to_crop @ centre)[:, np.newaxis]])
    crop = cv2.warpAffine(rgb, affine, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    points, presence = model.on_pixels(crop, 1 / 255, 0.0)
    if 1 / (1 + math.exp(-float(presence.reshape(-1)[0]))) < MIN_PRESENCE:
        return None
    in_crop = points.reshape(LANDMARKS, 3)[:, :2]
    # Crop pixels -> frame pixels (LandmarkProjectionCalculator).
    back = (side / size) * np.array([[cos, -sin], [sin, cos]])
    return (in_crop - size / 2) @ back.T + centre


def _found_again(rgb: np.ndarray, face: FaceBox | Detection, short_range: Detector) -> Detection | None:
    """The short-range model's best face on a crop centred on `face`, in the frame's fractions."""
    height, width = rgb.shape[:2]
    crop, left, top, side = _window(rgb, face, short_range.size)
    # The crop is the model's square already: the detector feeds it as it is.
    found = short_range(crop)
    if not found:
        return None
    best = max(found, key=lambda d: d.score)
    # Crop fractions -> frame fractions.
    shift, stretch = np.array([left / width, top / height]), np.array([side / width, side / height])
    return Detection(
        left / width + best.x * stretch[0],
        top / height + best.y * stretch[1],
        best.width * stretch[0],
        best.height * stretch[1],
        best.score,
        best.keypoints * stretch + shift,
    )


def _window(rgb: np.ndarray, face: FaceBox | Detection, size: int) -> tuple[np.ndarray, float, float, float]:
    """The size x size crop of a square REDETECT_CROP times `face`'s longer side, centred on it,
    and that square's left, top and side in the frame's pixels."""
    height, width = rgb.shape[:2]
    side = REDETECT_CROP * max(face.width * width, face.height * height)
    scale = size / side
    left = (face.x + face.width / 2) * width - side / 2
    top = (face.y + face.height / 2) * height - side / 2
    to_crop = np.array([[scale, 0, -left * scale], [0, scale, -top * scale]])
    crop = cv2.warpAffine(rgb, to_crop, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return crop, left, top, side
