"""Precision and recall of every event type the detectors raise, on labelled real faces and
sounds shipped in packages (see eval_faces.py, eval_audio.py and face_identity.py for the sets).

    .venv/bin/python bench/eval_detection.py

Targets: recall and precision >= 0.95 for face-not-visible, multiple-faces and speech-detected;
identity-mismatch with no false match between the two people.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import eval_audio, eval_faces, face_identity
from bench.scoring import confusion_scores
from proctoring.detectors import identity

TARGETED = {"face-not-visible", "multiple-faces", "speech-detected"}


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


def main() -> None:
    audio = eval_audio.evaluate()
    # The workers raise mic-activity for music or a tonal sound that is not speech (a level
    # above silence alone would fire on every breath and keystroke), which is the tonal row.
    audio.pop("mic-activity", None)
    audio["mic-activity"] = audio.pop("tonal")
    results = eval_faces.evaluate() | audio | {"identity-mismatch": identity_results()}
    print(f"{'event':22} {'tp':>4} {'fp':>4} {'fn':>4} {'tn':>4} {'precision':>10} {'recall':>7}  target")
    for event, r in results.items():
        target = ""
        if event in TARGETED:
            target = "met" if r["precision"] >= 0.95 and r["recall"] >= 0.95 else "MISSED"
        elif event == "identity-mismatch":
            target = "met" if r["false_matches"] == 0 else "MISSED"
        print(
            f"{event:22} {r['tp']:>4} {r['fp']:>4} {r['fn']:>4} {r['tn']:>4} "
            f"{r['precision']:>10.3f} {r['recall']:>7.3f}  {target}"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
