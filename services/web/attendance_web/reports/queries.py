"""Attendance reports as plain data, shared by the web pages, the exports and the JSON API.

Each function takes a SQLAlchemy ``Session`` and an object the *caller has already checked belongs
to the teacher* (``attendance_web.ownership`` or the API's equivalent), and returns frozen
dataclasses that hold no ORM state, so they can be rendered, exported or serialised after the
session is closed. Every function issues a fixed number of queries, whatever the size of the
course (no query per student or per session).

The attendance rate, everywhere: ``(present + late) / (present + late + absent)``: late counts as
attended. Excused sessions, and sessions where the student has no mark (for example before they
joined the course, or while the photos are still being processed), are left out of the denominator.
``None`` when nothing counts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from attendance_shared.models import (
    AttendanceChange,
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    Course,
    DetectedFace,
    Enrollment,
    RecordSource,
    SessionPhoto,
    Student,
)
from attendance_shared.records import (
    UNCONFIRMED,
    Decision,
    FaceKind,
    decisions,
    face_kind,
    session_list_query,
    waiting_by_session,
    waiting_for_confirmation,
)

RATE_DEFINITION = (
    "Attendance rate = sessions attended ÷ (sessions attended + sessions absent), where attended means present or"
    " late. "
    "Excused sessions, and sessions with no mark (\N{EN DASH}, for example before the student joined), are not counted."
)
DEFAULT_THRESHOLD = 0.8
STATUS_OF = {status.value: status for status in AttendanceStatus}


def attendance_rate(present: int, late: int, absent: int) -> float | None:
    """The one definition of the rate (see the module docstring): late counts as attended; None when no session
    counts."""
    attended = present + late
    held = attended + absent
    return attended / held if held else None


@dataclass(frozen=True)
class DateRange:
    """An inclusive range of session dates; a missing end means unbounded on that side."""

    start: dt.date | None = None
    end: dt.date | None = None

    def clause(self, column: Any) -> ColumnElement[bool]:
        conditions = []
        if self.start is not None:
            conditions.append(column >= self.start)
        if self.end is not None:
            conditions.append(column <= self.end)
        return and_(True, *conditions)

    def describe(self) -> str:
        if self.start and self.end:
            return f"{self.start.isoformat()} to {self.end.isoformat()}"
        if self.start:
            return f"from {self.start.isoformat()}"
        if self.end:
            return f"until {self.end.isoformat()}"
        return "all sessions"


@dataclass(frozen=True)
class StudentRef:
    id: int
    name: str
    student_number: str


@dataclass(frozen=True)
class SessionRef:
    id: int
    course_id: int
    date: dt.date
    label: str

    @property
    def title(self) -> str:
        return f"{self.date.isoformat()} · {self.label}" if self.label else self.date.isoformat()


@dataclass(frozen=True)
class Tally:
    present: int = 0
    late: int = 0  # attended, listed apart from present
    absent: int = 0
    excused: int = 0
    not_recorded: int = 0
    unconfirmed: int = 0  # waiting for the teacher's confirmation: not absent (nor counted in the rate) until then

    @property
    def rate(self) -> float | None:
        return attendance_rate(self.present, self.late, self.absent)

    @property
    def attended(self) -> int:
        """Present or late: the sessions the rate counts as attended."""
        return self.present + self.late

    @classmethod
    def of(cls, statuses: list[AttendanceStatus | None], unconfirmed: int = 0) -> Tally:
        """`unconfirmed`: how many of the absent marks are students waiting for confirmation (counted apart)."""
        return cls(
            present=statuses.count(AttendanceStatus.PRESENT),
            late=statuses.count(AttendanceStatus.LATE),
            absent=statuses.count(AttendanceStatus.ABSENT) - unconfirmed,
            excused=statuses.count(AttendanceStatus.EXCUSED),
            not_recorded=statuses.count(None),
            unconfirmed=unconfirmed,
        )


# --- one session ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionLine:
    student: StudentRef
    status: AttendanceStatus | None
    source: RecordSource | None
    similarity: float | None
    enrolled: bool
    note: str | None = None  # the latest change's note ("doctor's appointment", "Confirmed face 3 in room.jpg")
    waiting_face: int | None = None  # unconfirmed: their face waits in "please confirm" (records.waiting_by_session)
    decision: Decision | None = None  # recognition's or the teacher's (records.decision_of)

    @property
    def unconfirmed(self) -> bool:
        return self.waiting_face is not None


@dataclass(frozen=True)
class UnknownFace:
    face_id: int
    photo_id: int
    photo_filename: str
    box: list[Any]
    detection_score: float


@dataclass(frozen=True)
class SessionReport:
    session: SessionRef
    course_name: str
    lines: list[SessionLine]
    unknown_faces: list[UnknownFace]
    faces_to_confirm: int

    def with_status(self, status: AttendanceStatus | str | None) -> list[SessionLine]:
        """The lines with that status; UNCONFIRMED: the students waiting for confirmation (in no other list)."""
        if status == UNCONFIRMED:
            return [line for line in self.lines if line.unconfirmed]
        return [line for line in self.lines if line.status == status and not line.unconfirmed]

    @property
    def tally(self) -> Tally:
        return Tally.of([line.status for line in self.lines], _absent_unconfirmed(self.lines))


def _absent_unconfirmed(lines: list[SessionLine] | list[HistoryLine]) -> int:
    """How many "absent" lines wait for confirmation: counted as unconfirmed, not absent (see Tally.of)."""
    return sum(line.unconfirmed and line.status == AttendanceStatus.ABSENT for line in lines)


def latest_notes(db: Session, record_ids: list[int]) -> dict[int, str]:
    """Each record's latest change note (the history keeps every one; a report shows the last word), while the
    record still has the status that change gave it: after "Rejected face 4; no other face of Ann" a photo added
    later can mark Ann present again (the worker writes no history), and the note would then contradict the mark."""
    if not record_ids:
        return {}
    notes: dict[int, str] = {}
    for record_id, note, to_status, status in db.execute(
        select(AttendanceChange.record_id, AttendanceChange.note, AttendanceChange.to_status, AttendanceRecord.status)
        .join(AttendanceRecord, AttendanceRecord.id == AttendanceChange.record_id)
        .where(AttendanceChange.record_id.in_(record_ids), AttendanceChange.note.is_not(None))
        .order_by(AttendanceChange.changed_at, AttendanceChange.id)
    ):
        if note and to_status == status.value:
            notes[record_id] = note  # later rows win
        else:
            notes.pop(record_id, None)
    return notes


def session_report(db: Session, att: AttendanceSession) -> SessionReport:
    """Who was present, late, absent, excused or not yet marked, and the faces nobody was matched to.

    Students listed: the session's list (records.session_list_query: those enrolled now plus anyone who has a
    mark in this session); a student whose face waits in "please confirm" is unconfirmed, not absent. Unknown
    faces: records.FaceKind.UNKNOWN (nobody's, and not a match the teacher rejected). Six queries.
    """
    course_name = db.scalar(select(Course.name).where(Course.id == att.course_id)) or ""
    rows = db.execute(session_list_query(att.id, att.course_id)).all()
    notes = latest_notes(db, [rec.id for *_, rec in rows if rec is not None])
    waiting = waiting_for_confirmation(db, att.id)
    decided = decisions(db, [rec for *_, rec in rows if rec is not None])
    lines = [
        SessionLine(
            student=StudentRef(student.id, student.name, student.student_number),
            status=rec.status if rec else None,
            source=rec.source if rec else None,
            similarity=rec.similarity if rec else None,
            enrolled=bool(is_enrolled),
            note=notes.get(rec.id) if rec else None,
            waiting_face=waiting.get(student.id),
            decision=decided.get(rec.id) if rec else None,
        )
        for student, is_enrolled, rec in rows
    ]
    faces = db.execute(
        select(DetectedFace, SessionPhoto.original_filename)
        .join(SessionPhoto, SessionPhoto.id == DetectedFace.session_photo_id)
        .where(SessionPhoto.session_id == att.id, DetectedFace.student_id.is_(None))
        .order_by(SessionPhoto.id, DetectedFace.face_index)
    ).all()
    # records.FaceKind, as on the review page: a face the teacher rejected is not an unknown face
    kinds = [(face_kind(f), f, filename) for f, filename in faces]
    unknown = [
        UnknownFace(f.id, f.session_photo_id, filename, list(f.box or []), f.detection_score)
        for kind, f, filename in kinds
        if kind == FaceKind.UNKNOWN
    ]
    return SessionReport(
        session=SessionRef(att.id, att.course_id, att.date, att.label or ""),
        course_name=course_name,
        lines=lines,
        unknown_faces=unknown,
        faces_to_confirm=sum(1 for kind, _, _ in kinds if kind == FaceKind.CONFIRM),
    )


# --- one course over a date range -------------------------------------------------------------


@dataclass(frozen=True)
class StudentRow:
    student: StudentRef
    enrolled: bool
    marks: list[AttendanceStatus | None]  # aligned with CourseMatrix.sessions; None = no mark
    tally: Tally
    below_threshold: bool
    unconfirmed: frozenset[int] = frozenset()  # columns where their face waits in "please confirm" (mark: absent)

    def absent_unconfirmed(self, column: int) -> bool:
        """Recognition's "absent" in that column, while their face waits in "please confirm": counted apart."""
        return column in self.unconfirmed and self.marks[column] == AttendanceStatus.ABSENT

    def mark_codes(self) -> list[AttendanceStatus | str | None]:
        """The marks with "unconfirmed" in the columns where the student waits for the teacher's confirmation."""
        return [UNCONFIRMED if i in self.unconfirmed else m for i, m in enumerate(self.marks)]

    @property
    def rate(self) -> float | None:
        return self.tally.rate


@dataclass(frozen=True)
class SessionTotals:
    session: SessionRef
    tally: Tally


@dataclass(frozen=True)
class CourseMatrix:
    course_id: int
    course_name: str
    period: DateRange
    threshold: float  # 0..1: rows whose rate is below it are flagged
    sessions: list[SessionRef]  # oldest first
    rows: list[StudentRow]  # by name
    totals: list[SessionTotals]  # aligned with sessions: the course's attendance over time

    @property
    def below(self) -> list[StudentRow]:
        return [row for row in self.rows if row.below_threshold]

    @property
    def tally(self) -> Tally:
        return Tally(
            present=sum(r.tally.present for r in self.rows),
            late=sum(r.tally.late for r in self.rows),
            absent=sum(r.tally.absent for r in self.rows),
            excused=sum(r.tally.excused for r in self.rows),
            not_recorded=sum(r.tally.not_recorded for r in self.rows),
        )


def sessions_query(course: Course, period: DateRange) -> Select[int, dt.date, str]:
    """The course's sessions in the range, oldest first (served by ix_attendance_sessions_course_id)."""
    return (
        select(AttendanceSession.id, AttendanceSession.date, AttendanceSession.label)
        .where(AttendanceSession.course_id == course.id, period.clause(AttendanceSession.date))
        .order_by(AttendanceSession.date, AttendanceSession.label, AttendanceSession.id)
    )


def records_query(session_ids: list[int]) -> Select[int, int, str]:
    """The marks of the given sessions, the status as its stored string (see ``STATUS_OF``).

    Filtering on the session ids themselves (not on a join to the course) lets PostgreSQL estimate
    the row count from session_id's statistics and serve it from the UNIQUE(session_id, student_id)
    index whenever the course is a fraction of the table."""
    return select(
        AttendanceRecord.session_id, AttendanceRecord.student_id, type_coerce(AttendanceRecord.status, String)
    ).where(AttendanceRecord.session_id.in_(session_ids))


def students_query(course: Course, marked: set[int]) -> Select[int, str, str, bool]:
    """The course's students by name: enrolled now, plus the ids in `marked` (students with a mark in
    the range, e.g. one who has left the course), with whether each is enrolled. Whoever owns each student: a
    course given to another teacher, or a pupil a SIS import put in several teachers' classes, keeps its list."""
    enrolled = Enrollment.course_id.is_not(None)
    in_course = Student.id.in_(select(Enrollment.student_id).where(Enrollment.course_id == course.id))
    return (
        select(Student.id, Student.name, Student.student_number, enrolled)
        .outerjoin(Enrollment, and_(Enrollment.student_id == Student.id, Enrollment.course_id == course.id))
        .where(or_(in_course, Student.id.in_(sorted(marked))) if marked else in_course)
        .order_by(Student.name, Student.student_number)
    )


def course_matrix(
    db: Session, course: Course, period: DateRange | None = None, threshold: float = DEFAULT_THRESHOLD
) -> CourseMatrix:
    """Students x sessions of one course, with each student's rate and the per-session totals.

    Exactly four queries whatever the size (``sessions_query``, ``records_query``, records.waiting_by_session,
    ``students_query``; two when the range holds no session).
    """
    period = period or DateRange()
    # Core execution (no ORM row processing): 50,000 marks are plain tuples, read once.
    conn = db.connection()
    sessions = [
        SessionRef(sid, course.id, date, label or "")
        for sid, date, label in conn.execute(sessions_query(course, period))
    ]
    column_of = {s.id: i for i, s in enumerate(sessions)}
    grid: dict[int, list[AttendanceStatus | None]] = {}
    if sessions:
        empty: list[AttendanceStatus | None] = [None] * len(sessions)
        for session_id, student_id, status in conn.execute(records_query(list(column_of))).all():
            marks = grid.get(student_id)
            if marks is None:
                marks = grid[student_id] = empty.copy()
            marks[column_of[session_id]] = STATUS_OF[status]
    waiting: dict[int, set[int]] = {}  # student: columns
    for session_id, students in waiting_by_session(db, list(column_of)).items():
        for student_id in students:
            waiting.setdefault(student_id, set()).add(column_of[session_id])

    rows = []
    for sid, name, number, is_enrolled in conn.execute(students_query(course, set(grid))):
        student_marks = grid.get(sid) or [None] * len(sessions)
        unconfirmed = frozenset(waiting.get(sid, ()))
        tally = Tally.of(student_marks, sum(student_marks[i] == AttendanceStatus.ABSENT for i in unconfirmed))
        rows.append(
            StudentRow(
                student=StudentRef(sid, name, number),
                enrolled=bool(is_enrolled),
                marks=student_marks,
                tally=tally,
                below_threshold=tally.rate is not None and tally.rate < threshold,
                unconfirmed=unconfirmed,
            )
        )
    columns = zip(*(r.marks for r in rows), strict=True) if rows else ([] for _ in sessions)
    return CourseMatrix(
        course_id=course.id,
        course_name=course.name,
        period=period,
        threshold=threshold,
        sessions=sessions,
        rows=rows,
        totals=[
            SessionTotals(s, Tally.of(list(col), sum(r.absent_unconfirmed(i) for r in rows)))
            for i, (s, col) in enumerate(zip(sessions, columns, strict=True))
        ],
    )


# --- one student across the teacher's courses -------------------------------------------------


@dataclass(frozen=True)
class HistoryLine:
    session: SessionRef
    course_name: str
    status: AttendanceStatus | None
    source: RecordSource | None
    similarity: float | None
    updated_at: dt.datetime | None
    note: str | None = None
    decision: Decision | None = None  # recognition's or the teacher's (records.decision_of)
    waiting_face: int | None = None  # unconfirmed: their face waits in "please confirm" (records.waiting_by_session)

    @property
    def unconfirmed(self) -> bool:
        return self.waiting_face is not None


@dataclass(frozen=True)
class StudentHistory:
    student: StudentRef
    period: DateRange
    lines: list[HistoryLine]  # newest first

    @property
    def tally(self) -> Tally:
        return Tally.of([line.status for line in self.lines], _absent_unconfirmed(self.lines))


def student_history(
    db: Session, student: Student, period: DateRange | None = None, courses: ColumnElement[bool] | None = None
) -> StudentHistory:
    """Every session of every course they are enrolled in or have a mark in, with the mark, how it was made (auto /
    manual) and the match similarity. One query. `courses`: the courses the reader reaches (ownership.visible_courses:
    a co-teacher sees their shared course's marks, not the rest); without it, the student's teacher's courses."""
    period = period or DateRange()
    enrolled_courses = select(Enrollment.course_id).where(Enrollment.student_id == student.id)
    rows = db.execute(
        select(
            AttendanceSession.id,
            AttendanceSession.course_id,
            AttendanceSession.date,
            AttendanceSession.label,
            Course.name,
            AttendanceRecord,
        )
        .join(Course, Course.id == AttendanceSession.course_id)
        .outerjoin(
            AttendanceRecord,
            and_(AttendanceRecord.session_id == AttendanceSession.id, AttendanceRecord.student_id == student.id),
        )
        .where(Course.teacher_id == student.teacher_id if courses is None else courses)
        .where(period.clause(AttendanceSession.date))
        .where(or_(AttendanceRecord.id.is_not(None), AttendanceSession.course_id.in_(enrolled_courses)))
        .order_by(AttendanceSession.date.desc(), func.lower(Course.name), AttendanceSession.label)
    ).all()
    notes = latest_notes(db, [rec.id for *_, rec in rows if rec is not None])
    decided = decisions(db, [rec for *_, rec in rows if rec is not None])
    waiting = waiting_by_session(db, [sid for sid, *_ in rows])
    return StudentHistory(
        student=StudentRef(student.id, student.name, student.student_number),
        period=period,
        lines=[
            HistoryLine(
                session=SessionRef(sid, course_id, date, label or ""),
                course_name=course_name,
                status=rec.status if rec else None,
                source=rec.source if rec else None,
                similarity=rec.similarity if rec else None,
                updated_at=rec.updated_at if rec else None,
                note=notes.get(rec.id) if rec else None,
                decision=decided.get(rec.id) if rec else None,
                waiting_face=waiting[sid].get(student.id),
            )
            for sid, course_id, date, label, course_name, rec in rows
        ],
    )
