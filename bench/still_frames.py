"""Could the workers skip frames that did not change? How a still scene differs from a real event.

Skipping the models on a frame that looks like the last analysed one of the same student would
cut their cost when students sit still. The gate would have to tell apart what a still
student's webcam produces from frame to frame (sensor noise, recompression, a pixel or two of
sway, auto-exposure) and what must be analysed (a head turned away, someone behind, a lean-in,
a covered lens, lights off).

This measures, for real faces shipped in the packages (`proctoring.tests.faces.people()`), at a
laptop's distance (320x240, the exam page's frame, JPEG quality 70 with sensor noise), how far
each variant is from the base frame. The distance is taken on a 32x24 grey thumbnail split into
6x8 cells of 4x4 pixels: the largest cell's mean absolute difference, in grey levels. A gate on
this distance needs every "same scene" row below its threshold and every "event" row above it.

    .venv/bin/python bench/still_frames.py

Prints one JSON line per person and variant, then a markdown table of the ranges.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "procto.settings")

import cv2
import django
import numpy as np

django.setup()

from proctoring.detectors import faces  # noqa: E402
from proctoring.tests import faces as photos  # noqa: E402

THUMBNAIL = (32, 24)
CELL = 4


def thumbnail(rgb: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, THUMBNAIL, interpolation=cv2.INTER_AREA).astype(np.float32)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    difference = np.abs(thumbnail(a) - thumbnail(b))
    rows, columns = THUMBNAIL[1] // CELL, THUMBNAIL[0] // CELL
    return float(difference.reshape(rows, CELL, columns, CELL).mean(axis=(1, 3)).max())


def main() -> None:
    rng = np.random.default_rng(0)

    def webcam(rgb: np.ndarray, quality: int = 70, noise: float = 3.0) -> np.ndarray:
        noisy = np.clip(rgb + rng.normal(0, noise, rgb.shape), 0, 255).astype(np.uint8)
        return faces.decode_jpeg(photos.jpeg_bytes(noisy, quality=quality))

    def shifted(rgb: np.ndarray, dx: float, dy: float) -> np.ndarray:
        matrix = np.float32([[1, 0, dx], [0, 1, dy]])
        return cv2.warpAffine(rgb, matrix, (rgb.shape[1], rgb.shape[0]), borderMode=cv2.BORDER_REPLICATE)

    def scaled_light(rgb: np.ndarray, factor: float) -> np.ndarray:
        return np.clip(rgb.astype(np.float32) * factor, 0, 255).astype(np.uint8)

    people = photos.people()
    rows = []
    for name, (photo, face) in people.items():
        other = next(v for k, v in people.items() if k != name)
        base = photos.in_view(photo, face, 0.3)
        reference = webcam(base)
        variants = {
            "same scene": {
                "noise and recompression": webcam(base, quality=60),
                "twice the sensor noise": webcam(base, noise=6.0),
                "exposure +5%": webcam(scaled_light(base, 1.05)),
                "sway 1 px": webcam(shifted(base, 1, 0)),
                "sway 2 px": webcam(shifted(base, 2, 1)),
            },
            "event": {
                "head turned 15°": webcam(photos.in_view(photos.turned(photo, 15), face, 0.3)),
                "head turned 30°": webcam(photos.in_view(photos.turned(photo, 30), face, 0.3)),
                "someone behind (12% wide)": webcam(photos.someone_behind((photo, face), other)),
                "someone behind (8% wide)": webcam(
                    photos.someone_behind((photo, face), other, other_face_width=0.08)
                ),
                "covered lens": webcam(photos.covered_camera((60, 50, 45)), noise=0),
                "lights halved": webcam(scaled_light(base, 0.5)),
            },
        }
        for kind, frames in variants.items():
            for variant, frame in frames.items():
                row = {
                    "person": name,
                    "kind": kind,
                    "variant": variant,
                    "distance": round(distance(reference, frame), 1),
                }
                rows.append(row)
                print(json.dumps(row, ensure_ascii=False))

    print()
    print("| kind | variant | largest cell difference, grey levels (min-max over the people) |")
    print("|---|---|---|")
    for kind in ("same scene", "event"):
        for variant in dict.fromkeys(r["variant"] for r in rows if r["kind"] == kind):
            values = [r["distance"] for r in rows if r["variant"] == variant]
            print(f"| {kind} | {variant} | {min(values):.1f}-{max(values):.1f} |")


if __name__ == "__main__":
    main()
