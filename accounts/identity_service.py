"""Identity verification: a face photo against an ID card (and a live capture), by embedding.

Images are validated and re-encoded (accounts.images), stored encrypted (procto.encrypted_files),
and compared with dlib's face embedding (proctoring.detectors.identity). The decoding and the
embeddings run in accounts.identity_pool's processes, never in the web process. A match verifies
the student at once; a mismatch waits for a teacher or admin to decide in the admin.
"""

from __future__ import annotations

import logging

import numpy as np
from django.db import transaction
from django.utils import timezone

from accounts.errors import VerificationFailed
from accounts.identity_analysis import Analysed, Refused, images_analyse
from accounts.identity_pool import identity_pool_run
from accounts.images import MAX_BYTES, too_large_message
from accounts.models import IdentityVerification, User
from procto import crypto
from procto.encrypted_files import read_encrypted, store_encrypted
from proctoring.detectors import identity as faces

logger = logging.getLogger(__name__)

FIELDS = {"photo": "photo", "id_card": "idCard", "live_capture": "liveCapture"}
LABELS = {"photo": "Face photo", "id_card": "ID card", "live_capture": "Webcam capture"}
FOLDERS = {
    "photo": "identity/photos",
    "id_card": "identity/id-cards",
    "live_capture": "identity/live",
}


def identity_upload_size_check(kind: str, size: int) -> None:
    """An upload over MAX_BYTES is 413 TOO_LARGE naming the field, as a whole body over the view's
    limit is (procto.body_limit), and as normalising it would say, before any of it is read."""
    if size > MAX_BYTES:
        raise VerificationFailed(
            f"{LABELS[kind]}: {too_large_message(size)}",
            code="TOO_LARGE",
            status=413,
            details={"field": FIELDS[kind]},
        )


def identity_images_analyse(
    *, uploads: dict[str, bytes], stored: dict[str, bytes] | None = None
) -> dict[str, Analysed]:
    """Each image re-encoded (uploads) and its one face's embedding, by kind, from the pool.

    Raises VerificationFailed naming the field: 413 TOO_LARGE or 400 for a file that is not a
    usable image, 422 (NO_FACE, MULTIPLE_FACES, TOO_DARK, UNREADABLE) for no usable face; or
    IdentityBusy (503) when the pool is full.
    """
    result = identity_pool_run(images_analyse, uploads, stored or {})
    if isinstance(result, Refused):
        # A face problem is the photo's content (422); anything else is the file itself.
        status = 422 if result.stage == "face" else 413 if result.code == "too-large" else 400
        raise VerificationFailed(
            f"{LABELS[result.kind]}: {result.message}",
            code=result.code.upper().replace("-", "_"),
            status=status,
            details={"field": FIELDS[result.kind]},
        )
    return result


def embedding_encrypt(embedding: np.ndarray) -> bytes:
    return crypto.encrypt(np.asarray(embedding, dtype="<f8").tobytes(), aad=b"face-embedding")


def embedding_decrypt(blob: bytes) -> np.ndarray:
    return np.frombuffer(crypto.decrypt(bytes(blob), aad=b"face-embedding"), dtype="<f8")


def identity_verify(
    *,
    user: User,
    photo: bytes | None = None,
    id_card: bytes | None = None,
    live_capture: bytes | None = None,
) -> IdentityVerification:
    """Compare the face photo with the ID card (and the live capture, if given); store the result.

    A photo or ID card not given is taken from the user's earlier upload. Raises
    VerificationFailed (nothing stored) for a missing, unreadable or faceless image. Side
    effects: new images are stored encrypted; the user's photo, ID card, is_verified and
    face embedding are updated.
    """
    user = User.objects.get(pk=user.pk)  # the images on file now, not those of a stale instance
    given = {"photo": photo, "id_card": id_card, "live_capture": live_capture}
    uploads = {kind: data for kind, data in given.items() if data is not None}
    stored = {}
    for kind in ("photo", "id_card"):
        if kind not in uploads:
            name = getattr(user, kind)
            if not name:
                raise VerificationFailed(
                    f"Upload your {LABELS[kind].lower()} first.",
                    code=f"{kind.upper()}_REQUIRED",
                    status=400,
                    details={"field": FIELDS[kind]},
                )
            stored[kind] = read_encrypted(name)

    analysed = identity_images_analyse(uploads=uploads, stored=stored)
    jpegs = {kind: image.jpeg for kind, image in analysed.items()}
    embeddings = {kind: image.embedding for kind, image in analysed.items()}
    photo_vs_id = faces.compare_embeddings(embeddings["photo"], embeddings["id_card"])
    photo_vs_live = (
        faces.compare_embeddings(embeddings["photo"], embeddings["live_capture"])
        if "live_capture" in embeddings
        else None
    )
    match = photo_vs_id.match and (photo_vs_live is None or photo_vs_live.match)

    names = {
        kind: store_encrypted(jpegs[kind], folder=FOLDERS[kind]) for kind in given if given[kind] is not None
    }
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        user.photo = names.get("photo", user.photo)
        user.id_card = names.get("id_card", user.id_card)
        user.is_verified = match
        user.verified_at = timezone.now() if match else None
        user.face_embedding = embedding_encrypt(embeddings["photo"]) if match else None
        user.save(update_fields=["photo", "id_card", "is_verified", "verified_at", "face_embedding"])
        verification = IdentityVerification.objects.create(
            user=user,
            photo=user.photo,
            id_card=user.id_card,
            live_capture=names.get("live_capture", ""),
            photo_id_distance=photo_vs_id.distance,
            photo_live_distance=photo_vs_live.distance if photo_vs_live else None,
            threshold=photo_vs_id.threshold,
            outcome=IdentityVerification.Outcome.MATCH if match else IdentityVerification.Outcome.MISMATCH,
            review=IdentityVerification.Review.AUTOMATIC if match else IdentityVerification.Review.PENDING,
        )
    logger.info(
        "identity verification %s for user %s: %s (distance %.3f)",
        verification.pk,
        user.pk,
        verification.outcome,
        photo_vs_id.distance,
    )
    return verification


def verification_review(
    *, verification: IdentityVerification, reviewer: User, approve: bool, reason: str = ""
) -> IdentityVerification:
    """A teacher's or admin's decision overrides the automatic one, for that verification's user.

    An approval stores the embedding of the verification's photo, taken (in the pool) before the
    rows are locked.
    """
    embedding = None
    if approve:
        photo = read_encrypted(verification.photo)
        embedding = identity_images_analyse(uploads={}, stored={"photo": photo})["photo"].embedding
    return _verification_review_record(
        verification=verification, reviewer=reviewer, approve=approve, reason=reason, embedding=embedding
    )


@transaction.atomic
def _verification_review_record(
    *,
    verification: IdentityVerification,
    reviewer: User,
    approve: bool,
    reason: str,
    embedding: np.ndarray | None,
) -> IdentityVerification:
    verification = IdentityVerification.objects.select_for_update().get(pk=verification.pk)
    user = User.objects.select_for_update().get(pk=verification.user_id)
    verification.review = (
        IdentityVerification.Review.APPROVED if approve else IdentityVerification.Review.REJECTED
    )
    verification.reviewed_by = reviewer
    verification.reviewed_at = timezone.now()
    verification.review_reason = reason[:300]
    verification.save(update_fields=["review", "reviewed_by", "reviewed_at", "review_reason"])
    user.is_verified = approve
    user.verified_at = verification.reviewed_at if approve else None
    user.face_embedding = embedding_encrypt(embedding) if embedding is not None else None
    user.save(update_fields=["is_verified", "verified_at", "face_embedding"])
    return verification
