"""`warehouse-tui bench` prints its figures as JSON; timings are reported, never asserted (DESIGN §9)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from warehouse_tui.bench.report import percentiles
from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import Movement, Quant
from warehouse_tui.services.check import run_checks


def run_bench(workdir, samples: int, serials: int = 0, pg: str = "none") -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "warehouse_tui.cli", "bench", "--quants", "2000", "--items", "200", "--bins", "100",
         "--samples", str(samples), "--serials", str(serials), "--workdir", str(workdir),
         "--pg", pg, "--sync-movements", "400", "--sync-items", "300", "--sync-terminals", "0"],
        capture_output=True, text=True, timeout=300, cwd=workdir,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def test_bench_reports_ledger_receipt_against_bare_sql_at_both_sizes(tmp_path):
    report = run_bench(tmp_path, samples=20, serials=30)

    assert set(report["ledger_receipt"]) == {"2000", "10000"}
    for size, figure in report["ledger_receipt"].items():
        assert figure["quants"] == int(size) and figure["samples"] == 20
        for key in ("p50_ms", "p95_ms", "p99_ms", "bare_p50_ms", "bare_p95_ms", "bare_p99_ms", "ratio_p50", "ratio_p95"):
            assert positive(figure[key]), (size, key, figure[key])
        assert figure["p50_ms"] <= figure["p95_ms"] <= figure["p99_ms"]
    assert positive(report["growth_p95"]) and positive(report["peak_rss_mb"])
    assert report["budgets"]["scan_to_screen_p95_ms"]["limit"] == 15
    assert positive(report["budgets"]["ledger_receipt_p95_ms"]["measured"])
    assert all(not d["reused"] and positive(d["built_s"]) for d in report["datasets"].values())

    # The full app: scan -> commit -> screen at both sizes, cold start, serial receipts (on copies of the datasets).
    assert set(report["scan_to_screen"]) == {"2000", "10000"}
    for figure in report["scan_to_screen"].values():
        assert figure["samples"] == 20 and figure["p50_ms"] <= figure["p95_ms"] <= figure["p99_ms"]
        assert positive(figure["p50_ms"]) and positive(figure["peak_rss_mb"])
    assert report["serial_receipts"]["count"] == 30 and positive(report["serial_receipts"]["seconds"])
    assert positive(report["serial_receipts"]["cpu_per_scan_ms"]) and 1 <= report["serial_receipts"]["commits"] <= 30
    assert positive(report["cold_start"]["process_wall_s"])
    assert report["serial_driver_to_commit"]["samples"] == 20 and positive(report["serial_driver_to_commit"]["p95_ms"])
    assert report["serial_driver_paced"]["samples"] == 20 and positive(report["serial_driver_paced"]["p95_ms"])
    assert report["budgets"]["scan_to_screen_p95_ms"]["measured"] == report["scan_to_screen"]["10000"]["p95_ms"]
    assert positive(report["budgets"]["resident_memory_mb"]["measured"])

    # A second run reuses the datasets; the receipts of both runs left their ledgers consistent.
    again = run_bench(tmp_path, samples=2)
    assert all(d["reused"] for d in again["datasets"].values())
    for dataset in again["datasets"].values():
        database = Database(dataset["file"])
        try:
            with database.reading() as s:
                report = run_checks(s)
                assert report.ok, report.render()
                assert s.scalar(select(func.count()).select_from(Quant)) == dataset["quants"]  # into existing quants
                assert s.scalar(select(func.count()).select_from(Movement).where(Movement.doc_ref == "BENCH-RECEIPT")) > 0
        finally:
            database.dispose()


def test_percentiles_are_in_milliseconds_and_ordered():
    figures = percentiles([i / 1000 for i in range(1, 101)])  # 1 .. 100 ms
    assert figures["p50_ms"] == 50.5 and figures["p99_ms"] == 99.01 and figures["max_ms"] == 100


@pytest.mark.postgres
def test_bench_reports_the_sync_figures_against_postgresql(tmp_path, pg_server):
    report = run_bench(tmp_path, samples=3, pg=pg_server)
    sync = report["sync"]
    assert sync["sync_push"]["movements"] == 400 and positive(sync["sync_push"]["movements_per_s"])
    assert positive(sync["empty_sync"]["p95_ms"])
    assert sync["pull_items"]["items"] == 300 and positive(sync["pull_items"]["seconds"])
    budgets = report["budgets"]
    assert budgets["sync_push_movements_per_s"]["measured"] == sync["sync_push"]["movements_per_s"]
    assert budgets["pull_100k_items_s"]["note"] == "300 items pulled"
