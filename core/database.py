"""The database connection's rules: SQLite's pragmas and write lock, reads a writing request makes first, and
which failures mean the database could not answer for now."""

import sqlite3
from contextlib import contextmanager

from flask import g, has_request_context, request
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from core.extensions import db


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """SQLite: write-ahead log, foreign keys enforced, wait on a busy database."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        # Transactions are begun by _sqlite_begin below, not by the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()
        # SQLite's own lower() folds only ASCII; names here are Indonesian, Javanese, anything.
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)


READING_METHODS = ("GET", "HEAD", "OPTIONS")
_READS_FIRST = "sqlite_reads_first"  # in a connection's info: its transaction began deferred for reads_first()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    """SQLite: a request that may write takes the write lock when its transaction starts.

    A deferred transaction that reads and then writes fails at once (SQLITE_BUSY)
    when another writer committed in between; BEGIN IMMEDIATE waits its turn
    instead. Reads (GET, which never write) stay deferred and never block. A writing
    request's reads inside `reads_first()` begin deferred too, and give way to
    an IMMEDIATE transaction before anything else runs (_sqlite_write_after_reads).
    """
    if conn.dialect.name != "sqlite":
        return
    if not has_request_context():
        deferred = False
    else:
        deferred = request.method in READING_METHODS or bool(g.get("reading_first"))
    conn.info[_READS_FIRST] = False
    conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")
    conn.info[_READS_FIRST] = deferred and request.method not in READING_METHODS


@event.listens_for(Engine, "before_cursor_execute")
def _sqlite_write_after_reads(conn, cursor, statement, parameters, context, executemany):
    """SQLite: a writing request's transaction begun for reads_first() becomes IMMEDIATE before any
    statement outside the block, or any statement but a SELECT inside it."""
    if not conn.info.get(_READS_FIRST):
        return
    if has_request_context() and g.get("reading_first") and statement.lstrip()[:6].upper() == "SELECT":
        return
    conn.info[_READS_FIRST] = False
    cursor.execute("COMMIT")  # the reads' snapshot ends; nothing was written in it
    cursor.execute("BEGIN IMMEDIATE")  # waits its turn, then sees every committed write


@contextmanager
def reads_first():
    """Reads a writing request makes before it writes, kept out of SQLite's write lock.

    SQLite has one write lock, and a writing request's transaction takes it at
    its first statement (see _sqlite_begin), so all the request does until it
    commits waits for, then holds up, every other writer. Reads whose results
    the writes do not rely on for their safety (who is asking; what a checkout
    asks for, when stock and keys are guarded in SQL) can run inside this block
    instead: when a transaction begins here it begins deferred, and the first
    statement after the block (or the first write in it) ends that snapshot and
    begins IMMEDIATE on the current data, in the same session, with everything
    loaded kept. In a transaction already begun, on PostgreSQL and outside a
    writing request, the block changes nothing.
    """
    if not has_request_context() or g.get("reading_first"):
        yield
        return
    g.reading_first = True
    try:
        yield
    finally:
        g.pop("reading_first", None)


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


# SQLSTATE classes of a connection lost or refused: 08 connection exception; 57P01-57P03 the server shutting
# down, terminating the connection (pg_terminate_backend) or not accepting connections yet.
UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03")
SQLITE_BUSY = 5


def answering_without_database() -> bool:
    """Whether this request's answer is being made after the database could not answer (core.errors): it then
    reads nothing more from it, not even who is signed in."""
    return has_request_context() and bool(g.get("database_unavailable"))


def unavailable(error: DBAPIError) -> bool:
    """Whether `error` means the database could not answer now, rather than that the statement was wrong: the
    connection was lost (the pool then replaces it) or refused, or SQLite stayed locked past its busy timeout.
    The transaction did not commit, unless the connection was lost during COMMIT itself: a retry with the same
    Idempotency-Key then answers as the first request did."""
    if error.connection_invalidated:
        return True
    sqlstate = getattr(error.orig, "sqlstate", None) or ""
    if sqlstate.startswith(UNAVAILABLE_SQLSTATES):
        return True
    return getattr(error.orig, "sqlite_errorcode", None) == SQLITE_BUSY


def release_sessions_of_lost_connections(app, db) -> None:
    """End each request's session even when its connection was lost after the answer was made.

    Flask-SQLAlchemy ends the session after every request (`session.remove()`), which rolls back on the
    connection; when the database ended that connection in between (a restart, a failover,
    `pg_terminate_backend`), the rollback fails and the failure would escape the request. Registered after
    `db.init_app`, this runs before Flask-SQLAlchemy's own teardown: it ends the session, and when the
    connection is gone it invalidates the connection instead (the pool makes a new one), so the answer
    already made stands.
    """

    @app.teardown_appcontext
    def _release(_exc):
        try:
            db.session.remove()
        except DBAPIError as error:
            if not unavailable(error):
                raise
            db.session().invalidate()  # the registry's own session: the proxy does not offer invalidate
            db.session.remove()


def lock_row(row):
    """`row` read again under a row lock (PostgreSQL; SQLite's writers hold the database lock), its attributes
    refreshed: what a service takes before it changes an order, a job or a harvest, so two changes take turns."""
    model = type(row)
    query = select(model).where(model.id == row.id).execution_options(populate_existing=True)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return db.session.scalar(query)
