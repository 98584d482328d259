"""Everything the review page shows, gathered in a few queries (no lazy loads in the template)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from markupsafe import Markup
from sqlalchemy import select, union
from sqlalchemy.orm import selectinload

from attendance_shared.models import (
    AttendanceChange,
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    DetectedFace,
    FaceEmbedding,
    FaceReview,
    Job,
    JobKind,
    PhotoStatus,
    RecordSource,
    SessionPhoto,
    Student,
    StudentPhoto,
    Teacher,
)
from attendance_shared.records import (
    ATTENDED,
    PHOTOS_IN_RECOGNITION,
    DecidedBy,
    Decision,
    FaceKind,
    decisions,
    face_kind,
    session_list_query,
    waiting_for_confirmation,
)

from ..decided import decision_html
from ..extensions import db
from .retake import RetakeArea, retake_area


@dataclass
class FaceView:
    """One face as the teacher sees it. `kind` (records.FaceKind) drives its look: matched, confirm, unknown or
    rejected."""

    face: DetectedFace
    photo_number: int
    kind: FaceKind
    student: Student | None = None
    candidate: Student | None = None
    student_left: bool = False  # the matched student is no longer in this session's course

    @property
    def id(self) -> int:
        return self.face.id

    @property
    def number(self) -> int:
        return self.face.face_index + 1

    @property
    def confidence(self) -> str:
        return f"{self.face.similarity:.2f}" if self.face.similarity else ""

    @property
    def how(self) -> str:
        """Why the face carries its name: recognised, confirmed or assigned by the teacher."""
        return {FaceReview.CONFIRMED: "confirmed", FaceReview.ASSIGNED: "assigned"}.get(self.face.review, "recognised")

    @property
    def tag(self) -> str:
        if self.kind == "matched":
            return self.how.capitalize()
        return {"confirm": "To confirm", "rejected": "Rejected"}.get(self.kind, "Unknown")

    @property
    def label(self) -> str:
        """Short text drawn on the photo."""
        if self.kind == "matched" and self.student:
            return f"{self.student.name} {self.confidence}".strip() if self.how == "recognised" else self.student.name
        if self.kind == "confirm" and self.candidate:
            return f"{self.candidate.name}? {self.confidence}".strip()
        return f"{self.number} ?"

    @property
    def description(self) -> str:
        """A sentence for screen readers and the face list."""
        where = f"Face {self.number} in photo {self.photo_number}"
        if self.kind == "matched" and self.student:
            score = f" (match score {self.confidence})" if self.how == "recognised" and self.confidence else ""
            left = ", no longer in this course" if self.student_left else ""
            return f"{where}: {self.student.name}, {self.how}{score}{left}"
        if self.kind == "confirm" and self.candidate:
            return f"{where}: possibly {self.candidate.name} (match score {self.confidence}), please confirm"
        if self.kind == "rejected":
            return f"{where}: not {self.candidate.name}" if self.candidate else f"{where}: rejected"
        return f"{where}: unknown"

    @property
    def box(self) -> tuple[float, float, float, float]:
        x1, y1, x2, y2 = (float(v) for v in self.face.box)
        return x1, y1, max(x2 - x1, 1.0), max(y2 - y1, 1.0)

    def crop_viewbox(self) -> str:
        """An SVG viewBox around the face with a margin: a thumbnail without a stored crop."""
        x, y, w, h = self.box
        side = max(w, h) * 1.6
        cx, cy = x + w / 2, y + h / 2
        return f"{cx - side / 2:.1f} {cy - side / 2:.1f} {side:.1f} {side:.1f}"


@dataclass(frozen=True)
class FaceTag:
    """Where a face's label is drawn on the photo, in the photo's pixels: its box (x, y, width, height),
    the text's start and baseline, and the text (shortened with an ellipsis when wider than the photo)."""

    x: float
    y: float
    width: float
    height: float
    text_x: float
    text_y: float
    text: str


def _text_width(text: str, size: float) -> float:
    """A generous estimate of the label's width (600 weight): wide East Asian characters count 1 em."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else size * 0.62 for c in text)


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def place_tags(faces: list[FaceView], width: float, height: float, size: float) -> list[FaceTag]:
    """Each face's label inside the photo: above its box, or below it where there is no room above or
    the label would cover an earlier face's label (inside the box's top as a last resort); moved left
    (anchored to the box's right edge, then to the photo's) where it would run past the photo's right edge."""
    pad, tag_h = size * 0.3, size * 1.35
    placed: list[tuple[float, float, float, float]] = []
    tags: list[FaceTag] = []
    for fv in faces:
        x, y, w, h = fv.box
        text = fv.label
        if _text_width(text, size) + 2 * pad > width:  # longer than the photo is wide: shorten it
            while text and _text_width(text + "…", size) + 2 * pad > width:
                text = text[:-1]
            text = text.rstrip() + "…"
        tag_w = _text_width(text, size) + 2 * pad
        left = x if x + tag_w <= width else x + w - tag_w
        left = max(0.0, min(left, width - tag_w))
        above, below = y - tag_h - size * 0.05, y + h
        spots = [t for t, fits in ((above, above >= 0), (below, below + tag_h <= height)) if fits]
        spots.append(max(0.0, min(y, height - tag_h)))  # inside the box's top edge
        top = next((t for t in spots if not any(_overlaps((left, t, tag_w, tag_h), r) for r in placed)), spots[0])
        placed.append((left, top, tag_w, tag_h))
        tags.append(FaceTag(left, top, tag_w, tag_h, left + pad, top + size * 1.05, text))
    return tags


@dataclass
class PhotoView:
    photo: SessionPhoto
    number: int
    faces: list[FaceView]
    closer_photo_added: bool = False  # a photo added after this one was recognised: the retake advice is answered

    def tagged_faces(self) -> list[tuple[FaceView, FaceTag]]:
        """The faces with where their labels go (see place_tags)."""
        width, height = float(self.photo.width or "inf"), float(self.photo.height or "inf")
        return list(zip(self.faces, place_tags(self.faces, width, height, self.label_size), strict=True))

    @property
    def working(self) -> bool:
        return self.photo.status in PHOTOS_IN_RECOGNITION

    @property
    def label_size(self) -> float:
        """Font size for face labels in the photo's pixel units, readable at any display size."""
        return round(max(self.photo.width, self.photo.height) / 55, 1)

    @property
    def retake(self) -> RetakeArea | None:
        """Where the faces too small or unclear to recognise in this photo are (sessions.retake), until a photo is
        added after it."""
        return None if self.closer_photo_added else retake_area(self.faces, self.photo.width, self.photo.height)


@dataclass
class RosterRow:
    student: Student
    record: AttendanceRecord | None
    seen: bool = False  # a face in the photos currently carries this student's name
    recognisable: bool = True  # has an accepted portrait (or a confirmed face): recognition can find them
    enrolled: bool = True  # False: removed from the course since; the session's record of them is kept as it is
    waiting_face: int | None = None  # their best face waiting in "please confirm" (records.waiting_by_session)
    decision: Decision | None = None  # who gave the record its status (records.decision_of)

    @property
    def waiting(self) -> bool:
        """Waiting for the teacher's confirmation: not "absent" until the teacher answers."""
        return self.waiting_face is not None

    @property
    def by_teacher(self) -> bool:
        return self.decision is not None and self.decision.by == DecidedBy.TEACHER

    @property
    def decided_html(self) -> Markup:
        return decision_html(self.decision)

    @property
    def hand_mark_differs(self) -> bool:
        """Marked absent/excused by hand although a face matches (e.g. after a re-run): say so (late is attended)."""
        return bool(self.seen and self.record and self.record.source == RecordSource.MANUAL) and (
            self.status not in ATTENDED
        )

    @property
    def status(self) -> str:
        if self.waiting:
            return "waiting"
        return self.record.status.value if self.record else "not marked"

    @property
    def source(self) -> str:
        """How the status came about, for recognition's marks (the teacher's decisions are shown with their time)."""
        if self.record is None or self.waiting or self.by_teacher:
            return ""
        if self.record.source == RecordSource.MANUAL:
            return "marked by hand"
        if self.record.status != AttendanceStatus.PRESENT:
            return "not seen in the photos" if self.recognisable else "no usable portrait: recognition cannot find them"
        return f"recognised ({self.record.similarity:.2f})" if self.record.similarity else "recognised"


@dataclass
class HistoryRow:
    change: AttendanceChange
    student_name: str
    teacher_name: str


@dataclass
class ReviewPage:
    session: AttendanceSession
    photos: list[PhotoView]
    to_confirm: list[FaceView]
    roster: list[RosterRow]
    history: list[HistoryRow]
    jobs: list[Job]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def working(self) -> bool:
        return any(p.working for p in self.photos)

    @property
    def students(self) -> list[Student]:
        """The students a face can be assigned to: those in the course now."""
        return [row.student for row in self.roster if row.enrolled]

    @property
    def unrecognisable(self) -> list[Student]:
        """Students whose absence says nothing: no accepted portrait, so no face could have been theirs."""
        return [
            row.student for row in self.roster if row.enrolled and not row.recognisable and row.status not in ATTENDED
        ]


def latest_jobs(session: AttendanceSession, limit: int = 5) -> list[Job]:
    """The session's latest recognition runs, whoever of its teachers started them (created after the session:
    SQLite may reuse a deleted session's id)."""
    stmt = (
        select(Job)
        .where(Job.kind == JobKind.ATTENDANCE, Job.subject_id == session.id, Job.created_at >= session.created_at)
        .order_by(Job.created_at.desc())
        .limit(limit)
    )
    return list(db().scalars(stmt))


def history(session_id: int, limit: int = 200) -> list[HistoryRow]:
    stmt = (
        select(AttendanceChange, Student.name, Teacher.name)
        .join(AttendanceRecord, AttendanceRecord.id == AttendanceChange.record_id)
        .join(Student, Student.id == AttendanceRecord.student_id)
        .outerjoin(Teacher, Teacher.id == AttendanceChange.changed_by_id)
        .where(AttendanceRecord.session_id == session_id)
        .order_by(AttendanceChange.changed_at.desc(), AttendanceChange.id.desc())
        .limit(limit)
    )
    return [HistoryRow(c, s, t or "a former account") for c, s, t in db().execute(stmt)]


def recognisable(student_ids: Iterable[int]) -> set[int]:
    """The students recognition can find: an accepted portrait, or a face the teacher confirmed (in the gallery)."""
    ids = list(student_ids)
    if not ids:
        return set()
    portraits = select(StudentPhoto.student_id).where(
        StudentPhoto.student_id.in_(ids), StudentPhoto.status == PhotoStatus.ACCEPTED
    )
    learned = select(FaceEmbedding.student_id).where(FaceEmbedding.student_id.in_(ids))
    return set(db().scalars(union(portraits, learned)))


def build(session: AttendanceSession, teacher_id: int) -> ReviewPage:
    """The session's list (records.session_list_query: the students in the course now plus everyone recorded in
    it), as in the session and course reports: a student removed from the course since keeps their row and their
    count here, marked as no longer in it."""
    listed_rows = db().execute(session_list_query(session.id, session.course_id)).all()
    enrolled = {student.id for student, is_enrolled, _ in listed_rows if is_enrolled}
    records = {student.id: record for student, _, record in listed_rows if record is not None}
    by_id = {student.id: student for student, _, _ in listed_rows}
    photos = list(
        db().scalars(
            select(SessionPhoto)
            .where(SessionPhoto.session_id == session.id)
            .options(selectinload(SessionPhoto.faces))
            .order_by(SessionPhoto.id)
        )
    )
    missing = {
        sid
        for p in photos
        for f in p.faces
        for sid in (f.student_id, f.candidate_student_id)
        if sid is not None and sid not in by_id
    }
    if missing:  # students who left the course since: their faces still name them
        by_id.update({s.id: s for s in db().scalars(select(Student).where(Student.id.in_(missing)))})
    photo_views: list[PhotoView] = []
    for number, photo in enumerate(photos, start=1):
        faces = [
            FaceView(
                f,
                number,
                face_kind(f),
                by_id.get(f.student_id) if f.student_id else None,
                by_id.get(f.candidate_student_id) if f.candidate_student_id else None,
                student_left=f.student_id is not None and f.student_id not in enrolled,
            )
            for f in photo.faces
        ]
        photo_views.append(PhotoView(photo, number, faces))
    for pv in photo_views:
        pv.closer_photo_added = any(later.photo.id > pv.photo.id and later.photo.processed_at for later in photo_views)
    to_confirm = [fv for pv in photo_views for fv in pv.faces if fv.kind == FaceKind.CONFIRM]
    to_confirm.sort(key=lambda fv: (-fv.face.similarity, fv.photo_number, fv.number))
    listed = [student for student, _, _ in listed_rows]
    if len(enrolled) < len(listed):  # those who left go in among the others by name, as in the reports
        listed.sort(key=lambda s: (s.name.casefold(), s.name, s.student_number))
    seen = {fv.face.student_id for pv in photo_views for fv in pv.faces if fv.kind == "matched"}
    known = recognisable(s.id for s in listed)
    waiting = waiting_for_confirmation(db(), session.id)
    decided = decisions(db(), list(records.values()))
    roster = [
        RosterRow(
            s,
            records.get(s.id),
            s.id in seen,
            s.id in known,
            s.id in enrolled,
            waiting_face=waiting.get(s.id),
            decision=decided.get(records[s.id].id) if s.id in records else None,
        )
        for s in listed
    ]
    counts = {s.value: 0 for s in AttendanceStatus}
    counts["waiting"] = 0
    for row in roster:
        if row.waiting:
            counts["waiting"] += 1
        elif row.record:
            counts[row.record.status.value] += 1
    counts["confirm"] = len(to_confirm)
    # records.FaceKind: a face the teacher rejected is not an unknown face (the job summary counts the same way)
    counts["unknown"] = sum(1 for pv in photo_views for fv in pv.faces if fv.kind == FaceKind.UNKNOWN)
    counts["rejected"] = sum(1 for pv in photo_views for fv in pv.faces if fv.kind == FaceKind.REJECTED)
    return ReviewPage(
        session=session,
        photos=photo_views,
        to_confirm=to_confirm,
        roster=roster,
        history=history(session.id),
        jobs=latest_jobs(session),
        counts=counts,
    )
