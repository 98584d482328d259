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
