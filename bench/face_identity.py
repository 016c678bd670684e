"""Face identity: embedding distances between real faces, and the time one embedding takes.

Compares the astronaut and Grace Hopper with transformed copies of themselves (resized,
relit, recompressed, rotated, cropped, framed as a webcam would) and with each other, shows
where MATCH_THRESHOLD falls between the two groups, how dark a photo may get before it is
refused, and the median time of one embedding on webcam-sized frames:

    .venv/bin/python bench/face_identity.py --runs 20

Prints tables, then one JSON line of summary.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.scoring import median_ms
from proctoring.detectors import identity
from proctoring.tests import faces

Key = tuple[str, str]
SAME_PERSON = ("original vs variant", "variant vs variant")


def embeddings() -> dict[Key, np.ndarray]:
    people = {
        "astronaut": (faces.astronaut(), faces.astronaut_variants()),
        "grace hopper": (faces.grace_hopper(), faces.grace_hopper_variants()),
    }
    found = {}
    for person, (original, variants) in people.items():
        for name, rgb in {"original": original, **variants}.items():
            try:
                found[person, name] = identity.face_embedding(rgb)
            except identity.FaceImageError as error:
                print(f"{person} / {name}: {error.code}, left out")
    return found


def pair_distances(found: dict[Key, np.ndarray]) -> dict[str, list[tuple[float, Key, Key]]]:
    pairs: dict[str, list[tuple[float, Key, Key]]] = {
        "original vs variant": [],
        "variant vs variant": [],
        "different people": [],
    }
    for a, b in itertools.combinations(found, 2):
        if a[0] != b[0]:
            kind = "different people"
        elif "original" in (a[1], b[1]):
            kind = "original vs variant"
        else:
            kind = "variant vs variant"
        pairs[kind].append((identity.embedding_distance(found[a], found[b]), a, b))
    return pairs


def print_distances(pairs: dict[str, list[tuple[float, Key, Key]]]) -> None:
    print(f"\nSame person, original vs each transformation (threshold {identity.MATCH_THRESHOLD}):")
    for distance, a, b in sorted(pairs["original vs variant"], key=lambda p: (p[1][0], p[0])):
        print(f"  {a[0]:13} {b[1]:27} {distance:.3f}")
    for kind, pick in [("variant vs variant", max), ("different people", min)]:
        distance, a, b = pick(pairs[kind])
        print(f"{kind}: {len(pairs[kind])} pairs, {pick.__name__} {distance:.3f} ({a} / {b})")
    print_different_people(pairs["different people"])


def print_different_people(pairs: list[tuple[float, Key, Key]]) -> None:
    """Every astronaut image (rows) against every Grace Hopper image (columns)."""
    rows = list(dict.fromkeys(a for _, a, _ in pairs))
    columns = list(dict.fromkeys(b for _, _, b in pairs))
    distance = {(a, b): d for d, a, b in pairs}
    print("\nDifferent people, astronaut image (row) vs Grace Hopper image (column):")
    print("  " + " " * 27 + "".join(f"{n:>6}" for n in range(len(columns))))
    for a in rows:
        print(f"  {a[1]:27}" + "".join(f"{distance[a, b]:6.3f}" for b in columns))
    print("  columns: " + ", ".join(f"{n} {b[1]}" for n, b in enumerate(columns)))


def embedding_source_policies(chosen: dict[str, list[tuple[float, Key, Key]]]) -> None:
    """Which pixels the embedding is taken from: the photo's own or the normalised ones."""
    print("\nEmbedding taken from the lighting-normalised image (detection always uses it):")
    rule = identity.UNDEREXPOSED_BRIGHTEST
    policies = {"never": 0, f"when brightest 1% < {rule} (chosen)": rule, "always": 256}
    for policy, brightest in policies.items():
        identity.UNDEREXPOSED_BRIGHTEST = brightest
        pairs = chosen if brightest == rule else pair_distances(embeddings())
        identity.UNDEREXPOSED_BRIGHTEST = rule
        same = max(d for kind in SAME_PERSON for d, *_ in pairs[kind])
        different = min(d for d, *_ in pairs["different people"])
        print(f"  {policy:34} same-person max {same:.3f}  different-person min {different:.3f}")


def darkness_sweep() -> None:
    """How dark an underexposed photo may get, with and without the too-dark rule."""
    originals = {"astronaut": faces.astronaut(), "grace hopper": faces.grace_hopper()}
    reference = {person: identity.face_embedding(rgb) for person, rgb in originals.items()}
    rule = identity.TOO_DARK_BRIGHTEST
    print(f"\nUnderexposed photos (refused as too dark below a brightest 1% of {rule}):")
    for exposure in (0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.2):
        for person, rgb in originals.items():
            dark = faces.underexposed(rgb, exposure)
            brightest = float(np.percentile(cv2.cvtColor(dark, cv2.COLOR_RGB2GRAY), 99))
            with_rule = outcome(dark, reference[person])
            identity.TOO_DARK_BRIGHTEST = 0
            without_rule = outcome(dark, reference[person])
            identity.TOO_DARK_BRIGHTEST = rule
            print(
                f"  exposure {exposure:<5} {person:13} brightest 1% {brightest:5.1f}  "
                f"{with_rule:15} without the rule: {without_rule}"
            )


def outcome(rgb: np.ndarray, reference: np.ndarray) -> str:
    try:
        distance = identity.embedding_distance(identity.face_embedding(rgb), reference)
    except identity.FaceImageError as error:
        return error.code
    return f"distance {distance:.3f}"


def hog_detections() -> None:
    """Every HOG detection in photos with false or real second faces, and the CNN's verdict."""
    photos = {
        "astronaut, not normalised": faces.astronaut(),
        "astronaut": faces.astronaut(),
        "astronaut rotated 10": faces.rotated(faces.astronaut(), 10),
        "astronaut 640x480": faces.webcam_frame(faces.astronaut(), 640, 480),
        "grace hopper rotated 10": faces.rotated(faces.grace_hopper(), 10),
        "two people": faces.two_people(),
        "two people 640x480": faces.webcam_frame(faces.two_people(), 640, 480),
    }
    print("\nHOG detections (score, width px), best first; the CNN's verdict on the others:")
    for name, rgb in photos.items():
        image = identity._working_copy(rgb)
        if "not normalised" not in name:
            image = identity._normalise_lighting(image)
        boxes, scores, _ = identity._models().detector.run(image, identity.UPSAMPLE, 0.0)
        ranked = sorted(zip(scores, boxes, strict=True), key=lambda pair: -pair[0])
        found = [f"{score:.2f} {box.width()}px" for score, box in ranked[:1]]
        for score, box in ranked[1:]:
            second = identity._is_second_face(image, box, ranked[0][1])
            found.append(f"{score:.2f} {box.width()}px {'face' if second else 'rejected'}")
        print(f"  {name:26} {'; '.join(found)}")


def stage_ms(runs: int) -> dict[str, float]:
    """Where the time of one 640x480 call goes."""
    image = identity._working_copy(faces.webcam_frame(faces.astronaut(), 640, 480))
    normalised = identity._normalise_lighting(image)
    models = identity._models()
    boxes, scores, _ = models.detector.run(normalised, identity.UPSAMPLE, 0.0)
    face, weak = (boxes[0], boxes[1]) if scores[0] > scores[1] else (boxes[1], boxes[0])
    stages = {
        "normalise lighting": lambda: identity._normalise_lighting(image),
        "HOG detection": lambda: models.detector.run(normalised, identity.UPSAMPLE, 0.0),
        "CNN check of one box": lambda: identity._is_second_face(normalised, weak, face),
        "landmarks + embedding": lambda: identity._describe(image, face),
    }
    result = {name: median_ms(action, runs, digits=1) for name, action in stages.items()}
    print(f"\nMedian ms per stage of a 640x480 call: {result}")
    return result


def expect_multiple_faces(rgb: np.ndarray) -> None:
    try:
        identity.face_embedding(rgb)
    except identity.FaceImageError as error:
        assert error.code == "multiple-faces", error.code
    else:
        raise AssertionError("two people were not reported")


def timings(runs: int) -> dict[str, float]:
    astronaut, grace_hopper = faces.astronaut(), faces.grace_hopper()
    frames = {
        "320x240 astronaut": faces.webcam_frame(astronaut, 320, 240),
        # Holds a weak second HOG detection (score 0.06) that the CNN must rule out.
        "640x480 astronaut": faces.webcam_frame(astronaut, 640, 480),
        "640x480 grace hopper": faces.webcam_frame(grace_hopper, 640, 480),
        "1600x1200 grace hopper": faces.webcam_frame(grace_hopper, 1600, 1200),
    }
    result = {
        name: median_ms(lambda frame=frame: identity.face_embedding(frame), runs, digits=1)
        for name, frame in frames.items()
    }
    # The workers' re-check: a 320x240 frame (as the exam page sends it), dlib looking only
    # around the face the frame's analysis found (the lean path's box).
    from proctoring.detectors.lite import frames as lite_frames

    frame = frames["320x240 astronaut"]
    face = lite_frames.analyse_frame(frame, magnify=False).faces[0]
    near = (face.x, face.y, face.width, face.height)
    result["320x240 astronaut, near its box (re-check)"] = median_ms(
        lambda: identity.face_embedding(frame, near=near), runs, digits=1
    )
    two = faces.webcam_frame(faces.two_people(), 640, 480)
    result["640x480 two people"] = median_ms(lambda: expect_multiple_faces(two), runs, digits=1)
    print(f"\nMedian ms per face_embedding over {runs} runs:")
    for name, ms in result.items():
        print(f"  {name:42} {ms:6.1f}")
    return result


def summary(pairs: dict[str, list[tuple[float, Key, Key]]]) -> dict:
    same = [d for kind in SAME_PERSON for d, *_ in pairs[kind]]
    different = [d for d, *_ in pairs["different people"]]
    threshold = identity.MATCH_THRESHOLD
    result = {
        "same_person_pairs": len(same),
        "same_person_max": round(max(same), 3),
        "same_vs_original_max": round(max(d for d, *_ in pairs["original vs variant"]), 3),
        "different_person_pairs": len(different),
        "different_person_min": round(min(different), 3),
        "threshold": threshold,
        "margin_same_side": round(threshold - max(same), 3),
        "margin_different_side": round(min(different) - threshold, 3),
    }
    print(
        f"\nMATCH_THRESHOLD {threshold}: {result['margin_same_side']} above the farthest "
        f"same-person pair, {result['margin_different_side']} below the closest "
        "different-person pair"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs per frame")
    args = parser.parse_args()

    started = time.perf_counter()
    identity.warm_up()
    load_ms = round((time.perf_counter() - started) * 1000)
    # One BLAS thread, as the workers and the identity pool hold it: the face network runs on it.
    threadpool_limits(limits=1, user_api="blas")
    pairs = pair_distances(embeddings())
    print_distances(pairs)
    result = summary(pairs)
    embedding_source_policies(pairs)
    darkness_sweep()
    hog_detections()
    ms = timings(args.runs)
    stages = stage_ms(args.runs)
    print(json.dumps({**result, "model_load_ms": load_ms, "embedding_median_ms": ms, "stage_ms": stages}))


if __name__ == "__main__":
    main()
