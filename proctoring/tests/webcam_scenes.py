"""Webcam frames of real people for the face detector: the hard cases of issue 14.

36 photos of real people (22 from @vladmandic/face-api's demo photos, 6 from insightface's, 3 from
tracking.js's, 2 from OpenCV's documentation, 3 of two people from face_recognition's tests),
13 real portraits, real rooms, clutter and
pictures without a face, and real surgical masks, all cut from photos that packages ship
(data/faces/MANIFEST.json names each source and licence; bench/build_face_photos.py made the
crops). Every frame is composed the way a webcam would show it:

- someone beside the student or looking over their shoulder (the plain cases);
- a neighbour whose face the frame's edge cuts, with both eyes still inside;
- a printed photo of someone on the wall behind the student (a proctor wants it flagged);
- a second person, or the student, whose lower face is covered by a mask or a hand;
- the student alone (also masked, also under a poster without a face), empty rooms, clutter
  and posters without a face, which must not gain a face.

Each scene comes in three lightings, applied in linear light as a camera would record them:
"normal"; "dark" (a dim room: a fifth of the light, and the sensor noise a camera's gain
brings up); "backlit" (a bright window behind the people: it burns out, and the camera's
exposure for it leaves everything else at a third). People are tagged with the split of their
source ("dev" sources tuned the detector, "test" ones are held out, no one is in both) and
with a coarse skin-tone rating (see the manifest).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from proctoring.tests import faces

DATA = Path(__file__).resolve().parent / "data" / "faces"
WIDTH, HEIGHT = 320, 240
LIGHTINGS = ("normal", "dark", "backlit")


@dataclass(frozen=True)
class Person:
    name: str
    rgb: np.ndarray = field(repr=False)
    face: faces.Box  # top, left, bottom, right: fractions of the crop
    keypoints: dict[str, tuple[float, float]] = field(repr=False)  # x, y fractions of the crop
    split: str
    skin_tone: str | None
    source: str


@dataclass(frozen=True)
class Scene:
    name: str
    rgb: np.ndarray = field(repr=False)
    faces: int  # how many faces a proctor counts in it
    kind: str
    lighting: str
    split: str
    skin_tones: tuple[str, ...]  # of the people whose faces are in it, the student first
    source: str = ""  # the package the student (or the empty room) comes from


@functools.cache
def manifest() -> dict:
    return json.loads((DATA / "MANIFEST.json").read_text())


def _image(folder: str, name: str) -> np.ndarray:
    with Image.open(DATA / folder / f"{name}.jpg") as image:
        return np.array(image.convert("RGB"))


@functools.cache
def people(split: str | None = None) -> tuple[Person, ...]:
    found = []
    for name, entry in manifest()["people"].items():
        if split and entry["split"] != split:
            continue
        keypoints = {key: tuple(value) for key, value in entry["keypoints"].items()}
        found.append(
            Person(
                name,
                _image("people", name),
                tuple(entry["face"]),
                keypoints,
                entry["split"],
                entry["skin_tone"],
                entry["source"],
            )
        )
    return tuple(found)


def person(name: str) -> Person:
    return next(p for p in people() if p.name == name)


def pictures(kind: str, split: str) -> dict[str, np.ndarray]:
    entries = manifest()["pictures"].items()
    return {
        name: _image("pictures", name) for name, e in entries if e["kind"] == kind and e["split"] == split
    }


def portraits(split: str) -> dict[str, tuple[np.ndarray, float, str | None]]:
    """Portrait photos: the picture, how much of its width the face spans, the skin tone."""
    entries = manifest()["portraits"].items()
    return {
        name: (_image("portraits", name), e["face"][3] - e["face"][1], e["skin_tone"])
        for name, e in entries
        if e["split"] == split
    }


def occluder(name: str) -> np.ndarray:
    return _image("occluders", name)


# --- light ------------------------------------------------------------------------------------


def to_linear(rgb: np.ndarray) -> np.ndarray:
    return (rgb.astype(np.float32) / 255) ** 2.2


def to_srgb(linear: np.ndarray) -> np.ndarray:
    return np.round(255 * np.clip(linear, 0, 1) ** (1 / 2.2)).astype(np.uint8)


def sensor_noise(rgb: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    noisy = rgb + np.random.default_rng(seed).normal(0, sigma, rgb.shape)
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


# --- people -----------------------------------------------------------------------------------


def _person_mask(p: Person) -> np.ndarray:
    """Head (an ellipse around the face box) and shoulders (a wider one under the chin), 0..1."""
    rows, columns = p.rgb.shape[:2]
    top, left, bottom, right = p.face
    width, height = (right - left) * columns, (bottom - top) * rows
    centre_x, centre_y = (left + right) / 2 * columns, (top + bottom) / 2 * rows
    mask = np.zeros((rows, columns), dtype=np.float32)
    cv2.ellipse(
        mask,
        (round(centre_x), round(centre_y - 0.1 * height)),
        (round(0.8 * width), round(0.95 * height)),
        0,
        0,
        360,
        1,
        -1,
    )
    chin = bottom * rows
    cv2.ellipse(
        mask,
        (round(centre_x), round(chin + 0.9 * height)),
        (round(1.25 * width), round(0.75 * height)),
        0,
        0,
        360,
        1,
        -1,
    )
    cv2.rectangle(
        mask,
        (round(centre_x - 0.3 * width), round(chin - 0.2 * height)),
        (round(centre_x + 0.3 * width), round(chin + 0.4 * height)),
        1,
        -1,
    )
    feather = max(3, round(0.12 * width)) | 1
    return cv2.GaussianBlur(mask, (feather, feather), 0)


def _keypoint(p: Person, name: str) -> np.ndarray:
    rows, columns = p.rgb.shape[:2]
    x, y = p.keypoints[name]
    return np.array([x * columns, y * rows])


def masked(p: Person, mask_name: str = "mask-blue") -> Person:
    """The person wearing a surgical mask: a real mask photo warped over nose, mouth and chin."""
    rows, columns = p.rgb.shape[:2]
    eyes = (_keypoint(p, "right_eye") + _keypoint(p, "left_eye")) / 2
    mouth = _keypoint(p, "mouth")
    _, left, _, right = p.face
    face_w = (right - left) * columns
    down = mouth - eyes
    top = eyes + 0.45 * down
    chin = mouth + 0.95 * down
    half = 0.56 * face_w
    across = np.array([1.0, 0.0])
    quad = np.float32(
        [top - half * across, top + half * across, chin + 0.8 * half * across, chin - 0.8 * half * across]
    )
    photo = occluder(mask_name)
    h, w = photo.shape[:2]
    source = np.float32(
        [[0.04 * w, 0.08 * h], [0.96 * w, 0.08 * h], [0.96 * w, 0.92 * h], [0.04 * w, 0.92 * h]]
    )
    matrix = cv2.getPerspectiveTransform(source, quad)
    layer = cv2.warpPerspective(photo, matrix, (columns, rows), flags=cv2.INTER_AREA)
    alpha = np.zeros((rows, columns), dtype=np.float32)
    # Rounded at the bottom as it wraps round the chin.
    shape = np.vstack([quad[:2], _arc(quad[2], quad[3], chin, 0.25 * half)])
    cv2.fillPoly(alpha, [np.round(shape).astype(np.int32)], 1)
    alpha = cv2.GaussianBlur(alpha, (3, 3), 0)[..., None]
    # The mask is lit as the face is: its brightness follows the cheeks'.
    shade = _cheek_level(p) / 200
    out = p.rgb * (1 - alpha) + np.clip(layer * shade, 0, 255) * alpha
    return _replace(p, np.round(out).astype(np.uint8))


def hand_over(p: Person) -> Person:
    """A hand over the lower face: a palm-and-fingers shape cut from real skin (a leg in a
    dev photo), coloured like the person's own cheeks, over mouth and chin."""
    rows, columns = p.rgb.shape[:2]
    eyes = (_keypoint(p, "right_eye") + _keypoint(p, "left_eye")) / 2
    mouth = _keypoint(p, "mouth")
    _, left, _, right = p.face
    face_w = (right - left) * columns
    down = mouth - eyes
    palm_centre = mouth + 0.5 * down
    alpha = np.zeros((rows, columns), dtype=np.float32)
    cv2.ellipse(
        alpha,
        tuple(np.round(palm_centre).astype(int)),
        (round(0.45 * face_w), round(0.4 * face_w)),
        0,
        0,
        360,
        1,
        -1,
    )
    # Four fingers reaching up across the cheek to the nose.
    for i in range(4):
        x = palm_centre[0] - 0.33 * face_w + i * 0.2 * face_w
        base_y, tip_y = palm_centre[1], eyes[1] + 0.55 * down[1]
        cv2.line(
            alpha,
            (round(x), round(base_y)),
            (round(x + 0.05 * face_w), round(tip_y)),
            1,
            max(2, round(0.16 * face_w)),
        )
    alpha = cv2.GaussianBlur(alpha, (5, 5), 0)
    skin = cv2.resize(occluder("skin-face-api-3"), (columns, rows), interpolation=cv2.INTER_LINEAR).astype(
        np.float32
    )
    skin *= _cheek_colour(p) / skin.reshape(-1, 3).mean(axis=0)
    # A rounded hand is darker towards its edges.
    shade = cv2.GaussianBlur(alpha, (0, 0), 0.15 * face_w)[..., None]
    hand = skin * (0.7 + 0.3 * shade)
    out = p.rgb * (1 - alpha[..., None]) + np.clip(hand, 0, 255) * alpha[..., None]
    return _replace(p, np.round(out).astype(np.uint8))


def _arc(a: np.ndarray, b: np.ndarray, centre: np.ndarray, sag: float) -> np.ndarray:
    t = np.linspace(0, 1, 12)[:, None]
    line = a + (b - a) * t
    return line + np.array([0, sag]) * np.sin(np.pi * t)


def _cheek_colour(p: Person) -> np.ndarray:
    eyes = (_keypoint(p, "right_eye") + _keypoint(p, "left_eye")) / 2
    mouth = _keypoint(p, "mouth")
    span = abs(_keypoint(p, "left_eye")[0] - _keypoint(p, "right_eye")[0])
    patches = []
    for eye in ("right_eye", "left_eye"):
        x, y = _keypoint(p, eye) + 0.45 * (mouth - eyes) + [0, 0.1 * span]
        half = max(2, round(0.12 * span))
        patches.append(
            p.rgb[round(y) - half : round(y) + half, round(x) - half : round(x) + half].reshape(-1, 3)
        )
    return np.median(np.concatenate(patches), axis=0).astype(np.float32)


def _cheek_level(p: Person) -> float:
    return float(_cheek_colour(p).mean())


def _replace(p: Person, rgb: np.ndarray) -> Person:
    return Person(p.name, rgb, p.face, p.keypoints, p.split, p.skin_tone, p.source)


# --- composing a frame ------------------------------------------------------------------------


@dataclass
class Layer:
    rgb: np.ndarray  # frame-sized
    alpha: np.ndarray  # frame-sized, 0..1


def place(
    p: Person, face_width: float, centre: tuple[float, float], width: int = WIDTH, height: int = HEIGHT
) -> Layer:
    """The person scaled so their face spans `face_width` of the frame, face centred at `centre`
    (fractions of the frame; either may put part of the face outside it)."""
    p = _now(p)
    rows, columns = p.rgb.shape[:2]
    top, left, bottom, right = p.face
    scale = face_width * width / ((right - left) * columns)
    centre_x, centre_y = (left + right) / 2 * columns, (top + bottom) / 2 * rows
    matrix = np.float32(
        [[scale, 0, centre[0] * width - centre_x * scale], [0, scale, centre[1] * height - centre_y * scale]]
    )
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    rgb = cv2.warpAffine(p.rgb, matrix, (width, height), flags=interpolation, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(_person_mask(p), matrix, (width, height), flags=cv2.INTER_LINEAR)
    return Layer(rgb, alpha)


def eyes_at(
    p: Person, face_width: float, centre: tuple[float, float], width: int = WIDTH
) -> tuple[float, float]:
    """Where the person's eyes land across the frame (fractions) for `place` with these."""
    columns = p.rgb.shape[1]
    _, left, _, right = p.face
    scale = face_width * width / ((right - left) * columns)
    middle = (left + right) / 2 * columns
    xs = [
        (p.keypoints[eye][0] * columns - middle) * scale / width + centre[0]
        for eye in ("right_eye", "left_eye")
    ]
    return min(xs), max(xs)


def printed(picture: np.ndarray) -> np.ndarray:
    """A photo as a print in a frame: paper and ink cannot show a screen's contrast, colours
    fade a little, a white mount and a dark frame go round it."""
    ink = 28 + picture.astype(np.float32) * (220 - 28) / 255
    grey = ink.mean(axis=2, keepdims=True)
    ink = grey + 0.85 * (ink - grey)
    rows, columns = picture.shape[:2]
    mount, edge = round(0.07 * columns), round(0.03 * columns)
    out = np.full((rows + 2 * (mount + edge), columns + 2 * (mount + edge), 3), 40, dtype=np.float32)
    out[edge:-edge, edge:-edge] = 232
    out[edge + mount : edge + mount + rows, edge + mount : edge + mount + columns] = ink
    return np.round(out).astype(np.uint8)


def hang(
    background: np.ndarray, picture: np.ndarray, left: float, top: float, width: float, turn: float = 0.15
) -> np.ndarray:
    """The picture on the wall behind: its left edge at `left`, `width` of the frame wide, its
    far side `turn` shorter (seen at an angle), lit as the wall around it is lit."""
    background, picture = _now(background), _now(picture)
    rows, columns = background.shape[:2]
    h, w = picture.shape[:2]
    x0, y0 = left * columns, top * rows
    x1 = x0 + width * columns
    tall = width * columns * h / w
    quad = np.float32(
        [[x0, y0], [x1, y0 + turn * tall / 2], [x1, y0 + tall - turn * tall / 2], [x0, y0 + tall]]
    )
    matrix = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]), quad)
    layer = cv2.warpPerspective(picture, matrix, (columns, rows), flags=cv2.INTER_AREA)
    alpha = cv2.warpPerspective(np.ones((h, w), np.float32), matrix, (columns, rows), flags=cv2.INTER_LINEAR)[
        ..., None
    ]
    wall = cv2.blur(background, (31, 31)).astype(np.float32).mean(axis=2, keepdims=True)
    light = np.clip(wall / 160, 0.45, 1.1)
    return np.round(background * (1 - alpha) + layer * light * alpha).astype(np.uint8)


def compose(
    background: np.ndarray,
    layers: list[Layer],
    lighting: str,
    seed: int = 0,
    window: tuple[float, float, float, float] | None = None,
) -> np.ndarray:
    """People in front of the background, under `lighting` (see the module's docstring).

    `window`: (left, top, right, bottom) of the frame where a backlit scene's window is.
    """
    background = to_linear(_now(background))
    people = [(to_linear(layer.rgb), layer.alpha[..., None]) for layer in map(_now, layers)]
    if lighting == "backlit":
        rows, columns = background.shape[:2]
        left, top, right, bottom = window or (0.0, 0.0, 1.0, 0.55)
        light = np.zeros((rows, columns), np.float32)
        light[round(top * rows) : round(bottom * rows), round(left * columns) : round(right * columns)] = 1
        light = cv2.GaussianBlur(light, (0, 0), 0.04 * columns)[..., None]
        # The window is many times brighter than the room; the camera exposes for it, so the
        # room and the people get a third of their light and the window burns out.
        background = background * 0.33 * (1 - light) + np.clip(background * 6 + 0.5, 0, 1) * light
        people = [(rgb * 0.33, alpha) for rgb, alpha in people]
    elif lighting == "dark":
        background = background * 0.2
        people = [(rgb * 0.2, alpha) for rgb, alpha in people]
    frame = background
    for rgb, alpha in people:
        frame = frame * (1 - alpha) + rgb * alpha
    out = to_srgb(frame)
    if lighting == "backlit":
        # Bloom: light from the window spills over the silhouettes' edges.
        glow = cv2.GaussianBlur(out, (0, 0), 3)
        out = np.maximum(out, (glow.astype(np.float32) * 0.9).astype(np.uint8))
    if lighting == "dark":
        # The camera's gain lifts the dim picture and its noise with it.
        out = sensor_noise(np.clip(out.astype(np.float32) * 1.3, 0, 255), 4.0, seed)
    return out


def room(picture: np.ndarray, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    return faces.captured(picture, width, height)


# --- the scenes -------------------------------------------------------------------------------


def scenes(split: str, lightings: tuple[str, ...] = LIGHTINGS, kinds: set[str] | None = None) -> list[Scene]:
    """Every labelled frame of one split in these lightings (of these kinds, if given)."""
    out: list[Scene] = []
    for lighting in lightings:
        for name, build, count, kind, tones in _compositions(split, lighting):
            if kinds is None or kind in kinds:
                scene = Scene(
                    f"{name}, {lighting}", build(), count, kind, lighting, split, tones, _source(name)
                )
                out.append(scene)
    return out


def scene(split: str, name: str) -> Scene:
    """One scene by its full name ("... , normal"), composing only that one."""
    for lighting in LIGHTINGS:
        for base, build, count, kind, tones in _compositions(split, lighting):
            if f"{base}, {lighting}" == name:
                return Scene(name, build(), count, kind, lighting, split, tones, _source(base))
    raise KeyError(name)


def _source(name: str) -> str:
    if name.startswith("empty: "):
        return manifest()["pictures"][name.removeprefix("empty: ").removesuffix(" with a poster")]["source"]
    return manifest()["people"][name.split(" ")[0]]["source"]


def _now(value):
    # The compositions below are built lazily (functools.partial) so that one scene can be
    # composed without the others.
    return value() if callable(value) else value


def _compositions(split: str, lighting: str):
    crowd = people(split)
    rooms = list(pictures("room", split).values())
    posters = list(pictures("poster", split).values())
    prints = list(portraits(split).items())
    masks = ("mask-blue", "mask-white", "mask-black", "mask-green")
    for i, student in enumerate(crowd):
        other = crowd[(i + 1 + i % 3) % len(crowd)]
        backdrop = functools.partial(room, rooms[i % len(rooms)])
        seed = i
        me = functools.partial(place, student, 0.3, (0.5, 0.45))
        tones = (student.skin_tone,)

        # A neighbour cut by the frame's edge, both eyes inside.
        side = 1 if i % 2 else -1
        width = 0.24 + 0.02 * (i % 3)
        edge_me = functools.partial(place, student, 0.28, (0.5 - 0.1 * side, 0.45))
        x = _cut_at_edge(other, width, side, cut=0.15 + 0.05 * (i % 2))
        yield (
            f"{student.name} + {other.name} cut by the {'right' if side > 0 else 'left'} edge",
            functools.partial(
                compose,
                backdrop,
                [functools.partial(place, other, width, (x, 0.4 + 0.03 * (i % 3))), edge_me],
                lighting,
                seed,
            ),
            2,
            "edge-cut neighbour",
            (*tones, other.skin_tone),
        )

        # A printed photo of someone on the wall behind.
        if i % 2 == 0 and prints:
            name, (photo, face_share, tone) = prints[(i // 2) % len(prints)]
        else:
            subject = crowd[(i + 2) % len(crowd)]
            photo, name, tone = _photo_of(subject), subject.name, subject.skin_tone
            face_share = 1 / 2.2  # _photo_of's margins
        face_width = 0.1 + 0.02 * (i % 3)
        # printed() adds a mount and a frame of a tenth of the width on each side.
        print_width = face_width / face_share * 1.2
        side = -1 if i % 2 else 1
        left = 0.03 if side < 0 else 0.97 - print_width
        wall = functools.partial(
            hang,
            backdrop,
            functools.partial(printed, photo),
            left,
            0.04 + 0.03 * (i % 2),
            print_width,
            0.1 * (i % 3),
        )
        behind_me = functools.partial(place, student, 0.28, (0.5 - 0.12 * side, 0.55))
        window = (0.35, 0.0, 0.65, 0.5)
        yield (
            f"{student.name} under a print of {name}",
            functools.partial(compose, wall, [behind_me], lighting, seed, window),
            2,
            "printed face behind",
            (*tones, tone),
        )

        # The plain cases around them: someone beside, someone over the shoulder.
        yield (
            f"{student.name} + {other.name} beside",
            functools.partial(
                compose,
                backdrop,
                [
                    functools.partial(place, other, 0.24, (0.78, 0.42)),
                    functools.partial(place, student, 0.28, (0.35, 0.48)),
                ],
                lighting,
                seed,
            ),
            2,
            "second face beside",
            (*tones, other.skin_tone),
        )
        yield (
            f"{student.name} + {other.name} over the shoulder",
            functools.partial(
                compose,
                backdrop,
                [functools.partial(place, other, 0.15, (0.2 if side > 0 else 0.8, 0.25)), me],
                lighting,
                seed,
            ),
            2,
            "second face over the shoulder",
            (*tones, other.skin_tone),
        )

        # A second person with the lower face covered: a mask, then a hand.
        covered = functools.partial(masked, other, masks[i % 4])
        yield (
            f"{student.name} + {other.name} masked beside",
            functools.partial(
                compose,
                backdrop,
                [
                    functools.partial(place, covered, 0.24, (0.8, 0.42)),
                    functools.partial(place, student, 0.28, (0.35, 0.48)),
                ],
                lighting,
                seed,
            ),
            2,
            "second face masked",
            (*tones, other.skin_tone),
        )
        yield (
            f"{student.name} + {other.name} with a hand over the mouth, behind",
            functools.partial(
                compose,
                backdrop,
                [
                    functools.partial(place, functools.partial(hand_over, other), 0.2, (0.2, 0.3)),
                    functools.partial(place, student, 0.3, (0.6, 0.5)),
                ],
                lighting,
                seed,
            ),
            2,
            "second face behind a hand",
            (*tones, other.skin_tone),
        )
        yield (
            f"{student.name} masked + {other.name} beside",
            functools.partial(
                compose,
                backdrop,
                [
                    functools.partial(place, other, 0.24, (0.22, 0.42)),
                    functools.partial(
                        place, functools.partial(masked, student, masks[(i + 1) % 4]), 0.28, (0.65, 0.48)
                    ),
                ],
                lighting,
                seed,
            ),
            2,
            "student masked, second beside",
            (*tones, other.skin_tone),
        )

        # Alone: nobody else, also masked, also under a picture without a face.
        yield (
            f"{student.name} alone",
            functools.partial(compose, backdrop, [me], lighting, seed),
            1,
            "alone",
            tones,
        )
        yield (
            f"{student.name} alone, masked",
            functools.partial(
                compose,
                backdrop,
                [
                    functools.partial(
                        place, functools.partial(masked, student, masks[(i + 2) % 4]), 0.3, (0.5, 0.45)
                    )
                ],
                lighting,
                seed,
            ),
            1,
            "alone, masked",
            tones,
        )
        poster = posters[i % len(posters)]
        wall = functools.partial(hang, backdrop, functools.partial(printed, poster), 0.62, 0.05, 0.33, 0.1)
        yield (
            f"{student.name} alone under a poster without a face",
            functools.partial(
                compose,
                wall,
                [functools.partial(place, student, 0.28, (0.35, 0.55))],
                lighting,
                seed,
                (0.0, 0.0, 0.3, 0.5),
            ),
            1,
            "alone, poster without a face",
            tones,
        )

    # Nobody: rooms, clutter and walls with a poster.
    for j, (name, picture) in enumerate({**pictures("room", split), **pictures("clutter", split)}.items()):
        yield (
            f"empty: {name}",
            functools.partial(compose, functools.partial(room, picture), [], lighting, j),
            0,
            "empty room or clutter",
            (),
        )
        poster = posters[j % len(posters)]
        wall = functools.partial(
            hang, functools.partial(room, picture), functools.partial(printed, poster), 0.3, 0.08, 0.4, 0.1
        )
        yield (
            f"empty: {name} with a poster",
            functools.partial(compose, wall, [], lighting, j, (0.0, 0.0, 0.25, 0.6)),
            0,
            "empty room, poster without a face",
            (),
        )


def _cut_at_edge(p: Person, face_width: float, side: int, cut: float) -> float:
    """The face centre's x that puts `cut` of the face box outside the frame on `side` (+1 right,
    -1 left), moved back in as far as needed to keep both eyes at least 2% inside."""
    x = 1 + (cut - 0.5) * face_width if side > 0 else -(cut - 0.5) * face_width
    low, high = eyes_at(p, face_width, (x, 0.5))
    if side > 0 and high > 0.98:
        x -= high - 0.98
    if side < 0 and low < 0.02:
        x += 0.02 - low
    return x


def _photo_of(p: Person) -> np.ndarray:
    """A head-and-shoulders photo of the person (their crop, as a rectangle)."""
    rows, columns = p.rgb.shape[:2]
    top, left, bottom, right = p.face
    width = right - left
    x0, x1 = max(0.0, left - 0.6 * width), min(1.0, right + 0.6 * width)
    y0, y1 = max(0.0, top - 0.5 * (bottom - top)), min(1.0, bottom + 0.9 * (bottom - top))
    return np.ascontiguousarray(
        p.rgb[round(y0 * rows) : round(y1 * rows), round(x0 * columns) : round(x1 * columns)]
    )
