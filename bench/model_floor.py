"""The floor under the frame analysis: MediaPipe's cost per call against the bare models inside it.

The workers run three MediaPipe graphs per webcam frame: face detection with the short-range
and the full-range model, and the face mesh (its own short-range detector, then the landmark
model) on a crop of the largest face. This measures, in one run:

- each graph's `process()` on a 320x240 webcam frame of a real face, in the project's venv,
  exactly as `proctoring.detectors.faces` calls it;
- the same `.tflite` files that ship in the mediapipe wheel, run bare by LiteRT (Google's
  TensorFlow Lite runtime, `ai-edge-litert`), one thread, no pre- or post-processing: what the
  arithmetic alone costs, below which no wrapper can go.

It answers whether any rewrite of the frame path could hold 300 students at a 2 s cadence on
this machine's two cores (docs/BENCHMARKS.md, "Analysis pipeline"). LiteRT is not a project
dependency; it runs from a throwaway venv:

    python3 -m venv /tmp/litert && /tmp/litert/bin/pip install ai-edge-litert numpy
    /tmp/litert/bin/python bench/model_floor.py --mediapipe-python .venv/bin/python

Prints one JSON line per model, then a markdown table. Times are medians of `--runs` calls,
CPU time per call alongside (both single-threaded).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.scoring import wall_and_cpu_ms  # noqa: E402 - standard library only, any venv

# Run by the project's python: MediaPipe's graphs as the workers call them, timed per call.
MEDIAPIPE_PART = r"""
import json, os, sys
sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "procto.settings")
import django; django.setup()
import mediapipe, numpy as np
from proctoring.detectors import faces
from proctoring.tests import faces as photos
from bench.scoring import wall_and_cpu_ms

runs = int(sys.argv[1])
people = photos.people()
frame = faces.decode_jpeg(photos.jpeg_bytes(photos.in_view(*people["astronaut"], 0.3), quality=70))
faces.warm_up()
models = faces._models()
face = faces.count_faces(faces._candidates(frame))[0]

def timed(fn):
    return wall_and_cpu_ms(fn, runs, warmup=20, digits=3)

print(json.dumps({
    "modules": os.path.dirname(mediapipe.__file__) + "/modules",
    "short_range": timed(lambda: models.short_range.process(frame)),
    "full_range": timed(lambda: models.full_range.process(frame)),
    "face_mesh": timed(lambda: faces._pose_landmarks(frame, face)),
    "analyse_frame": timed(lambda: faces.analyse_frame(frame, magnify=False)),
}))
"""

# The models inside each graph, by the file the graph loads.
MODELS = {
    "short_range": ["face_detection/face_detection_short_range.tflite"],
    "full_range": ["face_detection/face_detection_full_range_sparse.tflite"],
    # The face mesh graph in static-image mode detects the face again, then fits the landmarks.
    "face_mesh": ["face_detection/face_detection_short_range.tflite", "face_landmark/face_landmark.tflite"],
}


def bare_model_ms(path: Path, runs: int) -> dict:
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    tensor = interpreter.get_input_details()[0]
    # The arithmetic does not depend on the pixels: a dense float model costs the same per call.
    pixels = np.random.default_rng(0).random(tensor["shape"], dtype=np.float32)

    def call() -> None:
        interpreter.set_tensor(tensor["index"], pixels)
        interpreter.invoke()

    return {"input": [int(n) for n in tensor["shape"]], **wall_and_cpu_ms(call, runs, warmup=20, digits=3)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mediapipe-python", default=str(ROOT / ".venv/bin/python"))
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--students", type=int, default=300, help="for the capacity line")
    parser.add_argument("--cadence", type=float, default=2.0, help="seconds between a student's frames")
    args = parser.parse_args()

    graphs = json.loads(
        subprocess.run(  # noqa: S603 - the python the person running the bench named
            [args.mediapipe_python, "-c", MEDIAPIPE_PART, str(args.runs)],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    modules = Path(graphs.pop("modules"))
    analyse = graphs.pop("analyse_frame")
    files = sorted({name for names in MODELS.values() for name in names})
    measured = {name: bare_model_ms(modules / name, args.runs) for name in files}
    rows = []
    for graph, files in MODELS.items():
        bare = [measured[name] for name in files]
        row = {
            "graph": graph,
            "models": [Path(name).name for name in files],
            "inputs": [b["input"][1:3] for b in bare],
            "mediapipe_wall_ms": graphs[graph]["wall_median_ms"],
            "mediapipe_cpu_ms": graphs[graph]["cpu_mean_ms"],
            "bare_wall_ms": round(sum(b["wall_median_ms"] for b in bare), 3),
            "bare_cpu_ms": round(sum(b["cpu_mean_ms"] for b in bare), 3),
        }
        rows.append(row)
        print(json.dumps(row))
    frames_per_second = args.students / args.cadence
    total_bare = sum(r["bare_cpu_ms"] for r in rows)
    # Each model once: a rewrite would hand the landmark model our own box, with no second
    # detection inside the mesh.
    floor = sum(m["cpu_mean_ms"] for m in measured.values())
    summary = {
        "analyse_frame_cpu_ms": analyse["cpu_mean_ms"],
        "graphs_cpu_ms": round(sum(r["mediapipe_cpu_ms"] for r in rows), 3),
        "bare_models_cpu_ms": round(total_bare, 3),
        "bare_floor_cpu_ms": round(floor, 3),
        "frames_per_second": frames_per_second,
        "cores_for_analyse_frame": round(frames_per_second * analyse["cpu_mean_ms"] / 1000, 2),
        "cores_for_bare_floor": round(frames_per_second * floor / 1000, 2),
        "python": sys.version.split()[0],
    }
    print(json.dumps(summary))
    print()
    print(
        "| graph | models (input px) | MediaPipe `process()` CPU ms | bare LiteRT CPU ms | MediaPipe / bare |"
    )
    print("|---|---|---|---|---|")
    for r in rows:
        models = ", ".join(f"{m} ({i[0]})" for m, i in zip(r["models"], r["inputs"], strict=True))
        ratio = r["mediapipe_cpu_ms"] / r["bare_cpu_ms"] if r["bare_cpu_ms"] else math.nan
        times = f"{r['mediapipe_cpu_ms']:.2f}", f"{r['bare_cpu_ms']:.2f}", f"{ratio:.1f}x"
        cells = [r["graph"], models, *times]
        print("| " + " | ".join(cells) + " |")
    print()
    print(
        f"`analyse_frame` (no magnified search): {summary['analyse_frame_cpu_ms']:.2f} ms of CPU per frame; "
        f"{args.students} students every {args.cadence:g} s = {frames_per_second:g} frames/s = "
        f"**{summary['cores_for_analyse_frame']} cores** for the models as run today. The bare models "
        f"without the mesh's second detection: {summary['bare_floor_cpu_ms']:.2f} ms = "
        f"**{summary['cores_for_bare_floor']} cores**."
    )


if __name__ == "__main__":
    main()
