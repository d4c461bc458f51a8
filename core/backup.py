"""flask backup and flask restore: the embedded SQLite database copied while the app runs, and put back.

Both use SQLite's online backup API (`sqlite3.Connection.backup`). A backup copies the database in one step,
inside one read transaction: it is the database as of one moment, and in WAL mode writers carry on meanwhile.
A restore copies a backup over the live database through the same API, as one write transaction, so
processes still running see the backup's data from their next transaction on. On PostgreSQL both refuse and
point at pg_dump and pg_restore (README, Backups).
"""

import os
import sqlite3
from contextlib import closing
from pathlib import Path

import click
from alembic.script import ScriptDirectory
from flask.cli import with_appcontext

from core.extensions import db, migrate

WAIT_SECONDS = 60  # how long to wait for SQLite's write lock (a restore) or a checkpoint


def live_database() -> Path:
    """The SQLite file the app uses; refuses any other database."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        raise click.ClickException(
            f"flask backup and flask restore copy the embedded SQLite database; this app uses "
            f"{url.get_backend_name()}. On PostgreSQL use pg_dump and pg_restore (README, Backups)."
        )
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise click.ClickException(f"{url.database or 'an in-memory database'} is not a database file.")
    return Path(url.database).resolve()


def backup_revision(path: Path) -> str:
    """The migration revision of the SQLite database at `path`, after checking that it is one of this app's."""
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as backup:
            if backup.execute("PRAGMA quick_check").fetchone() != ("ok",):
                raise click.ClickException(f"{path} is damaged (SQLite's quick_check fails).")
            found = backup.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'")
            if found.fetchone() is None:
                raise click.ClickException(f"{path} is a SQLite database, but not one of this app: no alembic_version.")
            rows = backup.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.DatabaseError as exc:
        raise click.ClickException(f"{path} is not a SQLite database ({exc}).") from exc
    known = {script.revision for script in ScriptDirectory.from_config(migrate.get_config()).walk_revisions()}
    if len(rows) != 1 or rows[0][0] not in known:
        revisions = ", ".join(str(row[0]) for row in rows) or "none"
        raise click.ClickException(f"{path} is at migration revision {revisions}, which this app's migrations lack.")
    return rows[0][0]


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup(path: Path) -> None:
    """Copy the SQLite database to PATH, consistently, while the app runs."""
    live = live_database()
    if path.exists():
        raise click.ClickException(f"{path} exists already; name a new file.")
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        with closing(sqlite3.connect(live, timeout=WAIT_SECONDS)) as source, closing(sqlite3.connect(partial)) as copy:
            source.backup(copy)  # all pages in one step: one read transaction, one moment
            copy.execute("PRAGMA journal_mode=DELETE")  # the copy is one file, without -wal and -shm beside it
        revision = backup_revision(partial)
        os.replace(partial, path)  # PATH holds a whole backup or nothing
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"Backed up {live} to {path} ({path.stat().st_size} bytes, migration revision {revision}).")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace everything in the database with the backup.")
@with_appcontext
def restore(path: Path, yes: bool) -> None:
    """Put the backup at PATH in place of the SQLite database's contents."""
    live = live_database()
    if path.resolve() == live:
        raise click.ClickException(f"{path} is the database itself.")
    revision = backup_revision(path)
    if not yes:
        raise click.ClickException(
            f"This replaces everything in {live} with the backup {path} (migration revision {revision}); "
            "what was written since the backup is lost. Run again with --yes to do it."
        )
    db.session.remove()
    db.engine.dispose()  # this process's connections; others see the backup from their next transaction
    backup_file = f"{path.resolve().as_uri()}?mode=ro"
    with (
        closing(sqlite3.connect(backup_file, uri=True)) as source,
        closing(sqlite3.connect(live, timeout=WAIT_SECONDS)) as target,
    ):
        source.backup(target)
    click.echo(
        f"Restored {live} from {path} (migration revision {revision}). If this code is newer, run flask db upgrade."
    )
