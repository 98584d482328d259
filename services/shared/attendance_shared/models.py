"""The schema both services share. Constraints, not code, make duplicates impossible."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .refusals import PortraitRefusal

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: DateTime(timezone=True), dict[str, Any]: JSON, list[Any]: JSON}


class PhotoStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Unhashed(enum.StrEnum):
    """Why the hash backfill settled a portrait without a content_sha256 (attendance_worker.portrait_hashes)."""

    FILE_MISSING = "file_missing"  # the store no longer holds its bytes
    COPY = "copy"  # another portrait of the student has the same bytes and holds the hash


class SessionPhotoStatus(enum.StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    DETECTING = "detecting"
    MATCHING = "matching"
    DONE = "done"
    FAILED = "failed"


class FaceDecision(enum.StrEnum):
    PRESENT = "present"
    CONFIRM = "confirm"
    UNKNOWN = "unknown"


class FaceLegibility(enum.StrEnum):
    """Why a face the engine could not decide cannot be recognised from this photo: the review page asks for a
    closer photo of it (attendance_worker.engine.matching.legibility)."""

    TOO_SMALL = "too_small"
    TOO_POOR = "too_poor"  # blurred or weakly detected


class FaceReview(enum.StrEnum):
    NONE = "none"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    ASSIGNED = "assigned"


class AttendanceStatus(enum.StrEnum):
    PRESENT = "present"
    LATE = "late"  # came, after the start: counts as attended (records.ATTENDED); only ever marked by hand
    ABSENT = "absent"
    EXCUSED = "excused"


class RecordSource(enum.StrEnum):
    AUTO = "auto"
    MANUAL = "manual"


class JobKind(enum.StrEnum):
    ENROLLMENT = "enrollment"
    ATTENDANCE = "attendance"


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobOutcome(enum.StrEnum):
    """What a succeeded job found; Job.message keeps the words the teacher reads."""

    DONE = "done"  # an attendance job processed its session
    ACCEPTED = "accepted"  # a portrait check accepted the portrait
    REFUSED = "refused"  # a portrait check refused it (StudentPhoto.refusal says why)
    GONE = "gone"  # the photo or session was deleted before the job ran


class TeacherRole(enum.StrEnum):
    """What an account may do in its school: an admin also manages the school's teachers."""

    ADMIN = "admin"
    TEACHER = "teacher"


class AccountLinkKind(enum.StrEnum):
    """A single-use link an admin hands out: to join the school, or to choose a new password."""

    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"  # noqa: S105 (a kind of link, not a password)


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as plain strings with a CHECK (ck_<table>_<name>, migration 0004): portable between SQLite and
    # PostgreSQL, and a new value is a constraint change, not a type change.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        values_callable=lambda e: [m.value for m in e],
        length=16,
    )


class School(Base):
    """Owns its teachers (and through them their courses and students); the first account of a school is its
    admin. Migration 0012 gave each teacher from before schools a school of their own."""

    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    #: single sign-on (attendance_web.sso): the school's OpenID Connect provider and this service's client there
    sso_issuer: Mapped[str | None] = mapped_column(String(300), default=None)
    sso_client_id: Mapped[str | None] = mapped_column(String(300), default=None)
    #: sealed with SECRET_KEY (attendance_web.sealed), never shown back
    sso_client_secret: Mapped[str | None] = mapped_column(Text, default=None)
    #: the e-mail domains whose addresses sign in through it, lower case, separated by spaces
    sso_domains: Mapped[str | None] = mapped_column(String(1000), default=None)
    #: the school's teachers sign in only through its provider (no password sign-in)
    password_sign_in_off: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    teachers: Mapped[list[Teacher]] = relationship(back_populates="school", order_by="Teacher.name")


class Teacher(Base):
    __tablename__ = "teachers"
    __table_args__ = (UniqueConstraint("school_id", "sourced_id", name="uq_teachers_school_sourced_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    role: Mapped[TeacherRole] = mapped_column(
        _enum(TeacherRole, "teacher_role"), default=TeacherRole.TEACHER, server_default=TeacherRole.TEACHER.value
    )
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    photo_retention_days: Mapped[int] = mapped_column(Integer, default=365)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    #: carried by every session and remember-me cookie; one more ends them all (log-out, new password, disabling)
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: set by the IT administrator (`flask teachers disable`): no sign-in, no session, no API token
    disabled_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    #: the OneRoster sourcedId of the SIS user this account was matched to (sis_import)
    sourced_id: Mapped[str | None] = mapped_column(String(255))
    #: two-step sign-in: the TOTP secret, sealed with SECRET_KEY (attendance_web.sealed); None while it is off
    totp_secret: Mapped[str | None] = mapped_column(String(255), default=None)
    #: the TOTP time step of the last code accepted: that code, and every older one, never works again
    totp_last_step: Mapped[int | None] = mapped_column(Integer, default=None)

    school: Mapped[School] = relationship(back_populates="teachers")
    courses: Mapped[list[Course]] = relationship(back_populates="teacher", cascade="all, delete-orphan")

    @property
    def is_admin(self) -> bool:
        return self.role is TeacherRole.ADMIN


class Course(Base):
    __tablename__ = "courses"
    __table_args__ = (
        UniqueConstraint("teacher_id", "name", name="uq_courses_teacher_name"),
        UniqueConstraint("teacher_id", "sourced_id", name="uq_courses_teacher_sourced_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    code: Mapped[str | None] = mapped_column(String(40))
    #: the OneRoster class sourcedId it was imported from; one course per sourcedId in a school (sis_import)
    sourced_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())

    teacher: Mapped[Teacher] = relationship(back_populates="courses")
    #: teachers of the same school the course is shared with: they take attendance and review; only the owner or
    #: an admin deletes the course or its students (attendance_web.ownership)
    co_teachers: Mapped[list[Teacher]] = relationship(secondary="course_teachers", order_by="Teacher.name")
    students: Mapped[list[Student]] = relationship(
        secondary="enrollments", back_populates="courses", order_by="Student.name"
    )
    sessions: Mapped[list[AttendanceSession]] = relationship(
        back_populates="course", cascade="all, delete-orphan", order_by="AttendanceSession.date.desc()"
    )


class Student(Base):
    __tablename__ = "students"
    __table_args__ = (
        UniqueConstraint("teacher_id", "student_number", name="uq_students_teacher_number"),
        UniqueConstraint("teacher_id", "sourced_id", name="uq_students_teacher_sourced_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    student_number: Mapped[str] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    #: the OneRoster user sourcedId it was imported from; one student per sourcedId in a school (sis_import)
    sourced_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())

    courses: Mapped[list[Course]] = relationship(secondary="enrollments", back_populates="students")
    photos: Mapped[list[StudentPhoto]] = relationship(
        back_populates="student", cascade="all, delete-orphan", order_by="StudentPhoto.id"
    )


class CourseTeacher(Base):
    """A course shared with another teacher of its school (a co-teacher); one row per course and teacher."""

    __tablename__ = "course_teachers"

    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id", ondelete="CASCADE"), primary_key=True, index=True)
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())


class Enrollment(Base):
    __tablename__ = "enrollments"

    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), primary_key=True, index=True)


class StudentPhoto(Base):
    __tablename__ = "student_photos"
    # The same portrait twice (a form sent again on a slow connection) would take two of the five places.
    __table_args__ = (
        UniqueConstraint("student_id", "content_sha256", name="uq_student_photos_student_sha"),
        CheckConstraint("unhashed IS NULL OR content_sha256 IS NULL", name="unhashed_without_sha"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), index=True)
    storage_key: Mapped[str] = mapped_column(String(512), unique=True)
    original_filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    status: Mapped[PhotoStatus] = mapped_column(_enum(PhotoStatus, "photo_status"), default=PhotoStatus.PENDING)
    # Set together when the worker refuses the portrait: the code decides, the sentence is what the teacher reads.
    refusal: Mapped[PortraitRefusal | None] = mapped_column(_enum(PortraitRefusal, "portrait_refusal"))
    reason: Mapped[str | None] = mapped_column(Text)
    face_box: Mapped[list[Any] | None] = mapped_column(JSON)
    # NULL for portraits stored before migration 0005 until the beat hashes them, and for those it settled
    # without a hash: `unhashed` says why (attendance_worker.portrait_hashes).
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    unhashed: Mapped[Unhashed | None] = mapped_column(_enum(Unhashed, "portrait_unhashed"))
    # Set for photos that came in a roster import, so the import's progress page can follow them.
    roster_import_id: Mapped[str | None] = mapped_column(
        ForeignKey("roster_imports.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())

    student: Mapped[Student] = relationship(back_populates="photos")


class FaceEmbedding(Base):
    """One vector per (source, model): galleries are only ever compared within one model id."""

    __tablename__ = "face_embeddings"
    __table_args__ = (
        UniqueConstraint("student_photo_id", "model_id", name="uq_face_embeddings_photo_model"),
        UniqueConstraint("detected_face_id", "model_id", name="uq_face_embeddings_face_model"),
        Index("ix_face_embeddings_student_model", "student_id", "model_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    student_photo_id: Mapped[int | None] = mapped_column(ForeignKey("student_photos.id", ondelete="CASCADE"))
    # SET NULL: a face the teacher assigned stays in the gallery when a re-run replaces the detections.
    detected_face_id: Mapped[int | None] = mapped_column(ForeignKey("detected_faces.id", ondelete="SET NULL"))
    model_id: Mapped[str] = mapped_column(String(120))
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())


class AttendanceSession(Base):
    __tablename__ = "attendance_sessions"
    __table_args__ = (UniqueConstraint("course_id", "date", "label", name="uq_attendance_sessions_course_date_label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    label: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())

    course: Mapped[Course] = relationship(back_populates="sessions")
    photos: Mapped[list[SessionPhoto]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="SessionPhoto.id"
    )
    records: Mapped[list[AttendanceRecord]] = relationship(back_populates="session", cascade="all, delete-orphan")

    @property
    def title(self) -> str:
        """How pages name the session: "2026-11-24 · Period 3", or the date alone when it has no label."""
        return self.date.isoformat() + (f" · {self.label}" if self.label else "")


class SessionPhoto(Base):
    __tablename__ = "session_photos"
    __table_args__ = (UniqueConstraint("session_id", "content_sha256", name="uq_session_photos_session_sha"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("attendance_sessions.id", ondelete="CASCADE"), index=True)
    storage_key: Mapped[str | None] = mapped_column(String(512), unique=True)
    annotated_key: Mapped[str | None] = mapped_column(String(512))
    original_filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    content_sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    status: Mapped[SessionPhotoStatus] = mapped_column(
        _enum(SessionPhotoStatus, "session_photo_status"), default=SessionPhotoStatus.QUEUED
    )
    error: Mapped[str | None] = mapped_column(Text)
    face_count: Mapped[int | None] = mapped_column(Integer)
    processed_at: Mapped[dt.datetime | None] = mapped_column()
    # the attendance job that took the photo last (stamped by the worker when it starts on it): a redelivered
    # job's summary counts the photos its first delivery finished too (attendance_worker.classroom_photos)
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())

    session: Mapped[AttendanceSession] = relationship(back_populates="photos")
    faces: Mapped[list[DetectedFace]] = relationship(
        back_populates="photo", cascade="all, delete-orphan", order_by="DetectedFace.face_index"
    )


class DetectedFace(Base):
    __tablename__ = "detected_faces"
    __table_args__ = (UniqueConstraint("session_photo_id", "face_index", name="uq_detected_faces_photo_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_photo_id: Mapped[int] = mapped_column(ForeignKey("session_photos.id", ondelete="CASCADE"))
    face_index: Mapped[int] = mapped_column(Integer)
    box: Mapped[list[Any]] = mapped_column(JSON)
    landmarks: Mapped[list[Any] | None] = mapped_column(JSON)
    detection_score: Mapped[float] = mapped_column(Float)
    face_px: Mapped[int] = mapped_column(Integer, default=0)
    decision: Mapped[FaceDecision] = mapped_column(_enum(FaceDecision, "face_decision"))
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id", ondelete="SET NULL"), index=True)
    candidate_student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id", ondelete="SET NULL"))
    similarity: Mapped[float] = mapped_column(Float, default=0.0)
    legibility: Mapped[FaceLegibility | None] = mapped_column(_enum(FaceLegibility, "face_legibility"))
    review: Mapped[FaceReview] = mapped_column(_enum(FaceReview, "face_review"), default=FaceReview.NONE)
    model_id: Mapped[str] = mapped_column(String(120))
    # Kept so a face the teacher confirms or assigns can join that student's gallery without re-detection.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)

    photo: Mapped[SessionPhoto] = relationship(back_populates="faces")


class AttendanceRecord(Base):
    __tablename__ = "attendance_records"
    __table_args__ = (UniqueConstraint("session_id", "student_id", name="uq_attendance_records_session_student"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("attendance_sessions.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), index=True)
    status: Mapped[AttendanceStatus] = mapped_column(_enum(AttendanceStatus, "attendance_status"))
    source: Mapped[RecordSource] = mapped_column(_enum(RecordSource, "record_source"), default=RecordSource.AUTO)
    detected_face_id: Mapped[int | None] = mapped_column(ForeignKey("detected_faces.id", ondelete="SET NULL"))
    similarity: Mapped[float | None] = mapped_column(Float)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("teachers.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=func.now())

    session: Mapped[AttendanceSession] = relationship(back_populates="records")
    student: Mapped[Student] = relationship()


class AttendanceChange(Base):
    """Every manual change: who, when, from, to. Shown as history; never rewritten."""

    __tablename__ = "attendance_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("attendance_records.id", ondelete="CASCADE"), index=True)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("teachers.id", ondelete="SET NULL"))
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(255))


class Job(Base):
    """A background job; its id is the Celery task id. The table, not the broker, is the truth."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state_deadline", "state", "deadline"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[JobKind] = mapped_column(_enum(JobKind, "job_kind"))
    subject_id: Mapped[int] = mapped_column(Integer)
    state: Mapped[JobState] = mapped_column(_enum(JobState, "job_state"), default=JobState.QUEUED)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(String(255))
    outcome: Mapped[JobOutcome | None] = mapped_column(_enum(JobOutcome, "job_outcome"))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    started_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    #: queued: when it is taken for lost; running: the end of its worker's lease (renewed by a heartbeat)
    deadline: Mapped[dt.datetime | None] = mapped_column()
    #: the worker process that started it last: "host pid start-time" (attendance_worker.job_state.this_process)
    worker: Mapped[str | None] = mapped_column(String(160))


class ApiToken(Base):
    """A teacher's API token for scripts and LMS integration; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    last_used_at: Mapped[dt.datetime | None] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()


class AccountLink(Base):
    """A single-use link with an expiry: an invitation to join a school, or a password reset. Only the SHA-256 of
    its token is stored; the link is shown once to the admin who made it (and e-mailed when SMTP is set up)."""

    __tablename__ = "account_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AccountLinkKind] = mapped_column(_enum(AccountLinkKind, "account_link_kind"))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    #: the invited address (invitations) or the account's (password resets)
    email: Mapped[str] = mapped_column(String(254))
    #: the role an invitation gives; a reset keeps the account's
    role: Mapped[TeacherRole] = mapped_column(_enum(TeacherRole, "teacher_role"), default=TeacherRole.TEACHER)
    #: the account a reset is for
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("teachers.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("teachers.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    expires_at: Mapped[dt.datetime] = mapped_column()
    used_at: Mapped[dt.datetime | None] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()

    school: Mapped[School] = relationship()


class AuditEvent(Base):
    """Sign-ins, failed sign-ins and deletions: who, what, when, from where. Never holds secrets."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_teacher_created", "teacher_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("teachers.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(String(500))
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())


class RosterImport(Base):
    """A roster upload (CSV + ZIP of photos) waiting for the teacher to confirm its preview."""

    __tablename__ = "roster_imports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    csv_key: Mapped[str] = mapped_column(String(512))
    zip_key: Mapped[str | None] = mapped_column(String(512))
    state: Mapped[str] = mapped_column(String(16), default="preview")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())


class SisImport(Base):
    """A OneRoster ZIP an admin uploaded, waiting under temp/ for the confirm of its preview."""

    __tablename__ = "sis_imports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id", ondelete="CASCADE"))
    zip_key: Mapped[str] = mapped_column(String(512))
    state: Mapped[str] = mapped_column(String(16), default="preview")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
