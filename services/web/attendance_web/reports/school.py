"""The school report, for the school's admin: each course's attendance rate and the school's, and the chronic
absence list (students who missed a share of their sessions at or above a threshold, 10% unless chosen).

Every figure comes from ``queries.course_matrix``, the course report's own function, so a course counts here
exactly as on its report (late attended, excused and unmarked left out, unconfirmed faces not absent). Four
queries per course plus one for the list of courses.

"Missed" is the other side of the rate: absent ÷ (attended + absent), over the sessions the rate counts, summed
over every course of the school the student has marks in (``missed_share``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from attendance_shared.models import Course, Teacher

from .document import Cell, Document, Table, safe_filename
from .queries import RATE_DEFINITION, DateRange, StudentRef, Tally, course_matrix
from .tables import _period_slug, percent

DEFAULT_CHRONIC_PCT = 10
CHRONIC_DEFINITION = (
    "Chronic absence: a student who missed at least the threshold's share of their sessions, where missed means "
    "absent and their sessions are those the rate counts (attended or absent), summed over all the school's courses."
)


CHRONIC_HEADER = [
    "Student",
    "Number",
    "Teacher",
    "Courses",
    "Sessions counted",
    "Attended",
    "Absent",
    "Excused",
    "Missed %",
]


def add(a: Tally, b: Tally) -> Tally:
    return Tally(
        present=a.present + b.present,
        late=a.late + b.late,
        absent=a.absent + b.absent,
        excused=a.excused + b.excused,
        not_recorded=a.not_recorded + b.not_recorded,
        unconfirmed=a.unconfirmed + b.unconfirmed,
    )


def missed_share(tally: Tally) -> float | None:
    """Absent ÷ (attended + absent), the sessions the rate counts: 1 - the rate; None when no session counts."""
    counted = tally.attended + tally.absent
    return tally.absent / counted if counted else None


@dataclass(frozen=True)
class CourseLine:
    course_id: int
    name: str
    owner: str
    sessions: int
    students: int
    tally: Tally  # the course report's overall tally (CourseMatrix.tally)

    @property
    def rate(self) -> float | None:
        return self.tally.rate


@dataclass(frozen=True)
class AbsenceLine:
    student: StudentRef
    owner: str
    courses: tuple[str, ...]
    tally: Tally

    @property
    def missed(self) -> float | None:
        return missed_share(self.tally)

    @property
    def counted(self) -> int:
        return self.tally.attended + self.tally.absent


@dataclass(frozen=True)
class SchoolReport:
    school_name: str
    period: DateRange
    threshold: float  # 0..1: a student whose missed share is at or above it is chronically absent
    courses: list[CourseLine]  # by name
    chronic: list[AbsenceLine]  # most missed first

    @property
    def tally(self) -> Tally:
        total = Tally()
        for line in self.courses:
            total = add(total, line.tally)
        return total

    @property
    def threshold_pct(self) -> int:
        return round(self.threshold * 100)


def school_report(
    db: Session, school_id: int, school_name: str, period: DateRange | None = None, threshold: float = 0.1
) -> SchoolReport:
    """Every course of the school (whoever owns it), and the students missing ``threshold`` or more."""
    period = period or DateRange()
    courses = db.execute(
        select(Course, Teacher.name)
        .join(Teacher, Teacher.id == Course.teacher_id)
        .where(Teacher.school_id == school_id)
        .order_by(func.lower(Course.name), Course.id)
    ).all()
    lines: list[CourseLine] = []
    per_student: dict[int, tuple[StudentRef, str, list[str], Tally]] = {}
    for course, owner in courses:
        matrix = course_matrix(db, course, period)
        lines.append(CourseLine(course.id, course.name, owner, len(matrix.sessions), len(matrix.rows), matrix.tally))
        for row in matrix.rows:
            if row.tally.attended + row.tally.absent == 0:
                continue
            ref, who, names, total = per_student.get(row.student.id, (row.student, owner, [], Tally()))
            per_student[row.student.id] = (ref, who, [*names, course.name], add(total, row.tally))
    chronic = [
        AbsenceLine(ref, owner, tuple(names), total)
        for ref, owner, names, total in per_student.values()
        if (missed := missed_share(total)) is not None and missed >= threshold
    ]
    chronic.sort(key=lambda a: (-(a.missed or 0), a.student.name.lower(), a.student.student_number))
    return SchoolReport(school_name, period, threshold, lines, chronic)


def school_document(r: SchoolReport, *, chronic_first: bool = False) -> Document:
    """Two tables: the courses and the chronic absence list; a CSV holds the first one only, so the chronic
    list's CSV is this document with ``chronic_first``."""
    t = r.tally
    course_rows: list[list[Cell]] = [
        [c.name, c.owner, c.sessions, c.students, c.tally.present, c.tally.late, c.tally.absent, c.tally.excused,
         percent(c.rate)]
        for c in r.courses
    ]  # fmt: skip
    course_rows.append(["All courses", "", sum(c.sessions for c in r.courses), "", t.present, t.late, t.absent,
                        t.excused, percent(t.rate)])  # fmt: skip
    chronic_rows: list[list[Cell]] = [
        [a.student.name, a.student.student_number, a.owner, ", ".join(a.courses), a.counted, a.tally.attended,
         a.tally.absent, a.tally.excused, percent(a.missed)]
        for a in r.chronic
    ]  # fmt: skip
    return Document(
        title=f"School attendance report: {r.school_name}",
        filename_stem=f"school-{safe_filename(r.school_name, 'school')}{'-chronic-absence' if chronic_first else ''}"
        f"-{_period_slug(r.period)}",
        notes=[
            f"Sessions: {r.period.describe()} ({len(r.courses)} courses).",
            RATE_DEFINITION,
            CHRONIC_DEFINITION,
            f"Students who missed {r.threshold_pct}% or more: {len(r.chronic)}.",
        ],
        tables=_ordered(
            Table(
                "Courses",
                ["Course", "Teacher", "Sessions", "Students", "Present", "Late", "Absent", "Excused", "Rate %"],
                course_rows,
                pdf_header=["Course", "Teacher", "Sess.", "Stud.", "Pres.", "Late", "Abs.", "Exc.", "Rate %"],
            ),
            Table(
                f"Chronic absence (missed {r.threshold_pct}% or more)",
                CHRONIC_HEADER,
                chronic_rows,
                pdf_header=["Student", "Number", "Teacher", "Courses", "Counted", "Att.", "Abs.", "Exc.", "Missed %"],
                key_columns=2,
            ),
            chronic_first=chronic_first,
        ),
    )


def _ordered(courses: Table, chronic: Table, *, chronic_first: bool) -> list[Table]:
    return [chronic, courses] if chronic_first else [courses, chronic]
