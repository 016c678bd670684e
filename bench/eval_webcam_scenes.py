"""Face events on webcam frames of 35 real people: the hard cases of issue 14.

The frames are proctoring/tests/webcam_scenes.py's (a neighbour cut by the frame's edge, a
printed face on the wall, a mask or a hand over the lower face, the student alone, empty rooms,
clutter and posters without a face), each normal, dark and backlit, sent through the browser's
JPEG. "dev" scenes are made of the people and pictures the detector was tuned on, "test" ones
of held-out sources. Every figure is split by split, lighting and, for people, skin tone.

    .venv/bin/python bench/eval_webcam_scenes.py --baseline HEAD~1

`--baseline REV` runs proctoring/detectors/faces.py as it was at REV in the same process, on
the same frames, interleaved frame by frame with the current one, for before/after figures
and CPU per frame measured under the same load. Prints tables, then one JSON line.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import io
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.scoring import confusion_scores
from proctoring.detectors import faces as current
from proctoring.tests import faces, webcam_scenes
from proctoring.tests.webcam_scenes import Scene

ROOT = Path(__file__).resolve().parents[1]
JPEG_QUALITY = 70  # static/js/exam/media.js
SPLITS = ("dev", "test")
EVENTS = {
    "face-not-visible": lambda count: count == 0,
    "multiple-faces": lambda count: count >= 2,
}


@dataclass(frozen=True)
class Result:
    scene: Scene
    count: int  # faces on the frame with the magnified search (the worker's every few seconds)
    plain_count: int  # faces without it (the worker's other frames)
    blocked: bool
    cpu_ms: float  # analyse_frame with the search
    plain_cpu_ms: float


def sent(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(faces.jpeg_bytes(rgb, JPEG_QUALITY))).convert("RGB"))


def detector_at(revision: str) -> ModuleType:
    """proctoring/detectors/faces.py as committed at `revision`, imported under its own name."""
    # A fixed command on a revision the person running the benchmark names.
    command = ["git", "show", f"{revision}:proctoring/detectors/faces.py"]
    source = subprocess.run(  # noqa: S603
        command,
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "faces_before.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("faces_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["faces_before"] = module
    spec.loader.exec_module(module)
    return module


def run(detectors: dict[str, ModuleType], splits=SPLITS) -> dict[str, list[Result]]:
    """Every scene through every detector, frame by frame in turn (so load hits them alike)."""
    for module in detectors.values():
        module.warm_up()
    results: dict[str, list[Result]] = {name: [] for name in detectors}
    for split in splits:
        for scene in webcam_scenes.scenes(split):
            frame = sent(scene.rgb)
            for name, module in detectors.items():
                started = time.process_time()
                plain = module.analyse_frame(frame, magnify=False)
                middle = time.process_time()
                analysis = module.analyse_frame(frame)
                ended = time.process_time()
                results[name].append(
                    Result(
                        scene,
                        analysis.face_count,
                        plain.face_count,
                        analysis.camera_blocked,
                        (ended - middle) * 1000,
                        (middle - started) * 1000,
                    )
                )
    return results


def scores(results: list[Result], event: str, plain: bool = False) -> dict[str, float]:
    happens = EVENTS[event]
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for r in results:
        expected, reported = happens(r.scene.faces), happens(r.plain_count if plain else r.count)
        counts[("t" if expected == reported else "f") + ("p" if reported else "n")] += 1
    return confusion_scores(**counts, empty=0.0)


def breakdown(results: list[Result], key) -> dict[str, dict[str, dict[str, float]]]:
    groups: dict[str, list[Result]] = collections.defaultdict(list)
    for r in results:
        groups[key(r)].append(r)
    return {group: {event: scores(rs, event) for event in EVENTS} for group, rs in sorted(groups.items())}


def second_tone(r: Result) -> str:
    """The skin tone of the face that makes a scene 'multiple' (the one after the student)."""
    tones = r.scene.skin_tones
    return (tones[1] or "unrated") if len(tones) > 1 else "-"


def summary(results: list[Result]) -> dict[str, object]:
    by_split = {split: [r for r in results if r.scene.split == split] for split in SPLITS}
    out: dict[str, object] = {}
    for split, rs in by_split.items():
        if not rs:
            continue
        out[split] = {
            "all": {event: scores(rs, event) for event in EVENTS},
            "all_without_magnified_search": {event: scores(rs, event, plain=True) for event in EVENTS},
            "lighting": breakdown(rs, lambda r: r.scene.lighting),
            "source": breakdown(rs, lambda r: r.scene.source),
            "kind": {kind: {"frames": n, "wrong": wrong} for kind, (n, wrong) in _kind_errors(rs).items()},
            "second_face_skin_tone": breakdown(
                [r for r in rs if r.scene.faces == 2], lambda r: second_tone(r)
            ),
            "student_skin_tone": breakdown(
                [r for r in rs if r.scene.faces >= 1], lambda r: r.scene.skin_tones[0] or "unrated"
            ),
            "blocked_reported": sum(r.blocked for r in rs),
            "cpu_ms_per_frame": round(float(np.mean([r.cpu_ms for r in rs])), 2),
            "cpu_ms_per_frame_without_magnified_search": round(
                float(np.mean([r.plain_cpu_ms for r in rs])), 2
            ),
            # The student alone: frames where the magnified search always runs.
            "cpu_ms_alone": round(float(np.mean([r.cpu_ms for r in rs if r.scene.kind == "alone"])), 2),
            "cpu_ms_alone_without_magnified_search": round(
                float(np.mean([r.plain_cpu_ms for r in rs if r.scene.kind == "alone"])), 2
            ),
        }
    return out


def _kind_errors(results: list[Result]) -> dict[str, tuple[int, int]]:
    n, wrong = collections.Counter(), collections.Counter()
    for r in results:
        n[r.scene.kind] += 1
        wrong[r.scene.kind] += min(r.count, 2) != r.scene.faces
    return {kind: (n[kind], wrong[kind]) for kind in sorted(n)}


def print_tables(name: str, result: dict[str, object]) -> None:
    print(f"\n=== {name}")
    for split, s in result.items():
        print(f"[{split}] event              lighting   tp   fp   fn   tn  precision recall")
        for event in EVENTS:
            rows = {"all": s["all"][event], **{k: v[event] for k, v in s["lighting"].items()}}
            for lighting, r in rows.items():
                print(
                    f"  {event:18} {lighting:8} {r['tp']:4} {r['fp']:4} {r['fn']:4} {r['tn']:4}"
                    f" {r['precision']:10.3f} {r['recall']:6.3f}"
                )
        plain = s["all_without_magnified_search"]["multiple-faces"]
        print(
            f"  multiple-faces without the magnified search: recall {plain['recall']:.3f}, fp {plain['fp']}"
        )
        print(
            "  wrong face count by kind: "
            + "; ".join(f"{k} {w}/{n}" for k, v in s["kind"].items() for n, w in [(v["frames"], v["wrong"])])
        )
        tone_recall = []
        for tone, r in s["second_face_skin_tone"].items():
            m = r["multiple-faces"]
            tone_recall.append(f"{tone} {m['recall']:.3f} ({m['tp']}/{m['tp'] + m['fn']})")
        print("  multiple-faces recall by the second face's skin tone: " + ", ".join(tone_recall))
        alarms = []
        for tone, r in s["student_skin_tone"].items():
            m = r["face-not-visible"]
            alarms.append(f"{tone} {m['fp']}/{m['fp'] + m['tn']}")
        print("  face-not-visible false alarms by the student's skin tone: " + ", ".join(alarms))
        print(f"  camera-blocked reported (never right here): {s['blocked_reported']}")
        print(
            f"  CPU ms per frame: {s['cpu_ms_per_frame']} with the magnified search, "
            f"{s['cpu_ms_per_frame_without_magnified_search']} without; student alone: "
            f"{s['cpu_ms_alone']} with, {s['cpu_ms_alone_without_magnified_search']} without"
        )


def wrong_frames(results: list[Result]) -> list[str]:
    return [
        f"{r.scene.name} [{r.scene.split}]: {r.scene.faces} -> {r.count}"
        for r in results
        if min(r.count, 2) != r.scene.faces
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="git revision of proctoring/detectors/faces.py to compare with")
    parser.add_argument("--wrong", action="store_true", help="list the frames counted wrongly")
    args = parser.parse_args()
    detectors = {"current": current}
    if args.baseline:
        detectors = {f"before ({args.baseline})": detector_at(args.baseline), "after (working tree)": current}
    results = run(detectors)
    summaries = {name: summary(rs) for name, rs in results.items()}
    for name, s in summaries.items():
        print_tables(name, s)
        if args.wrong:
            print("\n".join(["  wrong:"] + [f"    {w}" for w in wrong_frames(results[name])]))
    if args.baseline:
        before, after = (summaries[name] for name in detectors)
        for split in SPLITS:
            ratio = after[split]["cpu_ms_per_frame"] / before[split]["cpu_ms_per_frame"]
            plain = (
                after[split]["cpu_ms_per_frame_without_magnified_search"]
                / before[split]["cpu_ms_per_frame_without_magnified_search"]
            )
            alone = after[split]["cpu_ms_alone"] / before[split]["cpu_ms_alone"]
            print(
                f"[{split}] CPU per frame after / before: {ratio:.2f}x with the magnified search, "
                f"{plain:.2f}x without; {alone:.2f}x on student-alone frames with the search"
            )
    print(json.dumps({"frames": len(next(iter(results.values()))), "results": summaries}))


if __name__ == "__main__":
    main()
