"""Direct uploads to S3 in tests: a fresh bucket on the moto S3-API server (with the CORS rule docs/deploy-aws.md
gives), the web app configured for it, and the browser's half done by hand (sign, POST to S3, register)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

CORS_RULE = {
    "AllowedOrigins": ["*"],
    "AllowedMethods": ["POST", "GET"],
    "AllowedHeaders": ["*"],
    "ExposeHeaders": ["ETag"],
    "MaxAgeSeconds": 3000,
}


@dataclass
class Bucket:
    client: Any
    name: str
    endpoint: str

    def keys(self, prefix: str = "") -> list[str]:
        listed = self.client.list_objects_v2(Bucket=self.name, Prefix=prefix)
        return sorted(o["Key"] for o in listed.get("Contents", []))


@pytest.fixture()
def s3_bucket(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bucket]:
    """A new bucket with CORS for browsers, and the environment that makes the app (and worker code) use it."""
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    name = f"direct-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    client.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": [CORS_RULE]})
    monkeypatch.setenv("S3_BUCKET", name)
    monkeypatch.setenv("S3_ENDPOINT_URL", s3_server)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    from attendance_shared.settings import get_settings

    get_settings.cache_clear()
    yield Bucket(client, name, s3_server)
    get_settings.cache_clear()


def announce(name: str, data: bytes, content_type: str = "image/jpeg") -> dict[str, Any]:
    return {"name": name, "type": content_type, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def post_to_s3(signed: dict[str, Any], data: bytes, *, content_type: str | None = None) -> requests.Response:
    """What direct.js does: the signed fields, then the file, as multipart to the bucket."""
    fields = dict(signed["fields"])
    if content_type is not None:
        fields["Content-Type"] = content_type
    return requests.post(signed["url"], data=fields, files={"file": ("photo", data)}, timeout=10)
