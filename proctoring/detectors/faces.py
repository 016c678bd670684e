"""Who is in front of the camera, and where are they looking? MediaPipe on one webcam frame.

One RGB frame in, a `FrameAnalysis` out: how many faces (MediaPipe face detection, both its
short-range and full-range models), the head pose of the largest face (MediaPipe face mesh
landmarks fitted to a 3D face with `cv2.solvePnP`), and whether the camera is covered or too
dark to show anything. Pure functions: whether a condition lasts long enough to become an
event is decided elsewhere (`proctoring.hysteresis`). The thresholds below come from
`bench/eval_faces.py`; docs/BENCHMARKS.md has the figures.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import cv2
import numpy as np
from PIL import Image

# MediaPipe loads with the models (`_models`), not on import: code that only needs this module's
# types and thresholds, in the web process too, does not pay for it.
if TYPE_CHECKING:
    import mediapipe as mp

MESSAGE = "The frame could not be read as a JPEG picture."
# Webcams send at most 1920x1080; anything much larger is not a webcam frame.
MAX_FRAME_SIDE = 4096

# Browsers send 320x240; a 1920x1080 upload is shrunk to this first. Both detectors look at a
# 128 or 192 px square anyway, so more pixels only cost time (the face mesh gets its own crop).
MAX_SIDE = 640

# The short-range model (faces within ~2 m) misses faces under ~13% of the frame's width,
# e.g. two people side by side letterboxed into 640x480; the full-range model (~5 m) finds
# those but misses faces over ~50% of the width (a student leaning in). Both run on every
# frame and their boxes are merged.
MODEL_SHORT_RANGE, MODEL_FULL_RANGE = 0, 1
# The graphs report everything from MediaPipe's default upwards; the cuts below are ours.
GRAPH_MIN_SCORE = 0.5
# Non-faces scored up to 0.55 with the short-range model on the fixtures (a colour wheel,
# the cat, a blurred garage; the full-range model's 0.61 was a galaxy under MIN_FACE_WIDTH),
# real faces behind a hand, badly blurred or nearly black down to 0.64-0.66.
FACE_MIN_SCORE = 0.6
# A second face raises "multiple-faces", a high-severity alarm, where a wrong first face
# only hides a medium one: every face after the best must score this. Real second faces
# scored 0.78 or more; of 288 frames of clutter, 8 passed for a face, none at 0.7.
OTHER_FACE_MIN_SCORE = 0.7
# Narrower faces (26 px of a 320 px frame, someone 4-5 m away) are below what the models
# resolve: every full-range detection that narrow was a galaxy, a letter or a shelf.
MIN_FACE_WIDTH = 0.08
# Two boxes overlapping this much (intersection over the smaller box) are one face.
SAME_FACE_OVERLAP = 0.5

# A second face the whole frame hides: a person standing behind the student (small, turned), a
# neighbour cut by the frame's edge, a printed photo on the wall, a face whose lower half a mask
# or a hand covers. Each model sees the whole frame shrunk to 128 or 192 px and scores such
# faces low or not at all. The magnified search runs the short-range model on three overlapping
# tiles across the frame's upper part (each half the frame's width and 70% of its height, so 2x
# larger to the model; the left and right tiles reach the edges, where a neighbour is cut): a
# webcam frame's faces are in its upper part, the lower part is shoulders and desk. It runs only
# when the whole frame showed exactly one face, and the workers run it every few seconds.
MAGNIFIED_TILE_WIDTH = 0.5
MAGNIFIED_TILE_HEIGHT = 0.7
# A candidate (from a tile, or one the whole frame scored under OTHER_FACE_MIN_SCORE) needs
# MAGNIFIED_MIN_SCORE, and a second opinion: the short-range model again, on a crop three
# times the candidate's size centred on it, must find a face at its centre scoring
# CONFIRM_MIN_SCORE. A face holds up when it is seen again from another framing; the clutter,
# shelves and shadows that pass once mostly do not. On the dev scenes of
# proctoring/tests/webcam_scenes.py (one-off study, 330 two-face frames): unchecked tile faces
# found 95.5% of the second faces and added 3 false ones, checked by the face mesh as before
# (which needs a whole, unmasked face) 88.8% and none, checked this way 94.2% and none.
MAGNIFIED_MIN_SCORE = 0.6
# The same second look confirms a frame's only face when it scores under OTHER_FACE_MIN_SCORE:
# in empty rooms a poster of fruit and the lattice of a toy shelf scored 0.66 and 0.62 and were
# not found again; the real faces that weak on the scenes (a mask, a hand, a dark room) were.
CONFIRM_CROP = 3.0
CONFIRM_SIZE = 128
CONFIRM_MIN_SCORE = 0.5
# "At its centre": the re-detected box's centre within this share of the crop from its middle.
CONFIRM_CENTRE = 0.2
# In a dim or backlit frame the second faces the search still missed were masked or printed faces
# that the tiles scored 0.5-0.6 or not at all. When the search finds nothing in such a frame, the
# tiles look again at a brightened copy (luminance gamma, then CLAHE), where a candidate and its
# second look need DIM_MIN_SCORE. Dim: mean luminance under DIM_MEAN or a twentieth of the frame
# blown out by a window. Chosen on the dev scenes of proctoring/tests/webcam_scenes.py: recall in
# dark 0.955 -> 0.968 and backlit 0.942 -> 0.955, no false second face (the false candidates there
# were not found again, or scored 0.51); CLAHE alone (clip 2-4) or the same pass at 0.6/0.5 found
# fewer, third-width tiles found more but added false faces in dark rooms (docs/BENCHMARKS.md).
DIM_MEAN = 100
DIM_BLOWN_SHARE = 0.05
BRIGHTEN_GAMMA = 0.6
DIM_MIN_SCORE = 0.55
# On the brightened copy the tiles also find pieces of the student's own face (the turned
# cameraman of bench/eval_faces.py at a laptop, dim, tilted: candidates overlapping his face by
# 0.19-0.44 that held up at 0.54-0.69), where every second face they found overlapped it by 0. So
# a candidate there must not touch a face already found.
DIM_MAX_OVERLAP = 0.0

# Lighting normalisation (CLAHE on L) before detection, for frames whose brightest 1% stays
# under mid-grey (underexposed: at 3% exposure the astronaut is found only once normalised) and
# for backlit ones, where more than a tenth of the frame is blown out by a window (normal
# frames had at most 3%). Well-lit frames keep their pixels: normalising them lowered
# scores (a hand over the mouth from 0.65 to 0.57).
UNDEREXPOSED_BRIGHTEST = 128
BLOWN_OUT = 240
BACKLIT_SHARE = 0.10

# A frame without a face is "blocked" when nothing can be seen in it: its brightest 1% is
# under this (a lens cap, lights off) ...
TOO_DARK_BRIGHTEST = 10
# ... or it has no detail: the 99th percentile of the luminance gradient (levels per pixel,
# on a 160 px wide copy that averages sensor noise away) is under this. Covered lenses
# measured up to 4.5 with heavy sensor noise, real scenes from 7.4 (a colour wheel) and 13 (a
# clock), dim rooms 17; an evenly lit bare wall is what this cannot tell from a covered lens.
FEATURELESS_DETAIL = 5.5

# The face mesh gets a square crop of the largest face, this many times the box's side:
# its own short-range detector then sees a large face even when the frame holds a small one.
MESH_CROP = 2.0
MESH_SIZE = 256

# Landmarks of MediaPipe's 468-point mesh and the same points on its canonical face model
# (mediapipe/modules/face_geometry/data/canonical_face_model.obj, in cm), turned into camera
# axes: x to the image's right, y down, z away from the camera, so a face looking straight
# into the camera has no rotation.
POSE_LANDMARKS = (1, 152, 33, 133, 362, 263, 61, 291)
FACE_MODEL_CM = np.array(
    [
        (0.0, 1.126865, -7.475604),  # 1 nose tip
        (0.0, 9.403378, -4.264492),  # 152 chin
        (-4.445859, -2.663991, -3.173422),  # 33 outer corner of the eye on the image's left
        (-1.856432, -2.585245, -3.757904),  # 133 its inner corner
        (1.856432, -2.585245, -3.757904),  # 362 inner corner of the other eye
        (4.445859, -2.663991, -3.173422),  # 263 its outer corner
        (-2.456206, 4.342621, -4.283884),  # 61 mouth corner on the image's left
        (2.456206, 4.342621, -4.283884),  # 291 the other mouth corner
    ],
    dtype=np.float64,
)


class FrameError(ValueError):
    """A frame that cannot be analysed; `code` is "unreadable"."""

    def __init__(self, code: str = "unreadable", message: str = MESSAGE) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class FaceBox:
    """A face, in fractions (0..1) of the frame's width and height; `score` is the model's."""

    x: float
    y: float
    width: float
    height: float
    score: float


@dataclass(frozen=True)
class HeadPose:
    """Degrees, as seen by the (unmirrored) camera.

    yaw: positive when the student turns to their own left (their nose moves to the image's
    right). pitch: positive when they look up. roll: positive when the head tilts
    counter-clockwise in the image, towards the student's right shoulder.
    """

    yaw: float
    pitch: float
    roll: float


@dataclass(frozen=True)
class FrameAnalysis:
    face_count: int
    faces: tuple[FaceBox, ...]  # best score first
    head_pose: HeadPose | None  # of the largest face; None when it has no face mesh
    brightness: float  # mean luminance of the frame before normalisation, 0..255
    contrast: float  # standard deviation of that luminance (frames past 640 px: once shrunk)
    camera_blocked: bool  # covered or too dark to see anything; never with a face found
    looking_away: bool  # this frame's pose is beyond the limits
    normalised: bool  # detection ran on the CLAHE-normalised frame
    magnified: bool = False  # the magnified search for small faces ran
    small_faces: int = 0  # faces only the magnified search found (counted in face_count)


# A short-range face detector on one RGB image (a frame, a tile of it, a crop): the magnified
# search is shared by both frame paths, each passing its own runtime's model.
Detect = Callable[[np.ndarray], list[FaceBox]]


class _Models(NamedTuple):
    short_range: mp.solutions.face_detection.FaceDetection
    full_range: mp.solutions.face_detection.FaceDetection
    mesh: mp.solutions.face_mesh.FaceMesh


# MediaPipe graphs keep state between calls and are not safe to share between threads; a
# Celery worker process runs one task at a time, web threads must take turns.
_MODEL_LOCK = threading.Lock()


@functools.cache
def _models() -> _Models:
    import mediapipe as mp

    # The models ship inside the mediapipe wheel: nothing is downloaded.
    detection = mp.solutions.face_detection.FaceDetection
    return _Models(
        short_range=detection(model_selection=MODEL_SHORT_RANGE, min_detection_confidence=GRAPH_MIN_SCORE),
        full_range=detection(model_selection=MODEL_FULL_RANGE, min_detection_confidence=GRAPH_MIN_SCORE),
        mesh=mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1),
    )


def warm_up() -> None:
    """Load the models now (a Celery worker's `worker_process_init`), not on the first frame."""
    with _MODEL_LOCK:
        models = _models()
        # The graphs finish initialising on their first frame.
        blank = np.zeros((240, 320, 3), dtype=np.uint8)
        models.short_range.process(blank)
        models.full_range.process(blank)
        models.mesh.process(blank)


def decode_jpeg(data: bytes) -> np.ndarray:
    """The JPEG (or other image OpenCV reads) in `data` as RGB uint8; FrameError if it is not one."""
    # The header first: a few bytes can claim 30000x30000 pixels, which OpenCV would allocate.
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        # Pillow reports data it cannot identify through any of these.
        raise FrameError() from exc
    if max(width, height) > MAX_FRAME_SIDE:
        raise FrameError(message=f"The frame is larger than {MAX_FRAME_SIDE} pixels on a side.")
    try:
        bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise FrameError() from exc
    if bgr is None:
        raise FrameError()
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def analyse_frame(
    rgb: np.ndarray, *, yaw_limit: float = 30.0, pitch_limit: float = 25.0, magnify: bool = True
) -> FrameAnalysis:
    """Faces, head pose and blocked camera in one RGB uint8 frame; FrameError if OpenCV cannot
    work on it.

    `magnify=False` skips the magnified search for the faces the whole frame misses (small,
    cut by the edge, printed, half covered): the workers run it every few seconds per student,
    not on every frame (proctoring.pipeline).
    """
    with unanalysable_as_frame_error():
        return _analyse(rgb, yaw_limit=yaw_limit, pitch_limit=pitch_limit, magnify=magnify)


@contextlib.contextmanager
def unanalysable_as_frame_error() -> Iterator[None]:
    """OpenCV refusing a frame (a geometry no step expected) makes it a FrameError: a frame the
    worker counts as unreadable and goes on, not a task that dies on every such frame."""
    try:
        yield
    except cv2.error as exc:
        raise FrameError(message=f"The frame could not be analysed ({exc.err or 'OpenCV error'}).") from exc


def _analyse(rgb: np.ndarray, *, yaw_limit: float, pitch_limit: float, magnify: bool) -> FrameAnalysis:
    frame = original = _working_copy(rgb)
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    normalised = needs_normalising(grey)
    if normalised:
        frame = normalise_lighting(frame)
    with _MODEL_LOCK:
        candidates = _candidates(frame)
        faces = count_faces(candidates)
        weak = len(faces) == 1 and faces[0].score < OTHER_FACE_MIN_SCORE
        if weak and not confirmed(frame, faces[0], _short_range):
            # A lone weak face that a second look does not find again: a poster of fruit,
            # a toy shelf in an empty room. See MAGNIFIED_MIN_SCORE.
            faces = ()
        # Only beside a student's face: with none, the student is not in view, and a small face
        # in the background must not stand in for them (face-not-visible stays true).
        magnified = magnify and len(faces) == 1
        dim = original if magnified and is_dim(grey) else None
        small = magnified_faces(frame, faces, candidates, _short_range, dim) if magnified else []
        faces = (*faces, *small)
        pose = _head_pose(frame, max(faces, key=lambda f: f.width * f.height)) if faces else None
    blocked = not faces and is_blocked(grey)
    mean, deviation = cv2.meanStdDev(grey)
    away = pose is not None and (abs(pose.yaw) > yaw_limit or abs(pose.pitch) > pitch_limit)
    return FrameAnalysis(
        face_count=len(faces),
        faces=tuple(_inside_frame(face) for face in faces),
        head_pose=pose,
        brightness=round(float(mean[0][0]), 2),
        contrast=round(float(deviation[0][0]), 2),
        camera_blocked=blocked,
        looking_away=away,
        normalised=normalised,
        magnified=magnified,
        small_faces=len(small),
    )


def brightest_percent(grey: np.ndarray) -> int:
    """The level the brightest 1% of the pixels reach (the 99th percentile, from a histogram:
    a tenth of the time np.percentile takes to sort a frame)."""
    share = np.cumsum(cv2.calcHist([grey], [0], None, [256], [0, 256]).ravel()) / grey.size
    return int(np.searchsorted(share, 0.99))


def needs_normalising(grey: np.ndarray) -> bool:
    """Underexposed (brightest 1% under mid-grey) or backlit (a tenth of the frame blown out)."""
    # brightest_percent(grey) < UNDEREXPOSED_BRIGHTEST, said as a count: at most 1% of the
    # pixels reach the level (in integers: exact at any size). It runs on every frame; the
    # histogram costs ten times more.
    if 100 * np.count_nonzero(grey >= UNDEREXPOSED_BRIGHTEST) <= grey.size:
        return True
    return float(np.count_nonzero(grey >= BLOWN_OUT)) / grey.size > BACKLIT_SHARE


def is_dim(grey: np.ndarray) -> bool:
    """A dark room (mean luminance under DIM_MEAN) or a window behind (DIM_BLOWN_SHARE blown out)."""
    if float(grey.mean()) < DIM_MEAN:
        return True
    return float(np.count_nonzero(grey >= BLOWN_OUT)) / grey.size > DIM_BLOWN_SHARE


def brighten(rgb: np.ndarray) -> np.ndarray:
    """Shadows lifted (gamma BRIGHTEN_GAMMA on L), then contrast equalised tile by tile."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    levels = np.round(255 * (np.arange(256) / 255) ** BRIGHTEN_GAMMA).astype(np.uint8)
    lab[..., 0] = cv2.LUT(lab[..., 0], levels)
    return normalise_lighting(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB))


def normalise_lighting(rgb: np.ndarray) -> np.ndarray:
    # CLAHE equalises contrast tile by tile: a dim face is stretched to full contrast even
    # when a window elsewhere in the frame holds the highlights. Colour is kept.
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(lab[..., 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def detail(grey: np.ndarray) -> float:
    """How much the frame shows: the 99th percentile of its luminance gradient, levels/px."""
    small = cv2.resize(
        grey, (160, max(1, round(160 * grey.shape[0] / grey.shape[1]))), interpolation=cv2.INTER_AREA
    )
    small = small.astype(np.float32)
    # Sobel's 3x3 kernel weighs differences across two pixels by 4: /8 gives levels per pixel.
    gx = cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3) / 8
    return float(np.percentile(np.hypot(gx, gy), 99))


def is_blocked(grey: np.ndarray) -> bool:
    """Covered or too dark to show anything (only asked of frames where no face was found)."""
    return bool(brightest_percent(grey) < TOO_DARK_BRIGHTEST or detail(grey) < FEATURELESS_DETAIL)


def count_faces(candidates: list[FaceBox]) -> tuple[FaceBox, ...]:
    """The faces among both models' detections: duplicates merged, weak or tiny ones dropped."""
    faces: list[FaceBox] = []
    for box in sorted(candidates, key=lambda b: -b.score):
        if box.width < MIN_FACE_WIDTH or any(_overlap(box, face) > SAME_FACE_OVERLAP for face in faces):
            continue
        if box.score >= (OTHER_FACE_MIN_SCORE if faces else FACE_MIN_SCORE):
            faces.append(box)
    return tuple(faces)


def head_pose_from_landmarks(points: np.ndarray, width: int, height: int) -> HeadPose | None:
    """The pose of a face whose POSE_LANDMARKS are at `points` (pixels, in that order).

    The camera is taken as an ideal pinhole with a focal length of the frame's width (a field
    of view of 53 degrees, a typical webcam's) centred on the frame.
    """
    camera = np.array([[width, 0, width / 2], [0, width, height / 2], [0, 0, 1]], dtype=np.float64)
    image_points = np.ascontiguousarray(points, dtype=np.float64).reshape(-1, 1, 2)
    # Started from a face looking into the camera at the distance its eye span implies: from
    # no guess the solver can land on the mirror solution, a face seen from behind.
    eye_span = float(np.linalg.norm(image_points[5, 0] - image_points[2, 0]))
    distance = width * (FACE_MODEL_CM[5, 0] - FACE_MODEL_CM[2, 0]) / max(eye_span, 1.0)
    nose = image_points[0, 0]
    translation = np.array(
        [[(nose[0] - width / 2) * distance / width], [(nose[1] - height / 2) * distance / width], [distance]]
    )
    ok, rotation_vector, position = cv2.solvePnP(
        FACE_MODEL_CM, image_points, camera, None, np.zeros((3, 1)), translation, True, cv2.SOLVEPNP_ITERATIVE
    )
    if not ok:
        return None
    # Angles are taken against the line from the face to the camera, not the camera's axis: a
    # student sitting off-centre who looks at the camera is looking at it, not away.
    to_camera = -position.ravel() / np.linalg.norm(position)
    # to_camera x (0, 0, -1), written out: np.cross costs ~7% of the whole pose.
    turn = np.array([-to_camera[1], to_camera[0], 0.0])
    angle = math.asin(min(1.0, float(np.linalg.norm(turn))))
    onto_axis, _ = cv2.Rodrigues(turn / max(float(np.linalg.norm(turn)), 1e-12) * angle)
    rotation = onto_axis @ cv2.Rodrigues(rotation_vector)[0]
    # Yaw and pitch say where the face points (towards the camera, -z, when frontal); roll is
    # what turns it about that direction once they are undone: R = R_y(-yaw) R_x(-pitch) R_z(-roll).
    facing = rotation @ np.array([0.0, 0.0, -1.0])
    yaw = math.atan2(facing[0], -facing[2])
    pitch = math.atan2(-facing[1], math.hypot(facing[0], facing[2]))
    pointing = cv2.Rodrigues(np.array([0.0, -yaw, 0.0]))[0] @ cv2.Rodrigues(np.array([-pitch, 0.0, 0.0]))[0]
    across = (pointing.T @ rotation)[:, 0]
    yaw, pitch, roll = math.degrees(yaw), math.degrees(pitch), math.degrees(math.atan2(-across[1], across[0]))
    # + 0.0 turns -0.0 into 0.0.
    return HeadPose(yaw=round(yaw, 1) + 0.0, pitch=round(pitch, 1) + 0.0, roll=round(roll, 1) + 0.0)


def _working_copy(rgb: np.ndarray) -> np.ndarray:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 HxWx3 frame, got {rgb.dtype} {rgb.shape}")
    scale = MAX_SIDE / max(rgb.shape[:2])
    if scale < 1:
        rgb = shrunk(rgb, scale)
    # MediaPipe refuses views with strides (crops, flips).
    return np.ascontiguousarray(rgb)


def shrunk(rgb: np.ndarray, scale: float) -> np.ndarray:
    """`rgb` resized by `scale` (< 1), keeping at least a pixel a side.

    A frame like 4096x1 or 2000x2 (no webcam sends one; a modified page can) would round to no
    pixels, which cv2.resize refuses: kept at one, it is analysed like any faceless frame.
    """
    height, width = rgb.shape[:2]
    if round(width * scale) >= 1 and round(height * scale) >= 1:
        # fx/fy as before, not a size: INTER_AREA's weights follow the factor it is given.
        return cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def _candidates(rgb: np.ndarray) -> list[FaceBox]:
    models = _models()
    return _detect(models.short_range, rgb) + _detect(models.full_range, rgb)


def magnified_faces(
    frame: np.ndarray,
    found: tuple[FaceBox, ...],
    whole: list[FaceBox],
    detect: Detect,
    dim: np.ndarray | None = None,
) -> list[FaceBox]:
    """Faces the whole-frame search missed or scored too low, each confirmed by a second look.

    `detect` is the caller's short-range model (both frame paths run this search, each on its
    own runtime, so they cannot decide differently). `dim`: the unnormalised frame when it is dim
    or backlit; if the search finds nothing, the tiles look again at a brightened copy of it (see
    DIM_MIN_SCORE).
    """
    candidates = whole + _tile_faces(frame, detect)
    extra = _confirmed_faces(
        frame, found, candidates, detect, MAGNIFIED_MIN_SCORE, CONFIRM_MIN_SCORE, SAME_FACE_OVERLAP
    )
    if not extra and dim is not None:
        brightened = brighten(dim)
        candidates = _tile_faces(brightened, detect)
        extra = _confirmed_faces(
            brightened, found, candidates, detect, DIM_MIN_SCORE, DIM_MIN_SCORE, DIM_MAX_OVERLAP
        )
    return extra


def _tile_faces(frame: np.ndarray, detect: Detect) -> list[FaceBox]:
    """The short-range model's faces on three tiles across the frame's upper part, in frame units."""
    height, width = frame.shape[:2]
    tile_w, tile_h = round(width * MAGNIFIED_TILE_WIDTH), round(height * MAGNIFIED_TILE_HEIGHT)
    faces = []
    for left in (0, (width - tile_w) // 2, width - tile_w):
        # A view: `detect` copies it if its runtime needs contiguous pixels.
        for box in detect(frame[:tile_h, left : left + tile_w]):
            faces.append(
                FaceBox(
                    (left + box.x * tile_w) / width,
                    box.y * tile_h / height,
                    box.width * tile_w / width,
                    box.height * tile_h / height,
                    box.score,
                )
            )
    return faces


def _confirmed_faces(
    frame: np.ndarray,
    found: tuple[FaceBox, ...],
    candidates: list[FaceBox],
    detect: Detect,
    min_score: float,
    confirm: float,
    max_overlap: float,
) -> list[FaceBox]:
    """Candidates scoring `min_score`, overlapping no face so far by more than `max_overlap`,
    that the second look finds again at `confirm`."""
    extra: list[FaceBox] = []
    for box in sorted(candidates, key=lambda b: -b.score):
        if box.score < min_score or box.width < MIN_FACE_WIDTH:
            continue
        if any(_overlap(box, face) > max_overlap for face in (*found, *extra)):
            continue
        if confirmed(frame, box, detect, confirm):
            extra.append(box)
    return extra


def confirmed(rgb: np.ndarray, face: FaceBox, detect: Detect, min_score: float = CONFIRM_MIN_SCORE) -> bool:
    """Whether the short-range model (`detect`) finds the face again on a crop centred on it."""
    height, width = rgb.shape[:2]
    side = CONFIRM_CROP * max(face.width * width, face.height * height)
    centre_x, centre_y = (face.x + face.width / 2) * width, (face.y + face.height / 2) * height
    scale = CONFIRM_SIZE / side
    to_crop = np.array(
        [[scale, 0, CONFIRM_SIZE / 2 - centre_x * scale], [0, scale, CONFIRM_SIZE / 2 - centre_y * scale]]
    )
    crop = cv2.warpAffine(
        rgb, to_crop, (CONFIRM_SIZE, CONFIRM_SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    for box in detect(crop):
        centred = (
            abs(box.x + box.width / 2 - 0.5) < CONFIRM_CENTRE
            and abs(box.y + box.height / 2 - 0.5) < CONFIRM_CENTRE
        )
        if centred and box.score >= min_score:
            return True
    return False


def _short_range(rgb: np.ndarray) -> list[FaceBox]:
    # MediaPipe refuses views with strides (the tiles).
    return _detect(_models().short_range, np.ascontiguousarray(rgb))


def _detect(model: mp.solutions.face_detection.FaceDetection, rgb: np.ndarray) -> list[FaceBox]:
    boxes = []
    for detection in model.process(rgb).detections or []:
        box = detection.location_data.relative_bounding_box
        boxes.append(FaceBox(box.xmin, box.ymin, box.width, box.height, float(detection.score[0])))
    return boxes


def _inside_frame(face: FaceBox) -> FaceBox:
    # MediaPipe draws a face cut by the frame's edge past the edge; callers get 0..1.
    x, y = max(face.x, 0.0), max(face.y, 0.0)
    right, bottom = min(face.x + face.width, 1.0), min(face.y + face.height, 1.0)
    return FaceBox(x, y, right - x, bottom - y, face.score)


def _overlap(a: FaceBox, b: FaceBox) -> float:
    """Intersection over the smaller box: the two models draw the same face at different sizes."""
    across = min(a.x + a.width, b.x + b.width) - max(a.x, b.x)
    down = min(a.y + a.height, b.y + b.height) - max(a.y, b.y)
    if across <= 0 or down <= 0:
        return 0.0
    return across * down / min(a.width * a.height, b.width * b.height)


def _head_pose(rgb: np.ndarray, face: FaceBox) -> HeadPose | None:
    points = _pose_landmarks(rgb, face)
    return None if points is None else head_pose_from_landmarks(points, rgb.shape[1], rgb.shape[0])


def _pose_landmarks(rgb: np.ndarray, face: FaceBox) -> np.ndarray | None:
    """POSE_LANDMARKS of `face`, in the frame's pixels, from the face mesh on a crop of it."""
    height, width = rgb.shape[:2]
    side = MESH_CROP * max(face.width * width, face.height * height)
    centre_x, centre_y = (face.x + face.width / 2) * width, (face.y + face.height / 2) * height
    scale = MESH_SIZE / side
    to_crop = np.array(
        [[scale, 0, MESH_SIZE / 2 - centre_x * scale], [0, scale, MESH_SIZE / 2 - centre_y * scale]]
    )
    crop = cv2.warpAffine(
        rgb, to_crop, (MESH_SIZE, MESH_SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    found = _models().mesh.process(crop).multi_face_landmarks
    if not found:
        return None
    landmarks = found[0].landmark
    in_crop = np.array([(landmarks[i].x * MESH_SIZE, landmarks[i].y * MESH_SIZE) for i in POSE_LANDMARKS])
    return (in_crop - to_crop[:, 2]) / scale
