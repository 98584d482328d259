"""Reports as export documents: the same figures as the pages, in rows and columns."""

from __future__ import annotations

from collections import Counter

from markupsafe import Markup

from attendance_shared.models import AttendanceStatus, RecordSource

from ..decided import decision_words
from .document import Cell, Document, Table, safe_filename
from .faces import PlacedFace
from .queries import (
    RATE_DEFINITION,
    UNCONFIRMED,
    CourseMatrix,
    DateRange,
    SessionRef,
    SessionReport,
    StudentHistory,
)

MARK_LETTERS: dict[AttendanceStatus | str | None, str] = {
    UNCONFIRMED: "?",
    AttendanceStatus.PRESENT: "P",
    AttendanceStatus.LATE: "L",
    AttendanceStatus.ABSENT: "A",
    AttendanceStatus.EXCUSED: "E",
    None: "\N{EN DASH}",
}
MARK_WORDS: dict[AttendanceStatus | str | None, str] = {
    UNCONFIRMED: "unconfirmed",
    AttendanceStatus.PRESENT: "present",
    AttendanceStatus.LATE: "late",
    AttendanceStatus.ABSENT: "absent",
    AttendanceStatus.EXCUSED: "excused",
    None: "not marked",
}
#: how a mark was made, in a teacher's words (RecordSource values are for machines)
SOURCE_WORDS = {RecordSource.AUTO: "automatic", RecordSource.MANUAL: "by hand", None: ""}
# The matrix cells as ready HTML (constant strings, no user data): 50,000 cells render in milliseconds.
_CELL_HTML: dict[AttendanceStatus | str | None, str] = {
    UNCONFIRMED: '<td class="m unconfirmed">?</td>',
    AttendanceStatus.PRESENT: '<td class="m present">P</td>',
    AttendanceStatus.LATE: '<td class="m late">L</td>',
    AttendanceStatus.ABSENT: '<td class="m absent">A</td>',
    AttendanceStatus.EXCUSED: '<td class="m excused">E</td>',
    None: '<td class="m none">\N{EN DASH}</td>',
}


def matrix_cells(marks: list[AttendanceStatus | str | None]) -> Markup:
    """One row's mark cells (StudentRow.mark_codes). Safe as markup: every piece is one of the constants above."""
    return Markup("".join([_CELL_HTML[m] for m in marks]))  # noqa: S704  # nosec B704


LEGEND = (
    "P = present, L = late (counts as attended), A = absent, E = excused, "
    "? = unconfirmed (waiting for your confirmation), \N{EN DASH} = no mark."
)


def percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def course_document(m: CourseMatrix) -> Document:
    threshold = f"{round(m.threshold * 100)}%"
    header = ["Student", "Number", "Present", "Late", "Absent", "Excused", "Rate %", f"Below {threshold}"]
    header += [s.title for s in m.sessions]
    rows: list[list[Cell]] = [
        [
            r.student.name + ("" if r.enrolled else " (left the course)"),
            r.student.student_number,
            r.tally.present,
            r.tally.late,
            r.tally.absent,
            r.tally.excused,
            percent(r.rate),
            "BELOW" if r.below_threshold else "",
            *[MARK_LETTERS[mark] for mark in r.mark_codes()],
        ]
        for r in m.rows
    ]
    over_time: list[list[Cell]] = [
        [t.session.date.isoformat(), t.session.label, t.tally.present, t.tally.late, t.tally.absent, t.tally.excused,
         t.tally.not_recorded, t.tally.unconfirmed, percent(t.tally.rate)]
        for t in m.totals
    ]  # fmt: skip
    return Document(
        title=f"Attendance report: {m.course_name}",
        filename_stem=f"attendance-{safe_filename(m.course_name, 'course')}-{_period_slug(m.period)}",
        notes=[
            f"Sessions: {m.period.describe()} ({len(m.sessions)} sessions, {len(m.rows)} students).",
            RATE_DEFINITION,
            f"Students below {threshold}: {len(m.below)}. {LEGEND}",
        ],
        tables=[
            Table(
                "Students by session",
                header,
                rows,
                key_columns=2,
                pdf_header=[
                    *header[:2],
                    *["Pres.", "Late", "Abs.", "Exc.", "Rate %", "Below"],
                    *_short_headings(m.sessions),
                ],
            ),
            Table(
                "Attendance over time",
                ["Date", "Label", "Present", "Late", "Absent", "Excused", "Not marked", "Unconfirmed", "Rate %"],
                over_time,
            ),
        ],
    )


def _short_headings(sessions: list[SessionRef]) -> list[str]:
    """ "25 Nov" for the PDF's narrow columns, with the label where two sessions share a day ("25 Nov P3")."""
    per_day = Counter(s.date for s in sessions)
    return [s.date.strftime("%d %b") + (f" {s.label or '-'}" if per_day[s.date] > 1 else "") for s in sessions]


def session_document(r: SessionReport, faces: list[PlacedFace]) -> Document:
    """`faces`: r.unknown_faces placed as on the review page (see faces.py); no database ids in the file."""
    t = r.tally
    rows: list[list[Cell]] = [
        [
            line.student.name + ("" if line.enrolled else " (left the course)"),
            line.student.student_number,
            MARK_WORDS[UNCONFIRMED if line.unconfirmed else line.status],
            "" if line.unconfirmed else decision_words(line.decision),
            None if line.similarity is None else round(line.similarity, 3),
            line.note or "",
        ]
        for line in r.lines
    ]
    face_rows: list[list[Cell]] = [
        [
            p.face.photo_filename,
            p.photo_number,
            p.face_number,
            ", ".join(str(round(v)) for v in p.face.box),
            round(p.face.detection_score, 3),
        ]
        for p in faces
    ]
    return Document(
        title=f"Session report: {r.course_name}, {r.session.title}",
        filename_stem=f"session-{safe_filename(r.course_name, 'course')}-{r.session.date.isoformat()}"
        + (f"-{safe_filename(r.session.label, '')}" if safe_filename(r.session.label, "") else ""),
        notes=[
            f"Present {t.present}, late {t.late}, absent {t.absent}, excused {t.excused}, not marked {t.not_recorded}, "
            f"unconfirmed {t.unconfirmed}; "
            f"{len(r.unknown_faces)} unknown face(s), {r.faces_to_confirm} face(s) waiting for confirmation.",
        ],
        tables=[
            Table("Students", ["Student", "Number", "Status", "How", "Similarity", "Note"], rows),
            Table(
                "Unknown faces",
                ["Photo", "Photo number", "Face number", "Box (x1, y1, x2, y2)", "Detection score"],
                face_rows,
            ),
        ],
    )


def student_document(h: StudentHistory, *, student_columns: bool = True) -> Document:
    """`student_columns`: each row starts with the student's name and number, as in the other exports'
    first table, so a CSV (which holds only that table, not the title) says whose history it is. The PDF
    leaves them out: its title names the student."""
    t = h.tally
    who: list[Cell] = [h.student.name, h.student.student_number] if student_columns else []
    who_header = ["Student", "Number"] if student_columns else []
    rows: list[list[Cell]] = [
        [
            *who,
            line.session.date.isoformat(),
            line.course_name,
            line.session.label,
            MARK_WORDS[UNCONFIRMED if line.unconfirmed else line.status],
            "" if line.unconfirmed else decision_words(line.decision),
            None if line.similarity is None else round(line.similarity, 3),
            line.note or "",
        ]
        for line in h.lines
    ]
    rate = percent(t.rate)
    return Document(
        title=f"Attendance history: {h.student.name} ({h.student.student_number})",
        filename_stem=f"history-{safe_filename(h.student.student_number, 'student')}-{_period_slug(h.period)}",
        notes=[
            f"Sessions: {h.period.describe()}. Present {t.present}, late {t.late}, absent {t.absent}, "
            f"excused {t.excused}, "
            f"not marked {t.not_recorded}; rate {'—' if rate is None else f'{rate}%'}.",
            RATE_DEFINITION,
        ],
        tables=[
            Table(
                "Sessions",
                [*who_header, "Date", "Course", "Label", "Status", "How", "Similarity", "Note"],
                rows,
            )
        ],
    )


def _period_slug(period: DateRange) -> str:
    if period.start is None and period.end is None:
        return "all"
    start = period.start.isoformat() if period.start else "start"
    end = period.end.isoformat() if period.end else "today"
    return f"{start}_{end}"
