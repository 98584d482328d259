"""The report filters a teacher sets in the URL (?from=&to=&threshold=&format=), read forgivingly:
a value that does not parse is ignored with a message, never a 500."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from werkzeug.datastructures import MultiDict

from .formats import FORMATS
from .queries import DEFAULT_THRESHOLD, DateRange


@dataclass
class ReportFilters:
    period: DateRange = field(default_factory=DateRange)
    threshold_pct: int = round(DEFAULT_THRESHOLD * 100)
    errors: list[str] = field(default_factory=list)

    @property
    def threshold(self) -> float:
        return self.threshold_pct / 100

    def query_args(self, **extra: int) -> dict[str, str | int]:
        """The filters as url_for arguments (plus ``extra``, e.g. the course id), for links that
        reproduce the page."""
        args: dict[str, str | int] = {"threshold": str(self.threshold_pct), **extra}
        if self.period.start:
            args["from"] = self.period.start.isoformat()
        if self.period.end:
            args["to"] = self.period.end.isoformat()
        return args


def _date(args: MultiDict[str, str], name: str, label: str, errors: list[str]) -> dt.date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors.append(f"The {label} date “{raw[:20]}” is not a date like 2026-09-01; it was ignored.")
        return None


def read_filters(args: MultiDict[str, str], default_threshold_pct: int | None = None) -> ReportFilters:
    """`default_threshold_pct`: the threshold when the URL has none (the course report's 80% unless given)."""
    errors: list[str] = []
    start = _date(args, "from", "from", errors)
    end = _date(args, "to", "to", errors)
    if start and end and start > end:
        errors.append("The from date was after the to date; they were swapped.")
        start, end = end, start
    threshold = round(DEFAULT_THRESHOLD * 100) if default_threshold_pct is None else default_threshold_pct
    raw = (args.get("threshold") or "").strip().rstrip("%")
    if raw:
        try:
            value = int(float(raw))
        except ValueError:
            value = -1
        if 0 <= value <= 100:
            threshold = value
        else:
            errors.append(f"The threshold must be a percentage from 0 to 100; {threshold}% was used.")
    return ReportFilters(period=DateRange(start, end), threshold_pct=threshold, errors=errors)


def read_format(args: MultiDict[str, str]) -> str | None:
    """csv (the default), xlsx or pdf; None for anything else."""
    fmt = (args.get("format") or "csv").strip().lower()
    return fmt if fmt in FORMATS else None
