"""Photo storage: one interface, a local directory by default and S3 in production.

Keys follow the deployment guide's layout: student_photos/, classroom_photos/, temp/. Keys are made
by the code (ids and random names), never from a file name a user chose.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from pathlib import Path
from typing import Protocol

from .settings import Settings

STUDENT_PREFIX = "student_photos"
CLASSROOM_PREFIX = "classroom_photos"
TEMP_PREFIX = "temp"
_KEY_RE = re.compile(r"^(student_photos|classroom_photos|temp)/[A-Za-z0-9_./-]+$")


class StorageError(RuntimeError):
    """The photo store failed; the message is safe to show (no credentials, no paths)."""


class PhotoMissing(StorageError):
    """The store answered: there is no photo under this key (as opposed to a store that did not answer)."""


class PhotoStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def url(self, key: str) -> str | None:
        """A short-lived URL the browser can fetch directly, or None when the web must serve it."""
        ...


def check_key(key: str) -> str:
    if not _KEY_RE.match(key) or ".." in key.split("/"):
        raise ValueError(f"invalid storage key {key!r}")
    return key


def student_photo_key(teacher_id: int, student_id: int, extension: str) -> str:
    return f"{STUDENT_PREFIX}/{teacher_id}/{student_id}/{uuid.uuid4().hex}{extension}"


def classroom_photo_key(teacher_id: int, session_id: int, extension: str) -> str:
    return f"{CLASSROOM_PREFIX}/{teacher_id}/{session_id}/{uuid.uuid4().hex}{extension}"


def annotated_key(photo_key: str) -> str:
    stem = photo_key.rsplit(".", 1)[0]
    return f"{stem}.annotated.jpg"


class LocalPhotoStore:
    """Files under one directory; writes are atomic (temp file + rename) so a crash leaves no half photo."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise PhotoMissing(f"photo {key} is missing from storage") from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def url(self, key: str) -> str | None:
        return None


#: the error codes of a GET for a key that is not there (404 with s3:ListBucket, which the deployment guide grants)
_S3_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


class S3PhotoStore:
    """Private objects with server-side encryption; the browser gets presigned GETs that expire in minutes."""

    def __init__(self, settings: Settings) -> None:
        import boto3
        from botocore.config import Config

        if not settings.s3_bucket:
            raise StorageError("S3_BUCKET is not set")
        self.bucket = settings.s3_bucket
        self.url_seconds = settings.presigned_url_seconds
        self.client = boto3.client(
            "s3",
            region_name=settings.aws_region,
            endpoint_url=settings.s3_endpoint_url,
            aws_access_key_id=settings.aws_access_key_id,
            aws_secret_access_key=(
                settings.aws_secret_access_key.get_secret_value() if settings.aws_secret_access_key else None
            ),
            config=Config(
                retries={"max_attempts": settings.s3_max_attempts, "mode": "standard"},
                connect_timeout=settings.s3_connect_timeout,
                read_timeout=settings.s3_read_timeout,
                signature_version="s3v4",
            ),
        )

    def put(self, key: str, data: bytes, content_type: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=check_key(key),
                Body=data,
                ContentType=content_type,
                ServerSideEncryption="AES256",
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"could not store the photo ({type(exc).__name__})") from exc

    def get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=check_key(key))["Body"]
            data: bytes = body.read()
            return data
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _S3_MISSING:
                raise PhotoMissing(f"photo {key} is missing from storage") from exc
            raise StorageError(f"could not read photo {key} ({type(exc).__name__})") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not read photo {key} ({type(exc).__name__})") from exc

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=check_key(key))
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"could not delete photo {key} ({type(exc).__name__})") from exc

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError:
            return False
        return True

    def url(self, key: str) -> str | None:
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": check_key(key)}, ExpiresIn=self.url_seconds
        )
        return url


def make_store(settings: Settings) -> PhotoStore:
    if settings.s3_bucket:
        return S3PhotoStore(settings)
    return LocalPhotoStore(settings.photo_dir)
