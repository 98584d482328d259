"""Who decided a mark, in the words every page and export uses (the rule itself: records.decision_of).

"automatic" when recognition gave the status; "decided by the teacher: <what they did> (<when>)" when the
teacher did, including an automatic record whose status came from their action (a rejected face that left the
student absent stays automatic, so that a photo added later can still mark them present)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from markupsafe import Markup, escape

from attendance_shared.records import DecidedBy, Decision

from .times import utc_time

AUTOMATIC = "automatic"
BY_TEACHER = "decided by the teacher"


def utc_text(moment: dt.datetime) -> str:
    """'2026-12-07 14:05 UTC' (a naive datetime, as SQLite returns them, is taken as UTC): for the exports."""
    moment = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M") + " UTC"


def decision_words(decision: Decision | None, when: Callable[[dt.datetime], str] = utc_text) -> str:
    """'' without a record; 'automatic'; or 'decided by the teacher: Rejected face 2 in room.jpg (2026-12-07 14:05
    UTC)'."""
    if decision is None:
        return ""
    if decision.by == DecidedBy.RECOGNITION:
        return AUTOMATIC
    action = f": {decision.action}" if decision.action else ""
    at = f" ({when(decision.at)})" if decision.at else ""
    return f"{BY_TEACHER}{action}{at}"


def decision_html(decision: Decision | None) -> Markup:
    """decision_words for a page: the time in a <time> element that static/times.js shows in local time."""
    marker = "\x00"
    text = escape(decision_words(decision, when=lambda _: marker))
    if decision is None or decision.at is None:
        return text
    return Markup(str(text).replace(marker, str(utc_time(decision.at))))  # noqa: S704  # nosec B704
