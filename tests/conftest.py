"""Fixtures: one app per run, a clean database for every test.

The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL
names one (make test runs both).
"""

import os

import pytest
from sqlalchemy import text

from app import create_app
from config import TestConfig
from core.extensions import db as _db
from core.extensions import limiter
from tests.databases import scratch_database
from tests.live_server import server  # noqa: F401 (fixture)
from tests.market import market  # noqa: F401 (fixture)


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """SQLite: a file of this run. PostgreSQL: a database of this run, beside the
    one TEST_DATABASE_URL names, so that runs never share tables."""
    url = _database_url(tmp_path_factory)
    if not url.startswith("postgresql"):
        yield url
        return
    with scratch_database(url, f"run_{os.getpid()}") as run_url:
        yield run_url


@pytest.fixture(scope="session")
def app(database_url):
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url

    app = create_app(Config)
    with app.app_context():
        _db.drop_all()
        if _db.engine.dialect.name == "postgresql":
            with _db.engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        _db.create_all()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


def _wipe(app) -> None:
    """Every table empty and every id sequence back at its start, as in a new database; but the catalog's
    version only ever moves on, so no page kept under one test's catalog is given in the next."""
    with app.app_context():
        _db.session.remove()
        tables = [table for table in reversed(_db.metadata.sorted_tables) if table.name != "catalog_versions"]
        with _db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                _wipe_postgresql(conn, tables)
            else:
                _wipe_sqlite(conn, tables)
            conn.exec_driver_sql("UPDATE catalog_versions SET version = version + 1")


def _wipe_postgresql(conn, tables) -> None:
    # DELETE rather than TRUNCATE: truncating every table gives each table and index a new file, which
    # costs 0.1-0.7 s a test; deleting the few rows a test made takes milliseconds. Ledgers refuse
    # deletes by trigger; lift them for the wipe only (in this transaction). One round trip for it all.
    guarded = (
        conn.exec_driver_sql("SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal")
        .scalars()
        .all()
    )
    quote = conn.dialect.identifier_preparer.format_table
    conn.exec_driver_sql(
        ";\n".join(
            [f"ALTER TABLE {table} DISABLE TRIGGER USER" for table in guarded]
            + [f"DELETE FROM {quote(table)}" for table in tables]
            + [f"ALTER TABLE {table} ENABLE TRIGGER USER" for table in guarded]
            + [
                "SELECT setval(quote_ident(schemaname) || '.' || quote_ident(sequencename), start_value, false) "
                "FROM pg_sequences WHERE last_value IS NOT NULL"
            ]
        )
    )


def _wipe_sqlite(conn, tables) -> None:
    # Ledgers refuse deletes by trigger; lift them for the wipe only.
    triggers = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_no_delete'"
    ).all()
    for name, _sql in triggers:
        conn.exec_driver_sql(f"DROP TRIGGER {name}")
    for table in tables:
        conn.execute(table.delete())
    for _name, sql in triggers:
        conn.exec_driver_sql(sql)


@pytest.fixture
def db(app):
    """The database, emptied after the test. No app context stays pushed, so each
    request in a test gets its own session, as in production."""
    yield _db
    _wipe(app)
    with app.app_context():
        limiter.reset()


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def make_client(app, db):
    """More clients, for tests with several people logged in at once."""
    return app.test_client


# --- a fake Stripe for card payments ---------------------------------------------------------

SECRET = "whsec_test_pasar_kelompok"
SK, PK = "sk_test_pasar_kelompok", "pk_test_pasar_kelompok"


@pytest.fixture(scope="session")
def localstripe():
    """localstripe on a loopback port, started once for the tests that need it."""
    from tests.localstripe_server import start_localstripe

    base_url, stop = start_localstripe()
    yield base_url
    stop()


@pytest.fixture
def stripe_on(app, localstripe):
    """The app's Stripe settings pointed at localstripe (server and Stripe.js), for this test."""
    import stripe

    from tests.localstripe_server import flush_data

    settings = {
        "STRIPE_SECRET_KEY": SK,
        "STRIPE_PUBLISHABLE_KEY": PK,
        "STRIPE_WEBHOOK_SECRET": SECRET,
        "STRIPE_API_BASE": localstripe,
    }
    saved = {key: app.config.get(key) for key in settings}
    app.config.update(settings)
    flush_data(localstripe)
    stripe.api_key, stripe.api_base = SK, localstripe
    yield localstripe
    app.config.update(saved)
