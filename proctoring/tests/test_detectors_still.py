"""The still-frame gate's measure on the project's real faces (proctoring/detectors/still.py): what
a still student's camera produces stays under the threshold, what must be analysed does not."""

from __future__ import annotations

import numpy as np
import pytest
from django.conf import settings

from proctoring.detectors import still
from proctoring.detectors.faces import FaceBox, FrameAnalysis, HeadPose
from proctoring.detectors.lite import frames
from proctoring.tests import faces


def _sent(rgb: np.ndarray, seed: int, noise: float = 3.0) -> bytes:
    """The thumbnail of the frame as the exam page would send it."""
    return still.thumbnail(frames.decode_jpeg(faces.camera_jpeg(rgb, seed, noise)))


@pytest.mark.parametrize("name", ["astronaut", "grace hopper", "cameraman"])
def test_a_student_sitting_still_is_the_same_scene_and_what_must_be_looked_at_is_not(name: str) -> None:
    people = faces.people()
    photo, face = people[name]
    other = next(v for k, v in people.items() if k != name)
    scene = faces.in_view(photo, face, 0.3)
    reference = _sent(scene, seed=0)
    threshold = settings.STILL_FRAME_THRESHOLD
    # Another picture of the same still scene: fresh sensor noise, compressed again.
    assert still.distance(reference, _sent(scene, seed=1)) < threshold / 4
    assert still.distance(reference, _sent(scene, seed=2, noise=6.0)) < threshold / 4
    events = {
        "head turned 30 degrees": faces.in_view(faces.turned(photo, 30), face, 0.3),
        "someone behind, 8% wide": faces.someone_behind((photo, face), other, other_face_width=0.08),
        "the lens covered": faces.covered_camera((60, 50, 45)),
        "the light halved": (scene * 0.5).astype(np.uint8),
    }
    for what, frame in events.items():
        assert still.distance(reference, _sent(frame, seed=3)) >= threshold, what


def test_a_thumbnail_is_32_by_24_grey_levels_and_the_measure_refuses_anything_else() -> None:
    rgb = faces.in_view(*faces.people()["astronaut"], 0.3)
    assert len(still.thumbnail(rgb)) == 32 * 24
    assert still.distance(still.thumbnail(rgb), still.thumbnail(rgb)) == 0.0
    with pytest.raises(ValueError):
        still.distance(still.thumbnail(rgb), b"\x00" * 100)


def test_an_analysis_travels_as_plain_values_and_comes_back_a_light_frame() -> None:
    analysis = FrameAnalysis(
        face_count=1,
        faces=(FaceBox(0.4, 0.3, 0.2, 0.3, 0.93),),
        head_pose=HeadPose(yaw=4.5, pitch=-2.0, roll=1.0),
        brightness=120.5,
        contrast=40.2,
        camera_blocked=False,
        looking_away=False,
        normalised=True,
        magnified=True,
        small_faces=0,
    )
    stored = still.analysis_to_dict(analysis)
    # Nothing a worker of another release could fail to unpickle: built-in types only.
    assert all(type(v).__module__ == "builtins" for v in stored.values())
    back = still.analysis_from_dict(stored)
    assert back == FrameAnalysis(**{**analysis.__dict__, "magnified": False})
    no_face = FrameAnalysis(0, (), None, 10.0, 2.0, True, False, False)
    assert still.analysis_from_dict(still.analysis_to_dict(no_face)) == no_face
