"""SQLite: a writing request reads outside the write lock, then writes in an IMMEDIATE transaction.

Another connection holds SQLite's one write lock (as another worker's checkout
would). Reads inside reads_first() go on meanwhile; the first statement after
the block, or a write inside it, waits its turn and then sees what the other
committed, and never fails with SQLITE_BUSY.
"""

import sqlite3
import threading
import time

import pytest
from sqlalchemy import func, select, update

from accounts.models import User
from core.database import reads_first
from core.extensions import db
from tests.factories import make_user


@pytest.fixture
def sqlite_path(app, db):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's write lock")
        return db.engine.url.database


class OtherWriter:
    """A second connection that takes the write lock, renames every user, and commits after `hold` seconds."""

    def __init__(self, path: str, hold: float):
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.connection.execute("BEGIN IMMEDIATE")
        self.connection.execute("UPDATE users SET name = 'renamed meanwhile'")
        self.thread = threading.Thread(target=self._commit_later, args=(hold,), daemon=True)
        self.thread.start()

    def _commit_later(self, hold: float) -> None:
        time.sleep(hold)
        self.connection.execute("COMMIT")

    def close(self) -> None:
        self.thread.join(timeout=30)
        self.connection.close()


def _name(user_id: int) -> str:
    return db.session.scalar(select(User.name).where(User.id == user_id))


def test_reads_go_on_while_another_writer_holds_the_lock_and_the_write_then_waits(app, sqlite_path):
    user = make_user(app, name="Bu Ratna")
    with app.test_request_context("/api/v1/checkouts", method="POST"):
        other = OtherWriter(sqlite_path, hold=0.5)
        try:
            started = time.monotonic()
            with reads_first():
                assert _name(user.id) == "Bu Ratna"  # the last committed state, without waiting
            assert time.monotonic() - started < 0.4
            db.session.execute(update(User).where(User.id == user.id).values(locale="id"))  # waits its turn
            assert time.monotonic() - started >= 0.4
            assert _name(user.id) == "renamed meanwhile"  # the write's transaction sees what was committed
            db.session.commit()
        finally:
            other.close()


def test_a_write_inside_the_block_waits_its_turn_instead_of_failing(app, sqlite_path):
    user = make_user(app, name="Bu Ratna")
    with app.test_request_context("/api/v1/checkouts", method="POST"):
        with reads_first():
            assert _name(user.id) == "Bu Ratna"
            other = OtherWriter(sqlite_path, hold=0.3)
            try:
                # A deferred transaction whose snapshot is older than another's commit cannot write
                # (SQLITE_BUSY at once); this one gives way to an IMMEDIATE one first.
                db.session.execute(update(User).where(User.id == user.id).values(locale="en"))
            finally:
                other.close()
            assert _name(user.id) == "renamed meanwhile"
        db.session.commit()
    with app.app_context():
        assert db.session.get(User, user.id).locale == "en"


def test_inside_a_transaction_already_writing_the_block_changes_nothing(app, sqlite_path):
    user = make_user(app, name="Bu Ratna")
    with app.test_request_context("/api/v1/checkouts", method="POST"):
        db.session.execute(update(User).where(User.id == user.id).values(locale="en"))
        with reads_first():
            assert db.session.scalar(select(func.count(User.id))) == 1
            assert db.session.get(User, user.id).locale == "en"  # still the same transaction
        db.session.rollback()
    with app.app_context():
        assert db.session.get(User, user.id).locale is None
