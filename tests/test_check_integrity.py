"""`warehouse-tui check` runs SQLite's own check of the file and fails on a damaged one (issue 10)."""

from __future__ import annotations

import random
import sqlite3

from test_cli_check import run_cli, stocked  # noqa: F401  (stocked is a fixture)


def page_size(path) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute("PRAGMA page_size").fetchone()[0]
    finally:
        con.close()


def test_check_reports_the_sqlite_check_on_a_sound_file(tmp_path, stocked):
    result = run_cli(tmp_path, "check", "--db", str(stocked))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK     the SQLite file is sound (PRAGMA quick_check)" in result.stdout
    assert "All invariants hold." in result.stdout


def test_check_fails_on_garbage_written_into_the_middle_of_the_file(tmp_path, stocked):
    # given 8 KB of garbage over the middle pages of a sound, checkpointed file (a bad disk, a stray dd)
    size, page = stocked.stat().st_size, page_size(stocked)
    assert not (stocked.parent / (stocked.name + "-wal")).exists()
    middle = (size // 2) // page * page
    with open(stocked, "r+b") as f:
        f.seek(middle)
        f.write(random.Random(10).randbytes(8192))
    # when checked
    result = run_cli(tmp_path, "check", "--db", str(stocked))
    # then it is broken, said in a report or one line, never a traceback nor "All invariants hold"
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "All invariants hold." not in result.stdout
    assert "BROKEN the SQLite file is sound" in result.stdout or result.stderr.startswith("error: ")


def test_check_fails_on_a_damaged_index_the_ledger_rows_do_not_show(tmp_path, stocked):
    # given the entries of an index on quants overwritten (the end of its page, where its cells lie):
    # every quant still reads fine through the table, so the ledger checks alone see nothing
    con = sqlite3.connect(stocked)
    (root,) = con.execute("SELECT rootpage FROM sqlite_master WHERE type = 'index' AND tbl_name = 'quants' LIMIT 1").fetchone()
    con.close()
    page = page_size(stocked)
    with open(stocked, "r+b") as f:
        f.seek(root * page - 64)
        f.write(b"\xff" * 64)
    result = run_cli(tmp_path, "check", "--db", str(stocked))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN the SQLite file is sound (PRAGMA quick_check)" in result.stdout
    assert "Ledger invariants are BROKEN" in result.stdout
