"""The floor under the frame analysis, and how close each way of running the models comes to it.

The workers analyse a webcam frame with MediaPipe's face detection (short- and full-range
models) and face mesh. Measured here in one process, interleaved call by call (every round
runs each action once, in a shuffled order, so the machine's other load hits them alike):

- bare: the three `.tflite` files that ship in the mediapipe wheel, each run by LiteRT
  (`ai-edge-litert`, XNNPACK, one thread) on a fixed input, no pre- or post-processing: what
  the arithmetic alone costs, below which no wrapper can go;
- MediaPipe's solutions graphs, as `proctoring.detectors.faces` calls them, and its whole
  `analyse_frame` (today's path: light frames without the magnified search, heavy with it);
- MediaPipe's Tasks API loaded with the same files (it loads only the short-range detector:
  its face detector graph expects the short-range model's 896 anchors, and its face landmarker
  a bundle whose landmark model is another one);
- the lean path (`proctoring.detectors.lite`): each model with its pre- and post-processing,
  and whole frames: light (the cascade) and heavy (both models, the magnified search, the mesh).

A frame's "floor" is what its own model calls cost bare (the lean path counts them), so
"lean / floor" is the price of everything around the arithmetic (goal: at most 1.3x). The lean
models' invoke() is also timed inside each frame ("invoke over floor"): the same calls cost more
there than bare, back to back, and that part of the price is the caches', not the wrapper's. The
workers run a heavy frame every third frame (MAGNIFY_SECONDS at a 2 s cadence), so the cycle
figures are (2 light + 1 heavy) / 3 for both paths.

    .venv/bin/python bench/model_floor.py --runs 300 --repeat 3

Prints one JSON line per repeat, then a markdown table of the last and the ratios' spread.
`--memory` instead starts a process per path that loads a worker's models as a Celery worker
does (proctoring.tasks.load_models) and analyses frames, and prints its resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The actions timed, by name; set up by `actions()`.
Action = Callable[[], object]

# The CPU the lean models' invoke() itself took, by the action running (`measure` names it): a
# frame's model calls cost more inside the frame than run bare back to back (each evicts the
# others' weights from the caches), and that share of "lean over floor" is not the wrapper's.
INVOKE_CPU: dict[str, float] = {}
_RUNNING: list[str | None] = [None]


def _invoke_timed(interpreter) -> None:
    invoke = interpreter.invoke

    def timed() -> None:
        started = time.process_time()
        invoke()
        name = _RUNNING[0]
        if name is not None:
            INVOKE_CPU[name] = INVOKE_CPU.get(name, 0.0) + 1000 * (time.process_time() - started)

    interpreter.invoke = timed


def actions() -> tuple[dict[str, Action], dict[str, dict[str, int]]]:
    """Every timed action, and for the lean frames the model calls each makes."""
    import mediapipe as mp
    import numpy as np
    from mediapipe.tasks.python import BaseOptions, vision

    from proctoring.detectors import faces
    from proctoring.detectors.lite import frames, mesh, models
    from proctoring.tests import faces as photos

    people = photos.people()
    jpeg = photos.jpeg_bytes(photos.in_view(*people["astronaut"], 0.3), quality=70)
    frame = faces.decode_jpeg(jpeg)
    faces.warm_up()
    frames.warm_up()
    graphs = faces._models()
    face = faces.count_faces(faces._candidates(frame))[0]
    detectors = frames._detectors()
    detection = detectors.short_range(frame)[0]
    tasks_detector = vision.FaceDetector.create_from_options(
        vision.FaceDetectorOptions(
            base_options=BaseOptions(model_asset_path=str(models.model_path(models.SHORT_RANGE))),
            min_detection_confidence=faces.GRAPH_MIN_SCORE,
        )
    )
    image = mp.Image(image_format=mp.ImageFormat.SRGB, data=frame)
    for name in (models.SHORT_RANGE, models.FULL_RANGE, models.FACE_MESH):
        _invoke_timed(models.load(name)._interpreter)
    bare = {}
    for name, key in (
        (models.SHORT_RANGE, "short_range"),
        (models.FULL_RANGE, "full_range"),
        (models.FACE_MESH, "mesh"),
    ):
        model = models.load(name)
        # The arithmetic does not depend on the pixels: a dense float model costs the same per call.
        pixels = np.random.default_rng(0).random((model.input_size, model.input_size, 3), dtype=np.float32)
        bare[f"bare {key}"] = lambda model=model, pixels=pixels: model(pixels)
    timed = {
        **bare,
        "mediapipe short_range": lambda: graphs.short_range.process(frame),
        "mediapipe full_range": lambda: graphs.full_range.process(frame),
        "mediapipe mesh": lambda: faces._pose_landmarks(frame, face),
        "tasks short_range": lambda: tasks_detector.detect(image),
        "lite short_range": lambda: detectors.short_range(frame),
        "lite full_range": lambda: detectors.full_range(frame),
        "lite mesh": lambda: mesh.landmarks(frame, detection, detectors.short_range),
        "today light": lambda: faces.analyse_frame(faces.decode_jpeg(jpeg), magnify=False),
        "today heavy": lambda: faces.analyse_frame(faces.decode_jpeg(jpeg), magnify=True),
        "lite light": lambda: frames.analyse_frame(frames.decode_jpeg(jpeg), magnify=False),
        "lite heavy": lambda: frames.analyse_frame(frames.decode_jpeg(jpeg), magnify=True),
    }
    # The model calls one lean frame makes (deterministic for a given frame).
    calls = {}
    for kind in ("light", "heavy"):
        loaded = {
            key: models.load(name)
            for key, name in (
                ("short_range", models.SHORT_RANGE),
                ("full_range", models.FULL_RANGE),
                ("mesh", models.FACE_MESH),
            )
        }
        before = {key: m.calls for key, m in loaded.items()}
        timed[f"lite {kind}"]()
        calls[kind] = {key: m.calls - before[key] for key, m in loaded.items()}
    return timed, calls


def measure(timed: dict[str, Action], runs: int, seed: int) -> dict[str, dict[str, float]]:
    """Mean CPU ms (this process, all its threads: MediaPipe's graphs run on their own) and
    median wall ms of each action, interleaved."""
    order = list(timed)
    shuffle = random.Random(seed)  # noqa: S311 - an order to run in, not a secret
    cpu = {name: [] for name in order}
    wall = {name: [] for name in order}
    for name in order:  # warm every path up before the first timed round
        for _ in range(5):
            timed[name]()
    INVOKE_CPU.clear()
    for _ in range(runs):
        shuffle.shuffle(order)
        for name in order:
            _RUNNING[0] = name
            started_wall, started_cpu = time.perf_counter(), time.process_time()
            timed[name]()
            cpu[name].append(1000 * (time.process_time() - started_cpu))
            wall[name].append(1000 * (time.perf_counter() - started_wall))
            _RUNNING[0] = None
    return {
        name: {
            "cpu_ms": round(sum(cpu[name]) / runs, 3),
            "wall_median_ms": round(sorted(wall[name])[runs // 2], 3),
            "invoke_cpu_ms": round(INVOKE_CPU.get(name, 0.0) / runs, 3),
        }
        for name in timed
    }


def summary(result: dict[str, dict[str, float]], calls: dict[str, dict[str, int]]) -> dict[str, float]:
    cpu = {name: r["cpu_ms"] for name, r in result.items()}
    floor = {kind: sum(n * cpu[f"bare {key}"] for key, n in made.items()) for kind, made in calls.items()}
    cycle_lite = (2 * cpu["lite light"] + cpu["lite heavy"]) / 3
    cycle_today = (2 * cpu["today light"] + cpu["today heavy"]) / 3
    cycle_floor = (2 * floor["light"] + floor["heavy"]) / 3
    # Today's plan once each (both detectors and the mesh, no second detection in the mesh).
    plan_floor = cpu["bare short_range"] + cpu["bare full_range"] + cpu["bare mesh"]
    return {
        "lite_light_cpu_ms": cpu["lite light"],
        "lite_heavy_cpu_ms": cpu["lite heavy"],
        "today_light_cpu_ms": cpu["today light"],
        "today_heavy_cpu_ms": cpu["today heavy"],
        "floor_light_cpu_ms": round(floor["light"], 3),
        "floor_heavy_cpu_ms": round(floor["heavy"], 3),
        "lite_light_invoke_cpu_ms": result["lite light"]["invoke_cpu_ms"],
        "lite_heavy_invoke_cpu_ms": result["lite heavy"]["invoke_cpu_ms"],
        # The frame's own model calls, timed inside it, over the same calls run bare.
        "lite_cycle_invoke_over_floor": round(
            (2 * result["lite light"]["invoke_cpu_ms"] + result["lite heavy"]["invoke_cpu_ms"])
            / 3
            / cycle_floor,
            3,
        ),
        "lite_light_over_floor": round(cpu["lite light"] / floor["light"], 3),
        "lite_heavy_over_floor": round(cpu["lite heavy"] / floor["heavy"], 3),
        "lite_cycle_cpu_ms": round(cycle_lite, 3),
        "today_cycle_cpu_ms": round(cycle_today, 3),
        "lite_cycle_over_floor": round(cycle_lite / cycle_floor, 3),
        "lite_cycle_over_today": round(cycle_lite / cycle_today, 3),
        "plan_floor_cpu_ms": round(plan_floor, 3),
        "lite_cycle_over_plan_floor": round(cycle_lite / plan_floor, 3),
        "tasks_short_over_lite_short": round(cpu["tasks short_range"] / cpu["lite short_range"], 3),
        "tasks_short_over_bare_short": round(cpu["tasks short_range"] / cpu["bare short_range"], 3),
        "lite_short_over_bare_short": round(cpu["lite short_range"] / cpu["bare short_range"], 3),
    }


# Run in a fresh process per path: a Celery worker's models, loaded as worker_process_init
# does, then frames analysed as the tasks do; VmRSS and VmHWM from /proc.
MEMORY_PART = r"""
import os, sys
sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "procto.settings")
import django; django.setup()
import json
from proctoring import pipeline, tasks
from proctoring.tests import faces as photos
tasks.load_models()
people = photos.people()
jpeg = photos.jpeg_bytes(photos.in_view(*people["astronaut"], 0.3), quality=70)
path = pipeline.frame_path()
for magnify in (False, True) * 10:
    path.analyse_frame(path.decode_jpeg(jpeg), magnify=magnify)
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({
    "path": path.__name__,
    "mediapipe_imported": "mediapipe" in sys.modules,
    "rss_mb": round(int(status["VmRSS"].split()[0]) / 1024, 1),
    "peak_rss_mb": round(int(status["VmHWM"].split()[0]) / 1024, 1),
}))
"""


def memory() -> None:
    for name in ("mediapipe", "lite"):
        environment = {**os.environ, "FRAME_PATH": name}
        out = subprocess.run(  # noqa: S603 - this venv's python on a fixed script
            [sys.executable, "-c", MEMORY_PART],
            cwd=ROOT,
            env=environment,
            check=True,
            capture_output=True,
            text=True,
        )
        print(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=300, help="rounds per repeat")
    parser.add_argument("--repeat", type=int, default=3, help="independent measurements, for the spread")
    parser.add_argument("--students", type=int, default=300, help="for the capacity line")
    parser.add_argument("--cadence", type=float, default=2.0, help="seconds between a student's frames")
    parser.add_argument("--memory", action="store_true", help="worker memory per process instead")
    args = parser.parse_args()
    if args.memory:
        memory()
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "procto.settings")
    timed, calls = actions()
    repeats = []
    for repeat in range(args.repeat):
        result = measure(timed, args.runs, seed=repeat)
        line = summary(result, calls)
        repeats.append(line)
        print(json.dumps({"repeat": repeat, "calls": calls, **line, "actions": result}))
    print()
    print("| action | CPU ms per call | wall median ms |")
    print("|---|---|---|")
    for name, r in result.items():
        print(f"| {name} | {r['cpu_ms']:.2f} | {r['wall_median_ms']:.2f} |")
    print()
    for key in (
        "lite_cycle_invoke_over_floor",
        "lite_light_over_floor",
        "lite_heavy_over_floor",
        "lite_cycle_over_floor",
        "lite_cycle_over_today",
        "lite_cycle_over_plan_floor",
        "tasks_short_over_lite_short",
        "lite_short_over_bare_short",
    ):
        values = [r[key] for r in repeats]
        print(f"{key}: {min(values):.2f}-{max(values):.2f} over {len(values)} repeats")
    frames_per_second = args.students / args.cadence
    cores = {
        key: round(frames_per_second * repeats[-1][f"{key}_cycle_cpu_ms"] / 1000, 2)
        for key in ("today", "lite")
    }
    print(
        f"{args.students} students every {args.cadence:g} s = {frames_per_second:g} frames/s: the models take"
        f" {cores['today']} cores today, {cores['lite']} on the lean path (last repeat)."
    )


if __name__ == "__main__":
    main()
