"""The attendance decision rules, in one place for the worker, the review page and the reports.

- **Which faces support a present mark.** For recognition's merge: a face the engine decided "present" that is still
  tied to a student (`supports_present`); across a session's photos a student is present when any photo has such a
  face, the best one kept, and a "confirm" face never makes anyone present (`merge_session`). For the teacher's
  corrections: any face still carrying the student's name that the teacher has not rejected (`supporting_faces`).
- **Automatic vs teacher record.** Recognition writes `auto` records and only ever updates `auto` ones (checked by the
  database at the moment of writing), so a teacher's mark is never overwritten. A teacher's action makes the record
  `manual` (`write_change`); a hand mark (Present / Late / Absent / Excused buttons) is a manual record not tied to a
  face (`is_hand_mark`) and survives every face correction. Late is only ever a hand mark.
- **A session's list** = the students enrolled in its course now + everyone recorded in it (a student who left the
  course keeps their past marks): `session_list_query`, `session_list_sizes`.
- **The merge after a run.** The first run records every student of the course; a later run (a photo added, a
  re-run) records a student without a record only when recognised: enrollments have no date, so they may have
  joined since (`merge_records`). A re-run carries the teacher's verdicts on each face to the face found at the same
  place (`carry_over`).
- **What the teacher still has to decide.** A face's kind, one definition for every count (`kind_of`, `FaceKind`: a
  rejected face is not unknown); the students waiting for confirmation, shown as such and not as absent
  (`waiting_by_session`, `waiting_for_confirmation`).
- **Who decided a mark.** Recognition, or the teacher with what they did and when, read from the history; an automatic
  record can carry the teacher's decision, e.g. a rejected face that left the student absent (`decision_of`,
  `decisions`).

Nothing here commits: the callers commit once, so an action is all-or-nothing.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from sqlalchemy import ColumnElement, Select, and_, delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from .db import upsert_insert
from .images import box_iou
from .models import (
    AttendanceChange,
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    DetectedFace,
    Enrollment,
    FaceDecision,
    FaceEmbedding,
    FaceReview,
    Job,
    JobKind,
    JobState,
    RecordSource,
    SessionPhoto,
    SessionPhotoStatus,
    Student,
    utcnow,
)

#: photos whose faces are not in yet: new or re-queued ones, and any a crashed job left mid-way
PHOTOS_IN_RECOGNITION = (
    SessionPhotoStatus.QUEUED,
    SessionPhotoStatus.PROCESSING,
    SessionPhotoStatus.DETECTING,
    SessionPhotoStatus.MATCHING,
)

#: a face of the new run is "the same face" as one of the previous run when their boxes overlap this much
SAME_FACE_IOU = 0.5

NOTE_MAX = 255

#: the statuses that count as attended, in every rate and every "N present": late is there too (only a teacher marks
#: anyone late: recognition writes present or absent)
ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE)


# --- a session's list -----------------------------------------------------------------------------


def session_list_query(session_id: int, course_id: int) -> Select[Student, bool, AttendanceRecord]:
    """(Student, enrolled now, the student's record or None) for everyone the session lists, by name."""
    enrolled = Enrollment.course_id.is_not(None)
    return (
        select(Student, enrolled, AttendanceRecord)
        .outerjoin(Enrollment, and_(Enrollment.student_id == Student.id, Enrollment.course_id == course_id))
        .outerjoin(
            AttendanceRecord,
            and_(AttendanceRecord.student_id == Student.id, AttendanceRecord.session_id == session_id),
        )
        .where(or_(enrolled, AttendanceRecord.id.is_not(None)))
        .order_by(Student.name, Student.student_number)
    )


def session_list_sizes(db: Session, sessions: Sequence[AttendanceSession]) -> dict[int, int]:
    """How many students each session lists: its course's students now plus those recorded in it who left the
    course since. Two grouped queries whatever the number of sessions."""
    if not sessions:
        return {}
    enrolled = {
        course_id: int(n)
        for course_id, n in db.execute(
            select(Enrollment.course_id, func.count())
            .where(Enrollment.course_id.in_({s.course_id for s in sessions}))
            .group_by(Enrollment.course_id)
        )
    }
    left_since = {
        session_id: int(n)
        for session_id, n in db.execute(
            select(AttendanceRecord.session_id, func.count())
            .join(AttendanceSession, AttendanceSession.id == AttendanceRecord.session_id)
            .outerjoin(
                Enrollment,
                and_(
                    Enrollment.student_id == AttendanceRecord.student_id,
                    Enrollment.course_id == AttendanceSession.course_id,
                ),
            )
            .where(AttendanceRecord.session_id.in_([s.id for s in sessions]), Enrollment.student_id.is_(None))
            .group_by(AttendanceRecord.session_id)
        )
    }
    return {s.id: enrolled.get(s.course_id, 0) + left_since.get(s.id, 0) for s in sessions}


def is_enrolled(db: Session, course_id: int, student_id: int) -> bool:
    stmt = select(exists().where(Enrollment.course_id == course_id, Enrollment.student_id == student_id))
    return bool(db.scalar(stmt))


# --- which faces support a present mark -----------------------------------------------------------


class Evidence(Protocol):
    """One face's decision as the merge reads it: the engine's match, or a stored face (`stored_evidence`)."""

    @property
    def decision(self) -> str: ...  # "present" | "confirm" | "unknown"

    @property
    def person(self) -> str | None: ...  # set only for "present"

    @property
    def candidate(self) -> str | None: ...

    @property
    def similarity(self) -> float: ...


@dataclass(frozen=True)
class StoredEvidence:
    decision: str
    person: str | None
    candidate: str | None
    similarity: float


class SessionMatch(NamedTuple):
    photo_index: int
    face_index: int
    decision: str  # "present" or "confirm"
    similarity: float


def merge_session(per_photo: Sequence[Sequence[Evidence]]) -> dict[str, SessionMatch]:
    """Evidence of all photos of a session, per person: present if present in any photo (best face kept);
    otherwise the best "confirm" face. A "confirm" never makes anyone present; unknown faces are ignored."""
    best: dict[str, SessionMatch] = {}
    rank = {FaceDecision.PRESENT.value: 1, FaceDecision.CONFIRM.value: 0}
    for p, decisions in enumerate(per_photo):
        for f, d in enumerate(decisions):
            if d.decision == FaceDecision.PRESENT and d.person is not None:
                person = d.person
            elif d.decision == FaceDecision.CONFIRM and d.candidate is not None:
                person = d.candidate
            else:
                continue
            cand = SessionMatch(p, f, str(d.decision), float(d.similarity))
            cur = best.get(person)
            if cur is None or (rank[cand.decision], cand.similarity) > (rank[cur.decision], cur.similarity):
                best[person] = cand
    return best


def supports_present(face: DetectedFace) -> bool:
    """Recognition's own word: decided present and still tied to a student (not rejected or reassigned since)."""
    return face.decision == FaceDecision.PRESENT and face.student_id is not None


def stored_evidence(face: DetectedFace) -> StoredEvidence:
    """A stored face as the merge reads it: `person` only for a face that supports a present mark."""
    return StoredEvidence(
        decision=face.decision.value,
        person=str(face.student_id) if supports_present(face) else None,
        candidate=str(face.candidate_student_id) if face.candidate_student_id else None,
        similarity=face.similarity,
    )


def supporting_faces(
    db: Session, session_id: int, student_id: int, *, excluding: int | None = None
) -> list[DetectedFace]:
    """Faces in this session that currently say the student is here (best match first)."""
    stmt = (
        select(DetectedFace)
        .join(SessionPhoto)
        .where(
            SessionPhoto.session_id == session_id,
            DetectedFace.student_id == student_id,
            DetectedFace.review != FaceReview.REJECTED,
        )
        .order_by(DetectedFace.similarity.desc(), DetectedFace.id)
    )
    return [f for f in db.scalars(stmt) if f.id != excluding]


def face_of_student_in_photo(db: Session, face: DetectedFace, student_id: int) -> DetectedFace | None:
    """One student, one face per photo (the engine assigns faces to students one-to-one in each photo): another
    face of `face`'s photo that already carries the student, or None. The teacher's assign and confirm obey it."""
    return db.scalar(
        select(DetectedFace)
        .where(
            DetectedFace.session_photo_id == face.session_photo_id,
            DetectedFace.student_id == student_id,
            DetectedFace.review != FaceReview.REJECTED,
            DetectedFace.id != face.id,
        )
        .order_by(DetectedFace.face_index)
        .limit(1)
    )


# --- automatic vs teacher records -----------------------------------------------------------------


def is_hand_mark(record: AttendanceRecord) -> bool:
    """Marked with the Present / Late / Absent / Excused buttons: the teacher's, standing on no face."""
    return record.source == RecordSource.MANUAL and record.detected_face_id is None


def _record_stmt(session_id: int, student_id: int) -> Select[AttendanceRecord]:
    return select(AttendanceRecord).where(
        AttendanceRecord.session_id == session_id, AttendanceRecord.student_id == student_id
    )


def find_record(db: Session, session_id: int, student_id: int) -> AttendanceRecord | None:
    return db.scalar(_record_stmt(session_id, student_id))


def record_for(db: Session, session_id: int, student_id: int) -> tuple[AttendanceRecord, AttendanceStatus | None]:
    """The student's record for the session, created (by the teacher) when missing; with its status before."""
    record = find_record(db, session_id, student_id)
    if record is not None:
        return record, record.status
    record = AttendanceRecord(
        session_id=session_id, student_id=student_id, status=AttendanceStatus.ABSENT, source=RecordSource.MANUAL
    )
    try:
        with db.begin_nested():
            db.add(record)
    except IntegrityError:  # created by a concurrent request (or the worker) a moment ago
        found = find_record(db, session_id, student_id)
        assert found is not None
        return found, found.status
    return record, None


def write_change(
    db: Session,
    record: AttendanceRecord,
    previous: AttendanceStatus | None,
    to_status: AttendanceStatus,
    teacher_id: int,
    note: str,
    *,
    make_manual: bool = True,
    typed_note: bool = False,
    from_code: str | None = None,
) -> AttendanceChange | None:
    """Apply the status and log it; the one place an AttendanceChange is written. A row that changes nothing
    (the same status, with only the note an action writes by itself) is not written: the history lists changes,
    and the teacher is told what stayed as it was in the action's answer. A note the teacher typed (`typed_note`)
    is worth a row even beside the same status. `from_code`: the status the teacher saw when it was not the record's
    (UNCONFIRMED: waiting for their answer), a change even beside the same stored status."""
    record.status = to_status
    if make_manual:
        record.source = RecordSource.MANUAL
        record.updated_by_id = teacher_id
        record.updated_at = utcnow()
    if previous == to_status and not typed_note and from_code is None:
        return None
    change = AttendanceChange(
        record_id=record.id,
        changed_by_id=teacher_id,
        changed_at=utcnow(),
        from_status=from_code or (previous.value if previous else None),
        to_status=to_status.value,
        note=note[:NOTE_MAX] or None,
    )
    db.add(change)
    return change


def remove_from_gallery(db: Session, face: DetectedFace) -> None:
    db.execute(delete(FaceEmbedding).where(FaceEmbedding.detected_face_id == face.id))


def student_name(db: Session, student_id: int) -> str:
    student = db.get(Student, student_id)
    return student.name if student else "that student"


class Detached(enum.StrEnum):
    """What taking a face away from a student did to their record (the caller words it for the teacher)."""

    NO_RECORD = "no_record"  # no mark yet: only the face changed
    LEFT_COURSE = "left_course"  # removed from the course since: the mark is history, kept as recorded
    HAND_MARK_KEPT = "hand_mark_kept"
    NO_LONGER_PRESENT = "no_longer_present"  # no face of them left: an automatic absent
    STAYS_ABSENT = "stays_absent"
    PRESENT_FROM_ANOTHER_FACE = "present_from_another_face"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Detachment:
    outcome: Detached
    record: AttendanceRecord | None = None
    status: AttendanceStatus | None = None  # the record's status before (and, but for NO_LONGER_PRESENT, after)


def detach(db: Session, face: DetectedFace, student_id: int, teacher_id: int, why: str) -> Detachment:
    """The face no longer supports `student_id`. A hand mark stays exactly as it is. Otherwise the record follows
    the photos: present while another face still supports it, else an automatic absent, so that a face recognised
    later (a photo added to the session) can still mark the student present. "That face isn't her" is not "she is
    absent". A student without a record keeps having none, and the record of a student removed from the course
    stays exactly as recorded (the review page and the reports keep it): only the face changes. Recognition may
    still be running on the session's first photos; its merge then writes the record from the faces as they are."""
    session_id = face.photo.session_id
    face.student_id = None
    if face.candidate_student_id is None:
        face.candidate_student_id = student_id
    remove_from_gallery(db, face)
    record = find_record(db, session_id, student_id)
    if record is None:
        return Detachment(Detached.NO_RECORD)
    previous = record.status
    name = student_name(db, student_id)
    if not is_enrolled(db, face.photo.session.course_id, student_id):
        write_change(
            db, record, previous, previous, teacher_id, f"{why}; {name} has left the course", make_manual=False
        )
        return Detachment(Detached.LEFT_COURSE, record, previous)
    if is_hand_mark(record):
        write_change(db, record, previous, previous, teacher_id, why, make_manual=False)
        return Detachment(Detached.HAND_MARK_KEPT, record, previous)
    others = supporting_faces(db, session_id, student_id, excluding=face.id)
    if not others:
        # No face of them is left: back to what recognition alone says (absent), automatic again.
        record.detected_face_id = None
        record.similarity = None
        record.source = RecordSource.AUTO
        note = f"{why}; no other face of {name}"
        write_change(db, record, previous, AttendanceStatus.ABSENT, teacher_id, note, make_manual=False)
        lost = previous == AttendanceStatus.PRESENT
        return Detachment(Detached.NO_LONGER_PRESENT if lost else Detached.STAYS_ABSENT, record, previous)
    if previous == AttendanceStatus.PRESENT:
        best = others[0]
        record.detected_face_id, record.similarity = best.id, best.similarity
        # The mark still comes from the photos (another face): nothing changes, so no history row either.
        note = f"{why}; still present from another face"
        write_change(db, record, previous, previous, teacher_id, note, make_manual=False)
        return Detachment(Detached.PRESENT_FROM_ANOTHER_FACE, record, previous)
    write_change(db, record, previous, previous, teacher_id, why, make_manual=False)
    return Detachment(Detached.UNCHANGED, record, previous)


# --- a re-run: the teacher's verdicts carried to the new faces -------------------------------------


@dataclass
class EarlierFace:
    """A face of the photo's previous run, and what points at it (it is deleted before the new faces go in)."""

    box: list[float]
    review: FaceReview
    student_id: int | None
    candidate_student_id: int | None
    embedding_ids: list[int]
    record_ids: list[int]


def earlier_faces(db: Session, photo_id: int) -> list[EarlierFace]:
    """The photo's faces that carry something a re-run must keep: a verdict, a gallery embedding or a record."""
    faces = db.scalars(select(DetectedFace).where(DetectedFace.session_photo_id == photo_id)).all()
    if not faces:
        return []
    ids = [f.id for f in faces]
    embeddings: dict[int | None, list[int]] = defaultdict(list)
    records: dict[int | None, list[int]] = defaultdict(list)
    for emb_id, face_id in db.execute(
        select(FaceEmbedding.id, FaceEmbedding.detected_face_id).where(FaceEmbedding.detected_face_id.in_(ids))
    ):
        embeddings[face_id].append(emb_id)
    for rec_id, face_id in db.execute(
        select(AttendanceRecord.id, AttendanceRecord.detected_face_id).where(AttendanceRecord.detected_face_id.in_(ids))
    ):
        records[face_id].append(rec_id)
    return [
        EarlierFace(f.box, f.review, f.student_id, f.candidate_student_id, embeddings[f.id], records[f.id])
        for f in faces
        if f.review != FaceReview.NONE or embeddings[f.id] or records[f.id]
    ]


def carry_over(db: Session, earlier: list[EarlierFace], faces: list[DetectedFace], course_students: set[int]) -> None:
    """The teacher's verdicts on the previous run's faces hold for the faces found at the same place: a confirmed
    or assigned face stays that student's (while they are still in the course), a rejected match stays rejected
    (while the new run proposes the same student), and the gallery embedding and attendance records that pointed
    at the old face point at the new one (a later "reject" can still take the face out of the gallery)."""
    taken: set[int] = set()
    for old in earlier:
        overlaps = [(box_iou(old.box, f.box), i) for i, f in enumerate(faces) if i not in taken]
        best, index = max(overlaps, default=(0.0, -1))
        if best < SAME_FACE_IOU:
            continue
        taken.add(index)
        face = faces[index]
        if old.review in (FaceReview.CONFIRMED, FaceReview.ASSIGNED) and old.student_id in course_students:
            face.student_id, face.review = old.student_id, old.review
        elif (
            old.review == FaceReview.REJECTED
            and old.candidate_student_id is not None  # the student was deleted since: nothing left to refuse
            and old.candidate_student_id in (face.student_id, face.candidate_student_id)
        ):
            face.student_id, face.review = None, FaceReview.REJECTED
        if old.embedding_ids:
            db.execute(
                update(FaceEmbedding).where(FaceEmbedding.id.in_(old.embedding_ids)).values(detected_face_id=face.id)
            )
        if old.record_ids:
            db.execute(
                update(AttendanceRecord).where(AttendanceRecord.id.in_(old.record_ids)).values(detected_face_id=face.id)
            )


# --- recognition's merge --------------------------------------------------------------------------


def merge_records(db: Session, att: AttendanceSession) -> tuple[int, int]:
    """Present when a face in any photo was confidently matched (the best face kept); absent otherwise.
    "confirm" faces never make a student present; manual records are left exactly as they are.
    Enrollments have no date, so a student without a record in a session that an earlier job already
    recorded (recorded_before) joined the course since: they are recorded when recognised, never marked
    absent from a lesson that took place before they joined (the course report leaves such sessions out of
    their rate because there is no record). On the first run every student in the course gets a record.
    The rule is merge_session, applied to the faces as stored (teachers' corrections included)."""
    faces = db.scalars(
        select(DetectedFace)
        .join(SessionPhoto)
        .where(SessionPhoto.session_id == att.id)
        .order_by(DetectedFace.session_photo_id, DetectedFace.face_index)
        # The faces as stored now: the job's session still holds the ones it wrote (expire_on_commit is off),
        # and the teacher may have rejected or assigned one on the review page since.
        .execution_options(populate_existing=True)
    ).all()
    by_photo: dict[int, list[DetectedFace]] = defaultdict(list)
    for face in faces:
        by_photo[face.session_photo_id].append(face)
    photos = list(by_photo.values())
    matches = merge_session([[stored_evidence(f) for f in photo_faces] for photo_faces in photos])
    best = {
        int(person): photos[m.photo_index][m.face_index]
        for person, m in matches.items()
        if m.decision == FaceDecision.PRESENT
    }
    existing = dict(
        db.execute(
            select(AttendanceRecord.student_id, AttendanceRecord.source).where(AttendanceRecord.session_id == att.id)
        ).all()
    )
    earlier_run = recorded_before(db, att)
    present = 0
    for student in att.course.students:
        matched = best.get(student.id)
        present += matched is not None
        if matched is None and earlier_run and student.id not in existing:
            continue  # enrolled after this lesson was first recorded: no record, not "absent"
        values = {
            "status": AttendanceStatus.PRESENT if matched else AttendanceStatus.ABSENT,
            "detected_face_id": matched.id if matched else None,
            "similarity": matched.similarity if matched else None,
        }
        if student.id not in existing:
            _insert_auto_record(db, att.id, student.id, values)
        elif existing[student.id] == RecordSource.AUTO:
            # The condition is checked by the database at the moment of writing: a teacher's mark that landed
            # since the read above is never overwritten.
            db.execute(
                update(AttendanceRecord)
                .where(
                    AttendanceRecord.session_id == att.id,
                    AttendanceRecord.student_id == student.id,
                    AttendanceRecord.source == RecordSource.AUTO,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
    return present, len(att.course.students) - present


def recorded_before(db: Session, att: AttendanceSession) -> bool:
    """Whether an earlier attendance job on this session has succeeded, i.e. its merge wrote the session's
    records. Records cannot tell: the review page accepts face actions while the first job still runs, and a
    teacher's click can leave an automatic record before this merge writes any. The job running this merge is
    not finished yet (it finishes after the merge), so it never counts. Jobs older than the session itself belong
    to another session that once had the same id (SQLite may reuse the id of a deleted course's last session)."""
    session_created = select(AttendanceSession.created_at).where(AttendanceSession.id == att.id).scalar_subquery()
    return bool(
        db.scalar(
            select(
                exists().where(
                    Job.kind == JobKind.ATTENDANCE,
                    Job.subject_id == att.id,
                    Job.state == JobState.SUCCEEDED,
                    Job.created_at >= session_created,
                )
            )
        )
    )


def _insert_auto_record(db: Session, session_id: int, student_id: int, values: dict[str, Any]) -> None:
    """A new automatic record, unless the teacher's own mark was created meanwhile (then theirs stands)."""
    row = {"session_id": session_id, "student_id": student_id, "source": RecordSource.AUTO, **values}
    insert = upsert_insert(db, AttendanceRecord)
    if insert is None:
        db.add(AttendanceRecord(**row))
        return
    db.execute(
        insert.values(**row).on_conflict_do_nothing(
            index_elements=[AttendanceRecord.session_id, AttendanceRecord.student_id]
        )
    )


def attended_count(db: Session, session_id: int, student_ids: Iterable[int]) -> tuple[int, int]:
    """(attended, of whom late): how many of these students the session counts as attended, present or late (any
    photo, any source), and how many of those came late. One query."""
    counts = dict(
        db.execute(
            select(AttendanceRecord.status, func.count())
            .where(
                AttendanceRecord.session_id == session_id,
                AttendanceRecord.student_id.in_(list(student_ids)),
                AttendanceRecord.status.in_(ATTENDED),
            )
            .group_by(AttendanceRecord.status)
        ).all()
    )
    return sum(counts.values()), counts.get(AttendanceStatus.LATE, 0)


# --- what the teacher still has to decide -----------------------------------------------------------


#: the status shown for a student waiting for the teacher's confirmation (waiting_by_session): never stored on a
#: record (recognition's "absent" stays underneath), but a history row's from_status once the teacher answers
UNCONFIRMED = "unconfirmed"


class FaceKind(enum.StrEnum):
    """What a face is to the teacher now: named (by recognition or the teacher), waiting for a "yes, it is ...",
    nobody's (unknown), or a match the teacher said was wrong (rejected: not counted as unknown)."""

    MATCHED = "matched"
    CONFIRM = "confirm"
    UNKNOWN = "unknown"
    REJECTED = "rejected"


def kind_of(decision: FaceDecision, review: FaceReview, named: bool, has_candidate: bool) -> FaceKind:
    """The one definition of a face's kind (the review page, the job summary, the reports and the JSON count it)."""
    if review == FaceReview.REJECTED:
        return FaceKind.REJECTED
    if named:
        return FaceKind.MATCHED
    if decision == FaceDecision.CONFIRM and review == FaceReview.NONE and has_candidate:
        return FaceKind.CONFIRM
    return FaceKind.UNKNOWN


def face_kind(face: DetectedFace) -> FaceKind:
    return kind_of(face.decision, face.review, face.student_id is not None, face.candidate_student_id is not None)


def is_to_confirm() -> ColumnElement[bool]:
    """FaceKind.CONFIRM as SQL: a face waiting for the teacher's "yes, it is ..." (kind_of's rule)."""
    return and_(
        DetectedFace.decision == FaceDecision.CONFIRM,
        DetectedFace.review == FaceReview.NONE,
        DetectedFace.student_id.is_(None),
        DetectedFace.candidate_student_id.is_not(None),
    )


def sessions_with_faces_to_confirm(db: Session, course_ids: Sequence[int]) -> dict[int, int]:
    """{session: faces waiting for confirmation} for the sessions of these courses that have any. One query."""
    if not course_ids:
        return {}
    rows = db.execute(
        select(SessionPhoto.session_id, func.count())
        .join(DetectedFace, DetectedFace.session_photo_id == SessionPhoto.id)
        .join(AttendanceSession, AttendanceSession.id == SessionPhoto.session_id)
        .where(AttendanceSession.course_id.in_(list(course_ids)), is_to_confirm())
        .group_by(SessionPhoto.session_id)
    )
    return {session_id: int(n) for session_id, n in rows}


def face_kind_counts(db: Session, session_ids: Sequence[int]) -> dict[int, dict[FaceKind, int]]:
    """How many faces of each kind each session has (every kind present, 0 when none). One grouped query."""
    counts: dict[int, dict[FaceKind, int]] = {sid: dict.fromkeys(FaceKind, 0) for sid in session_ids}
    if not counts:
        return counts
    for session_id, decision, review, named, has_candidate, n in db.execute(
        select(
            SessionPhoto.session_id,
            DetectedFace.decision,
            DetectedFace.review,
            DetectedFace.student_id.is_not(None),
            DetectedFace.candidate_student_id.is_not(None),
            func.count(),
        )
        .join(SessionPhoto, SessionPhoto.id == DetectedFace.session_photo_id)
        .where(SessionPhoto.session_id.in_(list(counts)))
        .group_by(
            SessionPhoto.session_id,
            DetectedFace.decision,
            DetectedFace.review,
            DetectedFace.student_id.is_not(None),
            DetectedFace.candidate_student_id.is_not(None),
        )
    ):
        counts[session_id][kind_of(decision, review, bool(named), bool(has_candidate))] += int(n)
    return counts


def waiting_by_session(db: Session, session_ids: Sequence[int]) -> dict[int, dict[int, int]]:
    """The students waiting for the teacher's confirmation in each session: {session: {student: face}}, the face
    being their best face still in "please confirm". A student waits while such a face names them as the candidate
    and nothing else decided their mark: no record yet, or recognition's own "absent" (a face of them that
    recognition was sure of makes them present; a mark by the teacher is the teacher's decision). Until the teacher
    answers they are not "absent". One query for any number of sessions."""
    waiting: dict[int, dict[int, int]] = {sid: {} for sid in session_ids}
    if not waiting:
        return waiting
    named, named_photo = aliased(DetectedFace), aliased(SessionPhoto)
    rows = db.execute(
        select(SessionPhoto.session_id, DetectedFace.candidate_student_id, DetectedFace.id)
        .join(SessionPhoto, SessionPhoto.id == DetectedFace.session_photo_id)
        .outerjoin(
            AttendanceRecord,
            and_(
                AttendanceRecord.session_id == SessionPhoto.session_id,
                AttendanceRecord.student_id == DetectedFace.candidate_student_id,
            ),
        )
        .where(
            SessionPhoto.session_id.in_(list(waiting)),
            is_to_confirm(),
            ~exists().where(  # another face already carries their name (before the merge has written it)
                named.session_photo_id == named_photo.id,
                named_photo.session_id == SessionPhoto.session_id,
                named.student_id == DetectedFace.candidate_student_id,
                named.review != FaceReview.REJECTED,
            ),
            or_(
                AttendanceRecord.id.is_(None),
                and_(
                    AttendanceRecord.source == RecordSource.AUTO,
                    AttendanceRecord.status == AttendanceStatus.ABSENT,
                ),
            ),
        )
        .order_by(DetectedFace.similarity.desc(), DetectedFace.id)
    )
    for session_id, student_id, face_id in rows:
        if student_id is not None:  # always (the query asks for a candidate): for the type checker
            waiting[session_id].setdefault(student_id, face_id)  # the best face first
    return waiting


def waiting_for_confirmation(db: Session, session_id: int) -> dict[int, int]:
    """{student: their best face waiting in "please confirm"} for one session (see waiting_by_session)."""
    return waiting_by_session(db, [session_id])[session_id]


# --- who decided a mark -----------------------------------------------------------------------------


class DecidedBy(enum.StrEnum):
    RECOGNITION = "recognition"
    TEACHER = "teacher"


@dataclass(frozen=True)
class Decision:
    """Who gave a record its status: recognition, or the teacher (with what they did, from the history, and when).
    A record can be automatic (`source` auto, so that a photo added later may still mark the student present) and
    still carry the teacher's decision: a rejected face that left the student absent."""

    by: DecidedBy
    action: str | None = None  # the history's note, e.g. "Rejected face 2 in room.jpg; no other face of Ann"
    at: Any = None  # datetime of that change (None: not known)


class ChangeFact(NamedTuple):
    from_status: str | None
    to_status: str
    note: str | None
    changed_at: Any


def decision_of(status: AttendanceStatus, source: RecordSource, changes: Sequence[ChangeFact]) -> Decision:
    """The one rule (`changes` oldest first). A manual record is the teacher's, as of its latest change. An
    automatic one is the teacher's when the latest change that moved its status was theirs and gave it the status
    it has now (the worker writes no history: a status that moved since came from the photos)."""
    if source == RecordSource.MANUAL:
        last = changes[-1] if changes else None
        return Decision(DecidedBy.TEACHER, last.note if last else None, last.changed_at if last else None)
    moved = [c for c in changes if c.from_status != c.to_status]
    if moved and moved[-1].to_status == status.value:
        return Decision(DecidedBy.TEACHER, moved[-1].note, moved[-1].changed_at)
    return Decision(DecidedBy.RECOGNITION)


def decisions(db: Session, records: Sequence[AttendanceRecord]) -> dict[int, Decision]:
    """Each record's Decision (see decision_of), keyed by record id. One query."""
    if not records:
        return {}
    history: dict[int, list[ChangeFact]] = defaultdict(list)
    for record_id, from_status, to_status, note, changed_at in db.execute(
        select(
            AttendanceChange.record_id,
            AttendanceChange.from_status,
            AttendanceChange.to_status,
            AttendanceChange.note,
            AttendanceChange.changed_at,
        )
        .where(AttendanceChange.record_id.in_([r.id for r in records]))
        .order_by(AttendanceChange.changed_at, AttendanceChange.id)
    ):
        history[record_id].append(ChangeFact(from_status, to_status, note, changed_at))
    return {r.id: decision_of(r.status, r.source, history[r.id]) for r in records}
