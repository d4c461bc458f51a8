"""Migrations build the schema from nothing, and agree with the models."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from tests.databases import scratch_database

ROOT = Path(__file__).resolve().parents[2]


def flask_db(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "wsgi"}
    return subprocess.run(
        [sys.executable, "-m", "flask", "db", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


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


def test_0010_stamps_every_earning_with_its_entry_s_moment(empty_database):
    spec = importlib.util.spec_from_file_location("m0010", ROOT / "migrations/versions/0010_statement_sale_lines.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert flask_db(empty_database, "upgrade", module.down_revision).returncode == 0
    engine = create_engine(empty_database)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO groups (id, name, kind, village, district, verified, created_at) "
                "VALUES (1, 'KUB', 'business', 'Sumberejo', 'Sanankulon', true, :at)"
            ),
            {"at": "2026-11-27 16:59:59.999990+00:00"},
        )
        conn.execute(
            text("INSERT INTO journal_entries (id, group_id, kind, created_at) VALUES (1, 1, 'accrual', :at)"),
            {"at": "2026-11-27 16:59:59.999990+00:00"},
        )
        conn.execute(
            text(
                "INSERT INTO earnings (id, group_id, account, amount, gross, fee_share, refund_share, kind, "
                "entry_id, created_at) VALUES (1, 1, 'pool', 1000, 1000, 0, 0, 'sale', 1, :at)"
            ),
            {"at": "2026-11-27 17:00:00.000030+00:00"},
        )  # a moment later: the next WIB day
    upgrade = flask_db(empty_database, "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    with engine.connect() as conn:
        assert conn.execute(
            text("SELECT e.created_at = j.created_at FROM earnings e JOIN journal_entries j ON j.id = e.entry_id")
        ).scalar() in (True, 1)
        with pytest.raises(DBAPIError):  # the append-only trigger is back
            conn.execute(text("UPDATE earnings SET amount = 2 WHERE id = 1"))
    engine.dispose()


def test_0012_keys_existing_groups_and_sets_later_look_alikes_apart(empty_database):
    spec = importlib.util.spec_from_file_location("m0012", ROOT / "migrations/versions/0012_verify_group_names.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert flask_db(empty_database, "upgrade", module.down_revision).returncode == 0
    engine = create_engine(empty_database)
    with engine.begin() as conn:
        for group_id, name, village, district in (
            (1, "KUB Jahit Sumberejo", "Sumberejo", "Sanankulon"),
            (2, "KUB Jahit Sumberej0", "Bendosari", "Sanankulon"),  # a look-alike made before the rule
            (3, "KUB Jahit Sumberejo", "Kalipucung", "Kanigoro"),  # another district
        ):
            conn.execute(
                text(
                    "INSERT INTO groups (id, name, kind, village, district, verified, created_at) "
                    "VALUES (:id, :name, 'business', :village, :district, true, :at)"
                ),
                {"id": group_id, "name": name, "village": village, "district": district, "at": "2026-11-27 01:00:00"},
            )
    upgrade = flask_db(empty_database, "upgrade", module.revision)
    assert upgrade.returncode == 0, upgrade.stderr
    assert "group 2 'KUB Jahit Sumberej0' reads like group 1" in upgrade.stdout
    with engine.connect() as conn:
        keys = conn.execute(text("SELECT id, district_key, name_key FROM groups ORDER BY id")).all()
        assert [tuple(row) for row in keys] == [
            (1, "sanankulon", "kubjahltsumberejo"),
            (2, "sanankulon", "kubjahltsumberejo #2"),
            (3, "kanlgoro", "kubjahltsumberejo"),
        ]
        with pytest.raises(DBAPIError):  # the unique index holds
            conn.execute(
                text(
                    "INSERT INTO groups (id, name, kind, village, district, verified, created_at, name_key, "
                    "district_key) VALUES (4, 'x', 'farmer', 'x', 'x', false, :at, 'kubjahltsumberejo', 'sanankulon')"
                ),
                {"at": "2026-11-27 01:00:00"},
            )
    engine.dispose()
    down = flask_db(empty_database, "downgrade", module.down_revision)
    assert down.returncode == 0, down.stderr
