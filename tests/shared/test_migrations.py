"""Migrations upgrade an empty PostgreSQL database to head and downgrade it back to empty."""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine, inspect, text

from attendance_shared import migrate
from attendance_shared.models import Base
from tests.conftest import PG_ADMIN_URL, _admin_exec, _pg_url


def test_upgrade_from_empty_and_downgrade_on_postgresql():
    name = f"attendance_mig_{uuid.uuid4().hex[:8]}"
    _admin_exec(f'CREATE DATABASE "{name}"')
    url = _pg_url(name)
    try:
        migrate.upgrade(url)
        engine = create_engine(url)
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() is not None
        engine.dispose()
        migrate.downgrade(url, "base")
        engine = create_engine(url)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        engine.dispose()
    finally:
        _admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert PG_ADMIN_URL


def test_upgrade_and_downgrade_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.sqlite'}"
    migrate.upgrade(url)
    engine = create_engine(url)
    assert "attendance_records" in inspect(engine).get_table_names()
    engine.dispose()
    migrate.downgrade(url, "base")


def test_models_match_migrations():
    """Autogenerate finds no difference between the models and the migrated schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(_pg_url(__import__("tests.conftest", fromlist=["TEST_DB"]).TEST_DB))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


# One row in every table of the first schema, with values every later CHECK constraint allows.
_ROWS_AT_0001 = [
    "INSERT INTO teachers (id, email, name, password_hash, photo_retention_days) VALUES (1, 'a@b.c', 'T', 'h', 30)",
    "INSERT INTO courses (id, teacher_id, name) VALUES (1, 1, 'Maths')",
    "INSERT INTO jobs (id, teacher_id, kind, subject_id, state, progress, attempts)"
    " VALUES ('j1', 1, 'attendance', 1, 'succeeded', 100, 1)",
    "INSERT INTO students (id, teacher_id, name, student_number) VALUES (1, 1, 'Ann', '1')",
    "INSERT INTO attendance_sessions (id, course_id, date, label) VALUES (1, 1, '2026-01-05', '')",
    "INSERT INTO enrollments (course_id, student_id) VALUES (1, 1)",
    "INSERT INTO student_photos (id, student_id, storage_key, original_filename, content_type, width, height, status)"
    " VALUES (1, 1, 'k', 'ann.jpg', 'image/jpeg', 10, 10, 'accepted')",
    "INSERT INTO session_photos (id, session_id, original_filename, content_type, content_sha256, width, height,"
    " status) VALUES (1, 1, 'c.jpg', 'image/jpeg', 'ab', 10, 10, 'done')",
    "INSERT INTO detected_faces (id, session_photo_id, face_index, box, detection_score, face_px, decision,"
    " student_id, similarity, review, model_id) VALUES (1, 1, 0, '[0,0,1,1]', 0.9, 30, 'present', 1, 0.7, 'none', 'm')",
    "INSERT INTO attendance_records (id, session_id, student_id, status, source, detected_face_id)"
    " VALUES (1, 1, 1, 'present', 'auto', 1)",
    "INSERT INTO face_embeddings (id, student_id, student_photo_id, model_id, dim, vector)"
    " VALUES (1, 1, 1, 'm', 1, x'00')",
    "INSERT INTO face_embeddings (id, student_id, detected_face_id, model_id, dim, vector)"
    " VALUES (2, 1, 1, 'm', 1, x'00')",
    "INSERT INTO attendance_changes (id, record_id, to_status) VALUES (1, 1, 'present')",
]


def _row_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        names = [n for n in inspect(conn).get_table_names() if n != "alembic_version"]
        counts = {n: conn.execute(text(f'SELECT COUNT(*) FROM "{n}"')).scalar_one() for n in names}
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    engine.dispose()
    return counts


def test_sqlite_migrations_keep_every_row(tmp_path):
    """SQLite rebuilds a table to add a constraint; with foreign keys on, dropping the old table would cascade and
    delete every portrait embedding, face and record that points at it (make run's database is SQLite)."""
    url = f"sqlite:///{tmp_path / 'rows.sqlite'}"
    migrate.upgrade(url, "0001")
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in _ROWS_AT_0001:
            conn.exec_driver_sql(statement)
    engine.dispose()
    before = _row_counts(url)
    assert set(before.values()) - {0} == {1, 2}
    migrate.upgrade(url)
    after = _row_counts(url)
    assert {n: after[n] for n in before} == before
    migrate.downgrade(url, "0001")
    assert _row_counts(url) == before
