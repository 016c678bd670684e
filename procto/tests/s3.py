"""Media storage in tests, on local disk or on a real S3 API server on loopback.

Loaded as a pytest plugin from the root conftest. Fixtures:

- `storage_backend`: parametrized over "local" and "s3"; a test that takes it runs once on each.
  It yields a `StoredMedia`: the default storage is switched to a fresh MEDIA_ROOT or a fresh
  bucket, and the object gives what a test needs to look *under* Django at what is stored
  (`stored_bytes`, `names`, `exists`) and, for S3, at how the bucket answers HTTP
  (`anonymous_get`, `signed_url`, `head`). Example, for a purge of old media::

      def test_purge_deletes_old_snapshots(storage_backend, old_event):
          name = old_event.snapshot
          assert storage_backend.exists(name)
          media_purge(now=...)
          assert not storage_backend.exists(name)
          assert storage_backend.names() == []

- `@ON_S3_ONLY` (`storage_backend` on "s3" alone): for a test about S3 whose fixtures take
  `storage_backend` (so they build their data in whichever storage the test runs on).
- `local_storage` / `s3_storage`: one of the two, for tests and fixtures about only one.
- `s3_server` (session): the server itself. Processes a test starts (a Celery worker, daphne)
  reach the same storage with `storage_backend.child_env()` in their environment.

The server is moto's S3 in server mode (its werkzeug app on 127.0.0.1, the way moto's
ThreadedMotoServer runs it), reached over real HTTP by boto3 and django-storages; nothing in
boto3 or django-storages is patched, and moto's in-process mock (`mock_aws`) is never started
(test_s3_storage.py counts the requests the server receives).

moto (5.2.6) answers an anonymous GET of a private object with 403, but takes any URL
containing "Signature=" as signed without checking the signature or the expiry
(moto/s3/responses.py, `_key_response`). Real S3 refuses both, so the server puts
`PresignedUrlCheck` in front of moto: it recomputes the SigV4 query signature with botocore's
own signer and refuses a URL past X-Amz-Date + X-Amz-Expires, on the clock of this process
(time-machine moves it; procto/tests/test_s3_storage.py also checks it on the real clock).
"""

from __future__ import annotations

import functools
import hmac
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape

import pytest

from procto.media_storage import s3_media_storage

REGION = "eu-central-1"
ACCESS_KEY = "PROCTOTESTACCESSKEY"
SECRET_KEY = "procto-test-secret-key-for-the-loopback-s3"
# AWS's limits for query-string (presigned) authentication.
MAX_EXPIRES = 604800
CLOCK_SKEW = timedelta(minutes=15)


ON_S3_ONLY = pytest.mark.parametrize("storage_backend", ["s3"], indirect=True)


# --- the server ----------------------------------------------------------------------------------


class PresignedUrlCheck:
    """WSGI middleware refusing presigned requests as S3 does: bad signature, expired, unknown key.

    Requests without a query signature (boto3's header-signed calls, anonymous GETs) go to moto
    untouched. `enforce = False` lets everything through, to show what moto alone does.
    """

    def __init__(self, app: Callable, secrets: dict[str, str]):
        self.app = app
        self.secrets = secrets
        self.enforce = True
        self.requests = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        with self._lock:
            self.requests += 1
        query = environ.get("QUERY_STRING", "")
        if self.enforce and "Signature=" in query:
            refusal = presigned_refusal(environ, self.secrets, now=datetime.now(UTC))
            if refusal is not None:
                return _s3_error(start_response, *refusal)
        return self.app(environ, start_response)


def presigned_refusal(environ: dict, secrets: dict[str, str], *, now: datetime) -> tuple[str, str] | None:
    """Why S3 would refuse this query-signed request, as (error code, message); None if valid."""
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    raw_query = environ.get("QUERY_STRING", "")
    pairs = [pair.partition("=") for pair in raw_query.split("&") if pair]
    params = {unquote(key): unquote(value) for key, _, value in pairs}
    if "X-Amz-Signature" not in params:
        # SigV2 (Signature=&Expires=&AWSAccessKeyId=): procto.media_storage asks for SigV4.
        return "InvalidRequest", "The authorization mechanism you have provided is not supported."
    try:
        algorithm = params["X-Amz-Algorithm"]
        access_key, day, region, service, terminal = params["X-Amz-Credential"].split("/")
        signed_at = datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        expires = int(params["X-Amz-Expires"])
        signed_headers = params["X-Amz-SignedHeaders"].split(";")
    except (KeyError, ValueError):
        return "AuthorizationQueryParametersError", "Query-string authentication version 4 is malformed."
    if algorithm != "AWS4-HMAC-SHA256" or terminal != "aws4_request" or day != params["X-Amz-Date"][:8]:
        return "AuthorizationQueryParametersError", "Query-string authentication version 4 is malformed."
    if not 1 <= expires <= MAX_EXPIRES:
        return "AuthorizationQueryParametersError", "X-Amz-Expires must be 1..604800 seconds."
    if access_key not in secrets:
        return "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
    if now < signed_at - CLOCK_SKEW:
        return "AccessDenied", "Request is not valid yet"
    if now > signed_at + timedelta(seconds=expires):
        return "AccessDenied", "Request has expired"

    # The canonical request is built from the URL as sent: the raw path and the raw query less
    # the signature, which is what the signer signed.
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or quote(environ.get("PATH_INFO", "/"))
    path = raw_uri.split("?", 1)[0]
    unsigned_query = "&".join(p for p in raw_query.split("&") if not p.startswith("X-Amz-Signature="))
    host = environ.get("HTTP_HOST", "")
    headers = {}
    for name in signed_headers:
        value = host if name == "host" else environ.get("HTTP_" + name.upper().replace("-", "_"))
        if value is None:
            return "SignatureDoesNotMatch", f"The signed header {name} is missing."
        headers[name] = value
    request = AWSRequest(
        method=environ["REQUEST_METHOD"], url=f"http://{host}{path}?{unsigned_query}", headers=headers
    )
    request.context["timestamp"] = params["X-Amz-Date"]
    signer = S3SigV4QueryAuth(Credentials(access_key, secrets[access_key]), service, region, expires)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, params["X-Amz-Signature"]):
        return (
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    return None


def _s3_error(start_response: Callable, code: str, message: str) -> list[bytes]:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
    ).encode()
    start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [body]


class S3Server:
    """moto's S3 behind PresignedUrlCheck, served on a free port of 127.0.0.1 by a thread."""

    region = REGION
    access_key = ACCESS_KEY
    secret_key = SECRET_KEY

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        self.check = PresignedUrlCheck(
            DomainDispatcherApplication(create_backend_app), {ACCESS_KEY: SECRET_KEY}
        )
        self._server = make_server(
            "127.0.0.1", 0, self.check, threaded=True, request_handler=_quiet(MotoRequestHandler)
        )
        self.endpoint_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="s3-test-server", daemon=True)
        self._thread.start()

    @functools.cached_property
    def _client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )

    def client(self):
        """A boto3 S3 client with the server's credentials (the one an operator would hold)."""
        # One for the run: a client takes a good part of a second to build.
        return self._client

    def bucket_create(self) -> str:
        bucket = f"procto-test-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": self.region}
        )
        return bucket

    def bucket_delete(self, bucket: str) -> None:
        client = self.client()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for entry in page.get("Contents", ()):
                client.delete_object(Bucket=bucket, Key=entry["Key"])
        client.delete_bucket(Bucket=bucket)

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)


def _quiet(base: type) -> type:
    # One log line per request on stderr would drown a failing test's output.
    return type("QuietMotoRequestHandler", (base,), {"log_request": lambda self, *args, **kwargs: None})


# --- what a test sees ----------------------------------------------------------------------------


@dataclass
class StoredMedia:
    """The default storage a test runs on, and a way to look at it from outside Django."""

    kind: str  # "local" or "s3"
    media_root: Path | None = None
    server: S3Server | None = None
    bucket: str = ""
    signed_url_seconds: int = 300

    def stored_bytes(self, name: str) -> bytes:
        """The bytes at rest under `name`: the file on disk, or the object in the bucket."""
        if self.kind == "local":
            return (self.media_root / name).read_bytes()
        return self.server.client().get_object(Bucket=self.bucket, Key=name)["Body"].read()

    def exists(self, name: str) -> bool:
        if self.kind == "local":
            return (self.media_root / name).is_file()
        return name in self.names()

    def names(self) -> list[str]:
        """Every stored name, sorted: what a purge must leave empty."""
        if self.kind == "local":
            return sorted(
                path.relative_to(self.media_root).as_posix()
                for path in self.media_root.rglob("*")
                if path.is_file()
            )
        pages = self.server.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return sorted(entry["Key"] for page in pages for entry in page.get("Contents", ()))

    # S3 only: how the bucket answers HTTP.

    def plain_url(self, name: str) -> str:
        """The object's address without a signature (path style, as boto3 uses for loopback)."""
        return f"{self.server.endpoint_url}/{self.bucket}/{quote(name)}"

    def anonymous_get(self, name: str) -> tuple[int, bytes]:
        return http_get(self.plain_url(name))

    def signed_url(self, name: str) -> str:
        """The URL the storage mints for `name` (django-storages' url(), signed, expiring)."""
        from django.core.files.storage import default_storage

        return default_storage.url(name)

    def head(self, name: str) -> dict:
        """The object's metadata as S3 returns it (ContentType, ServerSideEncryption, ...)."""
        return self.server.client().head_object(Bucket=self.bucket, Key=name)

    # Assertions a test of any kind of media makes.

    def assert_encrypted_at_rest(self, name: str, plaintext: bytes) -> None:
        """What Procto encrypts is ciphertext in the storage: on disk as in the bucket."""
        from procto.crypto import MAGIC

        at_rest = self.stored_bytes(name)
        assert at_rest.startswith(MAGIC), f"{name} is not a Procto encrypted blob in {self.kind} storage"
        assert plaintext not in at_rest and plaintext[:64] not in at_rest

    def assert_private(self, name: str, client) -> None:
        """Nobody reads `name` without Procto's permission check: no route serves MEDIA_URL
        locally (the Django `client` gets 404), and the bucket refuses an unsigned GET (403)."""
        from django.conf import settings

        if self.kind == "local":
            assert client.get(f"/{settings.MEDIA_URL}{name}").status_code == 404
        else:
            status, body = self.anonymous_get(name)
            assert status == 403, f"an anonymous GET of {name} got {status}"
            assert self.stored_bytes(name) not in body

    def assert_signed_url_expires(self, name: str) -> None:
        """S3: the URL the storage signs fetches the object's bytes until its lifetime ends, then 403."""
        import time_machine

        assert self.kind == "s3", "signed URLs are S3's"
        with time_machine.travel(datetime.now(UTC), tick=False) as clock:
            url = self.signed_url(name)
            clock.shift(self.signed_url_seconds - 1)
            assert http_get(url) == (200, self.stored_bytes(name))
            clock.shift(2)
            status, body = http_get(url)
            assert (status, b"Request has expired" in body) == (403, True)

    def child_env(self) -> dict[str, str]:
        """Variables that give a process started by the test (worker, daphne) this storage."""
        if self.kind == "local":
            return {"MEDIA_ROOT": str(self.media_root), "AWS_STORAGE_BUCKET_NAME": ""}
        return {
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
            "AWS_S3_ENDPOINT_URL": self.server.endpoint_url,
            "AWS_S3_REGION_NAME": self.server.region,
            "AWS_QUERYSTRING_EXPIRE": str(self.signed_url_seconds),
            "AWS_ACCESS_KEY_ID": self.server.access_key,
            "AWS_SECRET_ACCESS_KEY": self.server.secret_key,
        }


def http_get(url: str) -> tuple[int, bytes]:
    """(status, body) of a plain GET, as a browser or curl would send it: no AWS credentials."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback only)
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server = S3Server()
    yield server
    server.stop()


@pytest.fixture
def s3_storage(s3_server, settings) -> Iterator[StoredMedia]:
    """The default storage on a fresh bucket of the loopback S3 server, configured as production
    is (procto.media_storage), with the operator's credentials."""
    bucket = s3_server.bucket_create()
    storage = s3_media_storage(bucket=bucket, region=s3_server.region, endpoint_url=s3_server.endpoint_url)
    storage["OPTIONS"] |= {"access_key": s3_server.access_key, "secret_key": s3_server.secret_key}
    settings.STORAGES = {**settings.STORAGES, "default": storage}
    yield StoredMedia(
        kind="s3",
        server=s3_server,
        bucket=bucket,
        signed_url_seconds=storage["OPTIONS"]["querystring_expire"],
    )
    s3_server.bucket_delete(bucket)


@pytest.fixture
def local_storage(settings, tmp_path) -> StoredMedia:
    """The default storage on local disk, in a fresh MEDIA_ROOT."""
    media_root = tmp_path / "media"
    media_root.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    settings.MEDIA_ROOT = media_root
    return StoredMedia(kind="local", media_root=media_root)


@pytest.fixture(params=["local", "s3"])
def storage_backend(request) -> StoredMedia:
    """Runs the test on local disk and on S3 (see the module's docstring)."""
    return request.getfixturevalue(f"{request.param}_storage")
