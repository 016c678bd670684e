"""Where uploads live in production: an S3 bucket through django-storages (settings.STORAGES).

Kept apart from settings.py so the tests point the same configuration at their own S3 server
(procto/tests/s3.py) instead of writing a second one. No Django import: settings.py loads it.

What this storage promises, and why:

- Every object is private (`ACL: private`): the bucket serves nothing to a request without a
  valid signature. A URL from `storage.url(name)` is signed (SigV4) and expires after
  `signed_url_seconds`, so a link that leaks (a log, a browser history) soon stops working.
- Procto itself hands such URLs to nobody: the media it stores are AES-GCM blobs
  (procto.encrypted_files) that only the server can decrypt, so they are streamed through views
  that check permission first; question images are streamed too (docs/ARCHITECTURE.md, "Media").
- Server-side encryption (`ServerSideEncryption`, SSE-S3 or SSE-KMS) protects the disks under
  the bucket. It is no substitute for encrypted_files, which protects the bytes from whoever can
  read the bucket (a leaked credential, a misconfigured policy): identity images, snapshots and
  room scans are encrypted by Procto before they leave the server, on S3 as on local disk.
- A name is never overwritten (`file_overwrite: False`): two uploads never replace each other.
"""

from __future__ import annotations

S3_BACKEND = "storages.backends.s3.S3Storage"


def s3_media_storage(
    *,
    bucket: str,
    region: str = "",
    endpoint_url: str = "",
    signed_url_seconds: int = 300,
    server_side_encryption: str = "AES256",
    kms_key_id: str = "",
) -> dict:
    """The STORAGES["default"] entry for media in `bucket`.

    `server_side_encryption` is the `x-amz-server-side-encryption` sent with every upload:
    "AES256" (SSE-S3), "aws:kms" (with `kms_key_id`, or the account's default KMS key), or ""
    to send none (some S3-compatible stores refuse the header). Credentials are not taken here:
    boto3 finds them (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, an instance or task role).
    """
    if not 1 <= signed_url_seconds <= 604800:
        # SigV4 refuses a longer expiry; a zero or negative one would mint dead links.
        raise ValueError(f"signed_url_seconds must be 1..604800 (7 days), not {signed_url_seconds}.")
    object_parameters = {}
    if server_side_encryption:
        object_parameters["ServerSideEncryption"] = server_side_encryption
        if kms_key_id:
            object_parameters["SSEKMSKeyId"] = kms_key_id
    return {
        "BACKEND": S3_BACKEND,
        "OPTIONS": {
            "bucket_name": bucket,
            "region_name": region or None,
            "endpoint_url": endpoint_url or None,
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": signed_url_seconds,
            # SigV4 explicitly: SigV2 URLs are deprecated, unsupported in newer regions, and
            # carry no signing date a server could check an expiry against.
            "signature_version": "s3v4",
            "object_parameters": object_parameters,
            "file_overwrite": False,
        },
    }
