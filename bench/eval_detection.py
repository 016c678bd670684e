"""Precision and recall of every event type the detectors raise, on labelled real faces and
sounds shipped in packages (see eval_faces.py, eval_audio.py and face_identity.py for the sets),
then the face events on the real-people webcam scenes (eval_webcam_scenes.py) by split (dev:
tuned on; test: held out by source package and identity), lighting and source package.

    .venv/bin/python bench/eval_detection.py [--baseline REV] [--lite]

`--baseline REV` also runs proctoring/detectors/faces.py as it was at REV on the real-people
scenes, in the same process and interleaved frame by frame, for before/after figures and CPU.
`--lite` also runs the lean frame path (proctoring/detectors/lite, the workers' default) on the
labelled faces and, interleaved, on the real-people scenes: its heavy frames are the scenes'
figures "with the magnified search", its light frames (the cascade) those "without".

The audio events are scored per set of eval_audio.py: "synthetic" (espeak-ng and sox), "dev"
(real voices the thresholds were tuned on) and "test" (real voices held out).

Targets: recall and precision >= 0.95 for face-not-visible, multiple-faces and speech-detected;
multiple-voices precision and recall >= 0.9 on the real sets; identity-mismatch with no false
match between the two people.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import eval_audio, eval_faces, eval_webcam_scenes, face_identity
from bench.scoring import confusion_scores
from proctoring.detectors import identity
from proctoring.detectors.lite import frames

TARGETED = {"face-not-visible", "multiple-faces", "speech-detected"}
AUDIO_EVENTS = ("speech-detected", "multiple-voices", "background-noise", "tonal")


def identity_results() -> dict[str, float | int]:
    """identity-mismatch as a detector: positive = different people (should be flagged)."""
    pairs = face_identity.pair_distances(face_identity.embeddings())
    same = [d for kind in ("original vs variant", "variant vs variant") for d, *_ in pairs[kind]]
    different = [d for d, *_ in pairs["different people"]]
    tp = sum(d > identity.MATCH_THRESHOLD for d in different)
    fn = len(different) - tp  # a false match: another person accepted
    fp = sum(d > identity.MATCH_THRESHOLD for d in same)
    tn = len(same) - fp
    return confusion_scores(tp, fp, fn, tn) | {"false_matches": fn}


def print_scenes(name: str, summary: dict) -> None:
    """The real-people scenes: per event, split and lighting, then per source package."""
    print(f"\nReal-people webcam scenes, {name}:")
    header = f"{'tp':>4} {'fp':>4} {'fn':>4} {'tn':>4} {'precision':>9} {'recall':>6}"
    print(f"  {'event':16} {'split':5} {'group':22} {header}")
    for event in eval_webcam_scenes.EVENTS:
        for split, s in summary.items():
            groups = {"all": s["all"][event]}
            groups |= {lighting: r[event] for lighting, r in s["lighting"].items()}
            groups |= {f"source {source}": r[event] for source, r in s["source"].items()}
            for group, r in groups.items():
                print(
                    f"  {event:16} {split:5} {group:22} {r['tp']:4} {r['fp']:4} {r['fn']:4} {r['tn']:4}"
                    f" {r['precision']:9.3f} {r['recall']:6.3f}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="git revision of the face detector to compare with")
    parser.add_argument("--lite", action="store_true", help="also the lean frame path")
    args = parser.parse_args()
    audio = {}
    for split, events in eval_audio.evaluate_sets().items():
        for event in AUDIO_EVENTS:
            # The workers raise mic-activity for music or a tonal sound that is not speech (a
            # level above silence alone would fire on every breath and keystroke): the tonal row.
            name = "mic-activity" if event == "tonal" else event
            audio[f"{name} [{split}]"] = events[event]
    results = eval_faces.evaluate() | audio | {"identity-mismatch": identity_results()}
    if args.lite:
        results |= {f"{event} [lite]": r for event, r in eval_faces.evaluate(frames).items()}
    print(f"{'event':32} {'tp':>4} {'fp':>4} {'fn':>4} {'tn':>4} {'precision':>10} {'recall':>7}  target")
    for event, r in results.items():
        target = ""
        kind = event.split(" [")[0]
        if kind in TARGETED:
            target = "met" if r["precision"] >= 0.95 and r["recall"] >= 0.95 else "MISSED"
        elif kind == "multiple-voices" and "synthetic" not in event:
            target = "met" if r["precision"] >= 0.9 and r["recall"] >= 0.9 else "MISSED"
        elif event == "identity-mismatch":
            target = "met" if r["false_matches"] == 0 else "MISSED"
        print(
            f"{event:32} {r['tp']:>4} {r['fp']:>4} {r['fn']:>4} {r['tn']:>4} "
            f"{r['precision']:>10.3f} {r['recall']:>7.3f}  {target}"
        )
    detectors = {"current": eval_webcam_scenes.current}
    if args.baseline:
        detectors = {f"before ({args.baseline})": eval_webcam_scenes.detector_at(args.baseline)} | detectors
    if args.lite:
        detectors["lite"] = frames
    scenes = {name: eval_webcam_scenes.summary(rs) for name, rs in eval_webcam_scenes.run(detectors).items()}
    for name, summary in scenes.items():
        print_scenes(name, summary)
    for name, summary in scenes.items():
        cpu = ", ".join(
            f"{split} {s['cpu_ms_per_frame']} ms with the magnified search, "
            f"{s['cpu_ms_per_frame_without_magnified_search']} without"
            for split, s in summary.items()
        )
        print(f"CPU per analysed frame, {name}: {cpu}")
    print(json.dumps(results | {"webcam_scenes": scenes}))


if __name__ == "__main__":
    main()
