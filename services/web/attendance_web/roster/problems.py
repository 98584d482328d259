"""What can be wrong with an import, in words a teacher understands."""

from __future__ import annotations


class ImportRefused(ValueError):
    """The file as a whole cannot be used (not a CSV, a ZIP bomb, too many rows); `str` is the message."""


# Preview sections, in the order a teacher should read them: (key, heading).
CATEGORIES = (
    ("skipped_rows", "Rows that will be skipped"),
    ("duplicates", "Duplicate rows"),
    ("warnings", "Rows imported with a change"),
    ("renames", "Students whose name changes, in every course they are in"),
    ("same_photos", "Photos that are already there"),
    ("refused_before", "Photos refused earlier"),
    ("orphans", "Photos without a student"),
    ("unreadable", "Photos we cannot read"),
    ("not_images", "Files that are not photos"),
    ("too_many", "Too many photos"),
    ("unsafe", "Files ignored for safety"),
)
#: sections that say what will happen, not what is wrong: not counted as problems, shown under "What will change"
NOT_PROBLEMS = frozenset({"warnings", "renames", "same_photos"})


def shorten(text: str, limit: int = 60) -> str:
    """A value quoted in a message, cut so one absurd cell cannot flood the page."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
