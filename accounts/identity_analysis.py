"""The CPU-heavy half of an identity check: check and re-encode the uploads, take each face's embedding.

This runs in the processes of `accounts.identity_pool`, never in the web process, so it imports
nothing of Django: plain bytes in, plain data out. Refusals come back as a `Refused` value rather
than an exception, because the detectors' and Pillow's exception classes do not survive pickling
between processes with their fields intact.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

import numpy as np

from accounts.images import ImageRejected, normalize_image
from proctoring.detectors import identity as faces

# Photos are checked in this order, so that the same bad upload is always the one named.
KINDS = ("photo", "id_card", "live_capture")
# A busy machine serves the exams in progress first: a student at the identity check waits a
# little longer, everyone else's autosaves and pages do not.
WORKER_NICENESS = 10


@dataclass(frozen=True)
class Analysed:
    jpeg: bytes  # the re-encoded upload (or the stored image as it was)
    embedding: np.ndarray


@dataclass(frozen=True)
class Refused:
    kind: str  # which image: photo, id_card or live_capture
    stage: Literal["image", "face"]  # not a usable image file, or no usable face in it
    code: str  # accounts.images' or the face detector's code, e.g. "too-large", "no-face"
    message: str


def worker_start() -> None:
    """The pool's initializer: lower this process's priority and load the models once."""
    from threadpoolctl import threadpool_limits

    os.nice(WORKER_NICENESS)
    faces.warm_up()
    # The face network runs on numpy's OpenBLAS (proctoring/detectors/face_descriptor.py): a thread
    # per core in every pool process would only compete with the exams in progress for the cores.
    threadpool_limits(limits=1, user_api="blas")


def images_analyse(uploads: dict[str, bytes], stored: dict[str, bytes]) -> dict[str, Analysed] | Refused:
    """Re-encode each upload (accounts.images), then take every image's one-face embedding.

    `uploads` are what the user just sent, `stored` the JPEGs on file, already re-encoded. Every
    upload is checked before any face is looked for, so an unreadable file is refused before
    seconds go into the faces of the others.
    """
    jpegs = dict(stored)
    for kind in sorted(uploads, key=KINDS.index):
        try:
            jpegs[kind] = normalize_image(uploads[kind]).jpeg
        except ImageRejected as exc:
            return Refused(kind=kind, stage="image", code=exc.code, message=exc.message)
    analysed = {}
    for kind in sorted(jpegs, key=KINDS.index):
        try:
            embedding = faces.face_embedding(faces.decode_image(jpegs[kind]))
        except faces.FaceImageError as exc:
            return Refused(kind=kind, stage="face", code=exc.code, message=exc.message)
        analysed[kind] = Analysed(jpeg=jpegs[kind], embedding=embedding)
    return analysed
