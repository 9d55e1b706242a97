"""`warehouse-tui bench` reports the import figures beside raw SQL doing the same writes; timings are reported, never asserted."""

from __future__ import annotations

import sqlite3

import pytest

from warehouse_tui.bench.csv_import import measure_import
from warehouse_tui.bench.report import budget_report
from warehouse_tui.db.engine import Database
from warehouse_tui.services.check import run_checks


def positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def test_the_import_figures_stand_beside_raw_sql_and_a_scanning_terminal(tmp_path):
    # when the bench imports 300 rows of stock (60 items, 150 bins, 300 order lines)
    figures = measure_import(tmp_path, 300)

    # then each kind has its rate, its two steps, its peak memory and the bare baseline of the same rows
    assert {k: figures[k]["rows"] for k in ("items", "bins", "stock", "orders")} == {"items": 60, "bins": 150, "stock": 300, "orders": 300}
    for kind in ("items", "bins", "stock", "orders"):
        figure = figures[kind]
        for key in ("rows_per_s", "checking_s", "writing_s", "peak_rss_mb", "bare_rows_per_s", "ratio_to_bare", "process_wall_s"):
            assert positive(figure[key]), (kind, key, figure[key])
        assert figure["ratio_to_bare"] == pytest.approx(figure["seconds"] / figure["bare_seconds"], rel=0.2)  # (both sides are rounded to ms)
    # and the stock import ran again beside a terminal that kept scanning, every scan of which committed
    scans = figures["scans_during_stock_import"]
    assert scans["rows"] == 300 and scans["scans"] > 0 and positive(scans["writing_s"])
    assert isinstance(scans["longest_scan_within_write_phase"], bool)
    con = sqlite3.connect(tmp_path / "import" / "scans.sqlite")
    try:
        assert con.execute("SELECT count(*) FROM audit_events WHERE kind = 'bench_scan'").fetchone()[0] == scans["scans"]
    finally:
        con.close()
    # and the imported warehouse holds its invariants
    for name in ("site.sqlite", "scans.sqlite"):
        db = Database(tmp_path / "import" / name)
        try:
            with db.reading() as s:
                report = run_checks(s)
                assert report.ok, report.render()
        finally:
            db.dispose()
    # and the budgets name the measured rates
    budgets = budget_report(None, {"import": figures})
    assert budgets["import_stock_rows_per_s"]["measured"] == figures["stock"]["rows_per_s"]
    assert budgets["import_stock_rows_per_s"]["limit"] == 50_000
