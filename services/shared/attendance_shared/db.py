"""Database engine and sessions, shared by the web (one session per request) and the worker."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker

#: a pooled PostgreSQL connection idle longer than this is pinged before use (see _ping_when_idle)
PING_AFTER_IDLE_SECONDS = 2.0
_RETURNED = "attendance.returned_at"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Web and worker are two processes on one SQLite file: WAL lets readers and a writer coexist,
    # busy_timeout makes a writer wait instead of failing, and SQLite needs FKs switched on.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def upsert_insert(session: Session, table: Any) -> Any:
    """INSERT with ON CONFLICT support (`on_conflict_do_update`/`_do_nothing`) for the project's two databases;
    None for any other, where the caller falls back to a plain insert."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)
    return None


def normalize_url(url: str) -> str:
    """psycopg2 is the chosen PostgreSQL driver; SQLAlchemy 2.1 would otherwise pick psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 5)
        kwargs.setdefault("max_overflow", 5)
    kwargs.setdefault("connect_args", {"connect_timeout": 5})
    engine = create_engine(url, **kwargs)
    event.listen(engine, "checkin", _transactional_again)
    if "pool_pre_ping" not in kwargs:
        _ping_when_idle(engine)
    return engine


def read_outside_transactions(session: Session) -> None:
    """This session's statements run without a transaction around them (autocommit): no BEGIN before the first, no
    ROLLBACK after the last, two round trips of the four a one-row read makes. For work that only reads: under READ
    COMMITTED (PostgreSQL's default, and this project's) each statement sees what was committed when it started
    either way. PostgreSQL only (elsewhere nothing changes); the connection is transactional again once back in the
    pool (_transactional_again)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().connection.dbapi_connection.autocommit = True  # type: ignore[union-attr]


def _transactional_again(dbapi_connection: Any, _record: Any) -> None:
    if dbapi_connection is not None and getattr(dbapi_connection, "autocommit", False) and not dbapi_connection.closed:
        dbapi_connection.autocommit = False


def _ping_when_idle(engine: Engine) -> None:
    """pool_pre_ping, without its round trip for a connection a request returned moments ago.

    A ping (SELECT 1) before every checkout is one more round trip per web request, 12 % of a request's time under
    load (the GIL taken back after it included). A connection that came back to the pool less than
    PING_AFTER_IDLE_SECONDS ago, after a request that used it, is used as it is; one idle for longer (a quiet
    moment, a database restart or fail-over, an idle-connection killer: all take seconds) is pinged, and a dead one
    is replaced, together with every connection pooled before it, as pool_pre_ping does."""
    dialect = engine.dialect

    def _fresh(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_RETURNED, 0.0) < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as err:
            if dialect.is_disconnect(err, dbapi_connection, None):
                raise exc.InvalidatePoolError() from err  # the pool reconnects and retries the checkout
            raise

    event.listen(engine, "connect", _fresh)
    event.listen(engine, "checkin", _fresh)
    event.listen(engine, "checkout", _ping)


@functools.lru_cache(maxsize=4)
def engine_for(url: str) -> Engine:
    """One engine (and pool) per URL per process."""
    return make_engine(url)


def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=engine_for(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
