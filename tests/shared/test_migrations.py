"""Migrations upgrade an empty PostgreSQL database to head and downgrade it back to empty."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from attendance_shared import migrate
from attendance_shared.models import Base
from tests.conftest import PG_ADMIN_URL, _admin_exec, _pg_url


@pytest.mark.postgres
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


@pytest.mark.postgres
def test_models_match_migrations(database):
    """Autogenerate finds no difference between the models and the migrated schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(database)
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


def _portrait(photo_id: int, status: str, reason: str | None, sha: str | None) -> tuple[str, dict[str, object]]:
    return (
        "INSERT INTO student_photos (id, student_id, storage_key, original_filename, content_type, width, height,"
        " status, reason, content_sha256) VALUES (:id, 1, :key, 'p.jpg', 'image/jpeg', 10, 10, :status, :reason, :sha)",
        {"id": photo_id, "key": f"k{photo_id}", "status": status, "reason": reason, "sha": sha},
    )


def _job(job_id: str, kind: str, state: str, message: str | None) -> tuple[str, dict[str, object]]:
    return (
        "INSERT INTO jobs (id, teacher_id, kind, subject_id, state, progress, attempts, message)"
        " VALUES (:id, 1, :kind, 1, :state, 0, 1, :message)",
        {"id": job_id, "kind": kind, "state": state, "message": message},
    )


def _rows_at_0005() -> tuple[list[tuple[str, dict[str, object]]], dict[int, tuple], dict[str, str | None]]:
    """Rows as the code before 0006 wrote them, and what 0006 makes of them: {photo id: (refusal, unhashed, sha)},
    {job id: outcome}. The refusal sentences come from attendance_shared.refusals, so a sentence changed there
    without the migration learning it fails here."""
    from attendance_shared import refusals
    from attendance_shared.images import ImageRejected

    sha = "a" * 64
    refused = {
        2: refusals.not_the_same_person("Colin_Powell_0001.jpg", "Adrien Brody"),
        3: refusals.several_faces("group.jpg", 2),
        4: refusals.too_small("far.jpg", 31, 40),
        5: refusals.too_blurry("shaky.jpg", 12.4, 40.0, 90),
        6: refusals.no_face("wall.jpg"),
        7: refusals.unreadable(ImageRejected("cut.png is damaged or incomplete. Please upload it again.")),
        # A file name that reads like another refusal does not confuse the conversion.
        8: refusals.several_faces("No face found in this.jpg", 3),
        9: refusals.no_face("x: check it is the right student.jpg"),
    }
    portraits = [_portrait(1, "accepted", None, sha)]
    portraits += [_portrait(i, "rejected", r.sentence, None) for i, r in refused.items()]
    portraits += [
        _portrait(10, "pending", None, "missing:10"),
        _portrait(11, "accepted", None, "duplicate:11"),
        _portrait(12, "accepted", None, None),  # stored before 0005, not hashed yet
        _portrait(13, "pending", None, "b" * 64),
    ]
    expected_photos = {i: (r.code.value, None, None) for i, r in refused.items()}
    expected_photos |= {
        1: (None, None, sha),
        10: (None, "file_missing", None),
        11: (None, "copy", None),
        12: (None, None, None),
        13: (None, None, "b" * 64),
    }
    jobs = {
        ("e-accepted", "enrollment", "succeeded", "Accepted"): "accepted",
        ("e-refused", "enrollment", "succeeded", refused[3].sentence): "refused",
        ("e-gone", "enrollment", "succeeded", "The photo was deleted before it could be checked."): "gone",
        ("e-silent", "enrollment", "succeeded", None): None,
        ("e-failed", "enrollment", "failed", None): None,
        ("e-queued", "enrollment", "queued", None): None,
        ("a-done", "attendance", "succeeded", "3 photos: 12 faces, 10 students present"): "done",
        ("a-gone", "attendance", "succeeded", "The session was deleted before it could be processed."): "gone",
        ("a-running", "attendance", "running", "Finding faces in photo 2 of 3"): None,
    }
    rows = [
        (_ROWS_AT_0001[0], {}),
        ("INSERT INTO students (id, teacher_id, name, student_number) VALUES (1, 1, 'Ann', '1')", {}),
        *portraits,
        *(_job(*job) for job in jobs),
    ]
    return rows, expected_photos, {job[0]: outcome for job, outcome in jobs.items()}


def _dump(url: str) -> dict[str, list[dict[str, object]]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        dump = {
            table: [dict(row._mapping) for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
            for table in ("student_photos", "jobs")
        }
    engine.dispose()
    return dump


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.sqlite'}"
        return
    name = f"attendance_mig_{uuid.uuid4().hex[:8]}"
    _admin_exec(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        _admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_0006_turns_refusal_sentences_job_messages_and_hash_markers_into_columns(empty_database):
    """Existing rows get their codes from the texts the code used to decide on; the texts stay, and the downgrade
    gives back exactly the rows there were (the markers written back into content_sha256)."""
    url = empty_database
    migrate.upgrade(url, "0005")
    rows, expected_photos, expected_jobs = _rows_at_0005()
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement, values in rows:
            conn.execute(text(statement), values)
    engine.dispose()
    before = _dump(url)

    migrate.upgrade(url, "0006")
    engine = create_engine(url)
    with engine.connect() as conn:
        photos = conn.execute(text("SELECT id, refusal, unhashed, content_sha256 FROM student_photos"))
        assert {photo_id: tuple(rest) for photo_id, *rest in photos} == expected_photos
        assert dict(conn.execute(text("SELECT id, outcome FROM jobs")).all()) == expected_jobs
        reasons = dict(conn.execute(text("SELECT id, reason FROM student_photos")).all())
        assert reasons == {row["id"]: row["reason"] for row in before["student_photos"]}  # still what is shown
    with pytest.raises(IntegrityError), engine.begin() as conn:  # the codes are checked, as 0004's enums are
        conn.execute(text("UPDATE student_photos SET refusal = 'ugly' WHERE id = 2"))
    with pytest.raises(IntegrityError), engine.begin() as conn:  # SQLite's rebuilt table kept 0004's checks
        conn.execute(text("UPDATE student_photos SET status = 'lost' WHERE id = 2"))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text(f"UPDATE student_photos SET content_sha256 = '{'c' * 64}' WHERE id = 10"))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET outcome = 'fine' WHERE id = 'a-done'"))
    engine.dispose()

    migrate.downgrade(url, "0005")
    assert _dump(url) == before


def _statuses(url: str) -> dict[int, str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        statuses = dict(conn.execute(text("SELECT id, status FROM attendance_records ORDER BY id")).all())
    engine.dispose()
    return statuses


def test_0007_allows_late_and_its_downgrade_marks_late_present(empty_database):
    """Every record is kept through 0007; "late" is refused before it and allowed after; the downgrade turns late into
    present (the status that counts the same in the rate: the schema before has no place for late), keeping the
    history row that says "late"."""
    url = empty_database
    migrate.upgrade(url, "0006")
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in (*_ROWS_AT_0001[:2], *_ROWS_AT_0001[4:5]):  # a teacher, a course, a session
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql(
            "INSERT INTO students (id, teacher_id, name, student_number)"
            " VALUES (1, 1, 'Ann', '1'), (2, 1, 'Ben', '2'), (3, 1, 'Cat', '3')"
        )
        conn.exec_driver_sql(
            "INSERT INTO attendance_records (id, session_id, student_id, status, source)"
            " VALUES (1, 1, 1, 'present', 'auto'), (2, 1, 2, 'absent', 'auto'), (3, 1, 3, 'excused', 'manual')"
        )
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE attendance_records SET status = 'late' WHERE id = 3"))
    engine.dispose()
    before = _statuses(url)
    assert before == {1: "present", 2: "absent", 3: "excused"}

    migrate.upgrade(url, "0007")
    assert _statuses(url) == before
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE attendance_records SET status = 'late' WHERE id = 3"))
        conn.execute(text("INSERT INTO attendance_changes (id, record_id, to_status) VALUES (2, 3, 'late')"))
    with pytest.raises(IntegrityError), engine.begin() as conn:  # still a CHECK: only the four known values
        conn.execute(text("UPDATE attendance_records SET status = 'tardy' WHERE id = 3"))
    with pytest.raises(IntegrityError), engine.begin() as conn:  # SQLite's rebuilt table kept the source CHECK
        conn.execute(text("UPDATE attendance_records SET source = 'robot' WHERE id = 3"))
    engine.dispose()
    assert _statuses(url) == {1: "present", 2: "absent", 3: "late"}

    migrate.downgrade(url, "0006")
    assert _statuses(url) == {1: "present", 2: "absent", 3: "present"}
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT to_status FROM attendance_changes WHERE id = 2")).scalar_one() == "late"
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE attendance_records SET status = 'late' WHERE id = 3"))
    engine.dispose()


def test_0008_adds_face_legibility_keeping_every_face(empty_database):
    """Faces recognised before 0008 are kept, unflagged (NULL); the column takes only its two codes; the downgrade
    keeps every face."""
    url = empty_database
    migrate.upgrade(url, "0007")
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in _ROWS_AT_0001[:9]:  # up to the detected face
            conn.exec_driver_sql(statement)
    engine.dispose()
    migrate.upgrade(url, "0008")
    engine = create_engine(url)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT id, legibility FROM detected_faces")).all() == [(1, None)]
        conn.execute(text("UPDATE detected_faces SET legibility = 'too_small' WHERE id = 1"))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE detected_faces SET legibility = 'tiny' WHERE id = 1"))
    with pytest.raises(IntegrityError), engine.begin() as conn:  # SQLite's rebuilt table kept the decision CHECK
        conn.execute(text("UPDATE detected_faces SET decision = 'maybe' WHERE id = 1"))
    engine.dispose()
    migrate.downgrade(url, "0007")
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, decision FROM detected_faces")).all() == [(1, "present")]
        assert "legibility" not in {c["name"] for c in inspect(conn).get_columns("detected_faces")}
    engine.dispose()


def test_0009_adds_session_epoch_and_disabled_at_keeping_every_teacher(empty_database):
    """Teachers from before 0009 are kept, at epoch 0 and enabled; the downgrade keeps every teacher."""
    url = empty_database
    migrate.upgrade(url, "0008")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(_ROWS_AT_0001[0])  # the teacher
    engine.dispose()
    migrate.upgrade(url, "0009")
    engine = create_engine(url)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT id, email, session_epoch, disabled_at FROM teachers")).all() == [
            (1, "a@b.c", 0, None)
        ]
        conn.execute(text("UPDATE teachers SET session_epoch = session_epoch + 1, disabled_at = CURRENT_TIMESTAMP"))
    engine.dispose()
    migrate.downgrade(url, "0008")
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, email FROM teachers")).all() == [(1, "a@b.c")]
        columns = {c["name"] for c in inspect(conn).get_columns("teachers")}
        assert not columns & {"session_epoch", "disabled_at"}
    engine.dispose()


def test_0010_adds_session_photo_job_keeping_every_photo(empty_database):
    """Photos from before 0010 are kept, unstamped (NULL); a stamp names a job, and deleting the job clears it;
    the downgrade keeps every photo."""
    url = empty_database
    migrate.upgrade(url, "0009")
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in _ROWS_AT_0001[:8]:  # up to the session photo
            conn.exec_driver_sql(statement)
    engine.dispose()
    migrate.upgrade(url, "0010")
    engine = create_engine(url)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT id, job_id FROM session_photos")).all() == [(1, None)]
        conn.execute(text("UPDATE session_photos SET job_id = 'j1' WHERE id = 1"))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.execute(text("UPDATE session_photos SET job_id = 'no-such-job' WHERE id = 1"))
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.execute(text("DELETE FROM jobs WHERE id = 'j1'"))
        assert conn.execute(text("SELECT id, job_id FROM session_photos")).all() == [(1, None)]
    engine.dispose()
    migrate.downgrade(url, "0009")
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, original_filename FROM session_photos")).all() == [(1, "c.jpg")]
        assert "job_id" not in {c["name"] for c in inspect(conn).get_columns("session_photos")}
    engine.dispose()


def test_0011_adds_job_worker_keeping_every_job(empty_database):
    """Jobs from before 0011 are kept, with no holder (NULL); the downgrade keeps every job."""
    url = empty_database
    migrate.upgrade(url, "0010")
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in _ROWS_AT_0001[:3]:  # up to the job
            conn.exec_driver_sql(statement)
    engine.dispose()
    migrate.upgrade(url, "0011")
    engine = create_engine(url)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT id, state, worker FROM jobs")).all() == [("j1", "succeeded", None)]
        conn.execute(text("UPDATE jobs SET worker = 'host 123 456789' WHERE id = 'j1'"))
    engine.dispose()
    migrate.downgrade(url, "0010")
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, state FROM jobs")).all() == [("j1", "succeeded")]
        assert "worker" not in {c["name"] for c in inspect(conn).get_columns("jobs")}


def test_0012_gives_every_teacher_a_school_of_their_own_as_its_admin(empty_database):
    """Each teacher from before schools becomes the admin of a school named after them; their courses stay theirs.
    The downgrade drops schools and links and keeps every teacher and course."""
    url = empty_database
    migrate.upgrade(url, "0011")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(_ROWS_AT_0001[0])  # teacher 1
        conn.execute(
            text(
                "INSERT INTO teachers (id, email, name, password_hash, photo_retention_days)"
                " VALUES (2, 'b@b.c', 'Bea', 'x', 30)"
            )
        )
        conn.execute(text("INSERT INTO courses (id, teacher_id, name) VALUES (7, 2, 'Art')"))
    engine.dispose()
    migrate.upgrade(url, "0012")
    engine = create_engine(url)
    with engine.begin() as conn:
        rows = conn.execute(
            text("SELECT t.id, t.role, s.name FROM teachers t JOIN schools s ON s.id = t.school_id ORDER BY t.id")
        ).all()
        assert [(r[0], r[1]) for r in rows] == [(1, "admin"), (2, "admin")]
        assert rows[1][2] == "Bea's school"
        assert conn.execute(text("SELECT count(DISTINCT school_id) FROM teachers")).scalar() == 2
        assert conn.execute(text("SELECT teacher_id FROM courses WHERE id = 7")).scalar() == 2
    engine.dispose()
    migrate.downgrade(url, "0011")
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM teachers ORDER BY id")).scalars().all() == [1, 2]
        assert conn.execute(text("SELECT name FROM courses")).scalars().all() == ["Art"]
        assert "schools" not in inspect(conn).get_table_names()
    engine.dispose()


def test_0013_adds_course_sharing_keeping_every_course(empty_database):
    url = empty_database
    migrate.upgrade(url, "0012")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO schools (id, name) VALUES (9, 'S')")
        conn.exec_driver_sql("INSERT INTO teachers (id, email, name, password_hash, photo_retention_days, school_id)"
                             " VALUES (1, 'a@b.c', 'Al', 'x', 30, 9)")  # fmt: skip
        conn.exec_driver_sql("INSERT INTO teachers (id, email, name, password_hash, photo_retention_days, school_id)"
                             " VALUES (2, 'b@b.c', 'Bea', 'x', 30, 9)")  # fmt: skip
        conn.exec_driver_sql("INSERT INTO courses (id, teacher_id, name) VALUES (5, 1, 'Maths')")
    engine.dispose()
    migrate.upgrade(url, "0013")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO course_teachers (course_id, teacher_id) VALUES (5, 2)")
    engine.dispose()
    migrate.downgrade(url, "0012")
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, teacher_id FROM courses")).all() == [(5, 1)]
        assert "course_teachers" not in inspect(conn).get_table_names()
    engine.dispose()


def test_0014_adds_two_step_sign_in_off_for_every_teacher(empty_database):
    """Teachers from before 0014 keep signing in with a password alone (no secret); the downgrade keeps them."""
    url = empty_database
    migrate.upgrade(url, "0013")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO schools (id, name) VALUES (9, 'S')")
        conn.exec_driver_sql("INSERT INTO teachers (id, email, name, password_hash, photo_retention_days, school_id)"
                             " VALUES (1, 'a@b.c', 'Al', 'x', 30, 9)")  # fmt: skip
    engine.dispose()
    migrate.upgrade(url, "0014")
    engine = create_engine(url)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT id, totp_secret, totp_last_step FROM teachers")).all() == [(1, None, None)]
        conn.exec_driver_sql("UPDATE teachers SET totp_secret = 'sealed', totp_last_step = 59000000 WHERE id = 1")
    engine.dispose()
    migrate.downgrade(url, "0013")
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, email FROM teachers")).all() == [(1, "a@b.c")]
        assert not {c["name"] for c in inspect(conn).get_columns("teachers")} & {"totp_secret", "totp_last_step"}
    engine.dispose()


def test_0015_adds_sourced_ids_unique_per_owner_keeping_every_row(empty_database):
    url = empty_database
    migrate.upgrade(url, "0014")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO schools (id, name) VALUES (9, 'S')")
        conn.exec_driver_sql("INSERT INTO teachers (id, email, name, password_hash, photo_retention_days, school_id)"
                             " VALUES (1, 'a@b.c', 'Al', 'x', 30, 9)")  # fmt: skip
        conn.exec_driver_sql("INSERT INTO courses (id, teacher_id, name) VALUES (5, 1, 'Maths')")
        conn.exec_driver_sql("INSERT INTO students (id, teacher_id, name, student_number) VALUES (3, 1, 'Zoë', '7')")
    engine.dispose()
    migrate.upgrade(url, "0015")
    engine = create_engine(url)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT sourced_id FROM students")).scalars().all() == [None]
        conn.exec_driver_sql("UPDATE courses SET sourced_id = 'class-1' WHERE id = 5")
        conn.exec_driver_sql("UPDATE teachers SET sourced_id = 't-1' WHERE id = 1")
        conn.exec_driver_sql("INSERT INTO students (id, teacher_id, name, student_number, sourced_id)"
                             " VALUES (4, 1, 'Sam', '8', 's-1')")  # fmt: skip
        # NULLs never clash: hand-made rows need no sourcedId
        conn.exec_driver_sql("INSERT INTO students (id, teacher_id, name, student_number) VALUES (6, 1, 'Ida', '9')")
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO students (id, teacher_id, name, student_number, sourced_id)"
                             " VALUES (5, 1, 'Dup', '10', 's-1')")  # fmt: skip
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO courses (id, teacher_id, name, sourced_id) VALUES (6, 1, 'Art', 'class-1')")
    engine.dispose()
    migrate.downgrade(url, "0014")
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM students ORDER BY id")).scalars().all() == [3, 4, 6]
        assert "sourced_id" not in {c["name"] for c in inspect(conn).get_columns("courses")}
        assert "sis_imports" not in inspect(conn).get_table_names()
    engine.dispose()


def test_0016_adds_school_sign_in_settings_off_for_every_school(empty_database):
    """Schools from before 0016 keep password sign-in and have no provider; the downgrade keeps every school."""
    url = empty_database
    migrate.upgrade(url, "0015")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO schools (id, name) VALUES (9, 'S')")
    engine.dispose()
    migrate.upgrade(url, "0016")
    engine = create_engine(url)
    with engine.begin() as conn:
        row = conn.execute(text("SELECT id, sso_issuer, sso_domains, password_sign_in_off FROM schools")).one()
        assert tuple(row) == (9, None, None, False)
        conn.execute(text("UPDATE schools SET sso_issuer = 'https://accounts.google.com', password_sign_in_off = :t"),
                     {"t": True})  # fmt: skip
    engine.dispose()
    migrate.downgrade(url, "0015")
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, name FROM schools")).all() == [(9, "S")]
        assert "sso_issuer" not in {c["name"] for c in inspect(conn).get_columns("schools")}
    engine.dispose()
