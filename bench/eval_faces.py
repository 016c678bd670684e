"""Face count, blocked camera and head pose on labelled webcam frames built from real photos.

Runs `proctoring.detectors.faces.analyse_frame` on ~100 frames, each labelled with how many
faces it shows (0, 1, 2) and whether the camera is blocked: the three real people that ship
with the installed packages (the astronaut, Grace Hopper, the cameraman) seen near and far,
dim, bright, backlit, blurred, recompressed, tilted, with a hand over the mouth, on busy
backgrounds, two at once or one behind the other; photos without a person; covered lenses.
Every frame goes through the browser's JPEG (quality 70) first. Also measured: the short- vs
full-range MediaPipe model, the score and blocked thresholds, head pose, a held-out check on
LFW faces, and the time per frame:

    .venv/bin/python bench/eval_faces.py --runs 50

Prints tables, then one JSON line. `evaluate()` returns the per-event figures alone.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import skimage.data
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.scoring import confusion_scores, median_ms
from proctoring.detectors import faces as detector
from proctoring.detectors.faces import FaceBox, FrameAnalysis
from proctoring.tests import faces

# The exam page sends 320x240 JPEGs at quality 0.7 (static/js/exam/media.js).
JPEG_QUALITY = 70


@dataclass(frozen=True)
class Fixture:
    name: str
    rgb: np.ndarray  # as the server decodes it, after the browser's JPEG
    faces: int
    blocked: bool = False


def sent(rgb: np.ndarray) -> np.ndarray:
    """The frame after the browser's JPEG encoding and the server's decoding."""
    return np.asarray(Image.open(io.BytesIO(faces.jpeg_bytes(rgb, JPEG_QUALITY))).convert("RGB"))


def one_face_scenes() -> dict[str, np.ndarray]:
    scenes = {}
    backgrounds = {"coffee": skimage.data.coffee(), "garage": skimage.data.stereo_motorcycle()[0]}
    for person, (rgb, face) in faces.people().items():
        at_laptop = faces.in_view(rgb, face, 0.3)
        tilted = {f"tilted {d}": faces.rotated(at_laptop, d) for d in (-30, -15, 15, 30)}
        variants = {
            "at a laptop": at_laptop,
            "2 m away (face 12% of width)": faces.in_view(rgb, face, 0.12),
            "leaning in (face 60% of width)": faces.in_view(rgb, face, 0.6),
            "640x480": faces.in_view(rgb, face, 0.3, 640, 480),
            "1920x1080": faces.in_view(rgb, face, 0.25, 1920, 1080),
            "dim room (gamma 2.2)": faces.relit(at_laptop, 2.2),
            "bright room (gamma 0.5)": faces.relit(at_laptop, 0.5),
            "dim (exposure 0.1)": faces.underexposed(at_laptop, 0.1),
            "very dim (exposure 0.05)": faces.underexposed(at_laptop, 0.05),
            "out of focus (blur 2 px)": faces.blurred(at_laptop, 2),
            "badly out of focus (blur 4 px)": faces.blurred(at_laptop, 4),
            "jpeg quality 10": faces.recompressed(at_laptop, 10),
            **tilted,
            "hand over mouth": faces.in_view(faces.hand_over_face(rgb, face), face, 0.3),
            "backlit": faces.in_view(faces.backlit(rgb, face), face, 0.3),
            **{
                f"busy background ({name})": faces.captured(faces.on_background(rgb, face, photo, 0.2, 0.4))
                for name, photo in backgrounds.items()
            },
        }
        scenes.update({f"{person}, {name}": image for name, image in variants.items()})
    return scenes


def two_face_scenes() -> dict[str, np.ndarray]:
    people = faces.people()
    pairs = [("astronaut", "grace hopper"), ("grace hopper", "cameraman"), ("cameraman", "astronaut")]
    scenes = {}
    for a, b in pairs:
        scenes[f"{a} + {b} side by side 640x480"] = faces.side_by_side(people[a], people[b])
        scenes[f"{a} + {b} side by side 320x240"] = faces.side_by_side(people[a], people[b], 0.18, 320, 240)
        scenes[f"{a} + {b} close together"] = faces.side_by_side(people[a], people[b], 0.3, 320, 240)
        scenes[f"{a} with {b} behind"] = faces.someone_behind(people[a], people[b])
        scenes[f"{b} with {a} behind"] = faces.someone_behind(people[b], people[a])
    pair = faces.side_by_side(people["astronaut"], people["grace hopper"], 0.18, 320, 240)
    scenes["astronaut + grace hopper, dim room (gamma 2.2)"] = faces.relit(pair, 2.2)
    scenes["astronaut + grace hopper, jpeg quality 10"] = faces.recompressed(pair, 10)
    return scenes


def no_face_scenes() -> dict[str, np.ndarray]:
    """Real photos without a person: rooms, objects, textures a camera might face."""
    grey = {
        name: getattr(skimage.data, name)()
        for name in ("clock", "coins", "brick", "grass", "gravel", "moon", "page", "text", "cell")
    }
    photos = {
        "cat": faces.cat(),
        "coffee": skimage.data.coffee(),
        "rocket": skimage.data.rocket(),
        "garage": skimage.data.stereo_motorcycle()[0],
        "hubble deep field": skimage.data.hubble_deep_field(),
        "immunohistochemistry": skimage.data.immunohistochemistry(),
        "retina": skimage.data.retina(),
        "colour wheel": skimage.data.colorwheel(),
        **{name: np.dstack([image] * 3) for name, image in grey.items()},
    }
    scenes = {name: faces.captured(rgb) for name, rgb in photos.items()}
    scenes["cat 640x480"] = faces.captured(photos["cat"], 640, 480)
    scenes["garage, dim (exposure 0.25)"] = faces.underexposed(scenes["garage"], 0.25)
    scenes["coffee, dim (exposure 0.25)"] = faces.underexposed(scenes["coffee"], 0.25)
    scenes["garage, out of focus (blur 4 px)"] = faces.blurred(scenes["garage"], 4)
    return scenes


def covered_scenes() -> dict[str, np.ndarray]:
    """Lenses covered or left in the dark: what `camera_blocked` must report."""
    return {
        "black frame": faces.black_frame(240, 320),
        "black, sensor noise": faces.covered_camera((6, 6, 6), noise=3),
        "dark grey, sensor noise": faces.covered_camera((30, 28, 28), noise=4),
        "finger over the lens, light leaking": faces.covered_camera((205, 150, 120), noise=3, leak=0.2),
        "palm over the lens, dim": faces.covered_camera((90, 60, 50), noise=4, leak=0.3),
        "sticky note over the lens": faces.covered_camera((235, 230, 180), noise=2),
        "grey tape over the lens": faces.covered_camera((128, 128, 128), noise=2, leak=0.1),
        "lens cap, light leaking at one side": faces.covered_camera((12, 10, 10), noise=3, leak=0.8),
        "black frame 640x480": faces.black_frame(),
    }


def fixtures() -> list[Fixture]:
    groups = [
        (one_face_scenes(), 1, False),
        (two_face_scenes(), 2, False),
        (no_face_scenes(), 0, False),
        (covered_scenes(), 0, True),
    ]
    return [
        Fixture(name, sent(rgb), count, blocked)
        for scenes, count, blocked in groups
        for name, rgb in scenes.items()
    ]


# --- the labelled fixtures: what the detectors report and what the events would be ----------------

EVENTS: dict[str, Callable[[int, bool], bool]] = {
    "face-not-visible": lambda count, blocked: count == 0 and not blocked,
    "multiple-faces": lambda count, blocked: count >= 2,
    "camera-blocked": lambda count, blocked: blocked,
}


@functools.cache
def analysed_fixtures(path: ModuleType = detector) -> tuple[tuple[Fixture, FrameAnalysis], ...]:
    """Every fixture through `path`'s analyse_frame (faces, or the lean path, detectors.lite.frames)."""
    path.warm_up()
    return tuple((fixture, path.analyse_frame(fixture.rgb)) for fixture in fixtures())


def evaluate(path: ModuleType = detector) -> dict[str, dict[str, float]]:
    """Per event type: tp, fp, fn, tn, precision and recall over the labelled fixtures."""
    result = {}
    for event, happens in EVENTS.items():
        counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
        for fixture, analysis in analysed_fixtures(path):
            expected = happens(fixture.faces, fixture.blocked)
            reported = happens(analysis.face_count, analysis.camera_blocked)
            counts[("t" if expected == reported else "f") + ("p" if reported else "n")] += 1
        # With nothing reported (or nothing to find) the ratio is 0, as scikit-learn has it.
        result[event] = confusion_scores(**counts, empty=0.0)
    return result


def print_evaluation(result: dict[str, dict[str, float]]) -> None:
    pairs = analysed_fixtures()
    groups = {1: "one face", 2: "two faces", 0: "no face"}
    sizes = {
        name: sum(1 for f, _ in pairs if groups[f.faces] == name and not f.blocked)
        for name in groups.values()
    }
    covered = sum(1 for f, _ in pairs if f.blocked)
    print(
        f"\n{len(pairs)} labelled frames: "
        + ", ".join(f"{n} {name}" for name, n in sizes.items())
        + f", {covered} blocked"
    )
    print(f"  {'event':18} {'tp':>4} {'fp':>4} {'fn':>4} {'tn':>4} {'precision':>10} {'recall':>7}")
    for event, r in result.items():
        print(
            f"  {event:18} {r['tp']:4} {r['fp']:4} {r['fn']:4} {r['tn']:4} "
            f"{r['precision']:10.3f} {r['recall']:7.3f}"
        )
    wrong = [(f, a) for f, a in pairs if min(a.face_count, 2) != f.faces or a.camera_blocked != f.blocked]
    print(f"Frames reported wrongly ({len(wrong)}):")
    for fixture, analysis in wrong:
        print(
            f"  {fixture.name}: expected {fixture.faces} face(s){' blocked' if fixture.blocked else ''}, got "
            f"{analysis.face_count}{' blocked' if analysis.camera_blocked else ''} "
            f"(scores {[round(face.score, 2) for face in analysis.faces]})"
        )
    no_pose = [f.name for f, a in pairs if a.face_count and a.head_pose is None]
    print(f"Faces found without a head pose (no face mesh): {len(no_pose)}: {', '.join(no_pose)}")


# --- short- vs full-range model, and the score thresholds ------------------------------------------


def candidates_by_model(rgb: np.ndarray) -> dict[str, list[FaceBox]]:
    """Each model's raw detections on the frame analyse_frame would give them."""
    frame = detector._working_copy(rgb)
    if detector.needs_normalising(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)):
        frame = detector.normalise_lighting(frame)
    models = detector._models()
    return {
        "short": detector._detect(models.short_range, frame),
        "full": detector._detect(models.full_range, frame),
    }


@functools.cache
def fixture_candidates() -> tuple[tuple[Fixture, dict[str, list[FaceBox]]], ...]:
    detector.warm_up()
    return tuple((fixture, candidates_by_model(fixture.rgb)) for fixture in fixtures())


def count_errors(models: tuple[str, ...], first: float, other: float) -> list[str]:
    """Frames whose face count (0, 1, 2+) is wrong with these models and score thresholds."""
    saved = detector.FACE_MIN_SCORE, detector.OTHER_FACE_MIN_SCORE
    detector.FACE_MIN_SCORE, detector.OTHER_FACE_MIN_SCORE = first, other
    try:
        wrong = []
        for fixture, found in fixture_candidates():
            count = len(detector.count_faces([box for model in models for box in found[model]]))
            if min(count, 2) != fixture.faces:
                wrong.append(f"{fixture.name} ({count})")
        return wrong
    finally:
        detector.FACE_MIN_SCORE, detector.OTHER_FACE_MIN_SCORE = saved


def model_comparison() -> dict[str, object]:
    detector.warm_up()
    models = detector._models()
    issue_frame = faces.webcam_frame(faces.two_people(), 640, 480)
    print("\nThe issue's frame (astronaut + Grace Hopper letterboxed into 640x480, faces 10% and 21% wide):")
    issue = {}
    for name, model in [("short-range", models.short_range), ("full-range", models.full_range)]:
        boxes = detector._detect(model, issue_frame)
        issue[name] = len(detector.count_faces(boxes))
        print(
            f"  {name:12} {issue[name]} face(s): "
            + ", ".join(f"{b.score:.2f} ({b.width:.2f} wide)" for b in boxes)
        )
    issue["both (chosen)"] = detector.analyse_frame(issue_frame).face_count
    print(f"  {'both (chosen)':12} {issue['both (chosen)']} face(s)")

    print("\nBest score per model (- = nothing at 0.5) as the face fills more of a 320x240 frame:")
    widths = (0.06, 0.08, 0.1, 0.13, 0.16, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
    print("  " + " " * 24 + "".join(f"{w:>6}" for w in widths))
    for person, (rgb, face) in faces.people().items():
        rows = {"short": [], "full": []}
        for width in widths:
            found = candidates_by_model(sent(faces.in_view(rgb, face, width)))
            for model, boxes in found.items():
                rows[model].append(max((b.score for b in boxes), default=0.0))
        for model, scores in rows.items():
            cells = "".join(f"{s:6.2f}" if s else f"{'-':>6}" for s in scores)
            print(f"  {person + ', ' + model:24}{cells}")

    first, other = detector.FACE_MIN_SCORE, detector.OTHER_FACE_MIN_SCORE
    print(f"\nFixture frames with a wrong face count (thresholds {first} / {other}):")
    strategies = {
        "short-range only": ("short",),
        "full-range only": ("full",),
        "both (chosen)": ("short", "full"),
    }
    errors = {}
    for name, chosen in strategies.items():
        wrong = count_errors(chosen, first, other)
        errors[name] = len(wrong)
        print(f"  {name:17} {len(wrong):3}: {'; '.join(wrong)}")
    return {"issue_frame_faces": issue, "wrong_face_counts": errors}


def threshold_sweep() -> dict[str, int]:
    """Wrong face counts on the fixtures for other score thresholds (both models)."""
    print("\nWrong face counts, both models, first-face / other-face score thresholds:")
    result = {}
    for first in (0.5, 0.55, 0.6, 0.65, 0.7):
        for other in sorted({first, 0.7, 0.8}):
            if other < first:
                continue
            wrong = count_errors(("short", "full"), first, other)
            result[f"{first}/{other}"] = len(wrong)
            print(f"  {first:.2f} / {other:.2f}: {len(wrong):2}  {'; '.join(wrong)}")
    print("Highest score on a frame without a face, and lowest best score on a face:")
    for model in ("short", "full"):
        false = [(b.score, f.name) for f, found in fixture_candidates() if f.faces == 0 for b in found[model]]
        true = [
            (max((b.score for b in found[model]), default=0.0), f.name)
            for f, found in fixture_candidates()
            if f.faces == 1
        ]
        worst_false = max(false, default=(0.0, "-"))
        missed = sum(1 for score, _ in true if score < 0.5)
        weakest = min((t for t in true if t[0] >= 0.5), default=(0.0, "-"))
        print(
            f"  {model}-range: non-face up to {worst_false[0]:.2f} ({worst_false[1]}); weakest face found "
            f"{weakest[0]:.2f} ({weakest[1]}); single faces missed at 0.5: {missed}"
        )
    return result


def clutter_frames() -> list[tuple[str, np.ndarray]]:
    """288 frames of clutter: the no-face photos, whole and zoomed 1.5-4x into five places."""
    grey = ("clock", "coins", "brick", "grass", "gravel", "moon", "page", "text", "cell")
    photos = {
        "cat": faces.cat(),
        "coffee": skimage.data.coffee(),
        "rocket": skimage.data.rocket(),
        "garage": skimage.data.stereo_motorcycle()[0],
        "garage, right eye": skimage.data.stereo_motorcycle()[1],
        "hubble deep field": skimage.data.hubble_deep_field(),
        "immunohistochemistry": skimage.data.immunohistochemistry(),
        "retina": skimage.data.retina(),
        "colour wheel": skimage.data.colorwheel(),
        **{name: np.dstack([getattr(skimage.data, name)()] * 3) for name in grey},
    }
    places = ((0.5, 0.5), (0.25, 0.3), (0.75, 0.7), (0.3, 0.75), (0.7, 0.25))
    frames = []
    for name, rgb in photos.items():
        rows, columns = rgb.shape[:2]
        for zoom in (1, 1.5, 2.5, 4):
            for x, y in places if zoom > 1 else places[:1]:
                width = min(columns, rows * 4 / 3) / zoom
                height = width * 0.75
                left = int(np.clip(x * columns - width / 2, 0, columns - width))
                top = int(np.clip(y * rows - height / 2, 0, rows - height))
                crop = np.ascontiguousarray(rgb[top : top + int(height), left : left + int(width)])
                interpolation = cv2.INTER_AREA if zoom < 2 else cv2.INTER_CUBIC
                frames.append(
                    (
                        f"{name} x{zoom} at {x},{y}",
                        sent(cv2.resize(crop, (320, 240), interpolation=interpolation)),
                    )
                )
    return frames


def clutter_sweep() -> dict[str, int]:
    """How often clutter passes for a face: more frames than the fixtures, none with a person."""
    frames = clutter_frames()
    found = [(name, a) for name, a in ((n, detector.analyse_frame(f)) for n, f in frames) if a.face_count]
    strong = [(name, a) for name, a in found if a.faces[0].score >= detector.OTHER_FACE_MIN_SCORE]
    print(
        f"\nClutter ({len(frames)} frames without a person): a face in {len(found)}, "
        f"scoring {detector.OTHER_FACE_MIN_SCORE} or more (enough for a second face) in {len(strong)}:"
    )
    for name, analysis in found:
        print(f"  {name}: {analysis.faces[0].score:.2f}, {analysis.faces[0].width:.2f} wide")
    return {"frames": len(frames), "with_a_face": len(found), "scoring_as_a_second_face": len(strong)}


# --- camera blocked ----------------------------------------------------------------------------


def blocked_evidence() -> dict[str, float]:
    """Brightest 1% and detail of covered lenses against real scenes without a face."""
    print(
        f"\nBlocked: brightest 1% < {detector.TOO_DARK_BRIGHTEST} or detail < {detector.FEATURELESS_DETAIL}"
        " (only asked when no face is found)"
    )
    rows = []
    for fixture in fixtures():
        if fixture.faces == 0:
            grey = cv2.cvtColor(detector._working_copy(fixture.rgb), cv2.COLOR_RGB2GRAY)
            rows.append(
                (fixture.blocked, detector.detail(grey), float(np.percentile(grey, 99)), fixture.name)
            )
    # Heavier sensor noise than the fixtures have: a covered camera at full gain.
    for noise in (6, 10):
        grey = cv2.cvtColor(
            sent(faces.covered_camera((60, 50, 50), noise=noise, leak=0.3)), cv2.COLOR_RGB2GRAY
        )
        rows.append((True, detector.detail(grey), float(np.percentile(grey, 99)), f"dim palm, noise {noise}"))
    for blocked, detail, brightest, name in sorted(rows, key=lambda r: r[1]):
        label = "covered" if blocked else "scene"
        print(f"  {label:7} detail {detail:5.1f}  brightest 1% {brightest:5.1f}  {name}")
    covered_max = max(r[1] for r in rows if r[0])
    scene_min = min(r[1] for r in rows if not r[0])
    print("Darkness sweep (exposure scales every pixel), after JPEG:")
    people = faces.people()
    scenes = {
        "astronaut": faces.in_view(*people["astronaut"], 0.3),
        "grace hopper": faces.in_view(*people["grace hopper"], 0.3),
        "cameraman": faces.in_view(*people["cameraman"], 0.3),
        "coffee (no one)": faces.captured(skimage.data.coffee()),
    }
    for exposure in (0.01, 0.02, 0.03, 0.05, 0.1):
        cells = []
        for name, rgb in scenes.items():
            frame = sent(faces.underexposed(rgb, exposure))
            analysis = detector.analyse_frame(frame)
            brightest = np.percentile(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), 99)
            verdict = "blocked" if analysis.camera_blocked else f"{analysis.face_count} face"
            cells.append(f"{name} {verdict} (p99 {brightest:.0f})")
        print(f"  exposure {exposure:<5} " + "; ".join(cells))
    return {"covered_detail_max": round(covered_max, 2), "scene_detail_min": round(scene_min, 2)}


# --- head pose ---------------------------------------------------------------------------------


def projected_landmarks(
    yaw: float, pitch: float, roll: float, width: int = 320, height: int = 240
) -> np.ndarray:
    """Where a camera would see the 3D face model's points, turned by known angles (degrees)."""
    # Camera axes (y down, z away): + yaw (nose to the image's right), + pitch (up) and + roll
    # (counter-clockwise) are negative turns about y, x and z, in the order faces.py undoes them.
    rotation = _about("y", -yaw) @ _about("x", -pitch) @ _about("z", -roll)
    position = np.array([0.0, 0.0, 45.0])  # cm: a student at arm's length
    camera = np.array([[width, 0, width / 2], [0, width, height / 2], [0, 0, 1]], dtype=np.float64)
    points = (rotation @ detector.FACE_MODEL_CM.T).T + position
    projected = (camera @ points.T).T
    return projected[:, :2] / projected[:, 2:]


def _about(axis: str, degrees: float) -> np.ndarray:
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return {
        "x": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
        "y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
        "z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]),
    }[axis]


def head_pose_checks() -> dict[str, object]:
    print("\nHead pose (degrees: yaw + = student's left, pitch + = up, roll + = counter-clockwise):")
    worst = 0.0
    for yaw, pitch, roll in [
        (0, 0, 0),
        (30, 0, 0),
        (-45, 0, 0),
        (0, 20, 0),
        (0, -30, 0),
        (0, 0, 25),
        (25, -15, 10),
    ]:
        pose = detector.head_pose_from_landmarks(projected_landmarks(yaw, pitch, roll), 320, 240)
        worst = max(worst, abs(pose.yaw - yaw), abs(pose.pitch - pitch), abs(pose.roll - roll))
    print(f"  3D face model turned by known angles and projected: worst error {worst:.2f}")
    result: dict[str, object] = {"model_projection_worst_error": round(worst, 2)}
    for person, (rgb, face) in faces.people().items():
        view = faces.in_view(rgb, face, 0.3)
        base = detector.analyse_frame(sent(view)).head_pose
        rolls = []
        for degrees in (-30, -15, 15, 30):
            pose = detector.analyse_frame(sent(faces.rotated(view, degrees))).head_pose
            rolls.append(f"{degrees:+d}: {pose.roll - base.roll:+.1f}")
        print(f"  {person:12} as photographed: {base}; photo rotated by, roll change: {', '.join(rolls)}")
        result[person] = [base.yaw, base.pitch, base.roll]
    view = faces.in_view(*faces.people()["astronaut"], 0.35)
    turns = []
    for degrees in (-30, -20, -10, 10, 20, 30):
        pose = detector.analyse_frame(sent(faces.turned(view, degrees))).head_pose
        turns.append(f"{degrees:+d}: yaw {pose.yaw:+.1f}" if pose else f"{degrees:+d}: no pose")
    print(f"  astronaut's face re-drawn turned (not a real turn, see faces.turned): {', '.join(turns)}")
    lfw = lfw_frames()[:100]
    poses = [a.head_pose for a in map(detector.analyse_frame, lfw) if a.head_pose]
    pitches = sorted(p.pitch for p in poses)
    yaws = sorted(abs(p.yaw) for p in poses)
    print(
        f"  LFW faces with a pose {len(poses)}/100: pitch median {statistics.median(pitches):.1f} "
        f"(quartiles {pitches[len(pitches) // 4]:.1f} .. {pitches[3 * len(pitches) // 4]:.1f}), "
        f"|yaw| median {statistics.median(yaws):.1f}"
    )
    result["lfw_pitch_median"] = round(statistics.median(pitches), 1)
    return result


# --- held out: 100 more people -----------------------------------------------------------------


@functools.cache
def lfw_frames() -> tuple[np.ndarray, ...]:
    """scikit-image's LFW subset: 100 faces of different people, then 100 patches without one.

    25x25 grey crops, scaled to 100 px and put on a grey 320x240 frame: far blurrier than a
    webcam face and tightly cropped (no hair, no shoulders), so a harder test than a student.
    """
    frames = []
    for image in skimage.data.lfw_subset():
        patch = cv2.resize(
            np.round(np.clip(image, 0, 1) * 255).astype(np.uint8), (100, 100), interpolation=cv2.INTER_CUBIC
        )
        frame = np.full((240, 320), 128, dtype=np.uint8)
        frame[70:170, 110:210] = patch
        frames.append(sent(np.dstack([frame] * 3)))
    return tuple(frames)


def held_out_check() -> dict[str, float]:
    counts = [detector.analyse_frame(frame).face_count for frame in lfw_frames()]
    found = sum(1 for c in counts[:100] if c >= 1) / 100
    false = sum(1 for c in counts[100:] if c >= 1) / 100
    print(
        f"\nHeld out, LFW subset: faces found in {found:.0%} of 100 face crops, "
        f"in {false:.0%} of 100 non-face crops"
    )
    return {"lfw_faces_found": found, "lfw_non_faces_with_a_face": false}


# --- time per frame ----------------------------------------------------------------------------


def timings(runs: int) -> dict[str, float]:
    people = faces.people()
    frames = {
        "320x240 one face": faces.in_view(*people["astronaut"], 0.3),
        "640x480 one face": faces.in_view(*people["astronaut"], 0.3, 640, 480),
        "1920x1080 one face": faces.in_view(*people["astronaut"], 0.25, 1920, 1080),
        "320x240 two faces": faces.side_by_side(people["astronaut"], people["grace hopper"], 0.18, 320, 240),
        "320x240 no face": faces.captured(skimage.data.coffee()),
        "320x240 dim (normalised)": faces.underexposed(faces.in_view(*people["astronaut"], 0.3), 0.1),
        "320x240 covered": faces.covered_camera((205, 150, 120), leak=0.2),
    }
    sent_frames = {name: sent(rgb) for name, rgb in frames.items()}
    data = faces.jpeg_bytes(frames["320x240 one face"], JPEG_QUALITY)
    actions = {name: (lambda f=frame: detector.analyse_frame(f)) for name, frame in sent_frames.items()}
    actions["decode 320x240 JPEG"] = lambda: detector.decode_jpeg(data)
    models = detector._models()
    frame = detector._working_copy(sent_frames["320x240 one face"])
    face = detector.analyse_frame(frame).faces[0]
    actions["stage: short-range model"] = lambda: models.short_range.process(frame)
    actions["stage: full-range model"] = lambda: models.full_range.process(frame)
    actions["stage: face mesh on a crop"] = lambda: detector._pose_landmarks(frame, face)
    result, cpu = {}, {}
    for name, action in actions.items():
        started = time.process_time()
        result[name] = median_ms(action, runs)
        # CPU time of the whole process (MediaPipe's own threads too): steadier than wall-clock
        # time on a machine that other work shares.
        cpu[name] = round((time.process_time() - started) * 1000 / (runs + 1), 2)
    print(f"\nms per analyse_frame over {runs} runs (one calling thread): wall-clock median, CPU mean")
    for name, ms in result.items():
        print(f"  {name:30} {ms:7.2f} {cpu[name]:7.2f}")
    return {**result, **{f"{name} (cpu)": ms for name, ms in cpu.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="timed runs per frame")
    args = parser.parse_args()

    started = time.perf_counter()
    detector.warm_up()
    load_ms = round((time.perf_counter() - started) * 1000)
    result = evaluate()
    print_evaluation(result)
    models = model_comparison()
    sweep = threshold_sweep()
    clutter = clutter_sweep()
    blocked = blocked_evidence()
    pose = head_pose_checks()
    held_out = held_out_check()
    ms = timings(args.runs)
    thresholds = {
        "face_min_score": detector.FACE_MIN_SCORE,
        "other_face_min_score": detector.OTHER_FACE_MIN_SCORE,
        "min_face_width": detector.MIN_FACE_WIDTH,
        "too_dark_brightest": detector.TOO_DARK_BRIGHTEST,
        "featureless_detail": detector.FEATURELESS_DETAIL,
    }
    summary = {
        "events": result,
        "thresholds": thresholds,
        "models": models,
        "threshold_sweep": sweep,
        "clutter": clutter,
        "blocked": blocked,
        "head_pose": pose,
        "held_out": held_out,
        "model_load_ms": load_ms,
        "analyse_frame_median_ms": ms,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
