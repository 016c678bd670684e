"""Face images for identity tests and the benchmark, built from real photographs only.

Two real people ship with the installed packages: the astronaut Eileen Collins
(scikit-image) and Grace Hopper (matplotlib); a third, scikit-image's cameraman, is turned
towards his camera and only in grey. Every variant below is one of them seen the way
a student's upload or webcam would show them: smaller, larger, darker, recompressed, tilted,
cropped. No array here is noise dressed up as a face.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import cv2
import matplotlib.cbook
import numpy as np
import skimage.data
from PIL import Image


def astronaut() -> np.ndarray:
    return skimage.data.astronaut()


def grace_hopper() -> np.ndarray:
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as file:
        return np.array(Image.open(file).convert("RGB"))


def cat() -> np.ndarray:
    """Chelsea the cat: a sharp, well-lit photo with no human face in it."""
    return skimage.data.chelsea()


def black_frame(height: int = 480, width: int = 640) -> np.ndarray:
    """What a covered or unlit webcam sends."""
    return np.zeros((height, width, 3), dtype=np.uint8)


def two_people() -> np.ndarray:
    """The astronaut and Grace Hopper side by side, as if both sat in front of one camera."""
    left, right = astronaut(), grace_hopper()
    height = max(left.shape[0], right.shape[0])
    return np.hstack([_pad_to_height(left, height), _pad_to_height(right, height)])


def _pad_to_height(rgb: np.ndarray, height: int) -> np.ndarray:
    # A mid-grey background, like a wall, rather than black that would darken the frame.
    padding = np.full((height - rgb.shape[0], rgb.shape[1], 3), 128, dtype=np.uint8)
    return np.vstack([rgb, padding])


def resized(rgb: np.ndarray, factor: float) -> np.ndarray:
    height, width = rgb.shape[:2]
    size = (round(width * factor), round(height * factor))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))


def relit(rgb: np.ndarray, gamma: float) -> np.ndarray:
    """Gamma above 1 darkens the mid-tones (a dim room), below 1 brightens them (a window)."""
    return np.round(255 * (rgb / 255.0) ** gamma).astype(np.uint8)


def underexposed(rgb: np.ndarray, exposure: float) -> np.ndarray:
    """Every pixel scaled by `exposure`: a camera in a dark room, highlights included."""
    return np.clip(np.round(rgb * exposure), 0, 255).astype(np.uint8)


def jpeg_bytes(rgb: np.ndarray, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def recompressed(rgb: np.ndarray, quality: int) -> np.ndarray:
    """The photo after a round trip through JPEG at `quality`, blocking artefacts and all."""
    return np.asarray(Image.open(io.BytesIO(jpeg_bytes(rgb, quality))).convert("RGB"))


def rotated(rgb: np.ndarray, degrees: float) -> np.ndarray:
    """A head tilted by `degrees` (counter-clockwise), edges filled with the border colour."""
    image = Image.fromarray(rgb).rotate(degrees, resample=Image.Resampling.BICUBIC)
    return np.asarray(image)


def cropped(rgb: np.ndarray, top: float, left: float, bottom: float, right: float) -> np.ndarray:
    """The part of the photo between fractional edges, e.g. a passport-style head crop."""
    height, width = rgb.shape[:2]
    rows = slice(round(top * height), round(bottom * height))
    return rgb[rows, round(left * width) : round(right * width)]


def astronaut_variants() -> dict[str, np.ndarray]:
    return _variants(astronaut(), head=(0.0, 0.2, 0.55, 0.75))


def grace_hopper_variants() -> dict[str, np.ndarray]:
    return _variants(grace_hopper(), head=(0.1, 0.2, 0.6, 0.85))


def _variants(rgb: np.ndarray, head: tuple[float, float, float, float]) -> dict[str, np.ndarray]:
    """Every transformation the tests and the benchmark compare against the original."""
    builders: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "half size": lambda image: resized(image, 0.5),
        "1.5x size": lambda image: resized(image, 1.5),
        "darker (gamma 2.2)": lambda image: relit(image, 2.2),
        "brighter (gamma 0.5)": lambda image: relit(image, 0.5),
        "dim (exposure 0.1)": lambda image: underexposed(image, 0.1),
        "very dim (exposure 0.05)": lambda image: underexposed(image, 0.05),
        "jpeg quality 10": lambda image: recompressed(image, 10),
        "rotated 10 degrees": lambda image: rotated(image, 10),
        "rotated -10 degrees": lambda image: rotated(image, -10),
        "head crop": lambda image: cropped(image, *head),
        "webcam 320x240": lambda image: webcam_frame(image, 320, 240),
    }
    return {name: build(rgb) for name, build in builders.items()}


def webcam_frame(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """The photo letterboxed into a `width`x`height` frame, as a webcam capture would be."""
    scale = min(width / rgb.shape[1], height / rgb.shape[0])
    face = resized(rgb, scale)
    frame = np.full((height, width, 3), 128, dtype=np.uint8)
    top, left = (height - face.shape[0]) // 2, (width - face.shape[1]) // 2
    frame[top : top + face.shape[0], left : left + face.shape[1]] = face
    return frame


# --- webcam scenes for the face detectors ---------------------------------------------------------
#
# Where the face is in each photo, as fractions (top, left, bottom, right) of its height and width:
# the extent of MediaPipe's face mesh on the originals, forehead to chin and cheek to cheek.
ASTRONAUT_FACE = (0.14, 0.35, 0.34, 0.53)
GRACE_HOPPER_FACE = (0.22, 0.34, 0.56, 0.70)
CAMERAMAN_FACE = (0.24, 0.37, 0.39, 0.51)

Box = tuple[float, float, float, float]


def cameraman() -> np.ndarray:
    """The cameraman (scikit-image): a third real person, in grey, his eye at his camera."""
    return np.dstack([skimage.data.camera()] * 3)


def people() -> dict[str, tuple[np.ndarray, Box]]:
    """Every real person that ships with the installed packages, with where their face is."""
    return {
        "astronaut": (astronaut(), ASTRONAUT_FACE),
        "grace hopper": (grace_hopper(), GRACE_HOPPER_FACE),
        "cameraman": (cameraman(), CAMERAMAN_FACE),
    }


def in_view(rgb: np.ndarray, face: Box, face_width: float, width: int = 320, height: int = 240) -> np.ndarray:
    """What a webcam sees when the face spans `face_width` of the frame's width, centred.

    0.1 is someone a few metres away, 0.2-0.4 a student at a laptop, 0.6 one leaning in. Where
    the photo ends the frame is mid-grey, like a wall.
    """
    top, left, bottom, right = face
    rows, columns = rgb.shape[:2]
    scale = face_width * width / ((right - left) * columns)
    centre_x, centre_y = (left + right) / 2 * columns, (top + bottom) / 2 * rows
    matrix = np.float32([[scale, 0, width / 2 - centre_x * scale], [0, scale, height / 2 - centre_y * scale]])
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.warpAffine(rgb, matrix, (width, height), flags=interpolation, borderValue=(128, 128, 128))


def blurred(rgb: np.ndarray, sigma: float) -> np.ndarray:
    """Out of focus or moving: a Gaussian blur of `sigma` pixels."""
    return cv2.GaussianBlur(rgb, (0, 0), sigma)


def hand_over_face(rgb: np.ndarray, face: Box, covered: float = 0.45) -> np.ndarray:
    """A hand over the lower `covered` part of the face (chin in hand, or a hand over the mouth).

    Skin-coloured, shaded darker towards its edges as a rounded hand is, wider than the face.
    """
    top, left, bottom, right = face
    rows, columns = rgb.shape[:2]
    y0, y1 = round((bottom - covered * (bottom - top)) * rows), round((bottom + 0.05) * rows)
    margin = 0.1 * (right - left)
    x0, x1 = round((left - margin) * columns), round((right + margin) * columns)
    y0, x0 = max(y0, 0), max(x0, 0)
    y1, x1 = min(y1, rows), min(x1, columns)
    across = np.linspace(-1, 1, x1 - x0)[None, :]
    down = np.linspace(-1, 1, y1 - y0)[:, None]
    shade = 1 - 0.25 * (across**2 + 0.5 * down**2)
    hand = np.array([205, 150, 120], dtype=np.float64) * shade[..., None]
    out = rgb.copy()
    out[y0:y1, x0:x1] = np.clip(hand, 0, 255).astype(np.uint8)
    return out


def head_mask(shape: tuple[int, ...], face: Box, grow: float = 1.6) -> np.ndarray:
    """A soft ellipse (0..1) around the face box, `grow` times its size: head, hair and neck."""
    top, left, bottom, right = face
    rows, columns = shape[:2]
    centre = (round((left + right) / 2 * columns), round((top + bottom) / 2 * rows))
    axes = (round((right - left) / 2 * columns * grow), round((bottom - top) / 2 * rows * grow * 1.15))
    mask = np.zeros((rows, columns), dtype=np.float32)
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 1, -1)
    feather = max(3, round(0.15 * axes[0])) | 1
    return cv2.GaussianBlur(mask, (feather, feather), 0)


def on_background(
    rgb: np.ndarray, face: Box, background: np.ndarray, face_width: float = 0.25, at: float = 0.5
) -> np.ndarray:
    """The person's head pasted onto a real photo (a cluttered room), face `face_width` of its width.

    `at` is where the face sits across the background (0 left edge, 1 right edge).
    """
    return _paste_head(rgb, face, background, face_width, (at, 0.5), grow=1.6)


def _paste_head(
    rgb: np.ndarray, face: Box, onto: np.ndarray, face_width: float, at: tuple[float, float], grow: float
) -> np.ndarray:
    rows, columns = onto.shape[:2]
    top, left, bottom, right = face
    scale = face_width * columns / ((right - left) * rgb.shape[1])
    person = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    mask = head_mask(person.shape, face, grow)
    centre_x = (left + right) / 2 * person.shape[1]
    centre_y = (top + bottom) / 2 * person.shape[0]
    shift = np.float32([[1, 0, at[0] * columns - centre_x], [0, 1, at[1] * rows - centre_y]])
    person = cv2.warpAffine(person, shift, (columns, rows))
    mask = cv2.warpAffine(mask, shift, (columns, rows))[..., None]
    return np.round(person * mask + onto * (1 - mask)).astype(np.uint8)


def backlit(rgb: np.ndarray, face: Box, face_exposure: float = 0.3) -> np.ndarray:
    """Sitting with a bright window behind: the background burns out, the face falls into shadow.

    A camera exposes for the whole frame, so a bright window leaves the face underexposed.
    """
    mask = head_mask(rgb.shape, face)[..., None]
    window = 255 - 0.25 * (255 - relit(rgb, 0.3).astype(np.float64))
    return np.round(rgb * face_exposure * mask + window * (1 - mask)).astype(np.uint8)


def covered_camera(
    colour: tuple[int, int, int],
    noise: float = 3.0,
    leak: float = 0.0,
    seed: int = 0,
    height: int = 240,
    width: int = 320,
) -> np.ndarray:
    """A lens covered by a finger, a palm, tape or a sticker: one smooth colour and sensor noise.

    `leak` brightens one side of the frame by that fraction, as light creeping past a finger.
    """
    generator = np.random.default_rng(seed)
    across = np.linspace(1 - leak, 1 + leak, width)[None, :, None]
    frame = np.array(colour, dtype=np.float64) * across * np.ones((height, 1, 1))
    frame += generator.normal(0, noise, frame.shape)
    return np.clip(np.round(frame), 0, 255).astype(np.uint8)


def side_by_side(
    left: tuple[np.ndarray, Box],
    right: tuple[np.ndarray, Box],
    face_width: float = 0.18,
    width: int = 640,
    height: int = 480,
) -> np.ndarray:
    """Two people sharing one camera, each in half of the frame, faces `face_width` of its width."""
    halves = [in_view(rgb, face, 2 * face_width, width // 2, height) for rgb, face in (left, right)]
    return np.hstack(halves)


def someone_behind(
    student: tuple[np.ndarray, Box],
    other: tuple[np.ndarray, Box],
    face_width: float = 0.3,
    other_face_width: float = 0.12,
    width: int = 320,
    height: int = 240,
) -> np.ndarray:
    """A student at the camera and a smaller second face over their shoulder, upper right."""
    frame = in_view(*student, face_width, width, height)
    return _paste_head(*other, frame, other_face_width, (0.85, 0.25), grow=1.4)


def camera_jpeg(rgb: np.ndarray, seed: int, noise: float = 3.0, quality: int = 70) -> bytes:
    """One picture of `rgb` as a camera sends it: fresh sensor noise (its own seed), then JPEG at
    the exam page's quality; no two pictures of a still scene are the same bytes."""
    noisy = rgb + np.random.default_rng(seed).normal(0, noise, rgb.shape)
    return jpeg_bytes(np.clip(noisy, 0, 255).astype(np.uint8), quality=quality)


def captured(rgb: np.ndarray, width: int = 320, height: int = 240) -> np.ndarray:
    """The photo as the exam page sends it: centre-cropped to the frame's shape, then resized."""
    rows, columns = rgb.shape[:2]
    scale = max(width / columns, height / rows)
    crop_w, crop_h = round(width / scale), round(height / scale)
    top, left = (rows - crop_h) // 2, (columns - crop_w) // 2
    crop = np.ascontiguousarray(rgb[top : top + crop_h, left : left + crop_w])
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(crop, (width, height), interpolation=interpolation)


def turned(rgb: np.ndarray, degrees: float) -> np.ndarray:
    """The face re-drawn as if the head turned `degrees` about a vertical axis (+: to the
    person's left, the nose moving to the image's right).

    NOT a photo of a turned head, none ships with the packages: the face mesh's 3D landmarks
    are rotated about the head's centre and the face's pixels moved with them (a
    piecewise-affine warp), while hair, ears and outline stay put and nothing hidden by the
    turn is hidden. It tells whether yaw follows a turn in sign and rough size, not how
    accurately it is measured; the warp tears visibly beyond about 30 degrees.
    """
    import mediapipe as mp  # only this builder needs it
    from skimage.transform import PiecewiseAffineTransform, warp

    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True) as mesh:
        found = mesh.process(np.ascontiguousarray(rgb)).multi_face_landmarks
    if not found:
        raise ValueError("no face mesh in the photo")
    height, width = rgb.shape[:2]
    # MediaPipe's z is in the same units as x, 0 at the centre of the head, negative nearer.
    points = np.array([(p.x * width, p.y * height, p.z * width) for p in found[0].landmark])
    centre_x = points[:, 0].mean()
    angle = np.radians(degrees)
    moved_x = centre_x + (points[:, 0] - centre_x) * np.cos(angle) - points[:, 2] * np.sin(angle)
    moved = np.column_stack([moved_x, points[:, 1]])
    # A ring around the face and the frame's edges stay where they are.
    centre, radius = points[:, :2].mean(axis=0), np.ptp(points[:, :2], axis=0) / 2
    around = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    ring = centre + 1.35 * radius * np.column_stack([np.cos(around), np.sin(around)])
    edges = np.array(
        [
            (x * (width - 1), y * (height - 1))
            for x, y in [(0, 0), (0.5, 0), (1, 0), (0, 0.5), (1, 0.5), (0, 1), (0.5, 1), (1, 1)]
        ]
    )
    # warp() asks, for each output pixel, where it comes from: map the moved face to the original.
    transform = PiecewiseAffineTransform.from_estimate(
        np.vstack([moved, ring, edges]), np.vstack([points[:, :2], ring, edges])
    )
    return np.round(warp(rgb, transform, order=1, mode="edge", preserve_range=True)).astype(np.uint8)
