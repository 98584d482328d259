"""Timestamps in pages: rendered in UTC on the server (readable without JavaScript), inside a
``<time datetime="...Z">`` element that static/times.js rewrites to the browser's local time.

Only moments (datetimes) go through here. A session's date is a calendar day, not a moment: it is shown
as it is and never shifted to another time zone.
"""

from __future__ import annotations

import datetime as dt

from flask import Flask
from markupsafe import Markup


def utc_iso(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with a 'Z' (a naive datetime, as SQLite returns them, is taken as UTC)."""
    moment = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def utc_time(moment: dt.datetime | None, missing: str = "") -> Markup:
    """``<time datetime="2026-12-07T07:50:00Z">2026-12-07 07:50 UTC</time>``; ``missing`` when there is none."""
    if moment is None:
        return Markup.escape(missing)
    moment = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    text = moment.strftime("%Y-%m-%d %H:%M") + " UTC"
    return Markup('<time datetime="{}">{}</time>').format(utc_iso(moment), text)


def register_time_filters(app: Flask) -> None:
    app.add_template_filter(utc_time, "utc_time")
