"""Photo storage: the local backend, and S3 through boto3 against a real S3-API server on loopback."""

from __future__ import annotations

import urllib.request

import boto3
import pytest

from attendance_shared.settings import Settings
from attendance_shared.storage import (
    LocalPhotoStore,
    PhotoMissing,
    S3PhotoStore,
    StorageError,
    classroom_photo_key,
    student_photo_key,
)


def test_local_store_roundtrip_and_key_safety(tmp_path):
    store = LocalPhotoStore(tmp_path)
    key = student_photo_key(1, 2, ".jpg")
    store.put(key, b"data", "image/jpeg")
    assert store.exists(key) and store.get(key) == b"data"
    assert store.url(key) is None
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(PhotoMissing):  # a StorageError that says the store answered: the photo is gone
        store.get(key)
    for bad in ("../etc/passwd", "student_photos/../../x", "/abs/path", "other/x.jpg"):
        with pytest.raises(ValueError):
            store.put(bad, b"x", "image/jpeg")
    assert not list(tmp_path.rglob(".upload-*"))  # atomic writes leave no temp files


@pytest.fixture()
def s3_store(s3_server, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    bucket = "attendance-test-bucket"
    client.create_bucket(Bucket=bucket)
    settings = Settings(S3_BUCKET=bucket, S3_ENDPOINT_URL=s3_server, AWS_REGION="us-east-1", PRESIGNED_URL_SECONDS=120)
    return S3PhotoStore(settings), client, bucket


def test_s3_store_roundtrip_private_encrypted(s3_store):
    store, client, bucket = s3_store
    key = classroom_photo_key(7, 9, ".jpg")
    assert key.startswith("classroom_photos/")
    store.put(key, b"jpeg-bytes", "image/jpeg")
    assert store.exists(key) and store.get(key) == b"jpeg-bytes"
    head = client.head_object(Bucket=bucket, Key=key)
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "image/jpeg"
    url = store.url(key)
    assert url and "X-Amz-Expires=120" in url and "X-Amz-Signature" in url
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.read() == b"jpeg-bytes"
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(PhotoMissing):
        store.get(key)


def test_s3_store_unreachable_is_a_storage_error(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    store = S3PhotoStore(Settings(S3_BUCKET="b", S3_ENDPOINT_URL="http://127.0.0.1:1"))
    with pytest.raises(StorageError) as info:
        store.put("temp/x.jpg", b"x", "image/jpeg")
    assert "testing" not in str(info.value)  # no credentials in messages
    with pytest.raises(StorageError) as info:
        store.get("temp/x.jpg")
    assert not isinstance(info.value, PhotoMissing)  # a store that does not answer has not lost the photo
