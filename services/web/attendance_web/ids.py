"""Every id a client sends (in a URL, a query string or a form) is read here, one way.

An id is 1 to 19 ASCII digits and at most 2**63 - 1, the largest integer both databases store: a longer number
made SQLite raise OverflowError (a 500), and `str.isdigit()` let Unicode digits such as "²" through to an `int()`
that refused them (another 500). Anything else is simply no id: the route answers 404, a form field is invalid.
"""

from __future__ import annotations

import re

from werkzeug.routing import BaseConverter, ValidationError

MAX_ID = 2**63 - 1
_ID = re.compile(r"[0-9]{1,19}")


def parse_id(value: object) -> int | None:
    """The id in `value`, or None when it is not one (not text, not ASCII digits, zero, or too large)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _ID.fullmatch(value):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


class IdConverter(BaseConverter):
    """`<int:...>` in every route: an id as parse_id reads it, else the URL matches nothing (404)."""

    regex = r"[0-9]{1,19}"
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value: object) -> str:
        return str(int(value))  # type: ignore[call-overload]
