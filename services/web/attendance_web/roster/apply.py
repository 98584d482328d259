"""Confirming an import: students, enrolments, stored portraits and one enrollment job per portrait.

Everything goes into the caller's unit of work (jobs_service.UnitOfWork): the portraits are stored
through it and the jobs created in it, so its commit keeps them all (then publishes the jobs) and a
failure removes the stored files with the rows.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from attendance_shared.models import Enrollment, Job, JobKind, PhotoStatus, Student, StudentPhoto
from attendance_shared.photo_metadata import without_metadata
from attendance_shared.storage import student_photo_key

from ..extensions import settings
from ..jobs_service import UnitOfWork
from .plan import ImportPlan, PlannedStudent
from .zip_photos import read_entry


@dataclass(frozen=True)
class Applied:
    created: int
    updated: int
    enrolled: int
    jobs: list[Job]


def apply_plan(
    session: Session,
    plan: ImportPlan,
    archive: zipfile.ZipFile | None,
    work: UnitOfWork,
    *,
    teacher_id: int,
    course_id: int,
    roster_import_id: str,
) -> Applied:
    """Every new photo records its import, so the progress page follows exactly these (views.import_photos)."""
    pairs, created, updated = _upsert_students(session, plan, teacher_id)
    joining = [st for planned, st in pairs if not (planned.existing and planned.existing.enrolled)]
    session.add_all(Enrollment(course_id=course_id, student_id=st.id) for st in joining)
    photos: list[StudentPhoto] = []
    for planned, student in pairs:
        for photo in planned.photos:
            if archive is None:
                break
            # stored upright and without its EXIF (GPS, device); its hash stays that of the file in the ZIP
            data, info = without_metadata(
                read_entry(archive, photo.entry), photo.entry.basename, max_pixels=settings().max_image_pixels
            )
            key = student_photo_key(teacher_id, student.id, info.extension)
            work.put(key, data, info.mime)
            photos.append(
                StudentPhoto(
                    student_id=student.id,
                    storage_key=key,
                    original_filename=photo.entry.basename[:255],
                    content_type=info.mime,
                    width=info.width,
                    height=info.height,
                    status=PhotoStatus.PENDING,
                    roster_import_id=roster_import_id,
                    content_sha256=photo.sha256,
                )
            )
    session.add_all(photos)
    session.flush()
    jobs = [work.new_job(JobKind.ENROLLMENT, p.id) for p in photos]
    session.flush()
    return Applied(created=created, updated=updated, enrolled=len(joining), jobs=jobs)


def _upsert_students(
    session: Session, plan: ImportPlan, teacher_id: int
) -> tuple[list[tuple[PlannedStudent, Student]], int, int]:
    """New students inserted in bulk (one flush), existing ones updated where the CSV differs."""
    ids = [p.existing.id for p in plan.students if p.existing]
    loaded: dict[int, Student] = {}
    for start in range(0, len(ids), 1000):
        part = ids[start : start + 1000]
        loaded.update(
            (s.id, s)
            for s in session.scalars(select(Student).where(Student.teacher_id == teacher_id, Student.id.in_(part)))
        )
    pairs: list[tuple[PlannedStudent, Student]] = []
    created = updated = 0
    for planned in plan.students:
        row = planned.row
        if planned.existing is None:
            student = Student(teacher_id=teacher_id, name=row.name, student_number=row.number, email=row.email)
            session.add(student)
            created += 1
        else:
            student = loaded[planned.existing.id]
            changed = student.name != row.name or bool(row.email and student.email != row.email)
            student.name = row.name
            student.email = row.email or student.email
            updated += changed
        pairs.append((planned, student))
    session.flush()
    return pairs, created, updated
