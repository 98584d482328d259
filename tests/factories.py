"""Seed helpers for the tests, in one module (cookiecutter-flask's tests/factories.py): rows written straight
into the database (no web request, no broker, no worker) and files built from the face photos. Test modules
import from here, never from each other. A test that writes rows without the `app` fixture asks for `database`.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import struct
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select

from attendance_shared.db import session_scope
from attendance_shared.models import (
    ApiToken,
    AttendanceChange,
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    Course,
    DetectedFace,
    Enrollment,
    FaceDecision,
    Job,
    JobKind,
    JobState,
    RecordSource,
    RosterImport,
    School,
    SessionPhoto,
    SessionPhotoStatus,
    Student,
    StudentPhoto,
    Teacher,
)
from attendance_shared.settings import get_settings
from attendance_shared.storage import classroom_photo_key, make_store

MODEL = "test-model@1"  # the model id of seeded faces and embeddings
DIM = 8


def db_url(app) -> str:
    return app.config["ATTENDANCE_SETTINGS"].sqlalchemy_url


def plain_jpeg(width: int = 640, height: int = 480, orientation: int | None = None) -> bytes:
    """A one-colour JPEG (no face), with an EXIF orientation if given."""
    img = Image.new("RGB", (width, height), (120, 90, 60))
    buf = io.BytesIO()
    if orientation:
        exif = Image.Exif()
        exif[0x0112] = orientation
        img.save(buf, "JPEG", exif=exif)
    else:
        img.save(buf, "JPEG")
    return buf.getvalue()


def face_vector(seed: float) -> bytes:
    return struct.pack(f"<{DIM}f", *[seed + i for i in range(DIM)])


# --- a recognised session, through the web's teacher ------------------------------------------------


@dataclass
class Seeded:
    session_id: int
    course_id: int
    teacher_id: int
    photo_id: int
    students: dict[str, int]
    faces: dict[str, int]


def seed_session(app, tc, *, photo_bytes: bytes | None = None, orientation: int | None = None) -> Seeded:
    """A course with Ann, Ben and Cat and one recognised photo:
    ann = present (auto, 0.80); ben = confirm (0.40); cat = confirm (0.45); stranger = unknown."""
    course = tc.create_course("Biology")
    students = {n: tc.add_student(course, n, f"N-{n}") for n in ("Ann", "Ben", "Cat")}
    data = photo_bytes or plain_jpeg(orientation=orientation)
    with session_scope(db_url(app)) as s:
        teacher_id = s.scalar(select(Teacher.id).where(Teacher.email == tc.email))
        att = AttendanceSession(course_id=course, date=dt.date(2026, 11, 24), label="P1")
        s.add(att)
        s.flush()
        key = classroom_photo_key(teacher_id, att.id, ".jpg")
        app.extensions["attendance.store"].put(key, data, "image/jpeg")
        photo = SessionPhoto(
            session_id=att.id,
            storage_key=key,
            original_filename="room.jpg",
            content_type="image/jpeg",
            content_sha256=f"{att.id:064d}",
            width=640,
            height=480,
            status=SessionPhotoStatus.DONE,
            face_count=4,
        )
        s.add(photo)
        s.flush()

        def face(i: int, decision: FaceDecision, sim: float, student=None, candidate=None) -> DetectedFace:
            row = DetectedFace(
                session_photo_id=photo.id,
                face_index=i,
                box=[20 + 150 * i, 40, 120 + 150 * i, 160],
                detection_score=0.9,
                face_px=100,
                decision=decision,
                student_id=student,
                candidate_student_id=candidate,
                similarity=sim,
                model_id=MODEL,
                embedding=face_vector(float(i)),
            )
            s.add(row)
            return row

        faces = {
            "ann": face(0, FaceDecision.PRESENT, 0.80, students["Ann"], students["Ann"]),
            "ben": face(1, FaceDecision.CONFIRM, 0.40, None, students["Ben"]),
            "cat": face(2, FaceDecision.CONFIRM, 0.45, None, students["Cat"]),
            "stranger": face(3, FaceDecision.UNKNOWN, 0.10),
        }
        s.flush()
        for name, sid in students.items():
            present = name == "Ann"
            s.add(
                AttendanceRecord(
                    session_id=att.id,
                    student_id=sid,
                    status=AttendanceStatus.PRESENT if present else AttendanceStatus.ABSENT,
                    source=RecordSource.AUTO,
                    detected_face_id=faces["ann"].id if present else None,
                    similarity=0.80 if present else None,
                )
            )
        return Seeded(att.id, course, teacher_id, photo.id, students, {k: v.id for k, v in faces.items()})


def seed_api_token(app, teacher_id: int, name: str = "script") -> str:
    """A live API token of this teacher, as the Settings page makes one; returns the token a script sends."""
    from attendance_web.api.tokens import DISPLAY_CHARS, TOKEN_PREFIX, hash_token

    plain = TOKEN_PREFIX + uuid.uuid4().hex
    with session_scope(db_url(app)) as s:
        s.add(ApiToken(teacher_id=teacher_id, name=name, token_hash=hash_token(plain), prefix=plain[:DISPLAY_CHARS]))
    return plain


def seed_job(app, teacher_id: int, session_id: int) -> str:
    """A queued attendance job of this session (never sent to a broker); returns its id."""
    with session_scope(db_url(app)) as s:
        job = Job(teacher_id=teacher_id, kind=JobKind.ATTENDANCE, subject_id=session_id)
        s.add(job)
        s.flush()
        return job.id


def add_photo_with_face(app, seeded: Seeded, student: str, similarity: float = 0.7) -> tuple[int, str]:
    """A photo added to the seeded session later (stored, recognised), in which `student` is recognised with
    `similarity`: (its face's id, its storage key)."""
    key = classroom_photo_key(seeded.teacher_id, seeded.session_id, ".jpg")
    app.extensions["attendance.store"].put(key, plain_jpeg(), "image/jpeg")
    with session_scope(db_url(app)) as s:
        photo = SessionPhoto(
            session_id=seeded.session_id,
            storage_key=key,
            original_filename="later.jpg",
            content_type="image/jpeg",
            content_sha256=hashlib.sha256(key.encode()).hexdigest(),
            width=640,
            height=480,
            status=SessionPhotoStatus.DONE,
            face_count=1,
        )
        s.add(photo)
        s.flush()
        face = DetectedFace(
            session_photo_id=photo.id,
            face_index=0,
            box=[100, 100, 200, 220],
            detection_score=0.9,
            face_px=100,
            decision=FaceDecision.PRESENT,
            student_id=seeded.students[student],
            candidate_student_id=seeded.students[student],
            similarity=similarity,
            model_id=MODEL,
        )
        s.add(face)
        s.flush()
        return face.id, key


# --- every kind of moment a page shows -------------------------------------------------------------


def seed_moments(app, tc, moment: dt.datetime) -> tuple[int, int]:
    """A course with one session (7 Dec 2026) whose history, job, roster import and API token all happened at
    `moment`: (course id, session id)."""
    course_id = tc.create_course("Chemistry")
    student_id = tc.add_student(course_id, "Dora", "N-1")
    with session_scope(db_url(app)) as s:
        teacher_id = s.scalar(select(Teacher.id).where(Teacher.email == tc.email))
        att = AttendanceSession(course_id=course_id, date=dt.date(2026, 12, 7), label="P1")
        s.add(att)
        s.flush()
        record = AttendanceRecord(
            session_id=att.id, student_id=student_id, status=AttendanceStatus.PRESENT, source=RecordSource.MANUAL
        )
        s.add(record)
        s.flush()
        s.add(
            AttendanceChange(
                record_id=record.id,
                changed_by_id=teacher_id,
                changed_at=moment,
                from_status="absent",
                to_status="present",
                note="Marked by hand",
            )
        )
        s.add(
            Job(
                teacher_id=teacher_id,
                kind=JobKind.ATTENDANCE,
                subject_id=att.id,
                state=JobState.SUCCEEDED,
                progress=100,
                created_at=moment,
            )
        )
        s.add(RosterImport(teacher_id=teacher_id, course_id=course_id, csv_key="x.csv", created_at=moment))
        s.add(
            ApiToken(
                teacher_id=teacher_id,
                name="LMS",
                token_hash=uuid.uuid4().hex * 2,
                prefix="att_ffff",
                created_at=moment,
                last_used_at=moment,
            )
        )
        return course_id, att.id


# --- a course and a session for the worker's tasks (no web) ----------------------------------------


def seed_course(students: dict[str, list[Path]], classroom: list[tuple[str, bytes]]) -> dict:
    """students: name -> portrait paths; classroom: (filename, bytes). Returns ids."""
    settings = get_settings()
    store = make_store(settings)
    with session_scope(settings.sqlalchemy_url) as s:
        t = Teacher(
            email=f"{uuid.uuid4().hex[:8]}@school.example.org", name="T", password_hash="x", school=School(name="S")
        )
        s.add(t)
        s.flush()
        course = Course(teacher_id=t.id, name=f"Course {uuid.uuid4().hex[:6]}")
        s.add(course)
        s.flush()
        ids: dict = {"teacher": t.id, "course": course.id, "students": {}}
        for name, portraits in students.items():
            st = Student(teacher_id=t.id, name=name.replace("_", " "), student_number=name)
            s.add(st)
            s.flush()
            s.add(Enrollment(course_id=course.id, student_id=st.id))
            for i, path in enumerate(portraits):
                key = f"student_photos/{t.id}/{st.id}/{uuid.uuid4().hex}{i}.jpg"
                store.put(key, path.read_bytes(), "image/jpeg")
                s.add(
                    StudentPhoto(
                        student_id=st.id,
                        storage_key=key,
                        original_filename=path.name,
                        content_type="image/jpeg",
                        width=1,
                        height=1,
                    )
                )
            ids["students"][name] = st.id
        sess = AttendanceSession(course_id=course.id, date=dt.date(2026, 11, 24), label=uuid.uuid4().hex[:6])
        s.add(sess)
        s.flush()
        ids["session"] = sess.id
        for filename, data in classroom:
            key = f"classroom_photos/{t.id}/{sess.id}/{uuid.uuid4().hex}.jpg"
            store.put(key, data, "image/jpeg")
            s.add(
                SessionPhoto(
                    session_id=sess.id,
                    storage_key=key,
                    original_filename=filename,
                    content_type="image/jpeg",
                    content_sha256=uuid.uuid4().hex,
                    width=1,
                    height=1,
                )
            )
        job = Job(teacher_id=t.id, kind=JobKind.ATTENDANCE, subject_id=sess.id)
        s.add(job)
        s.flush()
        ids["job"] = job.id
    return ids


def enroll_all(engine, student_ids) -> None:
    """Every portrait of these students through the worker's enrollment, in id order."""
    from attendance_worker.enrollment import enroll_photo

    settings = get_settings()
    with session_scope(settings.sqlalchemy_url) as s:
        for photo_id in s.scalars(select(StudentPhoto.id).where(StudentPhoto.student_id.in_(list(student_ids)))):
            enroll_photo(s, make_store(settings), engine, photo_id)


def session_counts(session_id: int, url: str | None = None) -> tuple[int, int, int]:
    """(detected faces, attendance records, photos done) of one session: what "one set of records" means."""
    with session_scope(url or get_settings().sqlalchemy_url) as s:
        faces = s.scalar(
            select(func.count())
            .select_from(DetectedFace)
            .join(SessionPhoto)
            .where(SessionPhoto.session_id == session_id)
        )
        records = s.scalar(
            select(func.count()).select_from(AttendanceRecord).where(AttendanceRecord.session_id == session_id)
        )
        done = s.scalar(
            select(func.count())
            .select_from(SessionPhoto)
            .where(SessionPhoto.session_id == session_id, SessionPhoto.status == SessionPhotoStatus.DONE)
        )
        return int(faces or 0), int(records or 0), int(done or 0)


# --- a roster import built from the face photos ----------------------------------------------------


PREFERRED_LFW = ("George_W_Bush", "Colin_Powell")
GROUP_PEOPLE = ("Barack_Obama", "Joe_Biden")


@dataclass(frozen=True)
class Person:
    number: str
    name: str
    portraits: tuple[Path, ...]


def roster_people(facedata: Path) -> list[Person]:
    """Two people of the group photo and two LFW people, with portraits named by student number."""
    enroll = facedata / "groups" / "obama_biden" / "enroll"
    identities = facedata / "lfw" / "identities"
    lfw = [name for name in PREFERRED_LFW if (identities / name).is_dir()]
    if len(lfw) < 2:  # another LFW subset: any two people who are not in the group photo
        lfw += [p.name for p in sorted(identities.iterdir()) if p.name not in lfw + list(GROUP_PEOPLE)][: 2 - len(lfw)]
    people = [
        Person(str(1001 + i), folder.replace("_", " "), tuple(sorted((enroll / folder).glob("*.jpg"))))
        for i, folder in enumerate(GROUP_PEOPLE)
    ]
    people += [
        Person(
            str(1003 + i),
            folder.replace("_", " "),
            tuple(identities / folder / f"{folder}_{n:04d}.jpg" for n in (1, 2, 3)),
        )
        for i, folder in enumerate(lfw)
    ]
    for person in people:
        assert person.portraits and all(p.is_file() for p in person.portraits), person
    return people


def write_roster_files(people: list[Person], folder: Path) -> tuple[Path, Path]:
    """roster.csv (student_number,name) and portraits.zip (1001.jpg, 1001_2.jpg, ...)."""
    csv_path = folder / "roster.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student_number", "name"])
        writer.writerows([p.number, p.name] for p in people)
    zip_path = folder / "portraits.zip"
    with zipfile.ZipFile(zip_path, "w") as z:
        for person in people:
            for i, photo in enumerate(person.portraits):
                z.write(photo, f"portraits/{person.number}{'' if i == 0 else f'_{i + 1}'}.jpg")
    return csv_path, zip_path


def stranger_photo(facedata: Path, folder: Path) -> Path:
    """A classroom-sized photo of one LFW distractor (nobody on the roster): an unknown face."""
    source = sorted((facedata / "lfw" / "distractors_single_image").glob("*.jpg"))[0]
    canvas = Image.new("RGB", (1200, 800), (205, 210, 214))
    face = Image.open(source).convert("RGB").resize((500, 500), Image.Resampling.LANCZOS)
    canvas.paste(face, (350, 150))
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=92)
    path = folder / "back_row.jpg"
    path.write_bytes(out.getvalue())
    return path


# --- a finished attendance job, as the worker would leave it -----------------------------------------


def finish_attendance_job(
    app, session_id: int, *, present: list[int], confirm: list[int], unknown: int = 0
) -> dict[int, int]:
    """What the worker writes when the session's job is done (for pages that follow a job, without a worker):
    every photo done; on the first, a recognised face per `present` student, a "please confirm" face per `confirm`
    student and `unknown` faces of nobody; automatic records (present, else absent) for the course's students; the
    session's jobs succeeded. Returns {student id: face id}."""
    with session_scope(db_url(app)) as s:
        att = s.get(AttendanceSession, session_id)
        assert att is not None and att.photos
        for p in att.photos:
            p.status, p.face_count = SessionPhotoStatus.DONE, 0
        photo = att.photos[0]
        plan = [(sid, FaceDecision.PRESENT) for sid in present] + [(sid, FaceDecision.CONFIRM) for sid in confirm]
        plan += [(None, FaceDecision.UNKNOWN)] * unknown
        faces: dict[int, int] = {}
        for i, (sid, decision) in enumerate(plan):
            face = DetectedFace(
                session_photo_id=photo.id,
                face_index=i,
                box=[4 + 12 * i, 4, 14 + 12 * i, 16],
                detection_score=0.9,
                face_px=10,
                decision=decision,
                student_id=sid if decision == FaceDecision.PRESENT else None,
                candidate_student_id=sid,
                similarity={FaceDecision.PRESENT: 0.8, FaceDecision.CONFIRM: 0.4}.get(decision, 0.1),
                model_id=MODEL,
            )
            s.add(face)
            s.flush()
            if sid is not None:
                faces[sid] = face.id
        photo.face_count = len(plan)
        for student in att.course.students:
            here = student.id in present
            s.add(
                AttendanceRecord(
                    session_id=att.id,
                    student_id=student.id,
                    status=AttendanceStatus.PRESENT if here else AttendanceStatus.ABSENT,
                    source=RecordSource.AUTO,
                    detected_face_id=faces[student.id] if here else None,
                    similarity=0.8 if here else None,
                )
            )
        for job in s.scalars(select(Job).where(Job.kind == JobKind.ATTENDANCE, Job.subject_id == att.id)):
            job.state, job.progress, job.finished_at = JobState.SUCCEEDED, 100, dt.datetime.now(dt.UTC)
            job.message = f"{len(present)} of {len(att.course.students)} students present."
    return faces
