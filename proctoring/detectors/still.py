"""Whether a webcam frame shows what the last analysed one showed: the still-frame gate's test.

A frame is reduced to a 32x24 grey thumbnail; two frames differ by the largest mean absolute
difference over its 4x4-pixel cells, in grey levels (0-255). What a student sitting still
produces between two pictures 2 s apart (sensor noise, recompression, a pixel of sway, a small
exposure change) measures 0.6-10 on the project's real faces; the weakest event measured, a
second person 8% of the frame wide appearing behind, 25; a head turned 30 degrees, 28-37
(bench/still_frames.py). On real recordings of people at a camera, with the pipeline's rules,
12% of the pictures were answered by a threshold of 8 (docs/BENCHMARKS.md, "A still-frame gate,
a leaner worker...").

The analysis a skipped frame reuses travels through the cache as plain values
(`analysis_to_dict`), so workers of two releases never unpickle each other's classes.
"""

from __future__ import annotations

import cv2
import numpy as np

from proctoring.detectors.faces import FaceBox, FrameAnalysis, HeadPose

THUMBNAIL = (32, 24)  # width, height
CELL = 4


def thumbnail(rgb: np.ndarray) -> bytes:
    """The frame as a 32x24 grey thumbnail, 768 bytes."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, THUMBNAIL, interpolation=cv2.INTER_AREA).tobytes()


def distance(a: bytes, b: bytes) -> float:
    """The largest 4x4 cell's mean absolute difference between two thumbnails, grey levels."""
    width, height = THUMBNAIL
    first = np.frombuffer(a, dtype=np.uint8).astype(np.int16)
    second = np.frombuffer(b, dtype=np.uint8).astype(np.int16)
    if first.size != width * height or second.size != width * height:
        raise ValueError("not a thumbnail of this module")
    cells = np.abs(first - second).reshape(height // CELL, CELL, width // CELL, CELL)
    return float(cells.mean(axis=(1, 3)).max())


def analysis_to_dict(analysis: FrameAnalysis) -> dict:
    return {
        "face_count": analysis.face_count,
        "faces": [[f.x, f.y, f.width, f.height, f.score] for f in analysis.faces],
        "head_pose": None
        if analysis.head_pose is None
        else [analysis.head_pose.yaw, analysis.head_pose.pitch, analysis.head_pose.roll],
        "brightness": analysis.brightness,
        "contrast": analysis.contrast,
        "camera_blocked": analysis.camera_blocked,
        "looking_away": analysis.looking_away,
        "normalised": analysis.normalised,
    }


def analysis_from_dict(stored: dict) -> FrameAnalysis:
    """The analysis a light frame of the same scene gets (never a magnified one)."""
    pose = stored["head_pose"]
    return FrameAnalysis(
        face_count=int(stored["face_count"]),
        faces=tuple(FaceBox(*face) for face in stored["faces"]),
        head_pose=None if pose is None else HeadPose(*pose),
        brightness=float(stored["brightness"]),
        contrast=float(stored["contrast"]),
        camera_blocked=bool(stored["camera_blocked"]),
        looking_away=bool(stored["looking_away"]),
        normalised=bool(stored["normalised"]),
    )
