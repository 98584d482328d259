"""The database itself makes duplicate attendance impossible."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy.exc import IntegrityError

from attendance_shared.db import session_scope
from attendance_shared.models import (
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    Course,
    Job,
    JobKind,
    School,
    Student,
    Teacher,
)
from attendance_shared.settings import get_settings

pytestmark = pytest.mark.usefixtures("database")


def test_one_record_per_session_and_student():
    url = get_settings().sqlalchemy_url
    with session_scope(url) as s:
        t = Teacher(email=f"{uuid.uuid4().hex}@x.org", name="T", password_hash="x", school=School(name="S"))
        s.add(t)
        s.flush()
        c = Course(teacher_id=t.id, name="C")
        st = Student(teacher_id=t.id, name="S", student_number="1")
        s.add_all([c, st])
        s.flush()
        sess = AttendanceSession(course_id=c.id, date=dt.date(2026, 1, 1), label="P1")
        s.add(sess)
        s.flush()
        s.add(AttendanceRecord(session_id=sess.id, student_id=st.id, status=AttendanceStatus.PRESENT))
        ids = (c.id, sess.id, st.id)
    with pytest.raises(IntegrityError), session_scope(url) as s:
        s.add(AttendanceRecord(session_id=ids[1], student_id=ids[2], status=AttendanceStatus.ABSENT))
    with pytest.raises(IntegrityError), session_scope(url) as s:
        s.add(AttendanceSession(course_id=ids[0], date=dt.date(2026, 1, 1), label="P1"))


def test_enum_columns_refuse_unknown_values():
    """Migration 0004's CHECKs: whatever writes to the database (a script, a future bug), only known values."""
    from sqlalchemy import text

    url = get_settings().sqlalchemy_url
    with session_scope(url) as s:
        t = Teacher(email=f"{uuid.uuid4().hex}@x.org", name="T", password_hash="x", school=School(name="S"))
        s.add(t)
        s.flush()
        job = Job(teacher_id=t.id, kind=JobKind.ATTENDANCE, subject_id=1)
        s.add(job)
        s.flush()
        job_id = job.id
    with pytest.raises(IntegrityError), session_scope(url) as s:
        s.execute(text("UPDATE jobs SET state = 'finished-ish' WHERE id = :id"), {"id": job_id})


def test_the_migration_checks_list_every_enum_value():
    """A new enum value in models.py needs a migration changing its CHECK (then point this test at it)."""
    import importlib

    from sqlalchemy import Enum

    from attendance_shared.models import Base

    migrations = ("0004_enum_checks", "0006_state_columns", "0007_late_status", "0008_face_legibility", "0012_schools")
    checks = [
        c for m in migrations for c in importlib.import_module(f"attendance_shared.migrations.versions.{m}").CHECKS
    ]
    migrated = {(table, column): set(values) for table, column, _name, values in checks}
    for table in Base.metadata.tables.values():
        for column in table.columns:
            if isinstance(column.type, Enum):
                assert migrated.get((table.name, column.name)) == set(column.type.enums), (table.name, column.name)
