"""Photos uploaded straight from the browser to S3: the web signs, then registers; it never carries the bytes.

With S3 configured (and DIRECT_UPLOADS on), the classroom-photo and portrait forms work in three steps:

1. **sign** — the browser announces each chosen file (name, type, size, SHA-256). A file whose type or size would be
   refused anyway is refused here, with the same sentence as a posted one. Each other file gets a presigned POST
   (attendance_shared.storage: a key under `temp/direct/<teacher>/`, that content type only, 1 byte to the limit,
   valid DIRECT_UPLOAD_SECONDS) and a *ticket*: the key, name, type, size and hash, signed with SECRET_KEY.
2. the browser POSTs each file to S3 itself (static/direct.js).
3. **register** — the browser sends the tickets back. Each is checked (this teacher's, not too old) and its object
   looked at (HEAD: there, the announced size, the announced type); what fails is deleted and refused in words.
   The rest become rows and jobs through the usual UnitOfWork, whose rollback deletes the objects too.

The worker then checks each object by content, exactly as for a posted photo, and moves it under its final prefix
(attendance_worker.direct_uploads). Without S3 (the embedded default) none of this is used: forms post to the web.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, jsonify
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from attendance_shared.images import incomplete, never_arrived, unreadable
from attendance_shared.storage import (
    S3PhotoStore,
    StorageError,
    StoredObject,
    direct_upload_key,
    direct_upload_prefix,
    is_direct_upload,
)

from . import errors
from .extensions import settings, store
from .responses import json_error

#: the types a browser may announce (and S3 will then insist on); HEIC is often announced as HEIF, or not at all
DECLARED_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/heic": ".heic"}
_BY_EXTENSION = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}
_BY_EXTENSION |= {".heic": "image/heic", ".heif": "image/heic"}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: a ticket is honoured this long after its policy has expired: a large photo on a slow connection that S3 let
#: start in time may take minutes to arrive
REGISTER_GRACE_SECONDS = 15 * 60
MAX_FILES = 100  # per sign request
HEAD_THREADS = 4  # per process: a register's HEADs, at once (_heads)

IMAGE_REJECTED = "image_rejected"
UPLOAD_MISSING = "upload_missing"
UPLOAD_EXPIRED = "upload_expired"
NOT_YOUR_UPLOAD = "not_your_upload"


def _empty(name: str) -> str:
    return f"{name} is empty (0 bytes). Please choose the photo again."


def _expired(name: str) -> str:
    return f"The upload of {name} took too long and was not kept. Please upload it again."


def _not_yours(name: str) -> str:
    return f"{name} was not uploaded from your account, so it was not added."


#: why a direct upload is refused -> (the API's error code, the sentence the teacher reads). The browser reports
#: what S3 refused by these words too (`failed` in a portrait registration), so every sentence is made here.
REASONS: dict[str, tuple[str, Any]] = {
    "unreadable": (IMAGE_REJECTED, unreadable),
    "empty": (IMAGE_REJECTED, _empty),
    "too_large": (IMAGE_REJECTED, lambda name: too_large_photo(name)),
    "incomplete": (IMAGE_REJECTED, incomplete),
    "expired": (UPLOAD_EXPIRED, _expired),
    "missing": (UPLOAD_MISSING, never_arrived),
    "not_yours": (NOT_YOUR_UPLOAD, _not_yours),
}


@dataclass(frozen=True)
class Refused:
    """One file not taken: why (a REASONS word), and the file's name; its code and sentence follow from them."""

    why: str
    filename: str

    @property
    def code(self) -> str:
        return str(REASONS[self.why][0])

    @property
    def message(self) -> str:
        return str(REASONS[self.why][1](self.filename))

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "why": self.why, "filename": self.filename, "message": self.message}


def reported_failures(values: list[str]) -> list[Refused]:
    """What the browser says S3 refused ("why:file name" each, why one of REASONS), as refusals to tell."""
    out = []
    for value in values[:MAX_FILES]:
        why, _, name = value.partition(":")
        if why in REASONS and why != "not_yours":
            out.append(Refused(why, _display_name(name)))
    return out


@dataclass(frozen=True)
class DirectUpload:
    """A photo already in the bucket under a temp key, registered by its ticket; the worker checks its content."""

    filename: str
    key: str
    content_type: str
    size: int
    sha256: str


def enabled() -> bool:
    """Direct uploads are on: S3 is the store and DIRECT_UPLOADS is not turned off."""
    return settings().direct_uploads and isinstance(store(), S3PhotoStore)


def _s3() -> S3PhotoStore:
    photo_store = store()
    assert isinstance(photo_store, S3PhotoStore)
    return photo_store


def upload_origin(photo_store: Any, seconds: int = 60) -> str | None:
    """The origin (scheme://host[:port]) browsers POST photos to, for the page's Content-Security-Policy; None
    when the store takes no direct uploads. Read from a real signed form (signing is local: no request)."""
    if not isinstance(photo_store, S3PhotoStore):
        return None
    try:
        url = photo_store.presigned_post(direct_upload_key(0), "image/jpeg", 1, seconds)["url"]
    except StorageError:
        # No credentials yet (an instance role read later, say): both ways S3 may name the bucket's address.
        endpoint = urlsplit(photo_store.client.meta.endpoint_url)
        return f"{endpoint.scheme}://{endpoint.netloc} {endpoint.scheme}://{photo_store.bucket}.{endpoint.netloc}"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def too_large_photo(name: str) -> str:
    """The sentence app.js and session.js show for one photo over the limit (errors.py), with the file's name."""
    return f"{name} {errors.too_large_photo(settings().max_upload_mb)}"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="attendance.direct-upload")


def _display_name(name: object) -> str:
    """As uploads.display_name does for a posted file: the last path part, at most 120 characters."""
    text = (name if isinstance(name, str) else "photo").replace("\\", "/").rsplit("/", 1)[-1]
    return text[:120] or "photo"


def _declared_type(name: str, announced: object) -> str | None:
    kind = announced.lower() if isinstance(announced, str) else ""
    if kind == "image/heif":
        kind = "image/heic"
    if kind in DECLARED_TYPES:
        return kind
    if kind in ("", "application/octet-stream"):  # browsers that do not know HEIC announce nothing
        dot = name.rfind(".")
        return _BY_EXTENSION.get(name[dot:].lower()) if dot >= 0 else None
    return None


def sign(teacher_id: int, files: list[Any]) -> tuple[list[dict[str, Any]], list[Refused]]:
    """Presigned POSTs for the announced files (dicts: name, type, size, sha256), and a refusal for each file that
    would be refused anyway (wrong type, empty, over the limit). Raises StorageError when S3 cannot sign."""
    limit = settings().max_upload_mb * 1024 * 1024
    seconds = settings().direct_upload_seconds
    signed: list[dict[str, Any]] = []
    refused: list[Refused] = []
    for item in files[:MAX_FILES]:
        item = item if isinstance(item, dict) else {}
        name = _display_name(item.get("name"))
        size = item.get("size")
        digest = item.get("sha256")
        kind = _declared_type(name, item.get("type"))
        if kind is None:
            refused.append(Refused("unreadable", name))
        elif not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            refused.append(Refused("empty", name))
        elif size > limit:
            refused.append(Refused("too_large", name))
        elif not isinstance(digest, str) or not _SHA256.match(digest):
            refused.append(Refused("incomplete", name))
        else:
            key = direct_upload_key(teacher_id)
            post = _s3().presigned_post(key, kind, size, seconds)
            ticket = _serializer().dumps({"k": key, "n": name, "t": kind, "s": size, "h": digest})
            # What to say if S3 itself refuses the file (static/direct.js reads its answer): words made here.
            said = {why: Refused(why, name).message for why in ("expired", "too_large", "unreadable", "missing")}
            signed.append(
                {"filename": name, "url": post["url"], "fields": post["fields"], "ticket": ticket, "messages": said}
            )
    return signed, refused


@dataclass
class Registration:
    """What register() made of the tickets: the uploads to keep, and the files refused (their objects deleted)."""

    uploads: list[DirectUpload]
    refused: list[Refused]

    @cached_property
    def keys(self) -> list[str]:
        return [u.key for u in self.uploads]


def _forget(key: str) -> None:
    try:
        _s3().delete(key)
    except StorageError:  # the bucket's lifecycle rule expires temp/ after a day anyway
        current_app.logger.warning("could not delete refused direct upload %s", key)


def _ticket(ticket: str, mine: str, max_age: int) -> dict[str, Any] | Refused:
    """What a ticket names when it is good (signed here, not too old, under this teacher's prefix), or the refusal;
    an expired ticket's object is deleted (its signature is good: what it names can be trusted)."""
    try:
        data = _serializer().loads(ticket, max_age=max_age)
    except SignatureExpired as exc:
        try:
            payload = _serializer().load_payload(exc.payload) if exc.payload is not None else {}
        except BadSignature:
            payload = {}
        payload = payload if isinstance(payload, dict) else {}
        key = payload.get("k")
        if isinstance(key, str) and key.startswith(mine):
            _forget(key)
        return Refused("expired", str(payload.get("n") or "photo"))
    except BadSignature:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("k"), str):
        return Refused("not_yours", "photo")
    if not data["k"].startswith(mine) or not is_direct_upload(data["k"]):
        return Refused("not_yours", str(data.get("n") or "photo"))
    return data


def _heads(keys: list[str]) -> list[StoredObject | None]:
    """What S3 says about each key (None: no object), in order. Several at once: a register with 30 photos waits for
    about one HEAD's round trip per HEAD_THREADS photos, not 30. Raises StorageError when S3 does not answer."""
    photo_store = _s3()
    if len(keys) <= 1:
        return [photo_store.head(key) for key in keys]
    return list(_head_pool().map(photo_store.head, keys))


@cache
def _head_pool() -> ThreadPoolExecutor:
    """One small pool per process (made on first use, so after gunicorn forks); the boto3 client is thread-safe and
    keeps 10 connections: HEAD_THREADS of them, beside the request threads' own."""
    return ThreadPoolExecutor(max_workers=HEAD_THREADS, thread_name_prefix="s3-head")


def register(teacher_id: int, tickets: list[str]) -> Registration:
    """The uploads these tickets name, checked: signed here, for this teacher, not too old, the object there with
    the announced size and type. Whatever fails is refused in words (and its object deleted). Raises StorageError
    when S3 does not answer (nothing is deleted then: the teacher can register again)."""
    max_age = settings().direct_upload_seconds + REGISTER_GRACE_SECONDS
    mine = direct_upload_prefix(teacher_id)
    checked = [_ticket(ticket, mine, max_age) for ticket in tickets[:MAX_FILES]]
    heads = iter(_heads([data["k"] for data in checked if isinstance(data, dict)]))
    limit = settings().max_upload_mb * 1024 * 1024
    result = Registration([], [])
    for data in checked:
        if isinstance(data, Refused):
            result.refused.append(data)
            continue
        key, name, head = data["k"], str(data.get("n") or "photo"), next(heads)
        if head is None:
            result.refused.append(Refused("missing", name))
            continue
        if head.size > limit:
            refusal = Refused("too_large", name)
        elif head.size != data.get("s"):
            refusal = Refused("incomplete", name)
        elif head.content_type != data.get("t"):
            refusal = Refused("unreadable", name)
        else:
            result.uploads.append(DirectUpload(name, key, str(data["t"]), int(data["s"]), str(data["h"])))
            continue
        _forget(key)
        result.refused.append(refusal)
    return result


def discard(uploads: list[DirectUpload]) -> None:
    """Delete uploads that will not be kept (already in the session, over a cap): nothing stays half-stored."""
    for upload in uploads:
        _forget(upload.key)


def announced_files(body: Any) -> list[Any]:
    """The `files` list of a sign request's JSON body ([] when it is not one)."""
    files = body.get("files") if isinstance(body, dict) else None
    return files if isinstance(files, list) else []


def sign_answer(teacher_id: int, body: Any) -> ResponseReturnValue:
    """The answer to a sign request (step 1), for the classroom-photo and the portrait form alike: the presigned
    POSTs and, per refused file, why; 503 in words when the photo store does not answer."""
    try:
        signed, refused = sign(teacher_id, announced_files(body))
    except StorageError:
        message = "The photo store is not answering; nothing was saved. Please try again in a minute."
        return json_error(503, "storage_unavailable", message)
    return jsonify({"uploads": signed, "errors": [r.as_json() for r in refused]})
