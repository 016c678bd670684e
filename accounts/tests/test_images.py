"""Uploaded identity images: what is refused, and what comes out of what is accepted."""

from __future__ import annotations

import io
import struct
import zlib
from functools import cache

import numpy as np
import pytest
from PIL import Image, PngImagePlugin
from skimage.data import astronaut

from accounts.images import MAX_BYTES, ImageRejected, normalize_image

ORIENTATION = 0x0112
GPS_IFD = 0x8825
RED, BLUE = (255, 0, 0), (0, 0, 255)


@cache
def face() -> Image.Image:
    """A real photograph of a face (512 x 512), as a student's webcam photo would be."""
    return Image.fromarray(astronaut())


def encode(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares `width` x `height` and holds no pixel data at all."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        checksum = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", checksum)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"")


def rejection(data: bytes) -> ImageRejected:
    with pytest.raises(ImageRejected) as excinfo:
        normalize_image(data)
    return excinfo.value


def mean_difference(first: Image.Image, second: Image.Image) -> float:
    return float(np.abs(np.asarray(first, float) - np.asarray(second, float)).mean())


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_jpeg_and_png_photos_come_out_as_rgb_jpeg_of_the_same_picture(image_format):
    result = normalize_image(encode(face(), image_format))

    output = decode(result.jpeg)
    assert output.format == "JPEG"
    assert output.mode == "RGB"
    assert output.size == (result.width, result.height) == (512, 512)
    assert mean_difference(output, face()) < 4  # quality 90 keeps the face, not a blank image


def test_a_png_with_transparency_is_composited_on_white():
    photo = face().convert("RGBA")
    alpha = Image.new("L", photo.size, 255)
    alpha.paste(0, (0, 0, 256, 512))  # the left half fully transparent
    photo.putalpha(alpha)

    output = decode(normalize_image(encode(photo, "PNG")).jpeg)

    pixels = np.asarray(output)
    # JPEG blurs a hard edge across its 8-pixel blocks; judge each half away from the seam.
    assert pixels[:, :248].min() >= 250
    assert mean_difference(Image.fromarray(pixels[:, 264:]), face().crop((264, 0, 512, 512))) < 4


def test_a_16_bit_greyscale_png_keeps_its_tones():
    grey = Image.fromarray(np.full((64, 64), 32768, dtype=np.uint16))
    assert grey.mode.startswith("I;16")

    output = decode(normalize_image(encode(grey, "PNG")).jpeg)

    assert all(abs(channel - 128) <= 2 for channel in output.getpixel((32, 32)))


@pytest.mark.parametrize("image_format", ["GIF", "BMP", "WEBP"])
def test_other_image_formats_are_unsupported_whatever_the_file_is_called(image_format):
    error = rejection(encode(face(), image_format))

    assert error.code == "unsupported-format"
    assert image_format in error.message
    assert "JPEG or PNG" in error.message


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"Dear proctor, please accept this text file as my ID card.\n",
        b"\xff\xd8\xff\xe0 a JPEG signature and nothing else",
    ],
    ids=["empty", "text", "jpeg-signature-only"],
)
def test_data_that_is_not_an_image_is_rejected(data):
    assert rejection(data).code == "not-an-image"


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_a_truncated_image_is_rejected_as_not_an_image(image_format):
    data = encode(face(), image_format)

    error = rejection(data[: len(data) // 2])

    assert error.code == "not-an-image"
    assert "incomplete" in error.message


def test_a_file_over_5_mb_is_rejected_before_anything_decodes_it(monkeypatch):
    # A valid JPEG with padding after its end marker: only its size is wrong.
    data = encode(face(), "JPEG").ljust(MAX_BYTES + 1, b"\0")

    def must_not_decode(*args, **kwargs):
        raise AssertionError("the image was opened before its size was checked")

    monkeypatch.setattr(Image, "open", must_not_decode)
    error = rejection(data)

    assert error.code == "too-large"
    assert error.message == "The file is 5.1 MB; the limit is 5 MB."


def test_a_file_of_exactly_5_mb_is_accepted():
    data = encode(face(), "JPEG").ljust(MAX_BYTES, b"\0")

    assert normalize_image(data).width == 512


def test_an_image_over_25_megapixels_is_rejected():
    blank_page = encode(Image.new("1", (6000, 5000), 1), "PNG")
    assert len(blank_page) < 100_000  # a single colour compresses to almost nothing

    error = rejection(blank_page)

    assert error.code == "too-many-pixels"
    assert "6000 x 5000" in error.message
    assert "25 megapixels" in error.message


def test_the_pixel_count_is_checked_from_the_header_before_any_pixel_is_decoded():
    # No pixel data at all: decoding first would have called this a truncated file.
    assert rejection(png_header_only(6000, 5000)).code == "too-many-pixels"


def test_pillows_own_decompression_bomb_guard_is_reported_as_too_many_pixels():
    assert Image.MAX_IMAGE_PIXELS is not None

    error = rejection(png_header_only(20_000, 20_000))

    assert error.code == "too-many-pixels"


def test_exif_orientation_is_applied_so_a_tagged_landscape_photo_comes_out_portrait():
    landscape = Image.new("RGB", (300, 200), BLUE)
    landscape.paste(RED, (0, 0, 150, 200))
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # "rotate 90 degrees clockwise to display", as phones write it

    result = normalize_image(encode(landscape, "JPEG", exif=exif))

    output = decode(result.jpeg)
    assert (result.width, result.height) == output.size == (200, 300)
    assert ORIENTATION not in output.getexif()
    # Turned clockwise, the left (red) half of the stored pixels is on top.
    assert _close(output.getpixel((100, 20)), RED)
    assert _close(output.getpixel((100, 280)), BLUE)


def test_exif_gps_xmp_and_comments_of_a_jpeg_do_not_survive():
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0132] = "2025:03:14 09:26:53"  # DateTime
    exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 29.81), 3: "E", 4: (2.0, 17.0, 40.2)}
    xmp = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>exif:GPSLatitude 48,51.4968N</x:xmpmeta>"
    upload = encode(face(), "JPEG", exif=exif, xmp=xmp, comment=b"home of A. Student")
    assert decode(upload).getexif().get_ifd(GPS_IFD)  # the upload does carry a position

    jpeg = normalize_image(upload).jpeg

    output = decode(jpeg)
    assert len(output.getexif()) == 0
    assert not output.getexif().get_ifd(GPS_IFD)
    assert not {"exif", "xmp", "comment", "icc_profile"} & output.info.keys()
    for leak in (b"Exif\0\0", b"PhoneMaker", b"2025:03:14", b"GPSLatitude", b"A. Student"):
        assert leak not in jpeg


def test_exif_and_text_chunks_of_a_png_do_not_survive():
    exif = Image.Exif()
    exif[GPS_IFD] = {1: "S", 2: (33.0, 51.0, 54.0), 3: "E", 4: (151.0, 12.0, 36.0)}
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "taken at 12 Example Street")
    upload = encode(face(), "PNG", exif=exif, pnginfo=text)
    assert decode(upload).getexif().get_ifd(GPS_IFD)

    jpeg = normalize_image(upload).jpeg

    assert len(decode(jpeg).getexif()) == 0
    assert b"Example Street" not in jpeg
    assert b"Exif\0\0" not in jpeg


def _close(pixel: tuple[int, ...], colour: tuple[int, int, int]) -> bool:
    return all(abs(value - expected) <= 10 for value, expected in zip(pixel, colour, strict=True))
