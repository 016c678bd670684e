"""dlib's face-recognition network run on numpy gives dlib's own numbers, on real faces."""

from __future__ import annotations

import re

import dlib
import numpy as np
import pytest

from proctoring.detectors import face_descriptor, identity
from proctoring.detectors.face_descriptor import CHIP_SIZE, FaceDescriptor, ModelFileError
from proctoring.tests import faces

NETWORK = "dlib_face_recognition_resnet_model_v1.dat"


@pytest.fixture(scope="module")
def descriptor() -> FaceDescriptor:
    return FaceDescriptor(identity._model_file(NETWORK))


def real_faces() -> dict[str, np.ndarray]:
    """Each real person as uploaded, and as a webcam sees them at a desk and far away."""
    scenes = {}
    for name, (rgb, box) in faces.people().items():
        scenes[f"{name} photo"] = rgb
        scenes[f"{name} at a desk"] = faces.in_view(rgb, box, 0.3)
        scenes[f"{name} dim and far"] = faces.relit(faces.in_view(rgb, box, 0.18), 2.2)
    scenes["two people"] = faces.two_people()
    return scenes


def test_every_real_face_gets_dlib_s_own_embedding(descriptor: FaceDescriptor) -> None:
    # The oracle: dlib's network computing from the same landmarks. Stored embeddings were taken
    # by it, so anything but the same numbers would move every enrolled student's distances.
    models = identity._models()
    oracle = dlib.face_recognition_model_v1(identity._model_file(NETWORK))
    compared = 0
    for name, rgb in real_faces().items():
        image = identity._working_copy(rgb)
        for face in models.detector(image, 1):
            landmarks = models.landmarks(image, face)
            expected = np.array(oracle.compute_face_descriptor(image, landmarks))
            ours = descriptor(dlib.get_face_chip(image, landmarks, size=CHIP_SIZE, padding=0.25))
            assert np.abs(ours - expected).max() < 1e-5, name
            compared += 1
    assert compared >= 10  # every scene's faces, both people in the pair


def test_a_file_that_is_not_the_network_is_refused_with_a_reason(tmp_path) -> None:
    with pytest.raises(ModelFileError, match=r"shape_predictor_5.* not dlib's .*unexpected layers"):
        FaceDescriptor(identity._model_file("shape_predictor_5_face_landmarks.dat"))
    whole = open(identity._model_file(NETWORK), "rb").read()  # noqa: SIM115
    for fraction in (0.25, 0.5, 0.9):
        cut = tmp_path / f"cut-{fraction}.dat"
        cut.write_bytes(whole[: int(len(whole) * fraction)])
        with pytest.raises(ModelFileError, match=re.escape(f"cut-{fraction}.dat is not dlib's")):
            FaceDescriptor(cut)


def test_a_network_saved_with_its_affine_layers_fused_is_refused(tmp_path) -> None:
    # dlib's fuse_layers folds each affine layer into its convolution and marks it disabled
    # (affine_2 with "1"): run as this module runs it, every convolution would be scaled twice.
    whole = open(identity._model_file(NETWORK), "rb").read()  # noqa: SIM115
    start = whole.find(b"\x01\x07affine_")
    reader = face_descriptor._Reader(whole, start)
    reader.string(), reader.tensor(), reader.alias(), reader.alias(), reader.integer()
    for flag, refused in ((b"1", True), (b"0", False)):
        saved = tmp_path / f"affine_2-{flag.decode()}.dat"
        saved.write_bytes(
            whole[:start]
            + b"\x01\x08affine_2"
            + whole[start + 9 : reader.position]
            + flag
            + whole[reader.position :]
        )
        if refused:
            with pytest.raises(ModelFileError, match="disabled"):
                FaceDescriptor(saved)
        else:
            FaceDescriptor(saved)  # the same network, written by a newer dlib


def test_a_chip_of_another_size_is_refused(descriptor: FaceDescriptor) -> None:
    with pytest.raises(ValueError, match="150x150"):
        descriptor(np.zeros((120, 120, 3), dtype=np.uint8))
