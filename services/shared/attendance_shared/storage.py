"""Photo storage: one interface, a local directory by default and S3 in production.

Keys follow the deployment guide's layout: student_photos/, classroom_photos/, temp/. Keys are made
by the code (ids and random names), never from a file name a user chose.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .settings import Settings

STUDENT_PREFIX = "student_photos"
CLASSROOM_PREFIX = "classroom_photos"
TEMP_PREFIX = "temp"
DIRECT_PREFIX = f"{TEMP_PREFIX}/direct"  # what browsers upload straight to the bucket, until the worker checks it
_KEY_RE = re.compile(r"^(student_photos|classroom_photos|temp)/[A-Za-z0-9_./-]+$")


class StorageError(RuntimeError):
    """The photo store failed; the message is safe to show (no credentials, no paths)."""


class PhotoMissing(StorageError):
    """The store answered: there is no photo under this key (as opposed to a store that did not answer)."""


@dataclass(frozen=True)
class StoredObject:
    """What the store says about an object without reading it: its size and the type it was stored with."""

    size: int
    content_type: str
    last_modified: float  # seconds since the epoch


class PhotoStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def head(self, key: str) -> StoredObject | None:
        """Size and type of the object, or None when there is none under this key."""
        ...

    def copy(self, source: str, target: str) -> None:
        """The object under another key too (PhotoMissing when there is no source)."""
        ...

    def move(self, source: str, target: str) -> None:
        """Put the object under another key (copy, then delete the source)."""
        ...

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


def direct_upload_prefix(teacher_id: int) -> str:
    """Where a teacher's browser may upload straight to the bucket (presigned POSTs are signed for keys here only)."""
    return f"{DIRECT_PREFIX}/{teacher_id}/"


def direct_upload_key(teacher_id: int) -> str:
    return f"{direct_upload_prefix(teacher_id)}{uuid.uuid4().hex}"


def is_direct_upload(key: str | None) -> bool:
    """A key the browser uploaded to and the worker has not checked and moved yet."""
    return bool(key) and str(key).startswith(f"{DIRECT_PREFIX}/")


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

    def head(self, key: str) -> StoredObject | None:
        try:
            stat = self._path(key).stat()
        except FileNotFoundError:
            return None
        return StoredObject(size=stat.st_size, content_type="application/octet-stream", last_modified=stat.st_mtime)

    def copy(self, source: str, target: str) -> None:
        self.put(target, self.get(source), "application/octet-stream")

    def move(self, source: str, target: str) -> None:
        path = self._path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(self._path(source), path)
        except FileNotFoundError:
            raise PhotoMissing(f"photo {source} is missing from storage") from None

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

    def head(self, key: str) -> StoredObject | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _S3_MISSING:
                return None
            raise StorageError(f"could not read photo {key} ({type(exc).__name__})") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not read photo {key} ({type(exc).__name__})") from exc
        return StoredObject(
            size=int(head["ContentLength"]),
            content_type=str(head.get("ContentType") or ""),
            last_modified=head["LastModified"].timestamp(),
        )

    def move(self, source: str, target: str) -> None:
        """Copy, then delete the source: S3 has no rename."""
        self.copy(source, target)
        self.delete(source)

    def copy(self, source: str, target: str) -> None:
        """Server side (the bytes never leave S3), encrypted like every object."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.copy_object(
                Bucket=self.bucket,
                Key=check_key(target),
                CopySource={"Bucket": self.bucket, "Key": check_key(source)},
                ServerSideEncryption="AES256",
                MetadataDirective="COPY",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _S3_MISSING:
                raise PhotoMissing(f"photo {source} is missing from storage") from exc
            raise StorageError(f"could not copy photo {source} ({type(exc).__name__})") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not copy photo {source} ({type(exc).__name__})") from exc

    def presigned_post(self, key: str, content_type: str, max_bytes: int, seconds: int) -> dict[str, Any]:
        """A form the browser POSTs one file with, straight to the bucket: this key only, this content type only,
        1 byte to `max_bytes`, encrypted, refused by S3 once `seconds` have passed. {"url": ..., "fields": {...}}."""
        fields = {"Content-Type": content_type, "x-amz-server-side-encryption": "AES256"}
        conditions: list[Any] = [
            {"Content-Type": content_type},
            {"x-amz-server-side-encryption": "AES256"},
            ["content-length-range", 1, max_bytes],
        ]
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            post: dict[str, Any] = self.client.generate_presigned_post(
                Bucket=self.bucket, Key=check_key(key), Fields=fields, Conditions=conditions, ExpiresIn=seconds
            )
        except (BotoCoreError, ClientError, AttributeError) as exc:  # botocore: AttributeError when no credentials
            raise StorageError(f"could not sign an upload ({type(exc).__name__})") from exc
        return post

    def url(self, key: str) -> str | None:
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": check_key(key)}, ExpiresIn=self.url_seconds
        )
        return url


def make_store(settings: Settings) -> PhotoStore:
    if settings.s3_bucket:
        return S3PhotoStore(settings)
    return LocalPhotoStore(settings.photo_dir)
