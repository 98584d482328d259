"""A subject-access export: everything held about one student, as one ZIP with a README in plain words.

The teacher who owns the student downloads it from the student's page (and with a token from the API, as
`GET /api/v1/students/{student_id}/export`). It holds the student's record, their portraits as stored, the faces
learned from classroom photos (a cut-out of each while its photo is kept), the face templates recognition uses,
every classroom face named or proposed as them, every attendance mark with its history of changes, and the audit
log's entries about them. The ZIP is written to a temporary file, one photo in memory at a time, and sent from
there; the export itself is written to the audit log before it is sent.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import re
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from flask import Response, send_file
from flask.typing import ResponseReturnValue
from flask_login import login_required
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from attendance_shared.images import ImageRejected, decode_oriented_rgb
from attendance_shared.models import (
    AttendanceChange,
    AttendanceRecord,
    AttendanceSession,
    AuditEvent,
    Course,
    DetectedFace,
    FaceEmbedding,
    SessionPhoto,
    Student,
    Teacher,
    utcnow,
)
from attendance_shared.storage import PhotoStore, StorageError

from ..audit import audit
from ..auth.user import current_teacher_id
from ..extensions import db, store
from ..ownership import managed_student
from ..reports.csv_export import neutralise
from ..times import utc_iso
from . import bp
from .learned import LearnedFace, learned_faces

AUDIT_ACTION = "student_data_exported"
CROP_SIDE = 400  # px, the longest side of a learned face's cut-out


@dataclass(frozen=True)
class Export:
    file: IO[bytes]
    filename: str
    counts: dict[str, int]


def _when(moment: dt.datetime | None) -> str:
    return utc_iso(moment) if moment else ""


def _safe_name(name: str) -> str:
    """A file name for inside the ZIP: letters, digits, dot, dash and underscore only (never a path)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "photo"
    return cleaned[:80]


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with a BOM (Excel shows accented names), formulas neutralised as in every other CSV of the app."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else neutralise(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")


def _teacher_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {int(i): str(n) for i, n in session.execute(select(Teacher.id, Teacher.name).where(Teacher.id.in_(wanted)))}


def _crop(data: bytes, box: Sequence[float], filename: str) -> bytes | None:
    """The face with a margin (as the student page shows it), as a JPEG; None when the photo cannot be read."""
    try:
        image = decode_oriented_rgb(data, filename)
    except ImageRejected:
        return None
    x1, y1, x2, y2 = (float(v) for v in box)
    side = max(x2 - x1, y2 - y1, 1.0) * 1.6
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, top = max(0, round(cx - side / 2)), max(0, round(cy - side / 2))
    right, bottom = min(image.width, round(cx + side / 2)), min(image.height, round(cy + side / 2))
    if right <= left or bottom <= top:
        return None
    face = image.crop((left, top, right, bottom))
    face.thumbnail((CROP_SIDE, CROP_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    face.save(out, "JPEG", quality=90)
    return out.getvalue()


def _readme(student: Student, teacher: Teacher, moment: dt.datetime, counts: dict[str, int]) -> str:
    return f"""Everything this attendance system holds about one student
==========================================================

Student:  {student.name} (student number {student.student_number})
Exported: {utc_iso(moment)} (UTC)
By:       {teacher.name} <{teacher.email}>, the teacher whose roster the student is on

This ZIP is a copy of what the system stores about the student, made on request (a subject-access request).
Nothing was changed or deleted by making it. The export itself is written to the audit log.

Files
-----
README.txt            This file.
student.json          The student's record: name, student number, e-mail address, when they were added, and the
                      courses they are in.
portraits/            The portrait photos of the student ({counts["portraits"]}), exactly as stored. The system
                      uses them to recognise the student in classroom photos. portraits/portraits.csv lists each
                      one: its file here, the name it was uploaded with, when, and whether it was accepted (and
                      why not, if it was refused). A photo the store no longer has is listed without a file.
learned_faces/        Faces from classroom photos that the teacher confirmed as the student ({counts["learned"]}).
                      They help recognise the student in later lessons. Each has a cut-out of the face while its
                      classroom photo is still kept (photos are deleted after the retention period), and
                      learned_faces/learned_faces.csv lists each: the lesson, the photo, and where the face was.
face_templates.json   The face templates held for the student ({counts["templates"]}): numbers a face model
                      computed from a portrait or a learned face, which recognition compares. Each is given as
                      base64 of float32 numbers (little-endian), with the model that computed it and its source.
recognised_faces.csv  Every face in a classroom photo that recognition named as the student, or proposed for the
                      teacher to confirm ({counts["faces"]}): the lesson, the photo, the decision and how similar
                      the face was to the student's portraits (0 to 1).
attendance.csv        Every attendance mark of the student ({counts["records"]}), one line per lesson ("mark"),
                      each followed by its history ("change" lines: what it was before, what it became, when, by
                      whom and why). Source "auto" means set by recognition, "manual" by the teacher.
audit.csv             The audit log's entries about the student ({counts["audit"]}): deleted photos, the student
                      deleted, earlier exports like this one. Times are UTC.

Times are in UTC, written as 2026-12-07T09:30:00Z. Lesson dates are calendar days.
"""


def _student_json(student: Student, teacher: Teacher) -> bytes:
    record = {
        "id": student.id,
        "name": student.name,
        "student_number": student.student_number,
        "email": student.email,
        "added_at": _when(student.created_at),
        "courses": [{"id": c.id, "name": c.name, "code": c.code} for c in sorted(student.courses, key=lambda c: c.id)],
        "teacher": {"name": teacher.name, "email": teacher.email},
    }
    return json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8")


def _portraits(zf: zipfile.ZipFile, photos: PhotoStore, student: Student) -> int:
    rows = []
    for p in sorted(student.photos, key=lambda p: p.id):
        name = f"portraits/{p.id}-{_safe_name(p.original_filename)}"
        try:
            zf.writestr(name, photos.get(p.storage_key), compress_type=zipfile.ZIP_STORED)
        except StorageError:
            name = ""
        reason = p.reason or (p.refusal.value if p.refusal else "")
        rows.append((name.removeprefix("portraits/"), p.original_filename, _when(p.created_at), p.status.value, reason))
    header = ("file", "uploaded_as", "uploaded_at", "status", "reason")
    zf.writestr("portraits/portraits.csv", _csv(header, rows))
    return len(rows)


def _learned(zf: zipfile.ZipFile, photos: PhotoStore, learned: list[LearnedFace]) -> int:
    rows, images = [], 0
    for lf in learned:
        name = ""
        if lf.photo.storage_key:
            try:
                crop = _crop(photos.get(lf.photo.storage_key), lf.face.box, lf.photo.original_filename)
            except StorageError:
                crop = None
            if crop is not None:
                name = f"face-{lf.face.id}.jpg"
                zf.writestr(f"learned_faces/{name}", crop, compress_type=zipfile.ZIP_STORED)
                images += 1
        rows.append(
            (
                name,
                lf.course.name,
                lf.session.date.isoformat(),
                lf.session.label,
                lf.photo.original_filename,
                lf.face.face_index + 1,
                json.dumps(lf.face.box),
                lf.face.decision.value,
            )
        )
    header = ("file", "course", "lesson_date", "lesson_label", "photo", "face_number", "box", "decision")
    zf.writestr("learned_faces/learned_faces.csv", _csv(header, rows))
    return len(rows)


def _templates(session: Session, student: Student) -> tuple[bytes, int]:
    rows = session.scalars(
        select(FaceEmbedding).where(FaceEmbedding.student_id == student.id).order_by(FaceEmbedding.id)
    ).all()
    templates = [
        {
            "id": e.id,
            "source": "portrait" if e.student_photo_id else "learned face",
            "portrait_id": e.student_photo_id,
            "classroom_face_id": e.detected_face_id,
            "model": e.model_id,
            "dimensions": e.dim,
            "created_at": _when(e.created_at),
            "float32_le_base64": base64.b64encode(e.vector).decode("ascii"),
        }
        for e in rows
    ]
    return json.dumps(templates, indent=2).encode("utf-8"), len(templates)


def _recognised(session: Session, student: Student) -> tuple[bytes, int]:
    rows = session.execute(
        select(DetectedFace, SessionPhoto, AttendanceSession, Course)
        .join(SessionPhoto, SessionPhoto.id == DetectedFace.session_photo_id)
        .join(AttendanceSession, AttendanceSession.id == SessionPhoto.session_id)
        .join(Course, Course.id == AttendanceSession.course_id)
        .where((DetectedFace.student_id == student.id) | (DetectedFace.candidate_student_id == student.id))
        .order_by(AttendanceSession.date, AttendanceSession.id, DetectedFace.id)
    ).all()
    header: tuple[str, ...] = ("course", "lesson_date", "lesson_label", "photo", "face_number", "named_or_proposed")
    header += ("decision", "similarity", "teacher_review", "box")
    lines = [
        (
            course.name,
            lesson.date.isoformat(),
            lesson.label,
            photo.original_filename,
            face.face_index + 1,
            "named" if face.student_id == student.id else "proposed",
            face.decision.value,
            round(face.similarity, 3),
            face.review.value,
            json.dumps(face.box),
        )
        for face, photo, lesson, course in rows
    ]
    return _csv(header, lines), len(lines)


def _attendance(session: Session, student: Student) -> tuple[bytes, int]:
    records = session.execute(
        select(AttendanceRecord, AttendanceSession, Course)
        .join(AttendanceSession, AttendanceSession.id == AttendanceRecord.session_id)
        .join(Course, Course.id == AttendanceSession.course_id)
        .where(AttendanceRecord.student_id == student.id)
        .order_by(AttendanceSession.date, AttendanceSession.id)
    ).all()
    changes: dict[int, list[AttendanceChange]] = {}
    record_ids = [r.id for r, _s, _c in records]
    for start in range(0, len(record_ids), 1000):
        part = record_ids[start : start + 1000]
        for change in session.scalars(
            select(AttendanceChange)
            .where(AttendanceChange.record_id.in_(part))
            .order_by(AttendanceChange.changed_at, AttendanceChange.id)
        ):
            changes.setdefault(change.record_id, []).append(change)
    every_change = [c for cs in changes.values() for c in cs]
    names = _teacher_names(
        session, [r.updated_by_id for r, _s, _c in records] + [c.changed_by_id for c in every_change]
    )
    header: tuple[str, ...] = ("line", "course", "lesson_date", "lesson_label", "status", "previous_status", "source")
    header += ("at", "by", "note")
    lines: list[tuple[Any, ...]] = []
    for record, lesson, course in records:
        where = (course.name, lesson.date.isoformat(), lesson.label)
        by = names.get(record.updated_by_id or 0, "recognition" if record.source.value == "auto" else "")
        lines.append(("mark", *where, record.status.value, "", record.source.value, _when(record.updated_at), by, ""))
        for c in changes.get(record.id, []):
            who = names.get(c.changed_by_id or 0, "")
            lines.append(("change", *where, c.to_status, c.from_status, "", _when(c.changed_at), who, c.note))
    return _csv(header, lines), len(records)


def _about(student_id: int, detail: str | None) -> bool:
    return bool(detail) and re.search(rf"(?:^|\s)student_id={student_id}(?:\s|$)", detail or "") is not None


def _audit_entries(session: Session, student: Student) -> tuple[bytes, int]:
    """Entries whose detail names the student (student_id=N): the audit log keeps ids, never names."""
    events = [
        e
        for e in session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.teacher_id == student.teacher_id,
                AuditEvent.detail.like(f"%student_id={student.id}%"),
            )
            .order_by(AuditEvent.created_at, AuditEvent.id)
        )
        if _about(student.id, e.detail)
    ]
    names = _teacher_names(session, [e.teacher_id for e in events])
    lines = [(_when(e.created_at), e.action, e.detail, names.get(e.teacher_id or 0, "")) for e in events]
    return _csv(("at", "action", "detail", "by"), lines), len(lines)


def build_export(session: Session, photos: PhotoStore, student: Student, teacher: Teacher) -> Export:
    """The ZIP in a temporary file (deleted when closed), rewound; its counts for the README and the audit log."""
    moment = utcnow()
    file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the response that sends it)
    counts: dict[str, int] = {}
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("student.json", _student_json(student, teacher))
        counts["portraits"] = _portraits(zf, photos, student)
        counts["learned"] = _learned(zf, photos, learned_faces(session, student))
        templates, counts["templates"] = _templates(session, student)
        zf.writestr("face_templates.json", templates)
        recognised, counts["faces"] = _recognised(session, student)
        zf.writestr("recognised_faces.csv", recognised)
        attendance, counts["records"] = _attendance(session, student)
        zf.writestr("attendance.csv", attendance)
        entries, counts["audit"] = _audit_entries(session, student)
        zf.writestr("audit.csv", entries)
        zf.writestr("README.txt", _readme(student, teacher, moment, counts).encode("utf-8"))
    file.seek(0)
    filename = f"student-{student.id}-{_safe_name(student.student_number)}-{moment:%Y%m%d}.zip"
    return Export(file=file, filename=filename, counts=counts)


def export_response(student: Student) -> Response:
    """Build the export, write it to the audit log (committed), and send it: never cached."""
    teacher = db().get(Teacher, current_teacher_id())
    assert teacher is not None
    export = build_export(db(), store(), student, teacher)
    counts = " ".join(f"{k}={v}" for k, v in export.counts.items())
    audit(AUDIT_ACTION, teacher.id, f"student_id={student.id} {counts}")
    db().commit()
    response = send_file(export.file, mimetype="application/zip", as_attachment=True, download_name=export.filename)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/students/<int:student_id>/export")
@login_required
def subject_access(student_id: int) -> ResponseReturnValue:
    """Everything held about the student, as one ZIP (the student's page links here)."""
    return export_response(managed_student(student_id))
