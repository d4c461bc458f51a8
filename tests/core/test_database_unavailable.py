"""A database that cannot answer now (a lost or refused connection, SQLite busy past its timeout) is a 503 to
retry, in the one error shape; a wrong statement stays a 500 (a bug)."""

import sqlite3
from contextlib import closing

import pytest
from sqlalchemy.exc import OperationalError, ProgrammingError

from config import TestConfig
from core.database import unavailable
from tests.app.test_pages import side_app
from tests.pages import html, t


class PostgresError(Exception):
    """What psycopg raises, as far as core.database looks: its SQLSTATE."""

    def __init__(self, sqlstate):
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


def sqlite_error(tmp_path, statement) -> sqlite3.Error:
    """The error SQLite raises for `statement` while another connection holds the write lock."""
    path = tmp_path / "busy.db"
    with (
        closing(sqlite3.connect(path, isolation_level=None)) as holder,
        closing(sqlite3.connect(path, timeout=0)) as other,
    ):
        holder.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
        holder.execute("BEGIN IMMEDIATE")
        try:
            other.execute(statement)
        except sqlite3.Error as exc:
            return exc
    raise AssertionError(f"{statement} went through")


def test_what_counts_as_the_database_not_answering(tmp_path):
    assert unavailable(OperationalError("SELECT 1", {}, Exception("gone"), connection_invalidated=True))
    for sqlstate in ("08006", "08001", "57P01", "57P03"):
        assert unavailable(OperationalError("SELECT 1", {}, PostgresError(sqlstate)))
    assert unavailable(OperationalError("INSERT", {}, sqlite_error(tmp_path, "INSERT INTO t VALUES (1)")))
    # Mistakes are not outages: they stay 500s.
    for sqlstate in ("42P01", "23505", "40P01", "57014"):
        assert not unavailable(ProgrammingError("SELECT 1", {}, PostgresError(sqlstate)))
    assert not unavailable(OperationalError("SELECT", {}, sqlite_error(tmp_path, "SELECT * FROM nowhere")))


@pytest.fixture
def outage_app(database_url):
    class Settings(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url

    with side_app(Settings) as outage:

        def lost():
            raise OperationalError("SELECT 1", {}, PostgresError("57P01"), connection_invalidated=True)

        def wrong():
            raise ProgrammingError("SELEC 1", {}, PostgresError("42601"))

        outage.add_url_rule("/lost", "lost", lost, methods=["GET", "POST"])
        outage.add_url_rule("/api/v1/lost", "api_lost", lost, methods=["GET", "POST"])
        outage.add_url_rule("/api/v1/wrong", "api_wrong", wrong)
        yield outage


def test_a_lost_connection_is_a_503_to_retry_in_the_one_error_shape(app, db, outage_app):
    client = outage_app.test_client()
    answer = client.post("/api/v1/lost", headers={"Accept-Language": "en"})
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    assert answer.json == {
        "code": 503,
        "status": "Service Unavailable",
        "message": "That could not be finished just now. Please try again in a moment.",
        "errors": {},
    }
    page = client.get("/lost")
    assert page.status_code == 503 and page.mimetype == "text/html" and page.headers["Retry-After"] == "1"
    assert t(app, "That could not be finished just now. Please try again in a moment.") in html(page)
    assert client.get("/api/v1/wrong").status_code == 500
