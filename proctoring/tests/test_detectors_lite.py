"""The lean frame path (proctoring/detectors/lite) against MediaPipe, its oracle, and its parts.

MediaPipe's own graphs (proctoring/detectors/faces.py) run beside it on every labelled frame of
bench/eval_faces.py (~107: one, two and no faces, covered lenses, near and far, dim, backlit,
blurred, tilted, half covered) and must agree: the same detections from each model (scores
within 0.01, boxes within 1% of the frame), the same face counts and blocked cameras on light
and heavy frames, the same boxes (on frames of the browser's 320x240; the same faces on larger
ones), and the same head pose within 1.5 degrees at the median and
4 at worst (the lean path works on 320x240, MediaPipe's on up to 640x480: larger frames differ
that little).
"""

from __future__ import annotations

import functools
import io
import statistics

import numpy as np
import pytest

from bench import eval_faces
from proctoring.detectors import faces as mediapipe_path
from proctoring.detectors.lite import detection, frames, mesh, models
from proctoring.tests import faces

BOX_TOLERANCE = 0.01
SCORE_TOLERANCE = 0.01
# Pose, degrees: the median over every frame with a pose and the worst single angle.
POSE_MEDIAN_ERROR = 1.5
POSE_MAX_ERROR = 4.0


@functools.cache
def fixtures() -> list[eval_faces.Fixture]:
    mediapipe_path.warm_up()
    frames.warm_up()
    return eval_faces.fixtures()


def test_the_anchors_are_laid_out_as_mediapipes() -> None:
    short = detection.anchor_centres(detection.SHORT_RANGE, 128)
    full = detection.anchor_centres(detection.FULL_RANGE, 192)
    assert len(short) == 896 and len(full) == 2304  # the models' own output sizes
    # Stride 8: a 16x16 grid, two anchors a cell; then the three stride-16 layers share an 8x8
    # grid, six anchors a cell.
    assert short[0] == pytest.approx([1 / 32, 1 / 32]) and short[1] == pytest.approx([1 / 32, 1 / 32])
    assert short[2] == pytest.approx([3 / 32, 1 / 32])
    assert short[512] == pytest.approx([1 / 16, 1 / 16]) and short[517] == pytest.approx([1 / 16, 1 / 16])
    assert short[518] == pytest.approx([3 / 16, 1 / 16])
    assert full[48] == pytest.approx([1 / 96, 3 / 96])


def test_weighted_suppression_averages_a_face_s_boxes_by_score_and_keeps_other_faces() -> None:
    corners = np.array([[0.1, 0.1, 0.3, 0.3], [0.12, 0.12, 0.32, 0.32], [0.6, 0.6, 0.8, 0.8]])
    points = np.zeros((3, detection.KEYPOINTS, 2))
    points[:, 0] = corners[:, :2]
    merged = detection.weighted_nms(corners, points, np.array([0.6, 0.9, 0.7]))
    assert len(merged) == 2
    (box, keypoints, score), (other, _, other_score) = merged
    # The best box's score; the average weighted 0.9 : 0.6.
    assert score == pytest.approx(0.9) and other_score == pytest.approx(0.7)
    assert box == pytest.approx([0.112, 0.112, 0.312, 0.312])
    assert keypoints[0] == pytest.approx([0.112, 0.112])
    assert other == pytest.approx(corners[2])


@pytest.mark.parametrize("model", ["short_range", "full_range"])
def test_each_detection_model_finds_what_mediapipe_finds_on_every_fixture(model: str) -> None:
    spec = detection.SHORT_RANGE if model == "short_range" else detection.FULL_RANGE
    lite = frames._detectors()[0 if model == "short_range" else 1]
    graph = getattr(mediapipe_path._models(), model)
    assert lite.model.name == spec.model
    compared = 0
    for fixture in fixtures():
        frame = mediapipe_path._working_copy(fixture.rgb)
        ours = sorted(lite(frame), key=lambda d: -d.score)
        theirs = sorted(mediapipe_path._detect(graph, frame), key=lambda b: -b.score)
        assert len(ours) == len(theirs), fixture.name
        for a, b in zip(ours, theirs, strict=True):
            assert a.score == pytest.approx(b.score, abs=SCORE_TOLERANCE), fixture.name
            box = [a.x, a.y, a.width, a.height]
            assert box == pytest.approx([b.x, b.y, b.width, b.height], abs=BOX_TOLERANCE), fixture.name
            compared += 1
    assert compared > 80


def test_the_lean_path_counts_faces_poses_and_boxes_as_mediapipe_does_on_every_fixture() -> None:
    errors = []
    for fixture in fixtures():
        for heavy in (True, False):
            theirs = mediapipe_path.analyse_frame(fixture.rgb, magnify=heavy)
            ours = frames.analyse_frame(fixture.rgb, magnify=heavy)
            where = f"{fixture.name} ({'heavy' if heavy else 'light'})"
            assert ours.face_count == theirs.face_count, where
            assert ours.camera_blocked == theirs.camera_blocked, where
            assert ours.looking_away == theirs.looking_away, where
            assert (ours.head_pose is None) == (theirs.head_pose is None), where
            if heavy:
                # Heavy frames run what MediaPipe's path runs on every frame: the same faces, and
                # on webcam-sized frames (the same pixels to both) the same boxes. On larger ones
                # the two models' scores move a little and the other model's box of the face
                # may win: it is the same face (faces.SAME_FACE_OVERLAP), not the same box.
                for a, b in zip(_by_place(ours.faces), _by_place(theirs.faces), strict=True):
                    if fixture.rgb.shape[:2] == (240, 320):
                        assert [a.x, a.y, a.width, a.height] == pytest.approx(
                            [b.x, b.y, b.width, b.height], abs=BOX_TOLERANCE
                        ), where
                    assert mediapipe_path._overlap(a, b) > mediapipe_path.SAME_FACE_OVERLAP, where
            if ours.head_pose:
                errors += [
                    abs(getattr(ours.head_pose, a) - getattr(theirs.head_pose, a))
                    for a in ("yaw", "pitch", "roll")
                ]
    assert len(errors) > 150
    assert statistics.median(errors) <= POSE_MEDIAN_ERROR
    assert max(errors) <= POSE_MAX_ERROR


def _by_place(boxes: tuple[mediapipe_path.FaceBox, ...]) -> list[mediapipe_path.FaceBox]:
    return sorted(boxes, key=lambda b: (round(b.x, 1), b.y))


def test_light_frames_skip_the_full_range_model_beside_a_face_and_use_it_without_one() -> None:
    people = faces.people()
    student = eval_faces.sent(faces.in_view(*people["astronaut"], 0.3))
    full = models.load(models.FULL_RANGE)
    before = full.calls
    assert frames.analyse_frame(student, magnify=False).face_count == 1
    assert full.calls == before
    assert frames.analyse_frame(student, magnify=True).face_count == 1
    assert full.calls == before + 1
    # Far from the camera (a face 8% of the frame wide; at 10% the short-range model still finds
    # hers, score 0.81): only the full-range model sees it.
    far = eval_faces.sent(faces.in_view(*people["grace hopper"], 0.08))
    assert frames.analyse_frame(far, magnify=False).face_count == 1
    assert full.calls == before + 2


def test_a_face_only_heavy_frames_find_is_reported_as_theirs() -> None:
    # Letterboxed into 640x480 the astronaut's face is 10% of the width: beside Grace Hopper's,
    # which the short-range model finds, a light frame does not look for it.
    frame = eval_faces.sent(faces.webcam_frame(faces.two_people(), 640, 480))
    light = frames.analyse_frame(frame, magnify=False)
    heavy = frames.analyse_frame(frame, magnify=True)
    assert (light.face_count, light.small_faces) == (1, 0)
    assert (heavy.face_count, heavy.small_faces) == (2, 1)
    # Two faces a light frame sees too: nothing for the pipeline to hold over.
    pair = eval_faces.sent(
        faces.side_by_side(faces.people()["astronaut"], faces.people()["grace hopper"], 0.3, 320, 240)
    )
    assert frames.analyse_frame(pair, magnify=True).small_faces == 0
    assert frames.analyse_frame(pair, magnify=False).face_count == 2


@pytest.mark.parametrize(
    ("width", "height", "decoded"), [(320, 240, (240, 320)), (640, 480, (240, 320)), (1920, 1080, (180, 320))]
)
def test_frames_are_decoded_at_webcam_size(width: int, height: int, decoded: tuple[int, int]) -> None:
    people = faces.people()
    jpeg = faces.jpeg_bytes(faces.in_view(*people["astronaut"], 0.3, width, height), 70)
    rgb = frames.decode_jpeg(jpeg)
    assert rgb.shape == (*decoded, 3)
    assert frames.analyse_frame(rgb).face_count == 1


def _encodings(rgb: np.ndarray) -> dict[str, bytes]:
    """The picture as JPEGs of every kind a client could send: qualities, chroma subsamplings,
    progressive, restart markers, grey."""
    import cv2
    import simplejpeg
    from PIL import Image

    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    found = {f"quality {q}": faces.jpeg_bytes(rgb, q) for q in (50, 70, 95)}
    for sub in ("444", "422", "420", "440", "411", "Gray"):
        found[f"subsampling {sub}"] = simplejpeg.encode_jpeg(
            np.ascontiguousarray(rgb), quality=80, colorspace="RGB", colorsubsampling=sub
        )
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=70, progressive=True)
    found["progressive"] = buffer.getvalue()
    found["restart markers"] = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_RST_INTERVAL, 3])[1].tobytes()
    found["grey"] = cv2.imencode(".jpg", cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))[1].tobytes()
    return found


@pytest.mark.parametrize(("width", "height"), [(320, 240), (180, 240), (160, 120), (17, 9), (1, 1)])
def test_the_exam_page_s_frames_decode_to_opencv_s_pixels(width: int, height: int) -> None:
    import cv2

    people = faces.people()
    rgb = faces.in_view(*people["astronaut"], 0.3, width, height)
    for kind, jpeg in _encodings(rgb).items():
        assert frames._decoded_as_sent(jpeg) is not None, kind  # by simplejpeg, not OpenCV
        opencv = cv2.cvtColor(
            cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB
        )
        assert np.array_equal(frames.decode_jpeg(jpeg), opencv), kind


def _with_app1(jpeg: bytes, payload: bytes, comment: int = 0) -> bytes:
    """`jpeg` with an APP1 segment holding `payload` after its SOI, behind a comment of
    `comment` bytes."""
    segments = b""
    if comment:
        segments += b"\xff\xfe" + (comment + 2).to_bytes(2, "big") + b"c" * comment
    segments += b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    return jpeg[:2] + segments + jpeg[2:]


def test_frames_the_fast_decoder_does_not_take_are_decoded_as_before() -> None:
    import cv2
    from PIL import Image

    people = faces.people()
    rgb = faces.in_view(*people["astronaut"], 0.3)
    # EXIF orientation 6 (turned a quarter): OpenCV turns the picture upright, as it always did,
    # whatever the APP1 segment's header says and however far into the file it comes.
    exif = Image.Exif()
    exif[0x0112] = 6
    tiff = exif.tobytes()[6:]  # Pillow's bytes start with the b"Exif\0\0" header
    plain = faces.jpeg_bytes(rgb, 70)
    for header, comment in (
        (b"Exif\x00\x00", 0),
        (b"Exif\x00\xff", 0),
        (b"\x00" * 6, 0),
        (b"Exif\x00\x00", 65_000),
    ):
        turned = _with_app1(plain, header + tiff, comment)
        assert frames._decoded_as_sent(turned) is None, (header, comment)
        assert frames.decode_jpeg(turned).shape == (240, 180, 3), (header, comment)
    # A PNG (not what the page sends) is decoded by OpenCV as before; a cut JPEG is refused by
    # both decoders; a buffer that is not bytes goes the way it always went.
    png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()
    assert frames._decoded_as_sent(png) is None
    assert np.array_equal(frames.decode_jpeg(png), rgb)
    cut = plain[: int(len(plain) * 0.8)]
    assert frames._decoded_as_sent(cut) is None
    with pytest.raises(frames.FrameError):
        frames.decode_jpeg(cut)
    assert frames._decoded_as_sent(memoryview(plain)) is None
    assert np.array_equal(frames.decode_jpeg(memoryview(plain)), frames.decode_jpeg(plain))


_SEGMENT = b"\xff\xdb\x00\x04ab"  # any segment with a length (a quantisation table's marker)


@pytest.mark.parametrize(
    ("what", "head", "has"),
    [
        ("segments, then the picture", b"\xff\xd8" + _SEGMENT + b"\xff\xda\x00\x02", False),
        ("fill bytes before a marker", b"\xff\xd8\xff\xff\xff" + _SEGMENT + b"\xff\xda\x00\x02", False),
        ("markers without a length", b"\xff\xd8\xff\xd0\xff\x01" + _SEGMENT + b"\xff\xda\x00\x02", False),
        ("an APP1", b"\xff\xd8" + _SEGMENT + b"\xff\xe1\x00\x04ab\xff\xda\x00\x02", True),
        (
            "an APP1 only after the picture's data starts",
            b"\xff\xd8\xff\xda\x00\x02\xff\xe1\x00\x04ab",
            False,
        ),
        ("a second SOI", b"\xff\xd8\xff\xd8\xff\xe1\x00\x04ab\xff\xda\x00\x02", True),
        ("a length of 0", b"\xff\xd8\xff\xdb\x00\x00\xff\xda\x00\x02", True),
        ("a length of 1", b"\xff\xd8\xff\xdb\x00\x01\xff\xda\x00\x02", True),
        ("a stuffed zero where a marker should be", b"\xff\xd8\xff\x00\x00\x04\xff\xda\x00\x02", True),
        ("a byte that starts no marker", b"\xff\xd8\x00\xdb\x00\x04ab\xff\xda\x00\x02", True),
        ("cut before the picture", b"\xff\xd8" + _SEGMENT + b"\xff\xdb\x00\x40", True),
        ("no SOI", b"\x89PNG\r\n\x1a\n\xff\xda\x00\x02", True),
    ],
)
def test_the_segments_before_the_picture_are_walked_for_exif(what: str, head: bytes, has: bool) -> None:
    # True sends the frame the old way (OpenCV, which applies EXIF orientation): anything the
    # walk cannot read safely goes there too.
    assert frames._has_app1(head + b"\x00" * 8) is has, what


def test_a_crop_the_size_of_the_model_s_square_is_fed_as_it_is(monkeypatch) -> None:
    # The mesh finds the face again on a crop already warped to the model's size: warping it
    # into the square again would copy it pixel for pixel, so it is fed as it is.
    detector = frames._detectors().short_range
    people = faces.people()
    rgb = faces.in_view(*people["astronaut"], 0.3)
    face = detector(rgb)[0]
    crop = mesh._window(rgb, face, detector.size)[0]
    assert crop.shape == (detector.size, detector.size, 3)
    assert np.array_equal(detector._letterbox(crop, 1.0, 0.0, 0.0), crop)

    def no_warp(*args):
        raise AssertionError("a model-size square was warped again")

    monkeypatch.setattr(detector, "_letterbox", no_warp)
    again = detector(crop)
    assert len(again) == 1 and again[0].score > 0.9


def test_the_exposure_check_turns_at_one_percent_of_the_pixels() -> None:
    # Underexposed: the brightest 1% under mid-grey, i.e. at most 1% of the pixels reach it.
    grey = np.full((240, 320), 100, dtype=np.uint8)
    grey.ravel()[:768] = mediapipe_path.UNDEREXPOSED_BRIGHTEST  # 768 = 1% of 76,800
    assert mediapipe_path.brightest_percent(grey) < mediapipe_path.UNDEREXPOSED_BRIGHTEST
    assert mediapipe_path.needs_normalising(grey)
    grey.ravel()[768] = mediapipe_path.UNDEREXPOSED_BRIGHTEST
    assert mediapipe_path.brightest_percent(grey) >= mediapipe_path.UNDEREXPOSED_BRIGHTEST
    assert not mediapipe_path.needs_normalising(grey)


def test_what_is_not_a_jpeg_is_a_frame_error() -> None:
    with pytest.raises(frames.FrameError):
        frames.decode_jpeg(b"not a picture")
    header = faces.jpeg_bytes(np.zeros((8, 8, 3), dtype=np.uint8))
    with pytest.raises(frames.FrameError):
        frames.decode_jpeg(header[: len(header) // 2])


@pytest.mark.parametrize(
    ("width", "height"), [(320, 240), (240, 320), (150, 100), (20, 30), (3, 50), (128, 1), (1, 1), (700, 90)]
)
def test_the_letterbox_is_the_graph_s_whole_warp_whatever_the_image_s_size(width: int, height: int) -> None:
    # Only the part of the model's square an image reaches is warped now: the square must be
    # what warping the whole of it gives, bars and the blended band at the image's edge included
    # (an image enlarged into the square blends over several of the square's pixels).
    import cv2

    detector = frames._detectors().short_range
    rgb = np.random.default_rng(width * height).integers(0, 256, (height, width, 3), dtype=np.uint8)
    detector(rgb)
    side = max(width, height)
    scale = detector.size / side
    left, top = (side - width) / 2, (side - height) / 2
    whole = cv2.warpAffine(
        rgb,
        np.array([[scale, 0, left * scale], [0, scale, top * scale]]),
        (detector.size, detector.size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
    )
    assert np.array_equal(detector._square, whole)
