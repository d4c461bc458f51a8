"""Migrations build the schema from nothing, and agree with the models."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from tests.databases import scratch_database

ROOT = Path(__file__).resolve().parent.parent


def flask_db(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "wsgi"}
    return subprocess.run([sys.executable, "-m", "flask", "db", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def empty_database(database_url, tmp_path):
    """An empty database of the kind this run tests."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    with scratch_database(database_url, f"mig_{os.getpid()}") as url:
        yield url


def test_upgrade_from_empty_then_check_finds_nothing_to_add(empty_database):
    upgrade = flask_db(empty_database, "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    check = flask_db(empty_database, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr
    engine = create_engine(empty_database)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"users", "api_tokens", "groups", "members", "invitations", "alembic_version"} <= tables


def test_downgrade_to_base_and_upgrade_again(empty_database):
    assert flask_db(empty_database, "upgrade").returncode == 0
    down = flask_db(empty_database, "downgrade", "base")
    assert down.returncode == 0, down.stderr
    engine = create_engine(empty_database)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    again = flask_db(empty_database, "upgrade")
    assert again.returncode == 0, again.stderr
