"""The catalog's version, as a request reads it.

Every write that changes what the catalog lists moves it on in its own transaction
(marketplace.models.CatalogVersion, one row), so a page kept under an earlier version is
never given again: not by this process, not by any other.

- `catalog_version()`: read once a transaction, on the session's connection, before a page
  is built from that transaction's reads, so nothing built from data older than a version is
  ever kept under it.
- `latest_version()`: asked only to learn whether something kept is still current (a kept
  whole answer, marketplace.catalog.CacheFreshness), which is most of what a kept page costs.
  It is read on a connection of its own in autocommit, one a thread for each database (SQLite
  only for a database on disk), by the driver's cursor: one statement, where the session's
  connection would cost a BEGIN and a ROLLBACK around it and SQLAlchemy's execution path, and on
  PostgreSQL a ping and two more round trips (bench/catalog.py, warm). It is what any new
  transaction would read at that moment. A connection that fails is dropped (the next call makes
  another) and catalog_version() answers.
"""

import threading

from sqlalchemy import create_engine, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from core.extensions import db
from marketplace.models import CatalogVersion

VERSION_QUERY = select(CatalogVersion.version).where(CatalogVersion.id == 1)
VERSION_SQL = "SELECT version FROM catalog_versions WHERE id = 1"

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()
_held = threading.local()  # each thread's connection to each database, for latest_version()


def catalog_version() -> int:
    """The catalog's version as this transaction sees it (read once a transaction)."""
    session = db.session()
    transaction = session.get_transaction()
    known = session.info.get("catalog_version")
    if transaction is not None and known is not None and known[0] is transaction:
        return known[1]
    session.flush()  # what the session holds unwritten, written first, as the ORM's own reads do
    version = session.connection().execute(VERSION_QUERY).scalar() or 0
    session.info["catalog_version"] = (session.get_transaction(), version)
    return version


def move_on() -> None:
    """Move the version on in the writer's own transaction, for a change to what a card shows that the listing's
    triggers do not see (a harvest opening or closing for pre-orders)."""
    db.session.execute(update(CatalogVersion).where(CatalogVersion.id == 1).values(version=CatalogVersion.version + 1))


def latest_version() -> int:
    """The catalog's version as last committed: to learn whether a kept answer is still current."""
    bind = db.engine
    if bind.dialect.name == "postgresql" or (bind.dialect.name == "sqlite" and _on_disk(bind.url)):
        url = bind.url.render_as_string(hide_password=False)
        held = _held.__dict__.setdefault("connections", {})
        connection = held.get(url)
        try:
            if connection is None or connection.dbapi_connection is None:  # none yet, or invalidated
                connection = held[url] = _engine_for(bind, url).raw_connection()
            cursor = connection.cursor()
            try:
                cursor.execute(VERSION_SQL)
                row = cursor.fetchone()
            finally:
                cursor.close()
            return row[0] if row else 0
        except bind.dialect.loaded_dbapi.Error:  # lost, or the database replaced: a new connection next time
            held.pop(url, None)
            if connection is not None:
                connection.invalidate()
    return catalog_version()


def _on_disk(url) -> bool:
    """Whether a SQLite URL names a file, which another connection opens as the same database."""
    return url.database not in (None, "", ":memory:") and "mode=memory" not in str(url)


def _engine_for(bind: Engine, url: str) -> Engine:
    engine = _engines.get(url)
    if engine is None:
        with _engines_lock:
            engine = _engines.get(url)
            if engine is None:  # a connection a thread, held: no pool to wait on
                engine = _engines[url] = create_engine(bind.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    return engine
