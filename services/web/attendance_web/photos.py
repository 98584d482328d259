"""Serving and removing stored photos for their owner only."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from flask import Response, redirect
from flask.typing import ResponseReturnValue

from attendance_shared.storage import StorageError

from .extensions import store

log = logging.getLogger(__name__)


def send_photo(key: str, content_type: str) -> ResponseReturnValue:
    """A presigned S3 URL when there is one, else the bytes; never cached by shared caches."""
    url = store().url(key)
    if url:
        return redirect(url, code=302)
    try:
        data = store().get(key)
    except StorageError:
        return Response("This photo is no longer stored.", status=404, mimetype="text/plain")
    response = Response(data, mimetype=content_type)
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


def remove_photos(keys: Iterable[str | None]) -> None:
    """Best effort after the database commit; a failure is logged for the admin, not shown as lost data."""
    for key in keys:
        if not key:
            continue
        try:
            store().delete(key)
        except StorageError:
            log.warning("could not delete %s from storage", key, exc_info=True)
