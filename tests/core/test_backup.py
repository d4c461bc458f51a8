"""flask backup and flask restore on the embedded SQLite database (an app of its own on a file of this test), and
their refusal on PostgreSQL."""

import sqlite3
import threading
from contextlib import closing

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select

from accounts.models import User
from config import TestConfig
from core.extensions import db, migrate
from tests.app.test_pages import side_app
from tests.factories import make_user

ROWS = 20_000  # enough that a copy takes a while, so writes land while it runs


@pytest.fixture
def embedded(tmp_path):
    """An app on a SQLite file of its own, built and stamped as `flask db upgrade` leaves it."""
    settings = type("Embedded", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'pasar.db'}"})
    with side_app(settings) as app:
        with app.app_context():
            db.create_all()
            # As `flask db stamp head` would, without running Alembic's env.py here (its logging setup would
            # silence the loggers of the tests after this one).
            head = ScriptDirectory.from_config(migrate.get_config()).get_current_head()
        with closing(sqlite3.connect(tmp_path / "pasar.db")) as conn:
            conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
            conn.execute("INSERT INTO alembic_version VALUES (?)", (head,))
            conn.commit()
        app.database_file = tmp_path / "pasar.db"
        yield app


def flask(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def emails(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(User.email)))


def test_backup_while_another_connection_writes_is_one_moment_of_the_database(embedded, tmp_path):
    with closing(sqlite3.connect(embedded.database_file)) as setup:
        setup.executescript(
            "CREATE TABLE probe (n INTEGER, filler BLOB); CREATE TABLE probe_total (total INTEGER);"
            "INSERT INTO probe_total VALUES (0);"
        )
        setup.executemany("INSERT INTO probe VALUES (0, randomblob(512))", [()] * ROWS)
        setup.commit()
    committed, stop = [0], threading.Event()

    def write():
        # Each transaction adds a row and its value to the total: any one moment has them equal.
        with closing(sqlite3.connect(embedded.database_file, timeout=30, isolation_level=None)) as conn:
            n = 0
            while not stop.is_set():
                n += 1
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO probe VALUES (?, randomblob(512))", (n,))
                conn.execute("UPDATE probe_total SET total = total + ?", (n,))
                conn.execute("COMMIT")
                committed[0] = n

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        while committed[0] < 10:
            threading.Event().wait(0.01)
        copies = []
        for i in range(3):
            before = committed[0]
            result = flask(embedded, "backup", str(tmp_path / f"copy{i}.db"))
            assert result.exit_code == 0, result.output
            copies.append((before, committed[0]))
    finally:
        stop.set()
        writer.join(10)
    assert any(after > before for before, after in copies), "the writer never wrote during a backup"
    for i in range(3):
        path = tmp_path / f"copy{i}.db"
        assert not (tmp_path / f"copy{i}.db-wal").exists()
        with closing(sqlite3.connect(path)) as copy:
            assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
            (total,) = copy.execute("SELECT total FROM probe_total").fetchone()
            (summed, rows) = copy.execute("SELECT sum(n), count(*) FROM probe").fetchone()
            assert summed == total and rows >= ROWS
            assert copy.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
    assert not list(tmp_path.glob(".*.partial"))


def test_restore_puts_the_backup_back(embedded, tmp_path):
    make_user(embedded, email="siti@blitar.test")
    result = flask(embedded, "backup", str(tmp_path / "nightly.db"))
    assert result.exit_code == 0, result.output
    assert "Backed up" in result.output and "migration revision" in result.output
    make_user(embedded, email="later@blitar.test")
    with embedded.app_context():
        db.session.execute(User.__table__.delete().where(User.email == "siti@blitar.test"))
        db.session.commit()
    assert emails(embedded) == {"later@blitar.test"}

    refused = flask(embedded, "restore", str(tmp_path / "nightly.db"))
    assert refused.exit_code == 1 and "--yes" in refused.output and "lost" in refused.output
    assert emails(embedded) == {"later@blitar.test"}  # nothing changed without --yes

    result = flask(embedded, "restore", str(tmp_path / "nightly.db"), "--yes")
    assert result.exit_code == 0, result.output
    assert emails(embedded) == {"siti@blitar.test"}
    with closing(sqlite3.connect(embedded.database_file)) as live:
        assert live.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # the live database stays in WAL


def test_backup_never_overwrites_a_file_or_the_database(embedded, tmp_path):
    (tmp_path / "old.db").write_bytes(b"an older backup")
    result = flask(embedded, "backup", str(tmp_path / "old.db"))
    assert result.exit_code == 1 and "exists already" in result.output
    assert (tmp_path / "old.db").read_bytes() == b"an older backup"
    assert flask(embedded, "backup", str(embedded.database_file)).exit_code == 1
    assert flask(embedded, "restore", str(embedded.database_file), "--yes").exit_code == 1


def test_restore_refuses_what_is_not_a_backup_of_this_app(embedded, tmp_path):
    make_user(embedded, email="siti@blitar.test")
    (tmp_path / "notes.txt").write_text("not a database " * 100)
    with closing(sqlite3.connect(tmp_path / "other.db")) as other:
        other.execute("CREATE TABLE things (id INTEGER)")
    with closing(sqlite3.connect(tmp_path / "future.db")) as future:
        future.executescript(
            "CREATE TABLE alembic_version (version_num TEXT); INSERT INTO alembic_version VALUES ('9999')"
        )
        future.commit()
    for name, says in [
        ("notes.txt", "is not a SQLite database"),
        ("other.db", "not one of this app: no alembic_version"),
        ("future.db", "revision 9999, which this app's migrations lack"),
    ]:
        result = flask(embedded, "restore", str(tmp_path / name), "--yes")
        assert result.exit_code == 1 and says in result.output, result.output
    assert emails(embedded) == {"siti@blitar.test"}


def test_backup_and_restore_point_postgresql_at_pg_dump(tmp_path):
    elsewhere = "postgresql+psycopg://pasar@127.0.0.1:1/pasar"  # never reached: the refusal comes first
    settings = type("OnPostgres", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": elsewhere})
    (tmp_path / "b.db").write_bytes(b"")
    with side_app(settings) as app:
        for args in (["backup", str(tmp_path / "a.db")], ["restore", str(tmp_path / "b.db"), "--yes"]):
            result = flask(app, *args)
            assert result.exit_code == 1
            assert "On PostgreSQL use pg_dump and pg_restore" in result.output, result.output
    assert not (tmp_path / "a.db").exists()
