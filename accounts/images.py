"""Validation and re-encoding of uploaded identity images (face photo, ID card).

Only JPEG and PNG are accepted, judged by what Pillow decodes rather than by the file name or the
declared content type, which the client controls. What leaves here is always a fresh baseline
JPEG holding only pixels: no EXIF (so no GPS position, camera serial or capture time), no XMP,
no comment, no ICC profile.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 5 * 1024 * 1024
# What a multipart request carrying identity images may weigh in all: the images at MAX_BYTES
# each and a megabyte for the framing and the other fields (procto.body_limit refuses more).
REQUEST_BYTES_BEYOND_IMAGES = 1024 * 1024
MAX_PIXELS = 25_000_000
JPEG_QUALITY = 90
# Pillow opens a multi-picture JPEG (common from phone cameras) as "MPO"; its first frame is an
# ordinary JPEG image.
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG"}
# What Pillow raises on malformed data, in the header or the pixels: a truncated stream is an
# OSError, a broken PNG chunk a SyntaxError, a bad length or index a ValueError or IndexError.
DECODING_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError)


class ImageRejected(ValueError):
    """An upload we refuse: a stable `code` for the client and a `message` for the person."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class NormalizedImage:
    jpeg: bytes
    width: int
    height: int


def normalize_image(data: bytes) -> NormalizedImage:
    """Check an uploaded image and return it re-encoded as an upright RGB JPEG without metadata.

    Raises ImageRejected with code "too-large" (over MAX_BYTES), "not-an-image" (not decodable,
    truncated), "unsupported-format" (an image, but neither JPEG nor PNG) or "too-many-pixels"
    (over MAX_PIXELS). Each limit is checked before the work it protects: the byte size before
    any parsing, the pixel count from the header before any pixel is decoded.
    """
    if len(data) > MAX_BYTES:
        raise ImageRejected("too-large", too_large_message(len(data)))
    try:
        # Reads the header only. Pillow's own bomb check (MAX_IMAGE_PIXELS, left at its default)
        # still runs here and refuses absurd sizes before we even see them.
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels() from exc
    except UnidentifiedImageError as exc:
        raise ImageRejected("not-an-image", "The file is not an image we can read.") from exc
    except DECODING_ERRORS as exc:
        raise _damaged() from exc

    if image.format not in ACCEPTED_FORMATS:
        raise ImageRejected(
            "unsupported-format",
            f"{image.format} images are not accepted; please upload a JPEG or PNG photo.",
        )
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise _too_many_pixels(width, height)
    try:
        # Decoding every pixel now is what catches a truncated or corrupt file.
        image.load()
        upright = ImageOps.exif_transpose(image)
    except DECODING_ERRORS as exc:
        raise _damaged() from exc

    pixels = _pixels_only(upright)
    output = io.BytesIO()
    pixels.save(output, "JPEG", quality=JPEG_QUALITY)
    return NormalizedImage(jpeg=output.getvalue(), width=pixels.width, height=pixels.height)


def upload_request_bytes(images: int) -> int:
    """The largest request body that carries `images` identity images (6 MB for one)."""
    return images * MAX_BYTES + REQUEST_BYTES_BEYOND_IMAGES


def too_large_message(nbytes: int) -> str:
    return f"The file is {_megabytes(nbytes)} MB; the limit is {MAX_BYTES // 1024**2} MB."


def _pixels_only(image: Image.Image) -> Image.Image:
    """An RGB copy of `image` on white, carrying nothing but its pixels.

    Pillow copies `info` (JPEG comment, XMP, ICC profile...) through conversions and writes some
    of it back on save, so the result is a new image the pixels are pasted into.
    """
    if image.mode.startswith("I"):
        # 16-bit greyscale PNG: converting straight to RGB clips every value above 255 to white.
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    clean = Image.new("RGB", image.size, "white")
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        clean.paste(rgba, mask=rgba.getchannel("A"))
    else:
        clean.paste(image.convert("RGB"))
    return clean


def _damaged() -> ImageRejected:
    return ImageRejected("not-an-image", "The image is damaged or incomplete; please upload it again.")


def _too_many_pixels(width: int | None = None, height: int | None = None) -> ImageRejected:
    limit = f"the limit is {MAX_PIXELS // 1_000_000} megapixels"
    if width is None or height is None:
        return ImageRejected("too-many-pixels", f"The image has far too many pixels; {limit}.")
    megapixels = width * height / 1_000_000
    return ImageRejected(
        "too-many-pixels",
        f"The image is {width} x {height} pixels ({megapixels:.1f} megapixels); {limit}.",
    )


def _megabytes(nbytes: int) -> str:
    # Rounded up, so a file just over the limit never reads as "5.0 MB; the limit is 5 MB".
    return f"{math.ceil(nbytes / 1024**2 * 10) / 10:.1f}"
