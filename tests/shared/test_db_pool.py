"""The pool (attendance_shared.db): its ping before use, only for a connection idle a while (a dead one is replaced as
pool_pre_ping would, so a database restart or a killed backend still costs no request); sessions that only read,
outside a transaction, and their connections transactional again once back in the pool."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from attendance_shared import db as shared_db
from attendance_shared.db import make_engine, read_outside_transactions
from tests.conftest import PG_ADMIN_URL

pytestmark = pytest.mark.postgres


@pytest.fixture()
def engine():  # type: ignore[no-untyped-def]
    eng = make_engine(PG_ADMIN_URL, pool_size=1, max_overflow=0)
    yield eng
    eng.dispose()


def _statements(eng, monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    """SELECT 1 pings do not pass through the engine's statement events: count them at the driver."""
    seen: list[str] = []
    real_ping = eng.dialect.do_ping

    def ping(dbapi_connection):  # type: ignore[no-untyped-def]
        seen.append("ping")
        return real_ping(dbapi_connection)

    monkeypatch.setattr(eng.dialect, "do_ping", ping)
    return seen


def _backend(eng) -> int:  # type: ignore[no-untyped-def]
    with eng.connect() as conn:
        return int(conn.scalar(text("SELECT pg_backend_pid()")))


def test_a_connection_just_returned_is_used_without_a_ping(engine, monkeypatch) -> None:
    pings = _statements(engine, monkeypatch)
    first = _backend(engine)  # a new connection: no ping
    assert _backend(engine) == first  # returned a moment ago: no ping either
    assert pings == []


def test_a_connection_idle_a_while_is_pinged_and_replaced_when_dead(engine, monkeypatch) -> None:
    pings = _statements(engine, monkeypatch)
    first = _backend(engine)
    admin = make_engine(PG_ADMIN_URL)
    with admin.connect() as conn:  # the server ends that backend while it sits in the pool
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        conn.commit()
    admin.dispose()
    monkeypatch.setattr(shared_db, "PING_AFTER_IDLE_SECONDS", 0.0)  # as if it had been idle for long
    second = _backend(engine)  # no error: the ping found it dead and the pool reconnected
    assert second != first and pings  # (the new connection is pinged too: nothing counts as recent here)


def test_an_explicit_pool_pre_ping_is_left_as_asked() -> None:
    eng = make_engine(PG_ADMIN_URL, pool_pre_ping=True)
    try:
        assert eng.pool._pre_ping
        with eng.connect() as conn:
            assert conn.scalar(text("SELECT 1")) == 1
    finally:
        eng.dispose()


def test_a_reading_session_sends_no_begin_and_its_connection_comes_back_transactional(engine) -> None:
    with Session(engine) as reading:
        read_outside_transactions(reading)
        raw = reading.connection().connection.dbapi_connection
        assert raw.autocommit
        assert reading.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = pg_backend_pid()")) == 1
        # No transaction open between statements: the server says so.
        assert reading.scalar(text("SELECT now() = statement_timestamp()")) is True
    with Session(engine) as writing:  # the same (only) pooled connection
        assert writing.connection().connection.dbapi_connection is raw and not raw.autocommit
        writing.execute(text("CREATE TEMPORARY TABLE t (x int)"))
        writing.execute(text("INSERT INTO t VALUES (1)"))
        assert writing.scalar(text("SELECT now() = statement_timestamp()")) is False  # inside BEGIN ... now
        writing.rollback()
        assert writing.scalar(text("SELECT to_regclass('pg_temp.t') IS NULL")) is True  # rolled back, table too
