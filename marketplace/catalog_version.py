"""The catalog's version, as a request reads it.

Every write that changes what the catalog lists moves it on in its own transaction
(marketplace.models.CatalogVersion, one row), so a page kept under an earlier version is
never given again: not by this process, not by any other.

- `catalog_version()`: read once a transaction, on the session's connection, before a page
  is built from that transaction's reads, so nothing built from data older than a version is
  ever kept under it.
- `latest_version()`: asked only to learn whether something kept is still current (a kept
  whole answer, marketplace.catalog.CacheFreshness), which is most of what a kept page costs.
  It is read on a connection of its own in autocommit (a small pool a process, for each
  database; SQLite only for a database on disk): one statement, where the session's connection
  would cost a BEGIN and a ROLLBACK around it, and on PostgreSQL a ping and two more round trips
  (bench/catalog.py, warm). It is what any new transaction would read at that moment; when that
  connection fails, catalog_version() answers.
"""

import threading

from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from core.database import AUTOCOMMIT_READS
from core.extensions import db
from marketplace.models import CatalogVersion

VERSION_QUERY = select(CatalogVersion.version).where(CatalogVersion.id == 1)
POOL_SIZE, MAX_OVERFLOW = 2, 8  # a process's threads asking at once

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


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


def latest_version() -> int:
    """The catalog's version as last committed: to learn whether a kept answer is still current."""
    bind = db.engine
    if bind.dialect.name == "postgresql" or (bind.dialect.name == "sqlite" and _on_disk(bind.url)):
        try:
            with _engine_for(bind).connect() as connection:
                return connection.execute(VERSION_QUERY).scalar() or 0
        except DBAPIError:  # a lost connection is dropped by its pool; the session answers this time
            pass
    return catalog_version()


def _on_disk(url) -> bool:
    """Whether a SQLite URL names a file, which another connection opens as the same database."""
    return url.database not in (None, "", ":memory:") and "mode=memory" not in str(url)


def _engine_for(bind: Engine) -> Engine:
    url = bind.url.render_as_string(hide_password=False)
    engine = _engines.get(url)
    if engine is None:
        with _engines_lock:
            engine = _engines.get(url)
            if engine is None:
                engine = _engines[url] = create_engine(
                    bind.url, isolation_level="AUTOCOMMIT", pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW
                ).execution_options(**{AUTOCOMMIT_READS: True})
    return engine
