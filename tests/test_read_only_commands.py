"""Read-only work never takes SQLite's write lock, and read commands never create a database (issue 10).

A long import holds the write lock of a terminal's file; WAL readers never wait
for a writer, so `check`, `export`, `db current` and the app's own opening of the
database must go on meanwhile. A typo in `--db` must not create an empty
database that `check` then calls healthy.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from test_cli_check import run_cli, stocked  # noqa: F401  (stocked is a fixture)

from warehouse_tui.db.engine import Database
from warehouse_tui.db.migrate import head_revision


def files_beside(path: Path) -> list[str]:
    """The database file and its -wal/-shm/-journal companions that exist."""
    return sorted(p.name for p in path.parent.glob(path.name + "*"))


@pytest.fixture
def writer_holding_the_lock(stocked):
    """A second connection in the middle of a write (BEGIN IMMEDIATE, a row written, not committed), as an import is."""
    con = sqlite3.connect(stocked, isolation_level=None, timeout=0)
    con.execute("BEGIN IMMEDIATE")
    con.execute("INSERT INTO bins (code, barcode, zone, kind, pick_seq, blocked) VALUES ('IMPORTING', 'IMPORTING', 'Z', 'storage', 1, 0)")
    yield stocked
    con.execute("ROLLBACK")
    con.close()


# --------------------------------------------------------------------------- no write lock for reading


def test_check_runs_while_another_process_holds_the_write_lock(tmp_path, writer_holding_the_lock):
    # The writer holds the lock until the test ends: a check that needed it would end in "database is locked".
    result = run_cli(tmp_path, "check", "--db", str(writer_holding_the_lock))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All invariants hold." in result.stdout
    assert "locked" not in result.stderr


def test_export_runs_while_another_process_holds_the_write_lock(tmp_path, writer_holding_the_lock):
    result = run_cli(tmp_path, "export", "stock", "--format", "csv", "--db", str(writer_holding_the_lock))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "sku,bin,lot,expiry,container,owner,status,qty"
    assert any(line.startswith("PLAIN,A-01,") for line in result.stdout.splitlines())


def test_db_current_runs_while_another_process_holds_the_write_lock(tmp_path, writer_holding_the_lock):
    result = run_cli(tmp_path, "db", "current", "--db", str(writer_holding_the_lock))
    assert result.returncode == 0, result.stderr
    assert f"revision {head_revision()}; head {head_revision()}" in result.stdout


def test_the_app_opens_its_database_while_another_process_holds_the_write_lock(writer_holding_the_lock):
    # given a database at head and an import writing to it: opening it (as `run` does) only reads the schema revision
    # (the writer holds the lock until the test ends: needing it would raise "database is locked")
    db = Database(writer_holding_the_lock)
    try:
        with db.reading() as session:
            # and reads the last committed state, not the writer's uncommitted row
            assert session.execute(text("SELECT count(*) FROM bins WHERE code = 'IMPORTING'")).scalar() == 0
    finally:
        db.dispose()


def test_a_write_command_waiting_for_the_lock_says_the_database_is_busy(tmp_path, writer_holding_the_lock):
    # (imports report their own errors per file: services/importing/)
    result = run_cli(tmp_path, "count", "create", "--bins", "A-01", "--db", str(writer_holding_the_lock))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and "busy" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------- read commands never create


@pytest.mark.parametrize("command", [
    ("check",),
    ("export", "stock"),
    ("export", "ledger", "--format", "json"),
    ("db", "current"),
    ("labels", "bins"),
    ("wave",),
    ("count", "create", "--zone", "A"),
])
def test_a_command_on_a_missing_database_fails_and_creates_nothing(tmp_path, command):
    missing = tmp_path / "typo" / "warehuose.sqlite"
    result = run_cli(tmp_path, *command, "--db", str(missing))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: No database at {missing}")
    assert not missing.parent.exists(), files_beside(missing)


def test_run_refuses_a_missing_database_named_by_path(tmp_path):
    # an explicit --db with no upstream to fill it: a typo, not a terminal's first start
    missing = tmp_path / "warehuose.sqlite"
    result = run_cli(tmp_path, "run", "--db", str(missing), "--scanner", "sim://")
    assert result.returncode != 0
    assert result.stderr.startswith(f"error: No database at {missing}")
    assert "db upgrade" in result.stderr
    assert files_beside(missing) == []


def test_a_terminals_first_start_creates_its_database_in_the_data_dir(tmp_path):
    # given no database yet in this terminal's data dir; when the app starts (headless, through replay)
    script = tmp_path / "first-start.replay"
    script.write_text("expect Scan your badge\n", encoding="utf-8")
    result = run_cli(tmp_path, "replay", str(script))
    # then it made and migrated its database, as DESIGN §6 says the app does on start
    assert result.returncode == 0, result.stdout + result.stderr
    created = tmp_path / "home" / ".local/share" / "warehouse-tui" / "warehouse.sqlite"
    assert created.is_file()
    current = run_cli(tmp_path, "db", "current", "--db", str(created))
    assert f"revision {head_revision()}" in current.stdout


def test_import_and_db_upgrade_still_create_a_new_database(tmp_path):
    bins = tmp_path / "bins.csv"
    bins.write_text("code,barcode,zone,kind,pick_seq\nA-01,,A,storage,1\n", encoding="utf-8")
    imported = run_cli(tmp_path, "import", "bins", str(bins), "--db", str(tmp_path / "new.sqlite"))
    upgraded = run_cli(tmp_path, "db", "upgrade", "--db", str(tmp_path / "other.sqlite"))
    assert imported.returncode == 0, imported.stderr
    assert upgraded.returncode == 0, upgraded.stderr
    assert (tmp_path / "new.sqlite").is_file() and (tmp_path / "other.sqlite").is_file()


def test_check_refuses_a_file_with_no_warehouse_in_it(tmp_path):
    # an empty SQLite file (a typo'd path someone touched) is not a healthy warehouse
    empty = tmp_path / "empty.sqlite"
    sqlite3.connect(empty).close()
    result = run_cli(tmp_path, "check", "--db", str(empty))
    assert result.returncode != 0
    assert "All invariants hold" not in result.stdout
    assert result.stderr.startswith("error: ") and "no warehouse" in result.stderr
    # and nothing was written to it
    assert empty.stat().st_size == 0


def test_check_on_an_older_schema_asks_for_an_upgrade_instead_of_writing(tmp_path, stocked):
    con = sqlite3.connect(stocked)
    con.execute("UPDATE alembic_version SET version_num = '0001'")
    con.commit()
    con.close()
    result = run_cli(tmp_path, "check", "--db", str(stocked))
    assert result.returncode != 0
    assert "db upgrade" in result.stderr and "Traceback" not in result.stderr
    con = sqlite3.connect(stocked)
    assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
    con.close()
