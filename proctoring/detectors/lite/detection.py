"""MediaPipe face detection, short and full range, outside MediaPipe.

What the graphs do around the model (mediapipe/modules/face_detection/face_detection*.pbtxt of
mediapipe 0.10.21), written out: the frame letterboxed into the model's square (aspect kept,
black bars, pixels to -1..1), the model's raw boxes decoded against the SSD anchors, scores
through a sigmoid, overlapping boxes merged by weighted non-maximum suppression, and the result
taken back out of the letterbox into fractions of the frame. The oracle test holds the scores
to MediaPipe's within 0.01 and the boxes within 1% of the frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from proctoring.detectors.lite import models

# NonMaxSuppressionCalculator: boxes overlapping the best one by more than this (intersection
# over union) are the same face; their average, weighted by score, is its box.
SUPPRESSION_OVERLAP = 0.3
SCORE_CLIP = 100.0
KEYPOINTS = 6  # the eyes (the face's right one first), the nose tip, the mouth, the ear tragions


@dataclass(frozen=True)
class Spec:
    """One detection model and its SSD anchor layout (SsdAnchorsCalculator's options)."""

    model: str
    strides: tuple[int, ...]
    # One anchor per aspect ratio (only 1.0 here) and, when set, one of an interpolated scale:
    # with fixed-size anchors both sit at the cell's centre, so only their number matters.
    anchors_per_layer: int
    # The graph's own cut, below which a box takes no part in the merging either. The solutions
    # API sets the short-range graph's to min_detection_confidence (0.5 in
    # proctoring.detectors.faces); the full-range graph keeps its own 0.6 whatever it is given
    # (measured: with 0.5 here, merged boxes differed from MediaPipe's by up to 0.003).
    min_score: float


SHORT_RANGE = Spec(models.SHORT_RANGE, strides=(8, 16, 16, 16), anchors_per_layer=2, min_score=0.5)
FULL_RANGE = Spec(models.FULL_RANGE, strides=(4,), anchors_per_layer=1, min_score=0.6)


@dataclass(frozen=True)
class Detection:
    """A face in fractions (0..1) of the searched image; `keypoints` is KEYPOINTSx2 (x, y)."""

    x: float
    y: float
    width: float
    height: float
    score: float
    keypoints: np.ndarray


def anchor_centres(spec: Spec, size: int) -> np.ndarray:
    """The anchors' centres (N x 2, fractions of the model's input), in the model's output order.

    Layers of the same stride share one grid, their anchors interleaved per cell, as the
    calculator lays them out.
    """
    centres = []
    layer = 0
    while layer < len(spec.strides):
        stride = spec.strides[layer]
        same = 0
        while layer < len(spec.strides) and spec.strides[layer] == stride:
            same, layer = same + 1, layer + 1
        cells = math.ceil(size / stride)
        grid = (np.arange(cells, dtype=np.float32) + 0.5) / cells
        ys, xs = np.meshgrid(grid, grid, indexing="ij")
        per_cell = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(per_cell, same * spec.anchors_per_layer, axis=0))
    return np.concatenate(centres)


class Detector:
    """One of the two detection models with its anchors."""

    def __init__(self, spec: Spec) -> None:
        self.model = models.load(spec.model)
        self.size = self.model.input_size
        self.anchors = anchor_centres(spec, self.size)
        # The sigmoid's inverse: raw scores are filtered before it is computed.
        self.raw_min_score = math.log(spec.min_score / (1 - spec.min_score))
        # The model's square, kept between calls: the image is warped into it, the bars stay 0.
        self._square = np.zeros((self.size, self.size, 3), dtype=np.uint8)

    def __call__(self, rgb: np.ndarray) -> list[Detection]:
        """Faces in an RGB uint8 image (any size; a view into a larger frame will do)."""
        height, width = rgb.shape[:2]
        # Letterbox (ImageToTensorCalculator, keep_aspect_ratio): the image's longer side fills
        # the square, the other is centred between black bars. Corner-to-corner mapping, as
        # OpenCV's affine warp in MediaPipe's CPU converter has it (a resize samples half a
        # source pixel away, and moves a small face's score by up to 0.07).
        side = max(width, height)
        scale = self.size / side
        left, top = (side - width) / 2, (side - height) / 2
        # Already the model's square (the mesh's crop to find a face again): the warp would be a
        # copy, pixel for pixel.
        square = rgb if width == height == self.size else self._letterbox(rgb, scale, left, top)
        boxes, scores = self.model.on_pixels(square, 2 / 255, -1.0)
        raw = scores.reshape(-1)
        keep = np.flatnonzero(raw >= self.raw_min_score)
        if not keep.size:
            return []
        coords = boxes.reshape(-1, 4 + 2 * KEYPOINTS)[keep]
        # Boxes without width or height are dropped, as TensorsToDetectionsCalculator does.
        sized = (coords[:, 2] > 0) & (coords[:, 3] > 0)
        if not sized.all():
            keep, coords = keep[sized], coords[sized]
            if not keep.size:
                return []
        score = 1 / (1 + np.exp(-np.clip(raw[keep], -SCORE_CLIP, SCORE_CLIP)))
        # Raw values are pixels of the model's input, offsets from the anchor's centre
        # (reverse_output_order: x before y); fixed-size anchors have width and height 1.
        coords /= self.size
        centres = self.anchors[keep]
        centre = coords[:, 0:2] + centres
        half = coords[:, 2:4] / 2
        corners = np.concatenate([centre - half, centre + half], axis=1)
        points = coords[:, 4:].reshape(-1, KEYPOINTS, 2) + centres[:, np.newaxis, :]
        merged = weighted_nms(corners, points, score)
        # Out of the letterbox: tensor fractions -> the image's fractions.
        offset = np.array([left, top]) / side
        stretch = np.array([side / width, side / height])
        found = []
        for box, keypoints, best in merged:
            (x0, y0), (x1, y1) = (box[:2] - offset) * stretch, (box[2:] - offset) * stretch
            found.append(Detection(x0, y0, x1 - x0, y1 - y0, best, (keypoints - offset) * stretch))
        return found

    def _letterbox(self, rgb: np.ndarray, scale: float, left: float, top: float) -> np.ndarray:
        """`rgb` warped into the model's square at `scale`, `left` and `top` (the image's pixels)
        from its corner. Only the part of the square the image reaches is warped (with the band
        where the bilinear sampling blends it with the border): the bars are the kept zeros."""
        height, width = rgb.shape[:2]
        x0, x1 = _reached(left * scale, (left + width) * scale, scale, self.size)
        y0, y1 = _reached(top * scale, (top + height) * scale, scale, self.size)
        to_region = np.array([[scale, 0, left * scale - x0], [0, scale, top * scale - y0]], dtype=np.float64)
        square = self._square
        square.fill(0)
        cv2.warpAffine(
            rgb,
            to_region,
            (x1 - x0, y1 - y0),
            dst=square[y0:y1, x0:x1],
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
        )
        return square


def _reached(start: float, end: float, scale: float, size: int) -> tuple[int, int]:
    """The pixels of a `size` square that an image placed over [start, end) at `scale` touches:
    the bilinear sampling blends its edge pixels with the border over a source pixel (`scale`
    square pixels when the image is enlarged), and a pixel more for rounding."""
    band = max(1.0, scale)
    return max(0, math.floor(start - band) - 1), min(size, math.ceil(end + band) + 1)


def weighted_nms(
    corners: np.ndarray, points: np.ndarray, scores: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """NonMaxSuppressionCalculator's WEIGHTED algorithm: best first, each takes every remaining
    box overlapping it by more than SUPPRESSION_OVERLAP (itself included) and becomes their
    score-weighted average; its score stays the best's."""
    order = np.argsort(-scores, kind="stable")
    corners, points, scores = corners[order], points[order], scores[order]
    areas = (corners[:, 2] - corners[:, 0]) * (corners[:, 3] - corners[:, 1])
    remaining = np.arange(len(scores))
    merged = []
    while remaining.size:
        best = remaining[0]
        rest = corners[remaining]
        across = np.minimum(rest[:, 2], corners[best, 2]) - np.maximum(rest[:, 0], corners[best, 0])
        down = np.minimum(rest[:, 3], corners[best, 3]) - np.maximum(rest[:, 1], corners[best, 1])
        # np.maximum rather than np.clip, and an infinite union rather than np.divide's `where`:
        # the same numbers, at a third of the cost on arrays of a dozen boxes.
        inter = np.maximum(across, 0) * np.maximum(down, 0)
        union = areas[remaining] + areas[best] - inter
        iou = inter / np.where(union > 0, union, np.inf)
        same = iou > SUPPRESSION_OVERLAP
        # The best box always counts itself (even a degenerate one, whose overlap is 0).
        same[0] = True
        members = remaining[same]
        weights = scores[members]
        weights = weights / weights.sum()
        box = (corners[members] * weights[:, np.newaxis]).sum(axis=0)
        keypoints = (points[members] * weights[:, np.newaxis, np.newaxis]).sum(axis=0)
        merged.append((box, keypoints, float(scores[best])))
        remaining = remaining[~same]
    return merged
