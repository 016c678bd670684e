"""Identity checks on real faces: who matches whom, and what a student is told when not."""

from __future__ import annotations

import io

import dlib
import numpy as np
import pytest
from PIL import Image

from proctoring.detectors import face_descriptor, identity
from proctoring.detectors import faces as graph_faces
from proctoring.detectors.identity import (
    MATCH_THRESHOLD,
    FaceImageError,
    compare_embeddings,
    decode_image,
    face_embedding,
)
from proctoring.tests import faces

EXIF_ORIENTATION = 0x0112


@pytest.fixture(scope="module", autouse=True)
def _models_loaded() -> None:
    identity.warm_up()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return face_embedding(faces.astronaut())


@pytest.fixture(scope="module")
def grace_hopper() -> np.ndarray:
    return face_embedding(faces.grace_hopper())


def problem(rgb: np.ndarray) -> str:
    with pytest.raises(FaceImageError) as raised:
        face_embedding(rgb)
    return raised.value.code


def test_same_person_resized_and_relit_matches(astronaut: np.ndarray) -> None:
    photo = faces.astronaut()
    for variant in [
        faces.resized(photo, 0.5),
        faces.resized(photo, 1.5),
        faces.relit(photo, 2.2),
        faces.relit(photo, 0.5),
    ]:
        assert compare_embeddings(face_embedding(variant), astronaut).match


def test_same_person_recompressed_rotated_and_cropped_matches(grace_hopper: np.ndarray) -> None:
    photo = faces.grace_hopper()
    for variant in [
        faces.recompressed(photo, 10),
        faces.rotated(photo, 10),
        faces.cropped(photo, 0.1, 0.2, 0.6, 0.85),
    ]:
        assert compare_embeddings(face_embedding(variant), grace_hopper).match


def test_webcam_frame_matches_the_uploaded_photo(astronaut: np.ndarray) -> None:
    frame = faces.webcam_frame(faces.astronaut(), 320, 240)
    assert compare_embeddings(face_embedding(frame), astronaut).match


def test_astronaut_and_grace_hopper_do_not_match(astronaut: np.ndarray, grace_hopper: np.ndarray) -> None:
    comparison = compare_embeddings(astronaut, grace_hopper)
    assert not comparison.match
    assert comparison.distance > MATCH_THRESHOLD
    assert comparison.threshold == MATCH_THRESHOLD


def test_dim_photo_still_matches_after_normalisation(astronaut: np.ndarray) -> None:
    dim = faces.underexposed(faces.astronaut(), 0.05)
    # Without lighting normalisation the detector sees nothing in this photo at all.
    assert len(identity._models().detector(dim, identity.UPSAMPLE)) == 0
    assert compare_embeddings(face_embedding(dim), astronaut).match


def test_large_upload_is_downscaled_and_still_matches(grace_hopper: np.ndarray) -> None:
    phone_photo = faces.resized(faces.grace_hopper(), 4)
    assert compare_embeddings(face_embedding(phone_photo), grace_hopper).match


def test_cat_photo_gives_no_face_found() -> None:
    assert problem(faces.cat()) == "no-face"


def test_two_people_are_reported_as_multiple_faces() -> None:
    assert problem(faces.two_people()) == "multiple-faces"
    assert problem(faces.webcam_frame(faces.two_people(), 640, 480)) == "multiple-faces"


def test_name_badge_the_hog_detector_takes_for_a_face_is_not_a_second_person(
    astronaut: np.ndarray,
) -> None:
    tilted = faces.rotated(faces.astronaut(), 10)
    assert len(identity._models().detector(tilted, identity.UPSAMPLE)) == 2
    assert compare_embeddings(face_embedding(tilted), astronaut).match


def test_a_wider_detection_around_the_same_face_is_not_a_second_person() -> None:
    # HOG can keep a box that partly overlaps the face; the CNN then sees that face again.
    photo = identity._normalise_lighting(faces.astronaut())
    face = dlib.rectangle(175, 76, 265, 166)
    wider = dlib.rectangle(150, 50, 300, 200)
    assert identity._is_second_face(photo, wider, dlib.rectangle(0, 0, 1, 1))
    assert not identity._is_second_face(photo, wider, face)


def test_black_frame_is_too_dark_not_no_face() -> None:
    assert problem(faces.black_frame()) == "too-dark"


def test_photo_taken_in_a_dark_room_is_too_dark() -> None:
    assert problem(faces.underexposed(faces.astronaut(), 0.02)) == "too-dark"


@pytest.mark.parametrize(
    "data",
    [b"", b"not a photo at all", faces.jpeg_bytes(faces.astronaut())[:2000]],
    ids=["empty", "text", "truncated jpeg"],
)
def test_garbage_bytes_are_unreadable(data: bytes) -> None:
    with pytest.raises(FaceImageError) as raised:
        decode_image(data)
    assert raised.value.code == "unreadable"


def test_every_problem_tells_the_student_what_to_do() -> None:
    for code in ["unreadable", "no-face", "multiple-faces", "too-dark"]:
        error = FaceImageError(code)
        assert error.code == code
        assert str(error) == error.message
        assert error.message.endswith(".") and len(error.message.split(". ")) == 2


def test_jpeg_and_greyscale_png_uploads_decode_to_rgb() -> None:
    assert decode_image(faces.jpeg_bytes(faces.astronaut())).shape == (512, 512, 3)
    buffer = io.BytesIO()
    Image.fromarray(faces.astronaut()).convert("L").save(buffer, format="PNG")
    rgb = decode_image(buffer.getvalue())
    assert rgb.shape == (512, 512, 3) and rgb.dtype == np.uint8


def test_sideways_phone_photo_is_turned_upright_by_its_exif_tag(astronaut: np.ndarray) -> None:
    # Stored rotated a quarter turn anticlockwise, tagged "rotate 90 clockwise to display".
    sideways = Image.fromarray(np.rot90(faces.astronaut()).copy())
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    buffer = io.BytesIO()
    sideways.save(buffer, format="JPEG", quality=90, exif=exif)
    upright = decode_image(buffer.getvalue())
    assert compare_embeddings(face_embedding(upright), astronaut).match


def test_models_load_once_per_process_not_per_photo(monkeypatch: pytest.MonkeyPatch) -> None:
    identity.warm_up()

    def load_again(*args: object) -> None:
        raise AssertionError("a model was loaded a second time")

    for loader in ["get_frontal_face_detector", "cnn_face_detection_model_v1", "shape_predictor"]:
        monkeypatch.setattr(dlib, loader, load_again)
    monkeypatch.setattr(face_descriptor, "FaceDescriptor", load_again)
    # The tilted astronaut uses all four: HOG, the CNN ruling out the badge, landmarks, encoder.
    assert face_embedding(faces.rotated(faces.astronaut(), 10)).shape == (128,)


def face_box_found(frame: np.ndarray, path: str) -> tuple[float, float, float, float]:
    """Where the workers' frame analysis finds the one face, as the re-check is given it: on the
    lean path (the default) or MediaPipe's graphs (FRAME_PATH=mediapipe), whose boxes differ."""
    from proctoring.detectors.lite import frames

    analyse = frames.analyse_frame if path == "lite" else graph_faces.analyse_frame
    analysis = analyse(frame, magnify=False)
    assert analysis.face_count == 1
    face = analysis.faces[0]
    return face.x, face.y, face.width, face.height


@pytest.mark.parametrize("path", ["lite", "mediapipe"])
@pytest.mark.parametrize("name", ["astronaut", "grace hopper"])
def test_a_re_check_looks_for_the_face_only_where_the_frame_s_analysis_found_it(
    name: str, path: str, monkeypatch: pytest.MonkeyPatch, astronaut: np.ndarray, grace_hopper: np.ndarray
) -> None:
    photo, box = faces.people()[name]
    enrolled = {"astronaut": astronaut, "grace hopper": grace_hopper}[name]
    for width in (0.2, 0.3, 0.45):  # far from the laptop, at it, leaning in
        frame = faces.in_view(photo, box, width)
        whole_image = face_embedding(frame)
        with monkeypatch.context() as patched:
            # The whole image's search (~20x the pixels) is not needed when the face is there.
            patched.setattr(identity, "_the_one_face", lambda rgb: pytest.fail("searched the whole frame"))
            near = face_embedding(frame, near=face_box_found(frame, path))
        # dlib's box found on the crop is within a few pixels of the whole image's: the distance
        # to the enrolled photo moves by what a few pixels move it (0.03-0.08 between the two
        # ways on the real footage of bench/still_frames.py), far inside the match threshold.
        to_photo = compare_embeddings(near, enrolled)
        assert to_photo.match, width
        assert to_photo.distance < compare_embeddings(whole_image, enrolled).distance + 0.08, width
        # And the other person is still someone else.
        assert not compare_embeddings(near, astronaut if name == "grace hopper" else grace_hopper).match


@pytest.mark.parametrize(
    "near",
    [
        (0.0, 0.0, 0.1, 0.1),
        (float("nan"), 0.2, 0.3, 0.3),
        (0.4, 0.4, 0.3, float("nan")),
        (0.4, 0.4, 0.0, 0.0),
    ],
)
def test_a_box_with_no_face_in_it_falls_back_to_the_whole_frame(
    near, astronaut: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo, box = faces.people()["astronaut"]
    frame = faces.in_view(photo, box, 0.3)
    searched = []
    whole_frame = identity._the_one_face
    monkeypatch.setattr(identity, "_the_one_face", lambda rgb: searched.append(1) or whole_frame(rgb))
    assert compare_embeddings(face_embedding(frame, near=near), astronaut).match
    assert searched == [1]
