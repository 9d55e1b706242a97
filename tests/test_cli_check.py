"""`warehouse-tui check` and `db upgrade|current` as an operator runs them: a real process on a real file."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys

import pytest

from warehouse_tui.db.engine import Database
from warehouse_tui.db.migrate import head_revision
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.ledger import post


def run_cli(tmp_path, *args: str) -> subprocess.CompletedProcess:
    """The CLI in a child process, away from any config file or WAREHOUSE_* setting of this machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAREHOUSE_")}
    home = tmp_path / "home"
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"))
    return subprocess.run([sys.executable, "-m", "warehouse_tui.cli", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def stocked(tmp_path, actor):
    """A warehouse file with plain, lot and serial stock, some of it on an LPN; closed again."""
    path = tmp_path / "warehouse.sqlite"
    db = Database(path)
    with db.transaction() as s:
        rcv, a1 = md.add_bin(s, "RCV-01", kind="receiving"), md.add_bin(s, "A-01")
        plain = md.add_item(s, "PLAIN")
        lotted = md.add_item(s, "LOTTED", tracking="lot", expiry_required=True)
        serial = md.add_item(s, "SERIAL", tracking="serial")
        lpn = md.container(s, "LPN0001")
        post(s, actor, kind="receipt", item=plain, qty=10, to_bin=rcv, doc_ref="PO1")
        post(s, actor, kind="receipt", item=lotted, qty=6, lot=md.lot(s, lotted, "L1", dt.date(2027, 3, 1)), to_bin=rcv, to_container=lpn)
        for sn in ("SN1", "SN2"):
            post(s, actor, kind="receipt", item=serial, qty=1, serial=sn, to_bin=rcv)
    with db.transaction() as s:
        post(s, actor, kind="putaway", item=md.item_by_sku(s, "PLAIN"), qty=4, from_bin=md.bin_by_code(s, "RCV-01"),
             to_bin=md.bin_by_code(s, "A-01"), doc_ref="PUT1")
        post(s, actor, kind="putaway", item=md.item_by_sku(s, "SERIAL"), qty=1, serial="SN1",
             from_bin=md.bin_by_code(s, "RCV-01"), to_bin=md.bin_by_code(s, "A-01"))
    db.dispose()
    return path


def corrupt(path, sql: str, *params) -> None:
    """Change the file behind the ledger's back, as a bad tool or a hand edit would."""
    con = sqlite3.connect(path)
    try:
        changed = con.execute(sql, params).rowcount
        con.commit()
    finally:
        con.close()
    assert changed == 1, f"corruption touched {changed} rows"


def test_check_passes_a_good_database(tmp_path, stocked):
    result = run_cli(tmp_path, "check", "--db", str(stocked))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All invariants hold." in result.stdout
    assert "BROKEN" not in result.stdout


def test_check_reports_a_quant_changed_behind_the_ledger(tmp_path, stocked):
    corrupt(stocked, "UPDATE quants SET qty = qty + 1 WHERE bin_id = (SELECT id FROM bins WHERE code = 'A-01')"
                     " AND item_id = (SELECT id FROM items WHERE sku = 'PLAIN')")
    result = run_cli(tmp_path, "check", "--db", str(stocked))
    assert result.returncode == 1
    assert "BROKEN every quant equals the sum of its movements" in result.stdout
    assert "PLAIN in A-01: quant says 5, movements sum to 4" in result.stdout
    assert "All invariants hold." not in result.stdout


def test_check_reports_a_deleted_serial_unit(tmp_path, stocked):
    corrupt(stocked, "DELETE FROM serial_units WHERE serial = 'SN1'")
    result = run_cli(tmp_path, "check", "--db", str(stocked))
    assert result.returncode == 1
    assert "BROKEN each serial in at most one place, matching its quants" in result.stdout
    assert "serial SN1: ledger says in stock, unit says missing" in result.stdout
    assert "SERIAL in A-01: quant says 1, 0 serial units there" in result.stdout


def test_check_reports_a_movement_missing_from_the_outbox(tmp_path, stocked):
    con = sqlite3.connect(stocked)
    (uuid,) = con.execute("SELECT uuid FROM movements WHERE doc_ref = 'PUT1'").fetchone()
    con.close()
    corrupt(stocked, "DELETE FROM outbox WHERE uuid = ?", uuid)
    result = run_cli(tmp_path, "check", "--db", str(stocked))
    assert result.returncode == 1
    assert "BROKEN every movement is queued for sync" in result.stdout
    problem = next(line for line in result.stdout.splitlines() if uuid in line)
    assert "PLAIN" in problem and "A-01" in problem
    assert "has no outbox entry" in problem


def test_check_reports_negative_stock(tmp_path, stocked):
    # Both the quant and the ledger say -2, so only the no-negative-stock invariant breaks.
    con = sqlite3.connect(stocked)
    con.execute("UPDATE movements SET qty = 12 WHERE doc_ref = 'PUT1'")
    con.execute("UPDATE quants SET qty = -2 WHERE bin_id = (SELECT id FROM bins WHERE code = 'RCV-01')"
                " AND item_id = (SELECT id FROM items WHERE sku = 'PLAIN')")
    con.execute("UPDATE quants SET qty = 12 WHERE bin_id = (SELECT id FROM bins WHERE code = 'A-01')"
                " AND item_id = (SELECT id FROM items WHERE sku = 'PLAIN')")
    con.commit()
    con.close()
    result = run_cli(tmp_path, "check", "--db", str(stocked))
    assert result.returncode == 1
    assert "OK     every quant equals the sum of its movements" in result.stdout
    assert "BROKEN no negative stock; reserved within stock" in result.stdout
    assert "PLAIN in RCV-01: qty -2, reserved 0" in result.stdout


def test_db_current_reports_an_empty_database_without_migrating_it(tmp_path):
    # An empty SQLite file: a missing one is refused (tests/test_read_only_commands.py), never created.
    path = tmp_path / "new.sqlite"
    sqlite3.connect(path).close()
    first = run_cli(tmp_path, "db", "current", "--db", str(path))
    again = run_cli(tmp_path, "db", "current", "--db", str(path))
    assert first.returncode == 0, first.stderr
    assert f"revision (empty); head {head_revision()}" in first.stdout
    assert "revision (empty)" in again.stdout


def test_db_upgrade_brings_a_new_file_to_head_and_current_says_so(tmp_path):
    path = tmp_path / "new.sqlite"
    upgraded = run_cli(tmp_path, "db", "upgrade", "--db", str(path))
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"revision {head_revision()}; head {head_revision()}" in upgraded.stdout
    current = run_cli(tmp_path, "db", "current", "--db", str(path))
    assert current.returncode == 0, current.stderr
    assert f"revision {head_revision()}; head {head_revision()}" in current.stdout
    assert str(path) in current.stdout
